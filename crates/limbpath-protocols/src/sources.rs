//! The reference-pack sources this crate cites. Each is a static the rules
//! point at; [`catalogue`] lists them (with the clinical engine's Paley and
//! osseointegration-candidacy sources, which this crate reuses).

use limbpath_clinical::explain::{EvidenceStatus, Source};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.8 | status: SINGLE-SOURCE
/// §12.8: red-flag symptoms, contact the osseointegration team immediately.
pub static OI_RED_FLAGS_SOURCE: Source = Source {
    id: "protocols.oi_clinic.red_flags",
    citation: "Clinic protocol as published by the treating institute (osseointegration patient information): \
               red-flag symptoms, contact the osseointegration team immediately",
    reference: "REFERENCES.md §12.8",
    status: EvidenceStatus::SingleSource,
    status_note: "single source; any single item triggers the action (no score); the temperature criterion is \
                  strictly higher than 38.5 °C and unrelated to the SIRS >38 °C criterion",
};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.7 | status: SINGLE-SOURCE
/// §12.7: follow-up and long-term care (discharge, infection reporting, dental
/// or other surgery, 12 months without excessive activity, tightening).
pub static OI_FOLLOW_UP_SOURCE: Source = Source {
    id: "protocols.oi_clinic.follow_up",
    citation: "Clinic protocol as published by the treating institute (osseointegration patient information): \
               follow-up and long-term care",
    reference: "REFERENCES.md §12.7",
    status: EvidenceStatus::SingleSource,
    status_note: "single source (the treating institute's patient information)",
};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.6 | status: SINGLE-SOURCE
/// §12.6: the three rehabilitation phases.
pub static OI_REHABILITATION_SOURCE: Source = Source {
    id: "protocols.oi_clinic.rehabilitation",
    citation: "Clinic protocol as published by the treating institute (osseointegration patient information): \
               rehabilitation phases",
    reference: "REFERENCES.md §12.6",
    status: EvidenceStatus::SingleSource,
    status_note: "single source; the Phase I cap read as min(50 % body weight, 50 kg) is an interpretation; the \
                  Phase I rate of increase is not given as a number (set from DEXA and the intra-operative bone \
                  assessment); Phase II read as transfemoral amputees; all three open (§14 item 10); durations \
                  are typical values, not deadlines",
};

// source: clinic protocol as published by the treating institute (osseointegration patient information) | REFERENCES.md §12.5 | status: SINGLE-SOURCE
/// §12.5: surgery and hospital stay (suture removal).
pub static OI_SURGERY_SOURCE: Source = Source {
    id: "protocols.oi_clinic.surgery_and_stay",
    citation: "Clinic protocol as published by the treating institute (osseointegration patient information): \
               surgery and hospital stay",
    reference: "REFERENCES.md §12.5",
    status: EvidenceStatus::SingleSource,
    status_note: "single source; suture removal times are \"usually\"",
};

// source: osseointegration.eu (Radboudumc standard programme) | REFERENCES.md §11 | status: SINGLE-SOURCE
/// §11: the Radboudumc osseointegration programme (a different programme from
/// the clinic's; its numbers are never merged with §12's).
pub static OI_RADBOUDUMC_SOURCE: Source = Source {
    id: "protocols.oi_radboudumc",
    citation: "Radboudumc osseointegration programme (osseointegration.eu)",
    reference: "REFERENCES.md §11",
    status: EvidenceStatus::SingleSource,
    status_note: "single source; a different programme from the clinic protocol (§12): never merge their numbers",
};

// source: Hagberg K & Brånemark R, J Rehabil Res Dev 2009;46:331 | REFERENCES.md §11 | status: structure VERIFIED, kg steps UNVERIFIED
/// §11: OPRA.
pub static OI_OPRA_SOURCE: Source = Source {
    id: "protocols.oi_opra",
    citation: "Hagberg K, Brånemark R. OPRA. J Rehabil Res Dev 2009;46:331",
    reference: "REFERENCES.md §11",
    status: EvidenceStatus::Verified,
    status_note: "the structure is VERIFIED; the specific kg steps (e.g. 20 kg start, +10 kg/week) are UNVERIFIED \
                  and not shipped",
};

// source: Australian Osseointegration (AOFE), secondary | REFERENCES.md §11 | status: SINGLE-SOURCE (secondary)
/// §11: AOFE.
pub static OI_AOFE_SOURCE: Source = Source {
    id: "protocols.oi_aofe",
    citation: "Australian Osseointegration (AOFE) rehabilitation programme (secondary description)",
    reference: "REFERENCES.md §11",
    status: EvidenceStatus::SingleSource,
    status_note: "single source (secondary); what the 4- or 6-week interval ends in is UNVERIFIED",
};

// source: paperexplained; orthonotes; orthovellum; scilit abstract (Ilizarov distraction) | REFERENCES.md §11 | status: VERIFIED (latency: secondary)
/// §11: distraction rate 1 mm/day, rhythm 4 × 0.25 mm (3–4 increments
/// common), latency 5–7 days typical.
pub static LENGTHENING_DISTRACTION_SOURCE: Source = Source {
    id: "protocols.lengthening.distraction",
    citation: "Ilizarov distraction osteogenesis: rate 1 mm/day in 4 × 0.25 mm, latency 5–7 days \
               (paperexplained; orthonotes; orthovellum; scilit abstract)",
    reference: "REFERENCES.md §11",
    status: EvidenceStatus::Verified,
    status_note: "rate and rhythm VERIFIED; latency 5–7 d typical VERIFIED from secondary sources (younger \
                  4–5 d, older up to 10–15 d)",
};

// source: Siriraj study (healing index by rhythm) | REFERENCES.md §11 | status: SINGLE study; "30–40 d/cm" UNVERIFIED
/// §11: the healing (consolidation) index.
pub static LENGTHENING_HEALING_INDEX_SOURCE: Source = Source {
    id: "protocols.lengthening.healing_index",
    citation: "Siriraj study: median healing index 41.4 d/cm (4 × /day) vs 49.1 d/cm (2 × /day)",
    reference: "REFERENCES.md §11",
    status: EvidenceStatus::SingleSource,
    status_note: "a single study; the commonly quoted \"30–40 d/cm\" standard is UNVERIFIED; the index is \
                  therefore an input, never a constant",
};

/// Every source this crate cites, its own and the clinical engine's it reuses.
pub fn catalogue() -> &'static [&'static Source] {
    static CATALOGUE: [&Source; 12] = [
        &OI_RED_FLAGS_SOURCE,
        &OI_FOLLOW_UP_SOURCE,
        &OI_REHABILITATION_SOURCE,
        &OI_SURGERY_SOURCE,
        &OI_RADBOUDUMC_SOURCE,
        &OI_OPRA_SOURCE,
        &OI_AOFE_SOURCE,
        &LENGTHENING_DISTRACTION_SOURCE,
        &LENGTHENING_HEALING_INDEX_SOURCE,
        &limbpath_clinical::osseointegration::OI_CLINIC_PROTOCOL_SOURCE,
        &limbpath_clinical::limb_length::PALEY_LLD_MULTIPLIERS_SOURCE,
        &limbpath_clinical::limb_length::PALEY_FORMULAS_SOURCE,
    ];
    &CATALOGUE
}

/// Find a source by id.
pub fn source(id: &str) -> Option<&'static Source> {
    catalogue().iter().copied().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_are_unique_findable_and_point_into_the_reference_pack() {
        let mut ids: Vec<&str> = catalogue().iter().map(|s| s.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate source ids");
        for s in catalogue() {
            assert_eq!(source(s.id).map(|f| f.id), Some(s.id));
            assert!(!s.citation.is_empty() && s.reference.starts_with("REFERENCES.md §"), "{}", s.id);
        }
        assert!(source("no.such").is_none());
    }

    #[test]
    fn statuses_are_the_packs() {
        // §12 is single-source; the lengthening rate and rhythm are verified; the healing index is one study.
        for s in [&OI_RED_FLAGS_SOURCE, &OI_FOLLOW_UP_SOURCE, &OI_REHABILITATION_SOURCE, &OI_SURGERY_SOURCE] {
            assert_eq!(s.status, EvidenceStatus::SingleSource, "{}", s.id);
        }
        assert_eq!(LENGTHENING_DISTRACTION_SOURCE.status, EvidenceStatus::Verified);
        assert_eq!(LENGTHENING_HEALING_INDEX_SOURCE.status, EvidenceStatus::SingleSource);
        assert!(LENGTHENING_HEALING_INDEX_SOURCE.status_note.contains("UNVERIFIED"));
        assert!(OI_OPRA_SOURCE.status_note.contains("kg steps") && OI_OPRA_SOURCE.status_note.contains("UNVERIFIED"));
    }
}
