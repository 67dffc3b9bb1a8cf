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

/// The engine version stored with every assessment so that old assessments can
/// be re-derived and compared.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
