//! FHIR Bundle (transaction, batch, collection, searchset) or NDJSON →
//! LimbPath record data.
//!
//! Per patient in the input:
//! - [`PatientFacts`]: what the Patient and its risk-factor resources say
//!   (MRN and site, names, birth date, sex; diabetes from SNOMED CT
//!   conditions or the LimbPath status; HbA1c, BMI and smoking from LOINC
//!   observations, the latest by date), each optional: nothing is guessed.
//! - `record`: for a LimbPath export (resources carrying LimbPath record ids)
//!   the whole [`PatientRecord`] rebuilt with its ids, versions and
//!   timestamps, every part validated by the record crate and every
//!   assessment re-derived by the engine.
//! - `conditions`: every other Condition, codes kept.
//! - `measurements`: Observations LimbPath understands (HbA1c, BMI, smoking
//!   status, wound size panel, LimbPath pressures and indices).
//! - `unmapped`: everything else that belongs to the patient, raw.
//!
//! Resources that belong to no patient (Organization, Practitioner, …) are
//! `shared`. Every input resource ends up in exactly one place, with its
//! original JSON (`urn:uuid:` references rewritten to `Type/id` of the
//! resource they name) and a deterministic [`ImportKey`], so nothing is
//! dropped and a store can make a re-import a no-op.
//!
//! The result is all or nothing: either everything is mapped, or
//! [`ImportError`] lists every error found (each with its location, e.g.
//! `Bundle.entry[3].resource.code`), never only the first.

use crate::codes::*;
use crate::findings;
use crate::issue::{ImportError, Issue, IssueKind};
use crate::r4::{self, CodeableConcept, Coding, Extension, Identifier, Meta, Observation, Reference};
use crate::when;
use limbpath_clinical::limits::{self, Plausible};
use limbpath_record::{
    Aetiology, AmbulatoryStatus, AmputationLevel, AngiosomeRoute, AssessmentData, Date, DiabetesStatus, EpisodeData,
    EpisodeStatus, ImagingModality, ImagingStudyData, LimbData, LimbKind, OutcomeEventData, OutcomeKind, PatientData,
    PatientRecord, ProcedureData, ProcedureKind, Sex, Side, SmokingStatus, Stored, StoredAssessment, TargetArtery,
    Validate, VascularStudyData, VascularStudyKind, WoundData, WoundMeasurementData,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

// ---------------------------------------------------------------------------
// Public result types
// ---------------------------------------------------------------------------

/// A deterministic key per imported resource: the source system plus the
/// sender's resource id (`synthea|Observation/5d73…`), else its first
/// identifier (`src|Observation?identifier=<system>|<value>`), else its
/// `urn:uuid:` fullUrl, else a hash of its JSON (`src|Observation#fnv1a64:…`).
/// Importing the same resource from the same source again gives the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ImportKey(String);

impl ImportKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One input resource exactly as sent (bar `urn:uuid:` references, rewritten
/// to `Type/id`), with its key and where it was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawResource {
    pub key: ImportKey,
    pub resource_type: String,
    /// The sender's id, if it gave one.
    pub id: Option<String>,
    /// `Bundle.entry[3].resource` or `ndjson[line 4]`.
    pub location: String,
    pub json: String,
}

/// What the input says about a patient's demographics and risk factors.
/// `None` means the input did not say (LimbPath never guesses a value).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PatientFacts {
    pub mrn: Option<String>,
    pub site: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub diabetes: Option<DiabetesStatus>,
    pub hba1c_percent: Option<f64>,
    pub ckd_stage: Option<u8>,
    pub dialysis: Option<bool>,
    pub smoking: Option<SmokingStatus>,
    pub bmi: Option<f64>,
    pub ambulatory_status: Option<AmbulatoryStatus>,
}

/// The patient facts a LimbPath patient needs but the input did not give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("the import does not say: {}", .missing.join(", "))]
pub struct MissingFacts {
    /// PatientData field names (`ambulatory_status`, …).
    pub missing: Vec<&'static str>,
}

impl PatientFacts {
    /// The LimbPath patient these facts describe, when every required fact is
    /// known (`dialysis` unknown counts as no dialysis, as in the record). An
    /// ambulatory status the input does not state is
    /// [`AmbulatoryStatus::NotRecorded`]: other systems rarely record it, and
    /// "not recorded" is the record's own word for that, not a guess.
    /// The caller still validates it (`Validate::validate`).
    pub fn patient_data(&self) -> Result<PatientData, MissingFacts> {
        let mut missing = Vec::new();
        fn need<T: Clone>(v: &Option<T>, name: &'static str, missing: &mut Vec<&'static str>) -> Option<T> {
            if v.is_none() {
                missing.push(name);
            }
            v.clone()
        }
        let mrn = need(&self.mrn, "mrn", &mut missing);
        let site = need(&self.site, "site", &mut missing);
        let family_name = need(&self.family_name, "family_name", &mut missing);
        let given_name = need(&self.given_name, "given_name", &mut missing);
        let birth_date = need(&self.birth_date, "birth_date", &mut missing);
        let sex = need(&self.sex, "sex", &mut missing);
        let diabetes = need(&self.diabetes, "diabetes", &mut missing);
        let smoking = need(&self.smoking, "smoking", &mut missing);
        match (mrn, site, family_name, given_name, birth_date, sex, diabetes, smoking) {
            (
                Some(mrn),
                Some(site),
                Some(family_name),
                Some(given_name),
                Some(birth_date),
                Some(sex),
                Some(diabetes),
                Some(smoking),
            ) => Ok(PatientData {
                mrn,
                site,
                family_name,
                given_name,
                birth_date,
                sex,
                diabetes,
                hba1c_percent: self.hba1c_percent,
                ckd_stage: self.ckd_stage,
                dialysis: self.dialysis.unwrap_or(false),
                smoking,
                bmi: self.bmi,
                ambulatory_status: self.ambulatory_status.unwrap_or(AmbulatoryStatus::NotRecorded),
            }),
            _ => Err(MissingFacts { missing }),
        }
    }
}

/// Conditions LimbPath recognises by a verified SNOMED CT code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KnownCondition {
    DiabetesType1,
    DiabetesType2,
    /// SNOMED CT 368581000119106, neuropathy due to type 2 diabetes mellitus.
    DiabeticNeuropathyType2,
    PeripheralArterialDisease,
}

/// A Condition, kept with all its codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedCondition {
    pub codes: Vec<Coding>,
    pub text: Option<String>,
    pub known: Option<KnownCondition>,
    /// The clinical status code (`active`, `resolved`, …).
    pub clinical_status: Option<String>,
    pub onset: Option<Date>,
    pub abatement: Option<Date>,
    pub side: Option<Side>,
    pub source: RawResource,
}

/// What was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasurementKind {
    /// HbA1c, % (LOINC 4548-4).
    Hba1c,
    /// BMI, kg/m² (LOINC 39156-5).
    Bmi,
    /// Smoking status (LOINC 72166-2).
    SmokingStatus,
    /// Wound size panel (LOINC 72287-6), cm and cm².
    WoundSize,
    /// Ankle-brachial index (LimbPath code; no LOINC code is verified).
    Abi,
    /// Toe-brachial index (LimbPath code).
    Tbi,
    /// Systolic pressures, mmHg (LimbPath codes).
    BrachialPressure,
    DorsalisPedisPressure,
    PosteriorTibialPressure,
    ToePressure,
    /// Transcutaneous oxygen pressure, mmHg (LimbPath code).
    Tcpo2,
}

/// A measured value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredValue {
    /// In the unit of its kind (%, kg/m², mmHg, ratio).
    Number(f64),
    Smoking(SmokingStatus),
    WoundSize {
        length_cm: f64,
        width_cm: f64,
        depth_cm: Option<f64>,
        area_cm2: Option<f64>,
    },
}

/// An Observation LimbPath understands, not (yet) tied to an episode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub kind: MeasurementKind,
    pub value: MeasuredValue,
    pub side: Option<Side>,
    pub effective: Option<Date>,
    pub source: RawResource,
}

/// Everything imported for one patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedPatient {
    /// The Patient resource.
    pub resource: RawResource,
    pub facts: PatientFacts,
    /// Present when the input is a LimbPath export of this patient: the
    /// record rebuilt with its LimbPath ids (consents and care team are not
    /// exported, so they are empty).
    pub record: Option<PatientRecord>,
    pub conditions: Vec<ImportedCondition>,
    pub measurements: Vec<Measurement>,
    /// The patient's resources LimbPath does not map, raw.
    pub unmapped: Vec<RawResource>,
    /// The LimbPath resources `record` was rebuilt from (and the ones derived
    /// from it: risk factors, indices, classifications), raw.
    pub limbpath_resources: Vec<RawResource>,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    /// The source system the keys are qualified by.
    pub source: String,
    pub patients: Vec<ImportedPatient>,
    /// Resources that belong to no patient in the input, raw.
    pub shared: Vec<RawResource>,
    pub warnings: Vec<Issue>,
}

impl Import {
    /// How many input resources this import accounts for (each exactly once).
    pub fn resource_count(&self) -> usize {
        self.shared.len()
            + self
                .patients
                .iter()
                .map(|p| 1 + p.conditions.len() + p.measurements.len() + p.unmapped.len() + p.limbpath_resources.len())
                .sum::<usize>()
    }
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Import a FHIR Bundle (JSON text) of type transaction, batch, collection
/// or searchset. `source` names the sending system (it qualifies every
/// [`ImportKey`]).
pub fn import_bundle(json: &str, source: &str) -> Result<Import, ImportError> {
    let mut cx = Context::new(source);
    let bundle: BundleIn<'_> = match serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(json)) {
        Ok(b) => b,
        Err(e) => {
            cx.errors.push(serde_issue("Bundle", &e));
            return Err(cx.fail());
        }
    };
    if bundle.resource_type.as_deref() != Some("Bundle") {
        cx.errors.push(Issue::error(
            IssueKind::Structure,
            "Bundle.resourceType",
            bundle.resource_type.as_deref().unwrap_or(""),
            "not a Bundle",
            "\"Bundle\" (or use the NDJSON import for one resource per line)",
        ));
        return Err(cx.fail());
    }
    let ty = bundle.type_.as_deref().unwrap_or("");
    if !matches!(ty, "transaction" | "batch" | "collection" | "searchset") {
        cx.errors.push(Issue::error(
            IssueKind::NotSupported,
            "Bundle.type",
            ty,
            "LimbPath imports only bundles of data",
            "transaction, batch, collection or searchset",
        ));
        return Err(cx.fail());
    }
    for (i, e) in bundle.entry.into_iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        if let Some(req) = &e.request
            && !matches!(req.method.as_deref(), Some("POST" | "PUT"))
        {
            cx.errors.push(Issue::error(
                IssueKind::NotSupported,
                format!("{at}.request.method"),
                req.method.as_deref().unwrap_or(""),
                "LimbPath imports data, not other requests",
                "POST or PUT",
            ));
            continue;
        }
        let Some(resource) = e.resource else {
            cx.errors.push(Issue::error(
                IssueKind::Required,
                format!("{at}.resource"),
                "",
                "an entry without a resource",
                "a resource in every entry",
            ));
            continue;
        };
        cx.add(format!("{at}.resource"), e.full_url.map(Cow::into_owned), resource);
    }
    cx.finish()
}

/// Import FHIR NDJSON (one resource per line, as FHIR Bulk Data exports
/// it); blank lines are skipped. References are `Type/id` between lines.
pub fn import_ndjson(text: &str, source: &str) -> Result<Import, ImportError> {
    let mut cx = Context::new(source);
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("ndjson[line {}]", n + 1);
        match serde_json::from_str::<&RawValue>(line) {
            Ok(raw) => cx.add(at, None, raw),
            Err(e) => cx.errors.push(Issue::error(
                IssueKind::Structure,
                at,
                line,
                format!("not one JSON value: {e}"),
                "one FHIR resource as JSON per line",
            )),
        }
    }
    cx.finish()
}

// ---------------------------------------------------------------------------
// Reading the input
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct BundleIn<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    type_: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    entry: Vec<EntryIn<'a>>,
}

#[derive(Deserialize)]
struct EntryIn<'a> {
    #[serde(rename = "fullUrl", borrow)]
    full_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
    request: Option<RequestIn>,
}

#[derive(Deserialize)]
struct RequestIn {
    method: Option<String>,
}

/// What every resource is read for first: its type, id and patient.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subject: Option<&'a RawValue>,
    #[serde(borrow)]
    patient: Option<&'a RawValue>,
    #[serde(borrow)]
    beneficiary: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RefIn {
    reference: Option<String>,
}

#[derive(Deserialize)]
struct IdentifierOnly {
    identifier: Option<serde_json::Value>,
}

struct Entry<'a> {
    at: String,
    full_url: Option<String>,
    raw: &'a RawValue,
    resource_type: String,
    id: Option<String>,
    /// The reference naming this resource's patient, if any.
    patient_ref: Option<String>,
}

fn serde_issue<E: fmt::Display>(root: &str, e: &serde_path_to_error::Error<E>) -> Issue {
    let path = e.path().to_string();
    let message = e.inner().to_string();
    let mut at = if matches!(path.as_str(), "." | "?" | "") { root.to_owned() } else { format!("{root}.{path}") };
    let kind = if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
        at = format!("{at}.{field}");
        IssueKind::Required
    } else {
        IssueKind::Structure
    };
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    Issue::error(kind, at, "", message, "valid FHIR R4 JSON for this element")
}

struct Context<'a> {
    source: String,
    entries: Vec<Entry<'a>>,
    by_url: HashMap<String, usize>,
    by_type_id: HashMap<(String, String), usize>,
    errors: Vec<Issue>,
    warnings: Vec<Issue>,
}

enum Target {
    Found(usize),
    /// Outside the import (an absolute URL, a contained `#ref`, a `Type/id` not sent).
    Outside,
    /// A `urn:` reference that names no entry: an error in a bundle.
    Unresolved,
}

impl<'a> Context<'a> {
    fn new(source: &str) -> Self {
        let mut cx = Context {
            source: source.to_owned(),
            entries: Vec::new(),
            by_url: HashMap::new(),
            by_type_id: HashMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        if source.trim().is_empty() || source.contains('|') {
            cx.errors.push(Issue::error(
                IssueKind::Value,
                "source",
                source,
                "the source system qualifies every import key",
                "a non-empty name without '|' (e.g. the sender's base URL)",
            ));
        }
        cx
    }

    fn fail(self) -> ImportError {
        ImportError { errors: self.errors, warnings: self.warnings }
    }

    fn add(&mut self, at: String, full_url: Option<String>, raw: &'a RawValue) {
        let head: Head<'_> = match serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
        {
            Ok(h) => h,
            Err(e) => {
                self.errors.push(serde_issue(&at, &e));
                return;
            }
        };
        let Some(resource_type) = head.resource_type.filter(|t| !t.is_empty()) else {
            self.errors.push(Issue::error(
                IssueKind::Required,
                format!("{at}.resourceType"),
                "",
                "a resource without its resourceType",
                "the FHIR resource type, e.g. \"Observation\"",
            ));
            return;
        };
        if resource_type == "Bundle" {
            self.errors.push(Issue::error(
                IssueKind::NotSupported,
                format!("{at}.resourceType"),
                "Bundle",
                "a bundle inside the import",
                "the bundle's resources as entries (or lines)",
            ));
            return;
        }
        let reference = |r: Option<&RawValue>| {
            r.and_then(|r| serde_json::from_str::<RefIn>(r.get()).ok()).and_then(|r| r.reference)
        };
        let patient_ref =
            reference(head.subject).or_else(|| reference(head.patient)).or_else(|| reference(head.beneficiary));
        let index = self.entries.len();
        let id = head.id.map(Cow::into_owned);
        if let Some(url) = &full_url
            && self.by_url.insert(url.clone(), index).is_some()
        {
            self.errors.push(Issue::error(
                IssueKind::Duplicate,
                at.replace(".resource", ".fullUrl"),
                url,
                "two entries with the same fullUrl",
                "a unique fullUrl per entry",
            ));
        }
        if let Some(id) = &id
            && self.by_type_id.insert((resource_type.to_string(), id.clone()), index).is_some()
        {
            self.errors.push(Issue::error(
                IssueKind::Duplicate,
                format!("{at}.id"),
                format!("{resource_type}/{id}"),
                "two resources of the same type with the same id",
                "a unique id per resource type",
            ));
        }
        self.entries.push(Entry { at, full_url, raw, resource_type: resource_type.into_owned(), id, patient_ref });
    }

    fn resolve(&self, reference: &str) -> Target {
        if reference.starts_with("urn:") {
            return self.by_url.get(reference).map_or(Target::Unresolved, |i| Target::Found(*i));
        }
        if reference.starts_with('#') {
            return Target::Outside;
        }
        if let Some(i) = self.by_url.get(reference) {
            return Target::Found(*i);
        }
        // `Type/id`, `Type/id/_history/n`, or an absolute URL ending so.
        let path = reference.split("/_history/").next().unwrap_or(reference);
        let mut parts = path.rsplit('/');
        match (parts.next(), parts.next()) {
            (Some(id), Some(ty)) => {
                self.by_type_id.get(&(ty.to_owned(), id.to_owned())).map_or(Target::Outside, |i| Target::Found(*i))
            }
            _ => Target::Outside,
        }
    }

    fn key(&self, e: &Entry<'_>) -> ImportKey {
        let src = &self.source;
        let ty = &e.resource_type;
        if let Some(id) = &e.id {
            return ImportKey(format!("{src}|{ty}/{id}"));
        }
        if let Ok(IdentifierOnly { identifier: Some(v) }) = serde_json::from_str(e.raw.get()) {
            let first = if v.is_array() { v.get(0) } else { Some(&v) };
            if let Some(i) = first
                && let (Some(s), Some(v)) =
                    (i.get("system").and_then(|s| s.as_str()), i.get("value").and_then(|s| s.as_str()))
            {
                return ImportKey(format!("{src}|{ty}?identifier={s}|{v}"));
            }
        }
        if let Some(url) = e.full_url.as_deref().filter(|u| u.starts_with("urn:uuid:")) {
            return ImportKey(format!("{src}|{ty}#{url}"));
        }
        ImportKey(format!("{src}|{ty}#fnv1a64:{:016x}", fnv1a64(e.raw.get().as_bytes())))
    }

    /// The id a resource is known by after import: its own id, else the uuid
    /// of its `urn:uuid:` fullUrl.
    fn local_id(&self, i: usize) -> Option<String> {
        let e = &self.entries[i];
        e.id.clone().or_else(|| e.full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_owned))
    }

    /// The raw JSON with every `"reference": "urn:…"` that names an entry
    /// rewritten to `Type/id`; unresolvable `urn:` references are errors.
    fn raw(&mut self, i: usize) -> RawResource {
        let e = &self.entries[i];
        let text = e.raw.get();
        let mut json = String::new();
        let mut rest = text;
        let mut errors = Vec::new();
        while let Some(pos) = rest.find("\"reference\"") {
            let after_key = &rest[pos + "\"reference\"".len()..];
            let trimmed = after_key.trim_start();
            let Some(after_colon) = trimmed.strip_prefix(':') else {
                json.push_str(&rest[..pos + "\"reference\"".len()]);
                rest = after_key;
                continue;
            };
            let value_start = after_colon.trim_start();
            let Some(value) = value_start.strip_prefix('"') else {
                json.push_str(&rest[..pos + "\"reference\"".len()]);
                rest = after_key;
                continue;
            };
            let end = value.find('"').unwrap_or(value.len());
            let reference = &value[..end];
            let consumed = rest.len() - value.len() + end; // up to the closing quote
            if reference.starts_with("urn:") && !reference.contains('\\') {
                match self.resolve(reference) {
                    Target::Found(t) => {
                        let ty = &self.entries[t].resource_type;
                        let id = self.local_id(t).unwrap_or_default();
                        json.push_str(&rest[..rest.len() - value.len()]);
                        json.push_str(ty);
                        json.push('/');
                        json.push_str(&id);
                    }
                    _ => {
                        errors.push(Issue::error(
                            IssueKind::NotFound,
                            format!("{}.*.reference", e.at),
                            reference,
                            "a urn: reference that names no entry of the bundle",
                            "the fullUrl of an entry in the same bundle",
                        ));
                        json.push_str(&rest[..consumed]);
                    }
                }
            } else {
                json.push_str(&rest[..consumed]);
            }
            rest = &rest[consumed..];
        }
        json.push_str(rest);
        let raw = RawResource {
            key: self.key(e),
            resource_type: e.resource_type.clone(),
            id: e.id.clone(),
            location: e.at.clone(),
            json,
        };
        self.errors.extend(errors);
        raw
    }

    /// The patient entry a resource belongs to.
    fn patient_of(&self, i: usize) -> Option<usize> {
        let e = &self.entries[i];
        if e.resource_type == "Patient" {
            return Some(i);
        }
        match self.resolve(e.patient_ref.as_deref()?) {
            Target::Found(t) if self.entries[t].resource_type == "Patient" => Some(t),
            _ => None,
        }
    }

    fn finish(mut self) -> Result<Import, ImportError> {
        // Which patient each resource belongs to.
        let n = self.entries.len();
        let mut patients: Vec<usize> = Vec::new();
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut shared = Vec::new();
        for i in 0..n {
            let e = &self.entries[i];
            if let Some(r) = &e.patient_ref
                && matches!(self.resolve(r), Target::Unresolved)
            {
                self.errors.push(Issue::error(
                    IssueKind::NotFound,
                    format!("{}.subject.reference", e.at),
                    r,
                    "a urn: reference that names no entry of the bundle",
                    "the fullUrl of an entry in the same bundle",
                ));
                continue;
            }
            match self.patient_of(i) {
                Some(p) if p == i => patients.push(i),
                Some(p) => members.entry(p).or_default().push(i),
                None => {
                    if let Some(r) = &e.patient_ref
                        && r.contains("Patient")
                    {
                        self.warnings.push(Issue::warning(
                            IssueKind::NotFound,
                            format!("{}.subject", e.at),
                            r,
                            "the patient is not in this import; the resource is kept as shared",
                            "the Patient in the same import",
                        ));
                    }
                    shared.push(i);
                }
            }
        }
        let shared: Vec<RawResource> = shared.into_iter().map(|i| self.raw(i)).collect();
        let mut out = Vec::new();
        for p in patients {
            let list = members.remove(&p).unwrap_or_default();
            if let Some(imported) = self.patient(p, &list) {
                out.push(imported);
            }
        }
        if !self.errors.is_empty() {
            return Err(self.fail());
        }
        Ok(Import { source: self.source, patients: out, shared, warnings: self.warnings })
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------------------
// Mapping one patient
// ---------------------------------------------------------------------------

fn typed<T: for<'de> Deserialize<'de>>(raw: &RawValue, at: &str) -> Result<T, Issue> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
        .map_err(|e| serde_issue(at, &e))
}

fn record_id_of(ids: &[Identifier]) -> Option<&str> {
    ids.iter().find(|i| i.system.as_deref() == Some(RECORD_ID_SYSTEM)).and_then(|i| i.value.as_deref())
}

fn side_of(site: &CodeableConcept) -> Option<Side> {
    let lat = |c: &CodeableConcept| {
        if SCT_LEFT.is_in(c) {
            Some(Side::Left)
        } else if SCT_RIGHT.is_in(c) {
            Some(Side::Right)
        } else {
            None
        }
    };
    site.extension
        .iter()
        .filter(|e| e.url == EXT_LATERALITY || e.url == EXT_STRUCTURE_LATERALITY)
        .find_map(|e| e.value_codeable_concept.as_ref().and_then(lat))
        .or_else(|| lat(site))
}

fn ext<'x>(list: &'x [Extension], url: &str) -> Option<&'x Extension> {
    list.iter().find(|e| e.url == url)
}

fn ext_code<'x>(list: &'x [Extension], url: &str, system: &str) -> Option<&'x str> {
    ext(list, url).and_then(|e| e.value_codeable_concept.as_ref()).and_then(|c| c.code_in(system))
}

/// A latest-wins slot for a fact: (priority, date, value); higher priority
/// wins, then the later date, then the later resource.
struct Slot<T>(Option<(u8, Option<Date>, T)>);

impl<T> Slot<T> {
    fn offer(&mut self, priority: u8, date: Option<Date>, value: T) {
        let better = match &self.0 {
            None => true,
            Some((p, d, _)) => (priority, date) >= (*p, *d),
        };
        if better {
            self.0 = Some((priority, date, value));
        }
    }
    fn get(self) -> Option<T> {
        self.0.map(|(_, _, v)| v)
    }
}

#[derive(Default)]
struct FactSlots {
    diabetes_limbpath: Option<DiabetesStatus>,
    diabetes_type1: bool,
    diabetes_type2: bool,
    hba1c: Option<Slot<f64>>,
    bmi: Option<Slot<f64>>,
    smoking: Option<Slot<SmokingStatus>>,
    ckd_stage: Option<u8>,
    dialysis: Option<bool>,
    ambulatory_status: Option<AmbulatoryStatus>,
}

fn offer<T>(slot: &mut Option<Slot<T>>, priority: u8, date: Option<Date>, value: T) {
    slot.get_or_insert(Slot(None)).offer(priority, date, value);
}

/// What the store assigned a LimbPath record: its version and timestamps.
#[derive(Clone, Copy)]
struct Stamp {
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl Stamp {
    fn store<T>(self, id: Option<&str>, data: T) -> Stored<T> {
        Stored {
            id: id.unwrap_or_default().to_owned(),
            version: self.version,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            data,
        }
    }
}

/// The record being rebuilt from a LimbPath export.
struct Native {
    patient_id: String,
    patient_stamp: Option<Stamp>,
    record: PatientRecord,
    /// Record id of each LimbPath resource, by entry index.
    ids: HashMap<usize, String>,
}

fn quantity_in(q: Option<&r4::Quantity>, unit: &str) -> Option<f64> {
    let q = q?;
    let same = q.code.as_deref() == Some(unit) || (q.code.is_none() && q.unit.as_deref() == Some(unit));
    if same { q.value } else { None }
}

impl Context<'_> {
    fn stamp(&self, meta: Option<&Meta>, extension: &[Extension], at: &str) -> Result<Stamp, Issue> {
        let missing = |what: &str, field: &str| {
            Issue::error(
                IssueKind::Required,
                format!("{at}.{field}"),
                "",
                format!("a LimbPath record without its {what}"),
                "as LimbPath exported it",
            )
        };
        let version = meta.and_then(|m| m.version_id.as_deref()).ok_or_else(|| missing("version", "meta.versionId"))?;
        let version = version.parse::<i64>().map_err(|_| {
            Issue::error(
                IssueKind::Value,
                format!("{at}.meta.versionId"),
                version,
                "not a LimbPath version",
                "a whole number",
            )
        })?;
        let updated_text =
            meta.and_then(|m| m.last_updated.as_deref()).ok_or_else(|| missing("last change", "meta.lastUpdated"))?;
        let updated = when::parse_instant(updated_text).ok_or_else(|| {
            Issue::error(
                IssueKind::Value,
                format!("{at}.meta.lastUpdated"),
                updated_text,
                "not an instant",
                "YYYY-MM-DDThh:mm:ss.sssZ",
            )
        })?;
        let created_text = ext(extension, EXT_RECORD_CREATED)
            .and_then(|e| e.value_instant.as_deref())
            .ok_or_else(|| missing("creation time", "extension(record-created)"))?;
        let created = when::parse_instant(created_text).ok_or_else(|| {
            Issue::error(
                IssueKind::Value,
                format!("{at}.extension(record-created)"),
                created_text,
                "not an instant",
                "YYYY-MM-DDThh:mm:ss.sssZ",
            )
        })?;
        Ok(Stamp { version, created_at_ms: created, updated_at_ms: updated })
    }

    /// The LimbPath record id of the resource a reference names, if it is a
    /// LimbPath resource of that type in this import.
    fn native_ref(&self, native: &Native, r: Option<&Reference>, ty: &str, at: &str) -> Result<String, Issue> {
        let text = r.and_then(|r| r.reference.as_deref()).unwrap_or("");
        match self.resolve(text) {
            Target::Found(t) if self.entries[t].resource_type == ty => native.ids.get(&t).cloned().ok_or_else(|| {
                Issue::error(
                    IssueKind::NotFound,
                    at.to_owned(),
                    text,
                    format!("the {ty} is not a LimbPath record"),
                    "a reference to a LimbPath resource",
                )
            }),
            _ => Err(Issue::error(
                IssueKind::NotFound,
                at.to_owned(),
                text,
                format!("no {ty} with this reference in the import"),
                format!("a reference to a {ty} in the same import"),
            )),
        }
    }

    fn patient(&mut self, p: usize, members: &[usize]) -> Option<ImportedPatient> {
        let at = self.entries[p].at.clone();
        let patient: r4::Patient = match typed(self.entries[p].raw, &at) {
            Ok(v) => v,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        let mut facts = PatientFacts::default();
        let mrn = patient
            .identifier
            .iter()
            .find(|i| i.type_.as_ref().is_some_and(|t| IDENTIFIER_TYPE_MR.is_in(t)) && i.value.is_some());
        if let Some(mrn) = mrn {
            facts.mrn = mrn.value.clone();
            facts.site = mrn
                .assigner
                .as_ref()
                .and_then(|a| a.display.clone())
                .or_else(|| mrn.system.as_deref().map(site_of_system));
        }
        let name = patient.name.iter().find(|n| n.use_.as_deref() == Some("official")).or(patient.name.first());
        if let Some(n) = name {
            facts.family_name = n.family.clone();
            facts.given_name = (!n.given.is_empty()).then(|| n.given.join(" "));
        }
        if let Some(b) = &patient.birth_date {
            facts.birth_date = when::parse_date(b);
            if facts.birth_date.is_none() {
                self.warnings.push(Issue::warning(
                    IssueKind::Value,
                    format!("{at}.birthDate"),
                    b,
                    "not a full date; the birth date is left unknown",
                    "YYYY-MM-DD",
                ));
            }
        }
        facts.sex = patient.gender.as_deref().and_then(Sex::from_code);

        let patient_raw = self.raw(p);
        let mut native = record_id_of(&patient.identifier).map(|id| Native {
            patient_id: id.to_owned(),
            patient_stamp: None,
            record: PatientRecord::default(),
            ids: HashMap::new(),
        });
        if let Some(n) = &mut native {
            match self.stamp(patient.meta.as_ref(), &patient.extension, &at) {
                Ok(s) => n.patient_stamp = Some(s),
                Err(e) => self.errors.push(e),
            }
        }
        let mut out = ImportedPatient {
            resource: patient_raw,
            facts: PatientFacts::default(),
            record: None,
            conditions: Vec::new(),
            measurements: Vec::new(),
            unmapped: Vec::new(),
            limbpath_resources: Vec::new(),
        };
        let mut slots = FactSlots::default();

        // Pass 1: read every member typed where LimbPath maps its type, and
        // note the record ids of LimbPath resources (references between them
        // are resolved in pass 2, whatever the order of the input).
        enum Read {
            Condition(Box<r4::Condition>),
            Observation(Box<Observation>),
            BodyStructure(Box<r4::BodyStructure>),
            EpisodeOfCare(Box<r4::EpisodeOfCare>),
            Procedure(Box<r4::Procedure>),
            QuestionnaireResponse(Box<r4::QuestionnaireResponse>),
            Other,
        }
        let mut read = Vec::with_capacity(members.len());
        for &i in members {
            let e = &self.entries[i];
            let at = e.at.clone();
            let native_patient = native.is_some();
            let parsed = match e.resource_type.as_str() {
                "Condition" => typed(e.raw, &at).map(|r| Read::Condition(Box::new(r))),
                "Observation" => typed(e.raw, &at).map(|r| Read::Observation(Box::new(r))),
                "BodyStructure" if native_patient => typed(e.raw, &at).map(|r| Read::BodyStructure(Box::new(r))),
                "EpisodeOfCare" if native_patient => typed(e.raw, &at).map(|r| Read::EpisodeOfCare(Box::new(r))),
                "Procedure" if native_patient => typed(e.raw, &at).map(|r| Read::Procedure(Box::new(r))),
                "QuestionnaireResponse" if native_patient => {
                    typed(e.raw, &at).map(|r| Read::QuestionnaireResponse(Box::new(r)))
                }
                _ => Ok(Read::Other),
            };
            let parsed = match parsed {
                Ok(r) => r,
                Err(issue) => {
                    self.errors.push(issue);
                    Read::Other
                }
            };
            let (ids, modifier): (Option<&str>, bool) = match &parsed {
                Read::Condition(r) => (record_id_of(&r.identifier), !r.modifier_extension.is_empty()),
                Read::Observation(r) => (record_id_of(&r.identifier), !r.modifier_extension.is_empty()),
                Read::BodyStructure(r) => (record_id_of(&r.identifier), !r.modifier_extension.is_empty()),
                Read::EpisodeOfCare(r) => (record_id_of(&r.identifier), !r.modifier_extension.is_empty()),
                Read::Procedure(r) => (record_id_of(&r.identifier), !r.modifier_extension.is_empty()),
                Read::QuestionnaireResponse(r) => (
                    r.identifier.as_ref().and_then(|i| record_id_of(std::slice::from_ref(i))),
                    !r.modifier_extension.is_empty(),
                ),
                Read::Other => (None, false),
            };
            if modifier {
                self.warnings.push(Issue::warning(
                    IssueKind::NotSupported,
                    format!("{at}.modifierExtension"),
                    "",
                    "a modifier extension LimbPath does not know changes this resource's meaning; it is kept unmapped",
                    "no modifierExtension",
                ));
                read.push((i, Read::Other));
                continue;
            }
            if let (Some(n), Some(id)) = (&mut native, ids) {
                n.ids.insert(i, id.to_owned());
            }
            read.push((i, parsed));
        }

        // Pass 2: map.
        enum Dest {
            Unmapped,
            LimbPath,
            Condition(ImportedCondition),
            Measurement(Box<Measurement>),
        }
        for (i, r) in read {
            let at = self.entries[i].at.clone();
            let is_native = native.as_ref().is_some_and(|n| n.ids.contains_key(&i));
            let dest = match r {
                Read::Condition(c) => self.condition(&c, &at, is_native, native.as_mut(), &mut slots),
                Read::Observation(o) => self.observation(&o, &at, is_native, native.as_mut(), &mut slots),
                Read::BodyStructure(b) if is_native => self.limb(&b, &at, native.as_mut()),
                Read::EpisodeOfCare(e) if is_native => self.episode(&e, &at, native.as_mut()),
                Read::Procedure(p) if is_native => self.procedure(&p, &at, native.as_mut()),
                Read::QuestionnaireResponse(q)
                    if is_native && q.questionnaire.as_deref() == Some(ASSESSMENT_QUESTIONNAIRE) =>
                {
                    self.assessment(&q, &at, native.as_mut())
                }
                _ => Ok(MapTo::Unmapped),
            };
            let dest = match dest {
                Ok(MapTo::Unmapped) => Dest::Unmapped,
                Ok(MapTo::LimbPath) => Dest::LimbPath,
                Ok(MapTo::Condition(c)) => Dest::Condition(c),
                Ok(MapTo::Measurement(m)) => Dest::Measurement(m),
                Err(issue) => {
                    self.errors.push(issue);
                    Dest::Unmapped
                }
            };
            let raw = self.raw(i);
            match dest {
                Dest::Unmapped => out.unmapped.push(raw),
                Dest::LimbPath => out.limbpath_resources.push(raw),
                Dest::Condition(mut c) => {
                    c.source = raw;
                    out.conditions.push(c);
                }
                Dest::Measurement(mut m) => {
                    m.source = raw;
                    out.measurements.push(*m);
                }
            }
        }

        // Facts: LimbPath's own statements first, then the standard codes.
        facts.diabetes = slots.diabetes_limbpath.or(match (slots.diabetes_type1, slots.diabetes_type2) {
            (true, false) => Some(DiabetesStatus::Type1),
            (false, true) => Some(DiabetesStatus::Type2),
            (true, true) => {
                self.warnings.push(Issue::warning(
                    IssueKind::BusinessRule,
                    at.clone(),
                    "",
                    "conditions for both type 1 and type 2 diabetes; the diabetes status is left unknown",
                    "one diabetes type",
                ));
                None
            }
            (false, false) => None,
        });
        facts.hba1c_percent = slots.hba1c.and_then(Slot::get);
        facts.bmi = slots.bmi.and_then(Slot::get);
        facts.smoking = slots.smoking.and_then(Slot::get);
        facts.ckd_stage = slots.ckd_stage;
        facts.dialysis = slots.dialysis;
        facts.ambulatory_status = slots.ambulatory_status;

        if let Some(mut n) = native {
            match (facts.patient_data(), n.patient_stamp) {
                (Ok(data), Some(stamp)) => match data.validate() {
                    Ok(()) => n.record.patient = Some(stamp.store(Some(&n.patient_id), data)),
                    Err(e) => self.errors.push(invalid(&at, &e)),
                },
                (Err(missing), _) => self.errors.push(Issue::error(
                    IssueKind::Required,
                    at.clone(),
                    missing.missing.join(", "),
                    "a LimbPath patient without all its facts",
                    "the risk-factor resources LimbPath exports with the patient",
                )),
                (_, None) => {}
            }
            out.record = Some(n.record);
        }
        out.facts = facts;
        Some(out)
    }
}

/// What a member resource became.
enum MapTo {
    Unmapped,
    LimbPath,
    Condition(ImportedCondition),
    Measurement(Box<Measurement>),
}

fn invalid(at: &str, e: &limbpath_clinical::InvalidInput) -> Issue {
    Issue::error(
        IssueKind::BusinessRule,
        at.to_owned(),
        e.value.as_deref().unwrap_or(""),
        format!("LimbPath refuses it: {e}"),
        e.accepted.clone(),
    )
}

/// The site of an MRN identifier system: the LimbPath site name (decoded),
/// else the system itself (e.g. `http://hospital.smarthealthit.org`).
fn site_of_system(system: &str) -> String {
    let Some(encoded) = system.strip_prefix(MRN_SYSTEM_PREFIX) else { return system.to_owned() };
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = encoded.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| system.to_owned())
}

fn placeholder() -> RawResource {
    RawResource {
        key: ImportKey(String::new()),
        resource_type: String::new(),
        id: None,
        location: String::new(),
        json: String::new(),
    }
}

fn plausible(p: Plausible, v: f64, at: &str, field: &str) -> Result<f64, Issue> {
    p.check(field, v).map_err(|e| invalid(at, &e))
}

fn date_of(text: Option<&str>, at: &str, field: &str) -> Result<Date, Issue> {
    let t = text.unwrap_or("");
    when::parse_date(t).ok_or_else(|| {
        Issue::error(
            if t.is_empty() { IssueKind::Required } else { IssueKind::Value },
            format!("{at}.{field}"),
            t,
            "not a full date",
            "YYYY-MM-DD",
        )
    })
}

fn code_of<T>(
    concept: Option<&CodeableConcept>,
    system: &str,
    parse: impl Fn(&str) -> Option<T>,
    at: &str,
    field: &str,
) -> Result<T, Issue> {
    let code = concept.and_then(|c| c.code_in(system));
    code.and_then(&parse).ok_or_else(|| {
        Issue::error(
            if code.is_none() { IssueKind::Required } else { IssueKind::Value },
            format!("{at}.{field}"),
            code.unwrap_or(""),
            format!("no LimbPath code from {system}"),
            "a code of the LimbPath vocabulary",
        )
    })
}

fn note_text(notes: &[r4::Annotation]) -> String {
    notes.first().map(|n| n.text.clone()).unwrap_or_default()
}

impl Context<'_> {
    fn condition(
        &self,
        c: &r4::Condition,
        at: &str,
        is_native: bool,
        native: Option<&mut Native>,
        slots: &mut FactSlots,
    ) -> Result<MapTo, Issue> {
        let code = c.code.clone().unwrap_or_default();
        if let (true, Some(n)) = (is_native, native) {
            if OBS_WOUND.is_in(&code) {
                let stamp = self.stamp(c.meta.as_ref(), &c.extension, at)?;
                let episode_id = self.native_ref(
                    n,
                    ext(&c.extension, EXT_EPISODE).and_then(|e| e.value_reference.as_ref()),
                    "EpisodeOfCare",
                    &format!("{at}.extension(episode)"),
                )?;
                let site = c.body_site.first();
                let location = code_of(
                    site,
                    CS_WOUND_LOCATION,
                    |s| serde_json::from_value(serde_json::Value::String(s.to_owned())).ok(),
                    at,
                    "bodySite",
                )?;
                let data = WoundData {
                    episode_id,
                    location,
                    noted_on: date_of(c.onset_date_time.as_deref(), at, "onsetDateTime")?,
                    description: note_text(&c.note),
                    healed_on: c
                        .abatement_date_time
                        .as_deref()
                        .map(|t| date_of(Some(t), at, "abatementDateTime"))
                        .transpose()?,
                };
                data.validate().map_err(|e| invalid(at, &e))?;
                n.record.wounds.push(stamp.store(record_id_of(&c.identifier), data));
            }
            // Episode problems and the diabetes condition are derived from the record.
            return Ok(MapTo::LimbPath);
        }
        let known = if SCT_DIABETES_TYPE_1.is_in(&code) {
            slots.diabetes_type1 = true;
            Some(KnownCondition::DiabetesType1)
        } else if SCT_DIABETES_TYPE_2.is_in(&code) {
            slots.diabetes_type2 = true;
            Some(KnownCondition::DiabetesType2)
        } else if SCT_DIABETIC_NEUROPATHY_T2.is_in(&code) {
            Some(KnownCondition::DiabeticNeuropathyType2)
        } else if SCT_PAD.is_in(&code) {
            Some(KnownCondition::PeripheralArterialDisease)
        } else {
            None
        };
        Ok(MapTo::Condition(ImportedCondition {
            codes: code.coding,
            text: code.text,
            known,
            clinical_status: c
                .clinical_status
                .as_ref()
                .and_then(|s| s.code_in(CS_CONDITION_CLINICAL))
                .map(str::to_owned),
            onset: c.onset_date_time.as_deref().and_then(when::parse_date),
            abatement: c.abatement_date_time.as_deref().and_then(when::parse_date),
            side: c.body_site.first().and_then(side_of),
            source: placeholder(),
        }))
    }

    fn observation(
        &self,
        o: &Observation,
        at: &str,
        is_native: bool,
        native: Option<&mut Native>,
        slots: &mut FactSlots,
    ) -> Result<MapTo, Issue> {
        let mut native = if is_native { native } else { None };
        let effective = o.effective_date_time.as_deref().and_then(when::parse_date);
        // Risk factors: LimbPath's own (priority 2) before other senders' (1).
        let priority = if is_native { 2 } else { 1 };
        if OBS_DIABETES_STATUS.is_in(&o.code) {
            slots.diabetes_limbpath = Some(code_of(
                o.value_codeable_concept.as_ref(),
                CS_DIABETES_STATUS,
                DiabetesStatus::from_code,
                at,
                "valueCodeableConcept",
            )?);
            return Ok(if is_native { MapTo::LimbPath } else { MapTo::Unmapped });
        }
        if OBS_CKD_STAGE.is_in(&o.code) {
            let v = o.value_integer.and_then(|v| u8::try_from(v).ok()).ok_or_else(|| {
                Issue::error(
                    IssueKind::Value,
                    format!("{at}.valueInteger"),
                    format!("{:?}", o.value_integer),
                    "not a CKD stage",
                    "1 to 5",
                )
            })?;
            slots.ckd_stage = Some(v);
            return Ok(if is_native { MapTo::LimbPath } else { MapTo::Unmapped });
        }
        if OBS_DIALYSIS.is_in(&o.code) {
            slots.dialysis = Some(o.value_boolean.ok_or_else(|| {
                Issue::error(
                    IssueKind::Required,
                    format!("{at}.valueBoolean"),
                    "",
                    "dialysis without a yes/no value",
                    "valueBoolean",
                )
            })?);
            return Ok(if is_native { MapTo::LimbPath } else { MapTo::Unmapped });
        }
        if OBS_AMBULATORY_STATUS.is_in(&o.code) {
            slots.ambulatory_status = Some(code_of(
                o.value_codeable_concept.as_ref(),
                CS_AMBULATORY_STATUS,
                AmbulatoryStatus::from_code,
                at,
                "valueCodeableConcept",
            )?);
            return Ok(if is_native { MapTo::LimbPath } else { MapTo::Unmapped });
        }
        let measurement = |kind, value| {
            Ok(MapTo::Measurement(Box::new(Measurement {
                kind,
                value,
                side: o.body_site.as_ref().and_then(side_of),
                effective,
                source: placeholder(),
            })))
        };
        let numbers = [
            (&LOINC_HBA1C, UNIT_PERCENT, limits::PERCENT, MeasurementKind::Hba1c),
            (&LOINC_BMI, UNIT_KG_M2, limits::BMI, MeasurementKind::Bmi),
        ];
        for (code, unit, range, kind) in numbers {
            if !code.is_in(&o.code) {
                continue;
            }
            let Some(v) = quantity_in(o.value_quantity.as_ref(), unit) else { return Ok(MapTo::Unmapped) };
            let v = plausible(range, v, at, "valueQuantity.value")?;
            let slot = if kind == MeasurementKind::Hba1c { &mut slots.hba1c } else { &mut slots.bmi };
            offer(slot, priority, effective, v);
            return if is_native { Ok(MapTo::LimbPath) } else { measurement(kind, MeasuredValue::Number(v)) };
        }
        if LOINC_SMOKING_STATUS.is_in(&o.code) {
            let value = o.value_codeable_concept.clone().unwrap_or_default();
            let status = value.code_in(CS_SMOKING_STATUS).and_then(SmokingStatus::from_code).or(
                if SCT_NEVER_SMOKED.is_in(&value) {
                    Some(SmokingStatus::Never)
                } else if SCT_EX_SMOKER.is_in(&value) {
                    Some(SmokingStatus::Former)
                } else if SCT_SMOKER.is_in(&value) {
                    Some(SmokingStatus::Current)
                } else {
                    None
                },
            );
            let Some(status) = status else { return Ok(MapTo::Unmapped) };
            offer(&mut slots.smoking, priority, effective, status);
            return if is_native {
                Ok(MapTo::LimbPath)
            } else {
                measurement(MeasurementKind::SmokingStatus, MeasuredValue::Smoking(status))
            };
        }
        if LOINC_WOUND_SIZE_PANEL.is_in(&o.code) {
            let part = |code: &Code, unit: &str, p: Plausible, name: &str| -> Result<Option<f64>, Issue> {
                let Some((k, c)) = o.component.iter().enumerate().find(|(_, c)| code.is_in(&c.code)) else {
                    return Ok(None);
                };
                let here = format!("{at}.component[{k}].valueQuantity");
                match quantity_in(c.value_quantity.as_ref(), unit) {
                    Some(v) => plausible(p, v, &here, name).map(Some),
                    None => Err(Issue::error(
                        IssueKind::Value,
                        here,
                        c.value_quantity.as_ref().and_then(|q| q.code.clone().or(q.unit.clone())).unwrap_or_default(),
                        format!("{} is not in {unit}", code.display),
                        format!("a quantity in UCUM {unit}"),
                    )),
                }
            };
            let length = part(&LOINC_WOUND_LENGTH, UNIT_CM, limits::LENGTH_CM, "length_cm")?;
            let width = part(&LOINC_WOUND_WIDTH, UNIT_CM, limits::LENGTH_CM, "width_cm")?;
            let depth = part(&LOINC_WOUND_DEPTH, UNIT_CM, limits::LENGTH_CM, "depth_cm")?;
            let area = part(&LOINC_WOUND_AREA, UNIT_CM2, limits::AREA_CM2, "area_cm2")?;
            if let Some(n) = native.as_deref_mut() {
                let stamp = self.stamp(o.meta.as_ref(), &o.extension, at)?;
                let wound_id = self.native_ref(n, o.focus.first(), "Condition", &format!("{at}.focus"))?;
                let need = |v: Option<f64>, what: &str| {
                    v.ok_or_else(|| {
                        Issue::error(
                            IssueKind::Required,
                            format!("{at}.component"),
                            "",
                            format!("a wound measurement without its {what}"),
                            what.to_owned(),
                        )
                    })
                };
                let data = WoundMeasurementData {
                    wound_id,
                    measured_on: date_of(o.effective_date_time.as_deref(), at, "effectiveDateTime")?,
                    length_cm: need(length, "length")?,
                    width_cm: need(width, "width")?,
                    depth_cm: depth,
                    area_cm2: area,
                };
                data.validate().map_err(|e| invalid(at, &e))?;
                n.record.wound_measurements.push(stamp.store(record_id_of(&o.identifier), data));
                return Ok(MapTo::LimbPath);
            }
            return match (length, width) {
                (Some(length_cm), Some(width_cm)) => measurement(
                    MeasurementKind::WoundSize,
                    MeasuredValue::WoundSize { length_cm, width_cm, depth_cm: depth, area_cm2: area },
                ),
                _ => Ok(MapTo::Unmapped),
            };
        }
        if let Some(n) = native {
            if OBS_VASCULAR_STUDY.is_in(&o.code) {
                return self.vascular_study(o, at, n);
            }
            if OBS_IMAGING_STUDY.is_in(&o.code) {
                return self.imaging_study(o, at, n);
            }
            if OBS_OUTCOME_EVENT.is_in(&o.code) {
                return self.outcome_event(o, at, n);
            }
            // Pressures (members of a study), derived indices and
            // classifications: rebuilt or re-derived from the record.
            return Ok(MapTo::LimbPath);
        }
        let pressures: [(&Code, MeasurementKind, Plausible); 5] = [
            (&OBS_BRACHIAL_PRESSURE, MeasurementKind::BrachialPressure, limits::BRACHIAL_MMHG),
            (&OBS_DORSALIS_PEDIS_PRESSURE, MeasurementKind::DorsalisPedisPressure, limits::PRESSURE_MMHG),
            (&OBS_POSTERIOR_TIBIAL_PRESSURE, MeasurementKind::PosteriorTibialPressure, limits::PRESSURE_MMHG),
            (&OBS_TOE_PRESSURE, MeasurementKind::ToePressure, limits::PRESSURE_MMHG),
            (&OBS_TCPO2, MeasurementKind::Tcpo2, limits::TCPO2_MMHG),
        ];
        for (code, kind, p) in pressures {
            if code.is_in(&o.code) {
                return match quantity_in(o.value_quantity.as_ref(), UNIT_MMHG) {
                    Some(v) => measurement(kind, MeasuredValue::Number(plausible(p, v, at, "valueQuantity.value")?)),
                    None => Ok(MapTo::Unmapped),
                };
            }
        }
        for (code, kind) in [(&OBS_ABI, MeasurementKind::Abi), (&OBS_TBI, MeasurementKind::Tbi)] {
            if code.is_in(&o.code) {
                return match o.value_quantity.as_ref().and_then(|q| q.value) {
                    Some(v) => measurement(
                        kind,
                        MeasuredValue::Number(plausible(limits::INDEX_RATIO, v, at, "valueQuantity.value")?),
                    ),
                    None => Ok(MapTo::Unmapped),
                };
            }
        }
        Ok(MapTo::Unmapped)
    }

    fn limb(&self, b: &r4::BodyStructure, at: &str, native: Option<&mut Native>) -> Result<MapTo, Issue> {
        let Some(n) = native else { return Ok(MapTo::Unmapped) };
        let stamp = self.stamp(b.meta.as_ref(), &b.extension, at)?;
        let side = b.location_qualifier.iter().find_map(side_of).ok_or_else(|| {
            Issue::error(
                IssueKind::Required,
                format!("{at}.locationQualifier"),
                "",
                "a limb without its side",
                "SNOMED CT 7771000 (left) or 24028007 (right)",
            )
        })?;
        let data = LimbData {
            patient_id: n.patient_id.clone(),
            side,
            kind: code_of(b.location.as_ref(), CS_LIMB, LimbKind::from_code, at, "location")?,
            amputation_level: amputation_level(&b.extension, at)?,
        };
        data.validate().map_err(|e| invalid(at, &e))?;
        n.record.limbs.push(stamp.store(record_id_of(&b.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn episode(&self, e: &r4::EpisodeOfCare, at: &str, native: Option<&mut Native>) -> Result<MapTo, Issue> {
        let Some(n) = native else { return Ok(MapTo::Unmapped) };
        let stamp = self.stamp(e.meta.as_ref(), &e.extension, at)?;
        let limb_id = self.native_ref(
            n,
            ext(&e.extension, EXT_LIMB).and_then(|x| x.value_reference.as_ref()),
            "BodyStructure",
            &format!("{at}.extension(limb)"),
        )?;
        let period = e.period.clone().unwrap_or_default();
        let data = EpisodeData {
            limb_id,
            aetiology: code_of(e.type_.first(), CS_AETIOLOGY, Aetiology::from_code, at, "type")?,
            status: code_of(
                ext(&e.extension, EXT_EPISODE_STATUS).and_then(|x| x.value_codeable_concept.as_ref()),
                CS_EPISODE_STATUS,
                EpisodeStatus::from_code,
                at,
                "extension(episode-status)",
            )?,
            opened_on: date_of(period.start.as_deref(), at, "period.start")?,
            closed_on: period.end.as_deref().map(|t| date_of(Some(t), at, "period.end")).transpose()?,
            summary: ext(&e.extension, EXT_EPISODE_SUMMARY).and_then(|x| x.value_string.clone()).unwrap_or_default(),
        };
        data.validate().map_err(|x| invalid(at, &x))?;
        n.record.episodes.push(stamp.store(record_id_of(&e.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn episode_of(&self, n: &Native, extension: &[Extension], at: &str) -> Result<String, Issue> {
        self.native_ref(
            n,
            ext(extension, EXT_EPISODE).and_then(|x| x.value_reference.as_ref()),
            "EpisodeOfCare",
            &format!("{at}.extension(episode)"),
        )
    }

    fn vascular_study(&self, o: &Observation, at: &str, n: &mut Native) -> Result<MapTo, Issue> {
        let stamp = self.stamp(o.meta.as_ref(), &o.extension, at)?;
        let mut pressures = limbpath_clinical::perfusion::PressureSet::default();
        let mut any_pressure = false;
        let mut tcpo2 = None;
        for (k, m) in o.has_member.iter().enumerate() {
            let here = format!("{at}.hasMember[{k}]");
            let text = m.reference.as_deref().unwrap_or("");
            let Target::Found(t) = self.resolve(text) else {
                return Err(Issue::error(
                    IssueKind::NotFound,
                    here,
                    text,
                    "a study member that is not in the import",
                    "a reference to an Observation in the same import",
                ));
            };
            let member: Observation = typed(self.entries[t].raw, &self.entries[t].at)?;
            let v = quantity_in(member.value_quantity.as_ref(), UNIT_MMHG).ok_or_else(|| {
                Issue::error(
                    IssueKind::Value,
                    format!("{}.valueQuantity", self.entries[t].at),
                    "",
                    "a pressure not in mm[Hg]",
                    "a quantity in UCUM mm[Hg]",
                )
            })?;
            if OBS_TCPO2.is_in(&member.code) {
                tcpo2 = Some(v);
                continue;
            }
            let side = member.body_site.as_ref().and_then(side_of).ok_or_else(|| {
                Issue::error(
                    IssueKind::Required,
                    format!("{}.bodySite", self.entries[t].at),
                    "",
                    "a pressure without its side",
                    "a bodySite with laterality",
                )
            })?;
            any_pressure = true;
            let leg = match side {
                Side::Left => pressures.left.get_or_insert_with(Default::default),
                Side::Right => pressures.right.get_or_insert_with(Default::default),
            };
            if OBS_BRACHIAL_PRESSURE.is_in(&member.code) {
                match side {
                    Side::Left => pressures.brachial_left_mmhg = Some(v),
                    Side::Right => pressures.brachial_right_mmhg = Some(v),
                }
            } else if OBS_DORSALIS_PEDIS_PRESSURE.is_in(&member.code) {
                leg.dorsalis_pedis_mmhg = Some(v);
            } else if OBS_POSTERIOR_TIBIAL_PRESSURE.is_in(&member.code) {
                leg.posterior_tibial_mmhg = Some(v);
            } else if OBS_TOE_PRESSURE.is_in(&member.code) {
                leg.toe_pressure_mmhg = Some(v);
            } else {
                return Err(Issue::error(
                    IssueKind::Value,
                    format!("{}.code", self.entries[t].at),
                    "",
                    "not a LimbPath pressure",
                    "a LimbPath pressure code",
                ));
            }
        }
        // A leg only created for a brachial pressure is not a leg.
        for leg in [&mut pressures.left, &mut pressures.right] {
            if leg.as_ref().is_some_and(|l| *l == Default::default()) {
                *leg = None;
            }
        }
        let data = VascularStudyData {
            episode_id: self.episode_of(n, &o.extension, at)?,
            performed_on: date_of(o.effective_date_time.as_deref(), at, "effectiveDateTime")?,
            kind: code_of(o.method.as_ref(), CS_VASCULAR_STUDY_KIND, VascularStudyKind::from_code, at, "method")?,
            pressures: any_pressure.then_some(pressures),
            tcpo2_mmhg: tcpo2,
            findings: note_text(&o.note),
        };
        data.validate().map_err(|e| invalid(at, &e))?;
        n.record.vascular_studies.push(stamp.store(record_id_of(&o.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn imaging_study(&self, o: &Observation, at: &str, n: &mut Native) -> Result<MapTo, Issue> {
        let stamp = self.stamp(o.meta.as_ref(), &o.extension, at)?;
        let arterial_segments = ext(&o.extension, EXT_ARTERIAL_SEGMENTS)
            .and_then(|e| e.value_string.as_deref())
            .map(|t| {
                serde_json::from_str(t).map_err(|e| {
                    Issue::error(
                        IssueKind::Value,
                        format!("{at}.extension(arterial-segments)"),
                        t,
                        format!("not JSON: {e}"),
                        "the GLASS input as JSON text",
                    )
                })
            })
            .transpose()?;
        let dexa_t_score =
            o.component.iter().find(|c| OBS_DEXA_T_SCORE.is_in(&c.code)).and_then(|c| c.value_quantity.as_ref()?.value);
        let data = ImagingStudyData {
            episode_id: self.episode_of(n, &o.extension, at)?,
            performed_on: date_of(o.effective_date_time.as_deref(), at, "effectiveDateTime")?,
            modality: code_of(o.method.as_ref(), CS_IMAGING_MODALITY, ImagingModality::from_code, at, "method")?,
            findings: note_text(&o.note),
            arterial_segments,
            dexa_t_score,
        };
        data.validate().map_err(|e| invalid(at, &e))?;
        n.record.imaging_studies.push(stamp.store(record_id_of(&o.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn outcome_event(&self, o: &Observation, at: &str, n: &mut Native) -> Result<MapTo, Issue> {
        let stamp = self.stamp(o.meta.as_ref(), &o.extension, at)?;
        let data = OutcomeEventData {
            episode_id: self.episode_of(n, &o.extension, at)?,
            occurred_on: date_of(o.effective_date_time.as_deref(), at, "effectiveDateTime")?,
            kind: code_of(
                o.value_codeable_concept.as_ref(),
                CS_OUTCOME_KIND,
                OutcomeKind::from_code,
                at,
                "valueCodeableConcept",
            )?,
            amputation_level: amputation_level(&o.extension, at)?,
            notes: note_text(&o.note),
        };
        data.validate().map_err(|e| invalid(at, &e))?;
        n.record.outcome_events.push(stamp.store(record_id_of(&o.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn procedure(&self, p: &r4::Procedure, at: &str, native: Option<&mut Native>) -> Result<MapTo, Issue> {
        let Some(n) = native else { return Ok(MapTo::Unmapped) };
        let stamp = self.stamp(p.meta.as_ref(), &p.extension, at)?;
        let target_arteries = p
            .body_site
            .iter()
            .enumerate()
            .map(|(k, s)| code_of(Some(s), CS_TARGET_ARTERY, TargetArtery::from_code, at, &format!("bodySite[{k}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let data = ProcedureData {
            episode_id: self.episode_of(n, &p.extension, at)?,
            performed_on: date_of(p.performed_date_time.as_deref(), at, "performedDateTime")?,
            kind: code_of(p.code.as_ref(), CS_PROCEDURE_KIND, ProcedureKind::from_code, at, "code")?,
            amputation_level: amputation_level(&p.extension, at)?,
            target_arteries,
            angiosome_route: ext_code(&p.extension, EXT_ANGIOSOME_ROUTE, CS_ANGIOSOME_ROUTE)
                .map(|c| {
                    AngiosomeRoute::from_code(c).ok_or_else(|| {
                        Issue::error(
                            IssueKind::Value,
                            format!("{at}.extension(angiosome-route)"),
                            c,
                            "not a LimbPath angiosome route",
                            "direct or indirect",
                        )
                    })
                })
                .transpose()?,
            complications: p.complication.iter().filter_map(|c| c.text.clone()).collect(),
            notes: note_text(&p.note),
        };
        data.validate().map_err(|e| invalid(at, &e))?;
        n.record.procedures.push(stamp.store(record_id_of(&p.identifier), data));
        Ok(MapTo::LimbPath)
    }

    fn assessment(&self, q: &r4::QuestionnaireResponse, at: &str, native: Option<&mut Native>) -> Result<MapTo, Issue> {
        let Some(n) = native else { return Ok(MapTo::Unmapped) };
        let stamp = self.stamp(q.meta.as_ref(), &q.extension, at)?;
        let data = AssessmentData {
            episode_id: self.episode_of(n, &q.extension, at)?,
            assessed_on: date_of(q.authored.as_deref(), at, "authored")?,
            findings: findings::from_items(&q.item, at)?.into(),
        };
        let derived = data.derive().map_err(|e| invalid(at, &e))?;
        let stored = stamp.store(q.identifier.as_ref().and_then(|i| i.value.as_deref()), data);
        n.record.assessments.push(StoredAssessment { stored, derived });
        Ok(MapTo::LimbPath)
    }
}

fn amputation_level(extension: &[Extension], at: &str) -> Result<Option<AmputationLevel>, Issue> {
    ext_code(extension, EXT_AMPUTATION_LEVEL, CS_AMPUTATION_LEVEL)
        .map(|c| {
            AmputationLevel::from_code(c).ok_or_else(|| {
                Issue::error(
                    IssueKind::Value,
                    format!("{at}.extension(amputation-level)"),
                    c,
                    "not a LimbPath amputation level",
                    "a code of the LimbPath vocabulary",
                )
            })
        })
        .transpose()
}
