//! FHIR import (`limbpath_fhir::import`), the pure mapping: the same bytes as
//! a Bundle and as NDJSON. Oracles: no panic; a failed import reports at
//! least one issue; a successful one maps every patient's facts without
//! panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limbpath_fhir::{import_bundle, import_ndjson};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for result in [import_bundle(text, "fuzz"), import_ndjson(text, "fuzz")] {
        match result {
            Ok(import) => {
                let _ = import.resource_count();
                for p in &import.patients {
                    let _ = p.facts.patient_data();
                }
            }
            Err(e) => assert!(!e.errors.is_empty(), "a failed import says why"),
        }
    }
});
