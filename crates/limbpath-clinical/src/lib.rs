//! # limbpath-clinical
//!
//! The LimbPath clinical engine: turns what a clinician measured at the bedside
//! into the classifications a limb salvage team decides on.
//!
//! Invariants:
//! - Pure: no I/O, no async, no database, no clock, no randomness.
//! - Every clinical threshold and table is data in this crate, with its source
//!   and evidence status in a comment and in the [`explain::Source`] it returns.
//!   The reference is `shared/clinical/REFERENCES.md` and its `tables/`.
//! - Every result carries an [`explain::Explanation`]: the inputs used, the rule
//!   that fired, the source and any flag (DISPUTED cell, ambiguous boundary,
//!   single-source table).
//! - Invalid input is an [`error::InvalidInput`] naming the field, the value and
//!   what is accepted. Nothing panics on any input; nothing is silently defaulted.
//! - Results are decision support for a clinician, never orders.

// Clinical criteria read as printed ("T > 38 or < 36 °C"), not as ranges.
#![allow(clippy::manual_range_contains)]

pub mod angiosome;
pub mod assess;
pub mod diabetic_foot;
pub mod error;
pub mod explain;
pub mod glass;
pub mod infection;
pub mod limb_length;
pub mod limits;
pub mod osseointegration;
pub mod perfusion;
pub mod rutherford;
pub mod trauma;
pub mod tumour;
pub mod venous;
pub mod wifi;

pub use error::{InvalidInput, Problem};
pub use explain::{DECISION_SUPPORT_NOTICE, EvidenceStatus, Explain, Explanation, Flag, FlagKind, Section, Source};

/// Every source the engine cites, for clients that receive explanations
/// citing sources by id (e.g. `limbpath assess --batch` lines).
pub fn catalogue() -> &'static [&'static Source] {
    static CATALOGUE: [&Source; 29] = [
        &wifi::WIFI_WOUND_SOURCE,
        &wifi::WIFI_ISCHAEMIA_SOURCE,
        &infection::WIFI_INFECTION_SOURCE,
        &wifi::WIFI_STAGE_SOURCE,
        &wifi::WIFI_REVASC_SOURCE,
        &wifi::WIFI_STAGE5_SOURCE,
        &infection::IWGDF_SOURCE,
        &perfusion::ABI_CATEGORY_SOURCE,
        &perfusion::ABI_COMPUTATION_SOURCE,
        &perfusion::TBI_SOURCE,
        &glass::GLASS_GRADES_SOURCE,
        &glass::GLASS_CALCIFICATION_SOURCE,
        &glass::GLASS_IM_SOURCE,
        &glass::GLASS_STAGE_MATRIX_SOURCE,
        &glass::GLASS_STAGE_MEANING_SOURCE,
        &rutherford::RUTHERFORD_SOURCE,
        &rutherford::FONTAINE_SOURCE,
        &rutherford::CORRESPONDENCE_SOURCE,
        &angiosome::ANGIOSOME_SOURCE,
        &venous::ceap::CEAP_SOURCE,
        &venous::vcss::VCSS_SOURCE,
        &trauma::MESS_SOURCE,
        &diabetic_foot::WAGNER_SOURCE,
        &diabetic_foot::TEXAS_SOURCE,
        &diabetic_foot::SINBAD_SOURCE,
        &tumour::MSTS_SOURCE,
        &limb_length::PALEY_LLD_MULTIPLIERS_SOURCE,
        &limb_length::PALEY_FORMULAS_SOURCE,
        &osseointegration::OI_CLINIC_PROTOCOL_SOURCE,
    ];
    &CATALOGUE
}

/// Find a source by its id.
pub fn source(id: &str) -> Option<&'static Source> {
    catalogue().iter().copied().find(|s| s.id == id)
}

/// The engine version stored with every assessment so that old assessments can
/// be re-derived and compared.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_are_unique_and_findable() {
        let mut ids: Vec<&str> = catalogue().iter().map(|s| s.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate source ids");
        for s in catalogue() {
            assert_eq!(source(s.id).map(|f| f.id), Some(s.id));
            assert!(!s.citation.is_empty() && s.reference.starts_with("REFERENCES.md"), "{}", s.id);
        }
        assert!(source("no.such").is_none());
    }
}
