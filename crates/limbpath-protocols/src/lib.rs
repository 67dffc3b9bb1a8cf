//! # limbpath-protocols
//!
//! The rules for the patient between visits (issue 6), as a pure layer the
//! server, UI and CLI call:
//! - [`triage`]: a patient's check-in → a level per answer (contact the team
//!   immediately / today / routine), the most urgent, and what to do now,
//!   following the osseointegration clinic's red-flag list (REFERENCES.md
//!   §12.8) with versioned rules as data;
//! - [`alerts`]: grouping repeated identical alerts into one open alert, and
//!   the escalation state of an alert at a given time;
//! - [`oi_rehab`]: the clinic's osseointegration rehabilitation plan (§12.6),
//!   day by day, and a loading log compared with it;
//! - [`lengthening`]: a limb-lengthening distraction plan (§11) and a
//!   distraction log compared with it;
//! - [`flags`]: what the record says about a patient wherever they appear
//!   (osseointegrated implant, external frame, open high-priority alert) and
//!   the check-in context derived from it.
//!
//! Invariants:
//! - Pure: no I/O, no clock, no randomness, no threads. Dates and times
//!   (`now`, `as_of`) are arguments.
//! - Every clinical number is data with its source (`// source: … | status: …`)
//!   and cited in every result ([`rationale::Rationale`]). Where the reference
//!   pack is silent the value is a programme setting, labelled
//!   "programme setting, not from the reference pack" ([`rationale::PROGRAMME_SETTING`])
//!   in every output; no clinical threshold is invented.
//! - Invalid input is a [`limbpath_clinical::InvalidInput`] naming the field
//!   (dotted path), the value and what is accepted. Nothing panics.
//! - Results are decision support for the team and the patient, never orders.

pub mod alerts;
pub mod flags;
pub mod lengthening;
pub mod oi_rehab;
pub mod rationale;
pub mod sources;
pub mod triage;

pub use rationale::{Basis, PROGRAMME_SETTING, Rationale, Reasoned};
pub use sources::{catalogue, source};
