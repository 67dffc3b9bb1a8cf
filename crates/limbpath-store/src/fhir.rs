//! FHIR import into the store: what `limbpath_fhir::import_bundle` /
//! `import_ndjson` made of a Bundle or NDJSON, written in one transaction.
//!
//! - **Idempotent.** Every resource is kept in `fhir_resources` under its
//!   import key (primary key; `INSERT … ON CONFLICT DO NOTHING`), every sent
//!   Patient in `fhir_patients` under its key, so importing the same data
//!   again writes nothing and creates no patient.
//! - **All or nothing.** One import (one Bundle, one NDJSON chunk) is one
//!   transaction: a record that fails validation or collides (an MRN taken at
//!   the site) leaves nothing behind.
//! - **Nothing dropped.** Conditions, observations and resources LimbPath does
//!   not map are stored raw (JSON, type, first code, date) with the patient
//!   they belong to; LimbPath's own export is rebuilt into the record
//!   (`insert_patient_records`' bulk path), so its resources keep only their key.
//! - **Nothing guessed.** A sent patient becomes a LimbPath patient (or is
//!   matched to the existing one by site and MRN) when the input states every
//!   fact a LimbPath patient needs; an unstated ambulatory status is "not
//!   recorded" (`limbpath_fhir::PatientFacts::patient_data`). Otherwise it is
//!   kept with the list of what is missing (`fhir_patients.missing`).
//! - **Shown with the patient.** [`Store::imported_with_patient`] lists what
//!   came with a LimbPath patient, newest first, for the patient page.

use crate::Store;
use crate::bulk::{TableRows, insert_tables, prepare_batch};
use crate::error::{Result, StoreError};
use crate::sql::{Begin, RowExt, Val, date_text, new_id, now_ms, with_pool, with_writer};
use limbpath_fhir::{Import, ImportedPatient, RawResource};
use limbpath_record::{PatientRecord, Stored, Validate, check_id};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;

/// What became of one sent Patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PatientOutcome {
    /// A new LimbPath patient (a LimbPath export's whole record, or a patient
    /// whose every required fact was stated).
    Created,
    /// Matched to the existing LimbPath patient with the same site and MRN (or,
    /// for a LimbPath export, the same id); the record was not changed.
    Linked,
    /// Imported before (same import key): nothing written.
    AlreadyImported,
    /// Kept as sent, not (yet) a LimbPath patient: these facts were not stated.
    Incomplete { missing: Vec<String> },
}

/// One sent Patient and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedPatientSummary {
    /// `Bundle.entry[0].resource`, `ndjson[line 1]`.
    pub location: String,
    /// The `fhir_patients` row (LimbPath's id for the sent patient).
    pub fhir_patient_id: String,
    /// The LimbPath patient, if any.
    pub patient_id: Option<String>,
    #[serde(flatten)]
    pub outcome: PatientOutcome,
}

/// What one import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FhirImportSummary {
    /// Resources in the input.
    pub resources: u64,
    /// Resources stored now.
    pub stored: u64,
    /// Resources already stored by an earlier import (same key): unchanged.
    pub already_imported: u64,
    /// Record rows written into the LimbPath record (patients, limbs, …).
    pub record_rows: u64,
    pub patients: Vec<ImportedPatientSummary>,
}

/// A resource imported with a LimbPath patient, and the system that sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedResource {
    /// The import's source system (`synthea`, a FHIR base URL, …).
    pub source: String,
    #[serde(flatten)]
    pub resource: FhirResource,
}

/// One kind of resource imported with a LimbPath patient: the newest, and how
/// many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedResources {
    /// Newest first (by date; undated last), at most the limit asked for.
    pub resources: Vec<ImportedResource>,
    /// How many of this kind were imported with the patient.
    pub total: u64,
}

/// A sent patient as kept (`fhir_patients`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FhirPatient {
    pub id: String,
    pub import_key: String,
    pub source: String,
    pub patient_id: Option<String>,
    /// What the input stated (`limbpath_fhir::PatientFacts` as JSON).
    pub facts: serde_json::Value,
    /// Facts a LimbPath patient needs that the input did not state.
    pub missing: Vec<String>,
    pub imported_at_ms: i64,
}

/// An imported resource as kept (`fhir_resources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FhirResource {
    pub import_key: String,
    pub fhir_patient_id: Option<String>,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `patient`, `condition`, `measurement`, `unmapped`, `limbpath` (rebuilt
    /// into the record; its JSON is not kept twice) or `shared`.
    pub kind: String,
    /// What LimbPath read it as (`diabetes_type_2`, `hba1c`, …).
    pub mapped_as: Option<String>,
    /// The first coding, `system|code`.
    pub code: Option<String>,
    /// Onset or effective date, `YYYY-MM-DD`.
    pub effective: Option<String>,
    pub location: String,
    /// The resource as sent.
    pub json: Option<String>,
    pub imported_at_ms: i64,
}

const PATIENT_COLUMNS: [&str; 7] = ["id", "import_key", "source", "patient_id", "facts", "missing", "imported_at_ms"];
const RESOURCE_COLUMNS: [&str; 11] = [
    "import_key",
    "fhir_patient_id",
    "resource_type",
    "resource_id",
    "kind",
    "mapped_as",
    "code",
    "effective",
    "location",
    "json",
    "imported_at_ms",
];

/// The first coding of a resource's `code` (for resources LimbPath does not map).
#[derive(Deserialize)]
struct CodeOnly {
    code: Option<Concept>,
}
#[derive(Deserialize)]
struct Concept {
    #[serde(default)]
    coding: Vec<CodingOnly>,
}
#[derive(Deserialize)]
struct CodingOnly {
    system: Option<String>,
    code: Option<String>,
}

fn first_code(system: Option<&str>, code: Option<&str>) -> Option<String> {
    code.map(|c| format!("{}|{c}", system.unwrap_or("")))
}

fn raw_code(json: &str) -> Option<String> {
    let c: CodeOnly = serde_json::from_str(json).ok()?;
    let first = c.code?.coding.into_iter().next()?;
    first_code(first.system.as_deref(), first.code.as_deref())
}

/// The date a resource LimbPath does not map is about (its effective, onset,
/// performed, … date, `YYYY-MM-DD`), so the patient page can order it.
fn raw_date(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Start {
        start: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Dated {
        effective_date_time: Option<String>,
        effective_period: Option<Start>,
        onset_date_time: Option<String>,
        performed_date_time: Option<String>,
        performed_period: Option<Start>,
        occurrence_date_time: Option<String>,
        authored_on: Option<String>,
        recorded_date: Option<String>,
        period: Option<Start>,
        billable_period: Option<Start>,
        issued: Option<String>,
        created: Option<String>,
        date: Option<String>,
    }
    let d: Dated = serde_json::from_str(json).ok()?;
    let start = |p: Option<Start>| p.and_then(|p| p.start);
    let when = d
        .effective_date_time
        .or(start(d.effective_period))
        .or(d.onset_date_time)
        .or(d.performed_date_time)
        .or(start(d.performed_period))
        .or(d.occurrence_date_time)
        .or(d.authored_on)
        .or(d.recorded_date)
        .or(start(d.period))
        .or(start(d.billable_period))
        .or(d.issued)
        .or(d.created)
        .or(d.date)?;
    // A FHIR date or dateTime starts with the calendar day; a bare year or month is left undated.
    let day = when.get(..10)?;
    let b = day.as_bytes();
    let shaped = b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    shaped.then(|| day.to_owned())
}

fn code_name<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned))
}

struct Row11<'a> {
    raw: &'a RawResource,
    kind: &'static str,
    mapped_as: Option<String>,
    code: Option<String>,
    effective: Option<String>,
    keep_json: bool,
}

fn resource_row(rows: &mut TableRows, fhir_patient: Option<&str>, r: Row11<'_>, at: i64) {
    rows.values.extend([
        Val::text(r.raw.key.as_str()),
        Val::OptText(fhir_patient.map(str::to_owned)),
        Val::text(&r.raw.resource_type),
        Val::OptText(r.raw.id.clone()),
        Val::text(r.kind),
        Val::OptText(r.mapped_as),
        Val::OptText(r.code),
        Val::OptText(r.effective),
        Val::text(&r.raw.location),
        Val::OptText(r.keep_json.then(|| r.raw.json.clone())),
        Val::Int(at),
    ]);
}

/// Every resource of one sent patient as `fhir_resources` rows.
fn patient_resource_rows(rows: &mut TableRows, fp: &str, p: &ImportedPatient, at: i64) {
    let limbpath = p.record.is_some();
    resource_row(
        rows,
        Some(fp),
        Row11 { raw: &p.resource, kind: "patient", mapped_as: None, code: None, effective: None, keep_json: true },
        at,
    );
    for c in &p.conditions {
        let first = c.codes.first();
        resource_row(
            rows,
            Some(fp),
            Row11 {
                raw: &c.source,
                kind: "condition",
                mapped_as: c.known.as_ref().and_then(code_name),
                code: first.and_then(|f| first_code(f.system.as_deref(), f.code.as_deref())),
                effective: c.onset.map(date_text),
                keep_json: true,
            },
            at,
        );
    }
    for m in &p.measurements {
        resource_row(
            rows,
            Some(fp),
            Row11 {
                raw: &m.source,
                kind: "measurement",
                mapped_as: code_name(&m.kind),
                code: raw_code(&m.source.json),
                effective: m.effective.map(date_text),
                keep_json: true,
            },
            at,
        );
    }
    for u in &p.unmapped {
        let code = raw_code(&u.json);
        let effective = raw_date(&u.json);
        resource_row(
            rows,
            Some(fp),
            Row11 { raw: u, kind: "unmapped", mapped_as: None, code, effective, keep_json: true },
            at,
        );
    }
    for l in &p.limbpath_resources {
        resource_row(
            rows,
            Some(fp),
            Row11 { raw: l, kind: "limbpath", mapped_as: None, code: None, effective: None, keep_json: !limbpath },
            at,
        );
    }
}

/// Why an import transaction stopped.
enum ImportFail {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for ImportFail {
    fn from(e: sqlx::Error) -> Self {
        ImportFail::Sql(e)
    }
}

impl From<StoreError> for ImportFail {
    fn from(e: StoreError) -> Self {
        ImportFail::Store(e)
    }
}

/// What the transaction decided for one sent patient before writing.
struct Plan {
    fhir_patient_id: String,
    patient_id: Option<String>,
    outcome: PatientOutcome,
}

impl Store {
    /// Store one import (one Bundle or NDJSON chunk) in one transaction:
    /// new resources are added, resources imported before are left as they
    /// are, LimbPath exports become records, sent patients with every
    /// required fact become LimbPath patients (or are matched by site and
    /// MRN). All or nothing: an invalid or colliding record stores nothing
    /// and is [`StoreError::Invalid`] / [`StoreError::Duplicate`] naming it
    /// (`records[0].episodes[1].limb_id`, `mrn`).
    pub async fn import_fhir(&self, import: &Import) -> Result<FhirImportSummary> {
        let at = now_ms();
        let numbered = self.numbered_placeholders();
        let total = import.resource_count() as u64;
        let mut mrns: Vec<(String, String)> = Vec::new();
        let result: std::result::Result<FhirImportSummary, ImportFail> = with_writer!(self, p => {
            async {
                let mut tx = p.begin_write().await?;
                let mut plans = Vec::with_capacity(import.patients.len());
                let mut new_records: Vec<PatientRecord> = Vec::new();
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for ip in &import.patients {
                    let key = ip.resource.key.as_str();
                    if let Some(&i) = seen.get(key) {
                        // the same patient twice in one input: one row
                        let prior: &Plan = &plans[i];
                        plans.push(Plan {
                            fhir_patient_id: prior.fhir_patient_id.clone(),
                            patient_id: prior.patient_id.clone(),
                            outcome: PatientOutcome::AlreadyImported,
                        });
                        continue;
                    }
                    seen.insert(key, plans.len());
                    let known = sqlx::query("SELECT id, patient_id FROM fhir_patients WHERE import_key = $1")
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(row) = known {
                        plans.push(Plan {
                            fhir_patient_id: row.text("id")?,
                            patient_id: row.opt_text("patient_id")?,
                            outcome: PatientOutcome::AlreadyImported,
                        });
                        continue;
                    }
                    let fhir_patient_id = new_id();
                    if let Some(record) = &ip.record {
                        let pid = record.patient.as_ref().map(|s| s.id.clone()).unwrap_or_default();
                        let exists = sqlx::query("SELECT 1 AS found FROM patients WHERE id = $1")
                            .bind(&pid)
                            .fetch_optional(&mut *tx)
                            .await?
                            .is_some();
                        if !exists {
                            new_records.push(record.clone());
                        }
                        let outcome = if exists { PatientOutcome::Linked } else { PatientOutcome::Created };
                        plans.push(Plan { fhir_patient_id, patient_id: Some(pid), outcome });
                        continue;
                    }
                    let data = ip
                        .facts
                        .patient_data()
                        .map_err(|m| m.missing.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                        .and_then(|d| d.validate().map(|()| d).map_err(|e| vec![format!("{} ({})", e.field, e)]));
                    match data {
                        Err(missing) => plans.push(Plan {
                            fhir_patient_id,
                            patient_id: None,
                            outcome: PatientOutcome::Incomplete { missing },
                        }),
                        Ok(data) => {
                            let found = sqlx::query("SELECT id FROM patients WHERE site = $1 AND mrn = $2")
                                .bind(&data.site)
                                .bind(&data.mrn)
                                .fetch_optional(&mut *tx)
                                .await?;
                            match found {
                                Some(row) => plans.push(Plan {
                                    fhir_patient_id,
                                    patient_id: Some(row.text("id")?),
                                    outcome: PatientOutcome::Linked,
                                }),
                                None => {
                                    let id = new_id();
                                    new_records.push(PatientRecord {
                                        patient: Some(Stored { id: id.clone(), version: 1, created_at_ms: at, updated_at_ms: at, data }),
                                        ..PatientRecord::default()
                                    });
                                    plans.push(Plan { fhir_patient_id, patient_id: Some(id), outcome: PatientOutcome::Created });
                                }
                            }
                        }
                    }
                }

                let batch = prepare_batch(&new_records).map_err(|e| ImportFail::Store(StoreError::Invalid(e)))?;
                if let Some(u) = batch.user_ids.iter().next() {
                    return Err(ImportFail::Store(StoreError::NotFound {
                        entity: "user",
                        id: u.clone(),
                        field: Some("care_team.user_id"),
                    }));
                }
                mrns.clone_from(&batch.mrns);
                let record_rows = insert_tables!(tx, &batch.tables, numbered);

                let mut patient_rows = TableRows {
                    table: "fhir_patients",
                    columns: PATIENT_COLUMNS.to_vec(),
                    values: Vec::new(),
                    suffix: " ON CONFLICT (import_key) DO NOTHING",
                };
                let mut resource_rows = TableRows {
                    table: "fhir_resources",
                    columns: RESOURCE_COLUMNS.to_vec(),
                    values: Vec::new(),
                    suffix: " ON CONFLICT (import_key) DO NOTHING",
                };
                let mut summaries = Vec::with_capacity(plans.len());
                for (ip, plan) in import.patients.iter().zip(plans) {
                    if !matches!(plan.outcome, PatientOutcome::AlreadyImported) {
                        let missing = match &plan.outcome {
                            PatientOutcome::Incomplete { missing } => missing.clone(),
                            _ => Vec::new(),
                        };
                        patient_rows.values.extend([
                            Val::text(&plan.fhir_patient_id),
                            Val::text(ip.resource.key.as_str()),
                            Val::text(&import.source),
                            Val::OptText(plan.patient_id.clone()),
                            Val::Text(serde_json::to_string(&ip.facts).unwrap_or_else(|_| "{}".to_owned())),
                            Val::Text(serde_json::to_string(&missing).unwrap_or_else(|_| "[]".to_owned())),
                            Val::Int(at),
                        ]);
                    }
                    patient_resource_rows(&mut resource_rows, &plan.fhir_patient_id, ip, at);
                    summaries.push(ImportedPatientSummary {
                        location: ip.resource.location.clone(),
                        fhir_patient_id: plan.fhir_patient_id,
                        patient_id: plan.patient_id,
                        outcome: plan.outcome,
                    });
                }
                for s in &import.shared {
                    let code = raw_code(&s.json);
                    resource_row(
                        &mut resource_rows,
                        None,
                        Row11 { raw: s, kind: "shared", mapped_as: None, code, effective: None, keep_json: true },
                        at,
                    );
                }
                let _ = insert_tables!(tx, std::slice::from_ref(&patient_rows), numbered);
                let stored = insert_tables!(tx, std::slice::from_ref(&resource_rows), numbered);
                tx.commit().await?;
                Ok(FhirImportSummary {
                    resources: total,
                    stored,
                    already_imported: total.saturating_sub(stored),
                    record_rows,
                    patients: summaries,
                })
            }
            .await
        });
        match result {
            Ok(summary) => Ok(summary),
            Err(ImportFail::Sql(e)) => Err(self.bulk_error(e, &mrns).await),
            Err(ImportFail::Store(e)) => Err(e),
        }
    }
}

fn decode_patient(row: &impl RowExt) -> Result<FhirPatient> {
    let facts = row.text("facts")?;
    let missing = row.text("missing")?;
    Ok(FhirPatient {
        id: row.text("id")?,
        import_key: row.text("import_key")?,
        source: row.text("source")?,
        patient_id: row.opt_text("patient_id")?,
        facts: serde_json::from_str(&facts)
            .map_err(|e| crate::error::corrupt(format_args!("fhir_patients.facts: {e}")))?,
        missing: serde_json::from_str(&missing)
            .map_err(|e| crate::error::corrupt(format_args!("fhir_patients.missing: {e}")))?,
        imported_at_ms: row.int("imported_at_ms")?,
    })
}

fn decode_resource(row: &impl RowExt) -> Result<FhirResource> {
    Ok(FhirResource {
        import_key: row.text("import_key")?,
        fhir_patient_id: row.opt_text("fhir_patient_id")?,
        resource_type: row.text("resource_type")?,
        resource_id: row.opt_text("resource_id")?,
        kind: row.text("kind")?,
        mapped_as: row.opt_text("mapped_as")?,
        code: row.opt_text("code")?,
        effective: row.opt_text("effective")?,
        location: row.text("location")?,
        json: row.opt_text("json")?,
        imported_at_ms: row.int("imported_at_ms")?,
    })
}

/// The tables of a patient's record that its FHIR export is built from
/// (besides `patients`), each with a `patient_id` index.
const CHANGE_TABLES: [&str; 9] = [
    "limbs",
    "episodes",
    "assessments",
    "wounds",
    "wound_measurements",
    "vascular_studies",
    "imaging_studies",
    "procedures",
    "outcome_events",
];

const PATIENT_SELECT: &str =
    "SELECT id, import_key, source, patient_id, facts, missing, imported_at_ms FROM fhir_patients";
const RESOURCE_SELECT: &str = "SELECT import_key, fhir_patient_id, resource_type, resource_id, kind, mapped_as, code, \
     effective, location, json, imported_at_ms FROM fhir_resources";

impl Store {
    /// A sent patient by LimbPath's id for it.
    pub async fn fhir_patient(&self, id: &str) -> Result<FhirPatient> {
        let sql = format!("{PATIENT_SELECT} WHERE id = $1");
        let row = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(row) => decode_patient(&row)?,
                None => return Err(StoreError::NotFound { entity: "fhir_patient", id: id.to_owned(), field: None }),
            }
        });
        Ok(row)
    }

    /// The sent patients matched to or created as LimbPath patient `patient_id`.
    pub async fn fhir_patients_of(&self, patient_id: &str) -> Result<Vec<FhirPatient>> {
        let sql = format!("{PATIENT_SELECT} WHERE patient_id = $1 ORDER BY id");
        let rows = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(patient_id).fetch_all(p).await? {
                out.push(decode_patient(&row)?);
            }
            out
        });
        Ok(rows)
    }

    /// The sent patients, in id order, from after `cursor`, at most `limit`.
    pub async fn list_fhir_patients(&self, cursor: Option<&str>, limit: u32) -> Result<Vec<FhirPatient>> {
        let sql = format!("{PATIENT_SELECT} WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(cursor.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(p)
                .await?
            {
                out.push(decode_patient(&row)?);
            }
            out
        });
        Ok(rows)
    }

    /// Every resource imported with sent patient `fhir_patient_id`, by type then key.
    pub async fn fhir_resources_of(&self, fhir_patient_id: &str) -> Result<Vec<FhirResource>> {
        let sql = format!("{RESOURCE_SELECT} WHERE fhir_patient_id = $1 ORDER BY resource_type, import_key");
        let rows = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fhir_patient_id).fetch_all(p).await? {
                out.push(decode_resource(&row)?);
            }
            out
        });
        Ok(rows)
    }

    /// The resources of one `kind` (`condition`, `measurement`, `unmapped`, …;
    /// see [`FhirResource::kind`]) imported with LimbPath patient
    /// `patient_id`, from every sent patient matched to or created as them:
    /// the `limit` newest by date (undated last), and how many there are.
    pub async fn imported_with_patient(&self, patient_id: &str, kind: &str, limit: u32) -> Result<ImportedResources> {
        const FROM: &str = "FROM fhir_resources r JOIN fhir_patients f ON f.id = r.fhir_patient_id \
             WHERE f.patient_id = $1 AND r.kind = $2";
        let rows_sql = format!(
            "SELECT r.import_key, r.fhir_patient_id, r.resource_type, r.resource_id, r.kind, r.mapped_as, r.code, \
             r.effective, r.location, r.json, r.imported_at_ms, f.source {FROM} \
             ORDER BY (r.effective IS NULL), r.effective DESC, r.imported_at_ms DESC, r.import_key LIMIT $3"
        );
        let count_sql = format!("SELECT COUNT(*) AS n {FROM}");
        let out = with_pool!(self, p => {
            let mut resources = Vec::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(rows_sql))
                .bind(patient_id)
                .bind(kind)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await?
            {
                resources.push(ImportedResource { source: row.text("source")?, resource: decode_resource(&row)? });
            }
            let total: i64 = sqlx::query(sqlx::AssertSqlSafe(count_sql))
                .bind(patient_id)
                .bind(kind)
                .fetch_one(p)
                .await?
                .try_get("n")?;
            ImportedResources { resources, total: u64::try_from(total).unwrap_or(0) }
        });
        Ok(out)
    }

    /// Which of `patient_ids` have a record that changed after `since_ms`:
    /// the patient row or any row the FHIR export is built from (limbs,
    /// episodes, assessments, wounds and their measurements, vascular and
    /// imaging studies, procedures, outcome events) has `updated_at_ms >
    /// since_ms`, or a sent patient matched to or created as them was
    /// imported after it (`fhir_patients.imported_at_ms`: an imported record
    /// keeps the timestamps it was sent with). Consents and care-team rows are
    /// not exported, so they do not count; a record written by
    /// `insert_patient_records` itself (demo, copies) counts at its own
    /// timestamps. Sorted by id. One statement of primary-key and by-patient index probes for
    /// the page of ids (no scan of the tables); ids that are not UUIDs are
    /// skipped. A row's `updated_at_ms` is taken when its write begins, not
    /// when it commits: the caller allows for that (the `$export` job's
    /// `transactionTime`).
    pub async fn patients_changed_since(&self, patient_ids: &[String], since_ms: i64) -> Result<Vec<String>> {
        let ids: Vec<&String> = patient_ids.iter().filter(|id| check_id("id", id).is_ok()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (2..=ids.len() + 1).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        let mut parts =
            vec![format!("SELECT id AS patient_id FROM patients WHERE id IN ({list}) AND updated_at_ms > $1")];
        for t in CHANGE_TABLES {
            parts.push(format!("SELECT patient_id FROM {t} WHERE patient_id IN ({list}) AND updated_at_ms > $1"));
        }
        // A record imported through FHIR keeps the timestamps it was sent
        // with; its import is the change.
        parts
            .push(format!("SELECT patient_id FROM fhir_patients WHERE patient_id IN ({list}) AND imported_at_ms > $1"));
        let sql = parts.join(" UNION ");
        let out = with_pool!(self, p => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since_ms);
            for id in &ids {
                q = q.bind(id.as_str());
            }
            let mut out = Vec::new();
            for r in q.fetch_all(p).await? {
                out.push(r.text("patient_id")?);
            }
            out
        });
        // Sorted here: the engines' collations may order text differently.
        let mut out = out;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// How many resources are kept from imports (all patients and shared).
    pub async fn count_fhir_resources(&self) -> Result<i64> {
        let n = with_pool!(self, p => {
            sqlx::query("SELECT COUNT(*) AS n FROM fhir_resources").fetch_one(p).await?.try_get::<i64, _>("n")?
        });
        Ok(n)
    }
}
