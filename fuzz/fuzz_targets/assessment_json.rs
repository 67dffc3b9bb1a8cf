//! An assessment as the API receives it: JSON → `AssessmentData` (the
//! record, checked and derived exactly as the store does before writing)
//! and the same bytes as bare findings → `AssessmentInput` → the engine's
//! `assess`. Oracles: no panic; an accepted input yields a result that
//! serialises, and an error names a field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limbpath_clinical::assess::{AssessmentInput, assess};
use limbpath_record::AssessmentData;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = serde_json::from_slice::<AssessmentData>(data) {
        match record.derive() {
            Ok(derived) => {
                serde_json::to_string(&derived).expect("derived result serialises");
            }
            Err(e) => assert!(!e.field.is_empty(), "an error names its field: {e}"),
        }
    }
    if let Ok(input) = serde_json::from_slice::<AssessmentInput>(data) {
        match assess(&input) {
            Ok(result) => {
                serde_json::to_string(&result).expect("assessment serialises");
            }
            Err(e) => assert!(!e.field.is_empty(), "an error names its field: {e}"),
        }
    }
});
