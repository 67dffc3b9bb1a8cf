//! Fictional names: patients, sites and clinicians. Any resemblance to a real
//! person is coincidence; every MRN starts with "DEMO-".

use limbpath_record::Discipline;

pub(crate) const SITES: [(&str, &str); 4] = [
    ("NGH", "Northgate General Hospital (demo)"),
    ("RLC", "Riverside Limb Centre (demo)"),
    ("SBU", "St Brendan's University Hospital (demo)"),
    ("HDF", "Harbourview Diabetic Foot Clinic (demo)"),
];

pub(crate) const GIVEN_FEMALE: [&str; 40] = [
    "Ada", "Aisha", "Alba", "Amara", "Ana", "Anneke", "Beatriz", "Chiamaka", "Dagny", "Elena", "Esi", "Fatima",
    "Freya", "Grace", "Hana", "Ines", "Ingrid", "Isla", "Jana", "Kaia", "Leila", "Lucia", "Mai", "Margit", "Maya",
    "Mei", "Nadia", "Niamh", "Nora", "Olga", "Priya", "Rosa", "Saanvi", "Sofia", "Tamar", "Thandiwe", "Ursula",
    "Valeria", "Yara", "Zofia",
];

pub(crate) const GIVEN_MALE: [&str; 40] = [
    "Aarav",
    "Abdul",
    "Ahmed",
    "Alejandro",
    "Anders",
    "Arjun",
    "Bram",
    "Chidi",
    "Daniel",
    "Diego",
    "Emeka",
    "Erik",
    "Farid",
    "Finn",
    "Hamza",
    "Hiroshi",
    "Ibrahim",
    "Ivan",
    "Jakob",
    "Jonas",
    "Kofi",
    "Kwame",
    "Lars",
    "Luca",
    "Mateo",
    "Mehmet",
    "Nikolai",
    "Omar",
    "Pablo",
    "Pieter",
    "Rahul",
    "Ravi",
    "Samuel",
    "Sven",
    "Tariq",
    "Tomasz",
    "Wei",
    "Yusuf",
    "Zoltan",
    "Kenji",
];

pub(crate) const GIVEN_OTHER: [&str; 8] = ["Alex", "Ari", "Kai", "Noor", "Robin", "Sasha", "Jules", "Rowan"];

pub(crate) const FAMILY: [&str; 64] = [
    "Abara",
    "Andersen",
    "Bakker",
    "Banerjee",
    "Barros",
    "Bianchi",
    "Boateng",
    "Brennan",
    "Chen",
    "Costa",
    "Da Silva",
    "Dimitrov",
    "Dubois",
    "Eriksen",
    "Fernández",
    "Fischer",
    "García",
    "Gonzaga",
    "Haddad",
    "Hansen",
    "Horvat",
    "Ibrahim",
    "Ivanova",
    "Jansen",
    "Kamau",
    "Kaur",
    "Kowalski",
    "Kuznetsov",
    "Lambert",
    "Larsen",
    "Li",
    "Lindqvist",
    "Mahlangu",
    "Mensah",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Nowak",
    "O'Connor",
    "Okafor",
    "Okoye",
    "Olsen",
    "Osei",
    "Papadopoulos",
    "Patel",
    "Pereira",
    "Petrov",
    "Quinn",
    "Rahman",
    "Rossi",
    "Sato",
    "Schmidt",
    "Singh",
    "Sousa",
    "Tanaka",
    "Tshabalala",
    "Van Dijk",
    "Virtanen",
    "Wang",
    "Weber",
    "Yilmaz",
    "Zhang",
];

/// A few clinicians per discipline (fictional).
pub(crate) fn clinicians(d: Discipline) -> &'static [&'static str] {
    match d {
        Discipline::VascularSurgery => &[
            "Ms Amara Okoye (vascular surgeon)",
            "Mr Tomás Reyes (vascular surgeon)",
            "Dr Helga Lindqvist (vascular surgeon)",
            "Mr Kwabena Asante (vascular surgeon)",
        ],
        Discipline::InterventionalRadiology => &[
            "Dr Farah Siddiqui (interventional radiologist)",
            "Dr Jonas Weber (interventional radiologist)",
            "Dr Mei Tanaka (interventional radiologist)",
        ],
        Discipline::WoundCare => &[
            "Nurse Rosa Pereira (tissue viability)",
            "Nurse Ciarán Murphy (tissue viability)",
            "Nurse Aiko Sato (tissue viability)",
        ],
        Discipline::Podiatry => &["Pod. Elena Novak", "Pod. Samuel Mensah", "Pod. Ingrid Hansen", "Pod. Ravi Kaur"],
        Discipline::InfectiousDisease => {
            &["Dr Nadia Haddad (infectious diseases)", "Dr Pieter Jansen (infectious diseases)"]
        }
        Discipline::Endocrinology => {
            &["Dr Leila Rahman (diabetologist)", "Dr Erik Olsen (diabetologist)", "Dr Chidi Abara (diabetologist)"]
        }
        Discipline::Rehabilitation => {
            &["Dr Sofia Costa (rehabilitation)", "Dr Lars Virtanen (rehabilitation)", "PT Maya Quinn (physiotherapist)"]
        }
        Discipline::Prosthetics => &["Mr Bram Bakker (prosthetist)", "Ms Thandiwe Mahlangu (prosthetist)"],
        Discipline::Psychology => &["Dr Ines Moreau (psychologist)", "Dr Hamza Yilmaz (psychologist)"],
        Discipline::Orthopaedics => &[
            "Mr Mateo García (orthopaedic surgeon)",
            "Ms Kaia Eriksen (orthopaedic surgeon)",
            "Mr Hiroshi Nakamura (orthopaedic surgeon)",
            "Ms Zofia Nowak (orthopaedic surgeon)",
        ],
        Discipline::PlasticSurgery => &["Ms Grace Brennan (plastic surgeon)", "Mr Omar Haddad (plastic surgeon)"],
        Discipline::Oncology => &["Dr Priya Banerjee (oncologist)", "Dr Nikolai Petrov (oncologist)"],
        Discipline::CareCoordination => &[
            "Nurse Fatima Osei (care coordinator)",
            "Nurse Daniel Schmidt (care coordinator)",
            "Nurse Yara Barros (care coordinator)",
            "Nurse Wei Zhang (care coordinator)",
        ],
    }
}
