//! Chronic venous disease: the CEAP 2020 classification and the revised Venous
//! Clinical Severity Score (rVCSS), both from REFERENCES.md §5.
//!
//! - [`ceap`]: parses, validates and normalises a full CEAP 2020 string such as
//!   `C4b,6r,Es,Ad,Pr,o` into its four sections and one canonical string
//!   (`C4b,6r Es Ad Pr,o`). The accepted grammar, the canonical format and every
//!   rule chosen for an ambiguity are documented in that module.
//! - [`vcss`]: totals the ten rVCSS items (each 0-3, total 0-30) and returns each
//!   chosen level's descriptor only where REFERENCES marks the wording VERIFIED.
//!
//! Each submodule follows the engine pattern: `Input`, `Output`,
//! `classify(&Input) -> Result<Output>`.

pub mod ceap;
pub mod vcss;
