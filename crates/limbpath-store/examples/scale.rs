//! Load a synthetic cohort and measure the store at scale: bulk-load
//! throughput, search page latency at 1,000,000 patients, assessment writes/s
//! and record reads/s.
//!
//! ```text
//! cargo run --release -p limbpath-store --example scale -- \
//!     --url sqlite:///tmp/lp/limbpath.sqlite3 --patients 1000000
//! cargo run --release -p limbpath-store --example scale -- \
//!     --url postgres://postgres@127.0.0.1/limbpath_scale --patients 1000000
//! ```
//! Loading is skipped when the database already holds the patients. Add
//! `--explain` to print each search's plan.

use limbpath_clinical::angiosome::WoundLocation;
use limbpath_record::*;
use limbpath_store::{PatientQuery, Store};
use serde_json::json;
use std::time::{Duration, Instant};

const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "Bailey",
    "Carter",
    "Cook",
    "Singh",
    "Shaw",
    "Bell",
    "Collins",
    "Morgan",
    "Kelly",
    "Begum",
    "Miller",
    "Cox",
    "Hussain",
    "Marshall",
    "Simpson",
    "Price",
    "Anderson",
    "Adams",
    "Wilkinson",
    "Ali",
    "Ahmed",
    "Foster",
    "Ellis",
    "Murphy",
    "Chapman",
    "Mason",
    "Gray",
    "Richards",
    "Webb",
    "Griffiths",
    "Hunt",
    "Palmer",
    "Campbell",
    "Holmes",
    "Mills",
    "Rogers",
    "Barnes",
    "Knight",
    "Matthews",
    "Barker",
    "Powell",
    "Stevens",
    "Kaur",
    "Fisher",
    "Butler",
    "Dixon",
    "Russell",
    "Harvey",
    "Pearson",
    "Graham",
    "Zhang",
    "Müller",
    "García",
    "O'Brien",
    "van Dijk",
    "Nguyen",
    "Kowalski",
    "Öztürk",
    "Rossi",
    "Dubois",
];
const GIVEN: &[&str] = &[
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad", "Thomas", "Oscar", "William", "James",
    "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Olivia", "Amelia", "Isla", "Ava",
    "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily", "Grace", "Sophie", "Evie", "Jessica", "Ruby", "Ava",
    "Margaret", "Dorothy", "Jean", "Joan", "Betty", "Barbara", "Patricia", "Eileen", "Sheila", "Kathleen", "John",
    "David", "Michael", "Peter", "Robert", "Anthony", "Brian", "Alan", "Kenneth", "Ronald", "Raj", "Priya", "Wei",
    "Fatima", "José", "Zoë", "Émile", "Ingrid", "Sean",
];
const SITES: &[&str] = &["North General", "South Infirmary", "East Clinic", "West Hospital", "Central"];

/// splitmix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Ids as the store makes them: UUIDv7, time-ordered, so that bulk inserts
/// append to the id indexes instead of writing all over them.
fn id(_: &mut Rng) -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

fn stored<T>(data: T, rng: &mut Rng) -> Stored<T> {
    Stored { id: id(rng), version: 1, created_at_ms: 1_736_500_000_000, updated_at_ms: 1_736_500_000_000, data }
}

/// Status mix: referred is rare (0.5 %) to show that a rare facet pages as
/// fast as a common one.
fn status(rng: &mut Rng) -> EpisodeStatus {
    match rng.below(1000) {
        0..5 => EpisodeStatus::Referred,
        5..105 => EpisodeStatus::Evaluation,
        105..555 => EpisodeStatus::Treatment,
        555..855 => EpisodeStatus::FollowUp,
        _ => EpisodeStatus::Closed,
    }
}

fn day(rng: &mut Rng) -> Date {
    Date::from_ordinal_date(2024, 1 + rng.below(365) as u16).unwrap_or(Date::MIN)
}

fn synthetic(i: usize, rng: &mut Rng) -> PatientRecord {
    let p = stored(
        PatientData {
            mrn: format!("M{i:08}"),
            site: rng.pick(SITES).into(),
            family_name: rng.pick(FAMILY).into(),
            given_name: rng.pick(GIVEN).into(),
            birth_date: Date::from_ordinal_date(1930 + rng.below(60) as i32, 1 + rng.below(365) as u16)
                .unwrap_or(Date::MIN),
            sex: if rng.below(2) == 0 { Sex::Female } else { Sex::Male },
            diabetes: DiabetesStatus::Type2,
            hba1c_percent: Some(6.0 + rng.below(60) as f64 / 10.0),
            ckd_stage: None,
            dialysis: false,
            smoking: SmokingStatus::Former,
            bmi: Some(22.0 + rng.below(120) as f64 / 10.0),
            ambulatory_status: AmbulatoryStatus::Independent,
        },
        rng,
    );
    let mut r = PatientRecord::default();
    let limbs = if rng.below(10) == 0 { 2 } else { 1 };
    for side in [Side::Left, Side::Right].into_iter().take(limbs) {
        let l = stored(LimbData { patient_id: p.id.clone(), side, kind: LimbKind::Lower, amputation_level: None }, rng);
        let status = status(rng);
        let opened_on = day(rng);
        let e = stored(
            EpisodeData {
                limb_id: l.id.clone(),
                aetiology: Aetiology::DiabeticFoot,
                status,
                opened_on,
                closed_on: (status == EpisodeStatus::Closed).then(|| opened_on.next_day().unwrap_or(opened_on)),
                summary: String::new(),
            },
            rng,
        );
        let findings = json!({
            "wound_grade": rng.below(4), "ischaemia_grade": rng.below(4), "infection_grade": rng.below(4)
        });
        let a =
            stored(AssessmentData { episode_id: e.id.clone(), assessed_on: opened_on, findings: findings.into() }, rng);
        // `derived` is recomputed by the store on insert
        let derived = Derived {
            engine_version: String::new(),
            result: serde_json::value::RawValue::NULL.to_owned(),
            wifi_stage: None,
        };
        r.assessments.push(StoredAssessment { stored: a, derived });
        let w = stored(
            WoundData {
                episode_id: e.id.clone(),
                location: WoundLocation::PlantarForefoot,
                noted_on: opened_on,
                description: String::new(),
                healed_on: None,
            },
            rng,
        );
        for k in 0..2 {
            r.wound_measurements.push(stored(
                WoundMeasurementData {
                    wound_id: w.id.clone(),
                    measured_on: opened_on + Duration::from_secs(k * 14 * 86400),
                    length_cm: 1.0 + rng.below(40) as f64 / 10.0,
                    width_cm: 1.0 + rng.below(30) as f64 / 10.0,
                    depth_cm: None,
                    area_cm2: None,
                },
                rng,
            ));
        }
        r.wounds.push(w);
        r.episodes.push(e);
        r.limbs.push(l);
    }
    r.patient = Some(p);
    r
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Args {
    url: String,
    patients: usize,
    batch: usize,
    explain: bool,
    /// Run only one part: `search`, `writes` or `reads`.
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args { url: String::new(), patients: 1_000_000, batch: 1000, explain: false, only: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--url" => a.url = it.next().unwrap_or_default(),
            "--patients" => a.patients = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.patients),
            "--batch" => a.batch = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.batch),
            "--explain" => a.explain = true,
            "--only" => a.only = it.next(),
            other => {
                eprintln!(
                    "unknown argument {other}; use --url URL [--patients N] [--batch N] [--explain] [--only search|writes|reads]"
                );
                std::process::exit(2);
            }
        }
    }
    if a.url.is_empty() {
        eprintln!("--url is required (sqlite://PATH or postgres://...)");
        std::process::exit(2);
    }
    a
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    let store = Store::connect(&a.url).await?;
    println!("engine: {}", store.engine());
    let have = store.count_patients().await? as usize;
    if have < a.patients {
        let mut rng = Rng(have as u64);
        let started = Instant::now();
        let mut rows = 0u64;
        let mut done = have;
        while done < a.patients {
            let n = a.batch.min(a.patients - done);
            let batch: Vec<PatientRecord> = (done..done + n).map(|i| synthetic(i, &mut rng)).collect();
            rows += store.insert_patient_records(&batch).await?;
            done += n;
            if (done - have).is_multiple_of(a.batch * 50) || done == a.patients {
                let s = started.elapsed().as_secs_f64();
                println!(
                    "loaded {done} patients: {:.0} patients/s, {:.0} rows/s",
                    (done - have) as f64 / s,
                    rows as f64 / s
                );
            }
        }
        let s = started.elapsed().as_secs_f64();
        println!(
            "LOAD {} patients, {rows} rows in {s:.1} s: {:.0} patients/s, {:.0} rows/s",
            a.patients - have,
            (a.patients - have) as f64 / s,
            rows as f64 / s
        );
        let t = Instant::now();
        store.analyze().await?;
        println!("ANALYZE {:.1} s", t.elapsed().as_secs_f64());
    }
    println!("patients: {}", store.count_patients().await?);

    // Search pages: first page, and a walk of 100 pages following cursors.
    let queries: Vec<(&str, PatientQuery)> = vec![
        ("all", PatientQuery::default()),
        ("name prefix 'sm'", PatientQuery { text: Some("sm".into()), ..Default::default() }),
        ("name prefix 'wilk'", PatientQuery { text: Some("wilk".into()), ..Default::default() }),
        ("family, given 'patel, ra'", PatientQuery { text: Some("patel, ra".into()), ..Default::default() }),
        ("exact MRN", PatientQuery { text: Some("M00543210".into()), ..Default::default() }),
        ("site", PatientQuery { site: Some("East Clinic".into()), ..Default::default() }),
        (
            "status treatment (45%)",
            PatientQuery { episode_status: Some(EpisodeStatus::Treatment), ..Default::default() },
        ),
        (
            "status referred (0.5%)",
            PatientQuery { episode_status: Some(EpisodeStatus::Referred), ..Default::default() },
        ),
        ("WIfI stage 4", PatientQuery { wifi_stage: Some(4), ..Default::default() }),
        (
            "prefix + status referred",
            PatientQuery {
                text: Some("m".into()),
                episode_status: Some(EpisodeStatus::Referred),
                ..Default::default()
            },
        ),
        (
            "site + status + stage",
            PatientQuery {
                site: Some("Central".into()),
                episode_status: Some(EpisodeStatus::FollowUp),
                wifi_stage: Some(3),
                ..Default::default()
            },
        ),
        (
            "site + referred + stage 1 (rare combination)",
            PatientQuery {
                site: Some("Central".into()),
                episode_status: Some(EpisodeStatus::Referred),
                wifi_stage: Some(1),
                ..Default::default()
            },
        ),
    ];
    let run = |part: &str| a.only.as_deref().is_none_or(|o| o == part);
    if run("search") {
        println!(
            "{:<46} {:>10} {:>10} {:>12} {:>8}",
            "search (50 per page)", "first ms", "max ms", "100 pages ms", "rows"
        );
        for (name, q) in &queries {
            let mut times = Vec::new();
            let mut first = 0;
            for _ in 0..7 {
                let t = Instant::now();
                let page = store.search_patients(q).await?;
                times.push(t.elapsed());
                first = page.items.len();
            }
            times.sort();
            let mut q2 = q.clone();
            let t = Instant::now();
            let mut rows = 0;
            let mut worst = Duration::ZERO;
            for _ in 0..100 {
                let tp = Instant::now();
                let page = store.search_patients(&q2).await?;
                worst = worst.max(tp.elapsed());
                rows += page.items.len();
                match page.next_cursor {
                    Some(c) => q2.cursor = Some(c),
                    None => break,
                }
            }
            println!(
                "{name:<46} {:>10.2} {:>10.2} {:>12.1} {:>8}  (slowest page {:.2} ms; first page {first} rows)",
                ms(times[times.len() / 2]),
                ms(times[times.len() - 1]),
                ms(t.elapsed()),
                rows,
                ms(worst)
            );
            if a.explain {
                println!("{}\n", store.explain_search(q).await?);
            }
        }
    }

    // Throughput: assessment writes and record reads, concurrent tasks.
    let sample = store.search_patients(&PatientQuery { limit: 1000, ..Default::default() }).await?;
    let ids: Vec<String> = sample.items.iter().map(|s| s.patient.id.clone()).collect();
    let record = store.get_patient_record(&ids[0]).await?;
    let episode_id = record.episodes[0].id.clone();
    for tasks in [1usize, 4] {
        if !run("writes") {
            break;
        }
        let t = Instant::now();
        let run = Duration::from_secs(5);
        let mut handles = Vec::new();
        for k in 0..tasks {
            let store = store.clone();
            let episode_id = episode_id.clone();
            handles.push(tokio::spawn(async move {
                let mut n = 0u64;
                let started = Instant::now();
                while started.elapsed() < run {
                    let findings = json!({"wound_grade": (n % 4), "ischaemia_grade": (k % 4), "infection_grade": 1});
                    let data = AssessmentData {
                        episode_id: episode_id.clone(),
                        assessed_on: Date::from_ordinal_date(2025, 1 + (n % 365) as u16).unwrap_or(Date::MIN),
                        findings: findings.into(),
                    };
                    store.create_assessment(data).await.map_err(|e| e.to_string())?;
                    n += 1;
                }
                Ok::<u64, String>(n)
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await??;
        }
        println!("assessment writes, {tasks} task(s): {:.0}/s", total as f64 / t.elapsed().as_secs_f64());
    }
    for tasks in [1usize, 8] {
        if !run("reads") {
            break;
        }
        for what in ["get_patient", "get_patient_record"] {
            let t = Instant::now();
            let run = Duration::from_secs(5);
            let mut handles = Vec::new();
            for k in 0..tasks {
                let store = store.clone();
                let ids = ids.clone();
                handles.push(tokio::spawn(async move {
                    let mut n = 0usize;
                    let started = Instant::now();
                    while started.elapsed() < run {
                        let id = &ids[(n * 7 + k) % ids.len()];
                        if what == "get_patient" {
                            store.get_patient(id).await.map_err(|e| e.to_string())?;
                        } else {
                            store.get_patient_record(id).await.map_err(|e| e.to_string())?;
                        }
                        n += 1;
                    }
                    Ok::<usize, String>(n)
                }));
            }
            let mut total = 0;
            for h in handles {
                total += h.await??;
            }
            println!("{what} reads, {tasks} task(s): {:.0}/s", total as f64 / t.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
