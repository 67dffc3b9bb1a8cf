//! # limbpath-fhir
//!
//! LimbPath's FHIR R4 mapping layer: what a patient's limb-salvage record
//! looks like in FHIR, and what a FHIR bundle from another system means to
//! LimbPath. The HTTP endpoints, storage and command line are elsewhere.
//!
//! - [`r4`]: hand-written serde types for the R4 resources and datatypes
//!   LimbPath reads or writes (Patient, EpisodeOfCare, Condition,
//!   Observation, Procedure, BodyStructure, CarePlan, Task, ServiceRequest,
//!   QuestionnaireResponse, AuditEvent, Bundle, OperationOutcome,
//!   CapabilityStatement, …). Unknown resource types are kept as raw JSON.
//! - Export: [`export_patient`] turns a [`PatientRecord`] into resources with
//!   stable ids (the LimbPath UUIDs) and identifiers; [`bundle`] and
//!   [`ndjson`] package them.
//! - Import: [`import_bundle`] / [`import_ndjson`] turn FHIR into LimbPath
//!   record data per patient, keeping every resource's original JSON and an
//!   idempotency [`ImportKey`]; errors come all at once, each with its
//!   location, convertible to an OperationOutcome.
//! - [`describe`]: a kept resource's JSON as a line of text (what it is, its
//!   value) for the patient page.
//! - Audit: [`audit_event`] writes an audit trail entry as an IHE BALP
//!   AuditEvent.
//! - [`codes`]: every code, system and URL, with its source and status.
//!
//! ## Round trip
//! `import_bundle(export_patient(r))` gives back [`exportable`]`(r)` exactly:
//! the same ids, versions, created/updated timestamps (ms), every field of
//! the patient, limbs, episodes, wounds, wound measurements, vascular and
//! imaging studies, procedures and outcome events, and every assessment's
//! findings, with `derived` re-derived by the engine (equal when the engine
//! version is the same). Consents and care-team members are not exported.
//!
//! ## Invariants
//! - Pure: no I/O, no clock, no randomness, no threads. Times come in as
//!   arguments or from the record.
//! - Nothing panics on any input; every refusal is a typed error naming the
//!   location, the value and what is accepted.
//! - A SNOMED CT or LOINC code appears only where it was verified
//!   ([`codes`]); everything else uses LimbPath code systems under
//!   [`codes::CANONICAL_BASE`].

mod audit;
mod capability;
mod classify;
pub mod codes;
mod describe;
mod export;
mod findings;
mod import;
mod issue;
pub mod r4;
mod when;

pub use audit::{AuditRecord, AuditServer, audit_event};
pub use capability::{SERVED_TYPES, capability_statement};
pub use describe::{ResourceText, describe};
pub use export::{BundleKind, bundle, export_patient, ndjson};
pub use import::{
    Import, ImportKey, ImportedCondition, ImportedPatient, KnownCondition, MeasuredValue, Measurement, MeasurementKind,
    MissingFacts, PatientFacts, RawResource, import_bundle, import_ndjson,
};
pub use issue::{ExportError, ImportError, Issue, IssueKind, Severity, operation_outcome};
pub use limbpath_record::PatientRecord;

/// The part of a record a FHIR export carries (everything but consents and
/// care-team members): what an import of the export gives back.
pub fn exportable(record: &PatientRecord) -> PatientRecord {
    PatientRecord { consents: Vec::new(), care_team: Vec::new(), ..record.clone() }
}

#[cfg(test)]
mod tests;
