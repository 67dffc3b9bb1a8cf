//! Whole patient records: bulk insert (demo cohort, imports) in one
//! transaction, and reading everything about one patient.

use crate::Store;
use crate::entity::{Entity, Sql, name_key, status_column};
use crate::error::{Result, StoreError, db_kind, db_text};
use crate::facets::SearchInputs;
use crate::sql::{Begin, Val, values_list, with_pool, with_writer};
use limbpath_clinical::InvalidInput;
use limbpath_record::*;
use std::collections::{HashMap, HashSet};

/// Most bind parameters in one multi-row INSERT (SQLite allows 32766,
/// PostgreSQL 65535).
const MAX_BINDS: usize = 30_000;
/// Most rows in one multi-row INSERT.
const MAX_ROWS: usize = 500;

/// The extra columns of a bulk-loaded patient (computed, not sent).
const PATIENT_EXTRA: [&str; 7] = [
    "latest_wifi_stage",
    "status_referred",
    "status_evaluation",
    "status_treatment",
    "status_follow_up",
    "status_closed",
    "search_key",
];

/// Rows for one table, flattened.
pub(crate) struct TableRows {
    pub(crate) table: &'static str,
    pub(crate) columns: Vec<&'static str>,
    pub(crate) values: Vec<Val>,
    /// Appended to the INSERT (`ON CONFLICT (key) DO NOTHING`), or empty.
    pub(crate) suffix: &'static str,
}

impl TableRows {
    fn new<E: Entity>() -> TableRows {
        let sql: &Sql = E::sql();
        let mut columns = sql.bulk_columns.clone();
        if E::META.parent.is_none() {
            columns.extend(PATIENT_EXTRA);
        }
        TableRows { table: E::META.table, columns, values: Vec::new(), suffix: "" }
    }

    /// `INSERT INTO t (cols) VALUES (…), (…)` for `rows` rows.
    pub(crate) fn insert_sql(&self, rows: usize, numbered: bool) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES {}{}",
            self.table,
            self.columns.join(", "),
            values_list(rows, self.columns.len(), numbered),
            self.suffix
        )
    }

    pub(crate) fn rows_per_statement(&self) -> usize {
        (MAX_BINDS / self.columns.len()).clamp(1, MAX_ROWS)
    }
}

/// Run a [`Batch`]'s multi-row INSERTs inside the open transaction `$tx`
/// (either engine); evaluates to the number of record rows written (the
/// search index's rows not counted). `?` propagates `sqlx::Error`.
macro_rules! insert_tables {
    ($tx:ident, $tables:expr, $numbered:expr) => {{
        let mut written: u64 = 0;
        for t in $tables {
            let per = t.rows_per_statement();
            let full_sql = t.insert_sql(per, $numbered);
            let width = t.columns.len();
            for chunk in t.values.chunks(per * width) {
                let rows = chunk.len() / width;
                let q = if rows == per {
                    sqlx::query(sqlx::AssertSqlSafe(full_sql.as_str()))
                } else {
                    sqlx::query(sqlx::AssertSqlSafe(t.insert_sql(rows, $numbered))).persistent(false)
                };
                let n = $crate::sql::bind_all!(q, chunk.iter().cloned()).execute(&mut *$tx).await?.rows_affected();
                if t.table != "patient_search" {
                    written += n;
                }
            }
        }
        written
    }};
}
pub(crate) use insert_tables;

/// Why a bulk transaction stopped.
enum BulkFail {
    Sql(sqlx::Error),
    MissingUser(String),
}

impl From<sqlx::Error> for BulkFail {
    fn from(e: sqlx::Error) -> Self {
        BulkFail::Sql(e)
    }
}

/// Everything a batch inserts, table by table, in foreign-key order.
pub(crate) struct Batch {
    pub(crate) tables: Vec<TableRows>,
    pub(crate) user_ids: HashSet<String>,
    /// (site, mrn) of each patient, to name a taken MRN.
    pub(crate) mrns: Vec<(String, String)>,
}

fn head<T>(s: &Stored<T>, field: &str) -> Result<Vec<Val>, InvalidInput> {
    check_id(&format!("{field}.id"), &s.id)?;
    if s.version < 1 {
        return Err(InvalidInput::out_of_range(format!("{field}.version"), s.version, "1 or more"));
    }
    if s.created_at_ms < 0 || s.updated_at_ms < s.created_at_ms {
        return Err(InvalidInput::inconsistent(
            format!("{field}.updated_at_ms"),
            s.updated_at_ms,
            format!("timestamps from 0, updated_at_ms not before created_at_ms ({})", s.created_at_ms),
        ));
    }
    Ok(vec![Val::text(&s.id), Val::Int(s.version), Val::Int(s.created_at_ms), Val::Int(s.updated_at_ms)])
}

/// Validate one child and add its row; `owners` maps each possible parent id
/// to its patient id.
fn add_child<E: Entity>(
    t: &mut TableRows,
    list: &str,
    items: &[Stored<E>],
    owners: &HashMap<&str, &str>,
    mut extra: impl FnMut(&E, E::Extra),
) -> Result<(), InvalidInput> {
    let parent = E::META.parent.as_ref().map_or("parent_id", |p| p.field);
    for (i, s) in items.iter().enumerate() {
        let field = format!("{list}[{i}]");
        let mut row = head(s, &field)?;
        let (vals, x) = s.data.prepare().map_err(|e| e.within(&field))?;
        let parent_id = s.data.parent_id().unwrap_or("");
        let Some(patient) = owners.get(parent_id) else {
            return Err(InvalidInput::inconsistent(
                format!("{field}.{parent}"),
                parent_id,
                format!("the id of a {} in the same record", E::META.parent.as_ref().map_or("parent", |p| p.entity)),
            ));
        };
        row.push(Val::text(parent_id));
        if parent != "patient_id" {
            row.push(Val::text(*patient));
        }
        row.extend(vals);
        debug_assert_eq!(row.len(), t.columns.len());
        t.values.extend(row);
        extra(&s.data, x);
    }
    Ok(())
}

pub(crate) fn prepare_batch(records: &[PatientRecord]) -> Result<Batch, InvalidInput> {
    let mut patients = TableRows::new::<PatientData>();
    let mut limbs = TableRows::new::<LimbData>();
    let mut episodes = TableRows::new::<EpisodeData>();
    let mut assessments = TableRows::new::<AssessmentData>();
    let mut wounds = TableRows::new::<WoundData>();
    let mut measurements = TableRows::new::<WoundMeasurementData>();
    let mut vascular = TableRows::new::<VascularStudyData>();
    let mut imaging = TableRows::new::<ImagingStudyData>();
    let mut procedures = TableRows::new::<ProcedureData>();
    let mut outcomes = TableRows::new::<OutcomeEventData>();
    let mut consents = TableRows::new::<ConsentData>();
    let mut care_team = TableRows::new::<CareTeamMemberData>();
    let mut search = TableRows {
        table: "patient_search",
        columns: vec!["facet", "family_key", "given_key", "patient_id"],
        values: Vec::new(),
        suffix: "",
    };
    let mut user_ids = HashSet::new();
    let mut mrns = Vec::with_capacity(records.len());
    let mut seen_mrns = HashSet::new();
    let mut seen_ids: HashSet<&str> = HashSet::new();
    let many = records.len() > 1;

    for (r, record) in records.iter().enumerate() {
        let within = |e: InvalidInput| if many { e.within(&format!("records[{r}]")) } else { e };
        let Some(patient) = &record.patient else {
            return Err(within(InvalidInput::missing("patient", "the patient the record is about")));
        };
        // every id once in the batch (the database would refuse the second)
        let ids = std::iter::once(("patient", &patient.id))
            .chain(record.limbs.iter().map(|s| ("limbs", &s.id)))
            .chain(record.episodes.iter().map(|s| ("episodes", &s.id)))
            .chain(record.assessments.iter().map(|s| ("assessments", &s.stored.id)))
            .chain(record.wounds.iter().map(|s| ("wounds", &s.id)))
            .chain(record.wound_measurements.iter().map(|s| ("wound_measurements", &s.id)))
            .chain(record.vascular_studies.iter().map(|s| ("vascular_studies", &s.id)))
            .chain(record.imaging_studies.iter().map(|s| ("imaging_studies", &s.id)))
            .chain(record.procedures.iter().map(|s| ("procedures", &s.id)))
            .chain(record.outcome_events.iter().map(|s| ("outcome_events", &s.id)))
            .chain(record.consents.iter().map(|s| ("consents", &s.id)))
            .chain(record.care_team.iter().map(|s| ("care_team", &s.id)));
        for (list, id) in ids {
            if !seen_ids.insert(id.as_str()) {
                return Err(within(InvalidInput::inconsistent(format!("{list}.id"), id, "an id used once")));
            }
        }

        let mut row = head(patient, "patient").map_err(within)?;
        let (vals, ()) = patient.data.prepare().map_err(|e| within(e.within("patient")))?;
        row.extend(vals);
        if !seen_mrns.insert((patient.data.site.as_str(), patient.data.mrn.as_str())) {
            return Err(within(InvalidInput::inconsistent(
                "patient.mrn",
                &patient.data.mrn,
                "an MRN used once per site",
            )));
        }
        mrns.push((patient.data.site.clone(), patient.data.mrn.clone()));

        let pid = patient.id.as_str();
        let mut owners: HashMap<&str, &str> = HashMap::from([(pid, pid)]);
        add_child(&mut limbs, "limbs", &record.limbs, &owners, |_, _| {}).map_err(within)?;
        owners.extend(record.limbs.iter().map(|l| (l.id.as_str(), pid)));
        let mut statuses = HashSet::new();
        let mut aetiologies = HashSet::new();
        add_child(&mut episodes, "episodes", &record.episodes, &owners, |e, _| {
            statuses.insert(e.status);
            aetiologies.insert(e.aetiology);
        })
        .map_err(within)?;
        owners.extend(record.episodes.iter().map(|e| (e.id.as_str(), pid)));

        // Assessments: derived afresh with this engine (a supplied `derived`
        // is not trusted); the latest stage feeds the patient's search column.
        let mut t = TableRows::new::<AssessmentData>();
        let stored: Vec<Stored<AssessmentData>> = record.assessments.iter().map(|a| a.stored.clone()).collect();
        let mut derived = Vec::with_capacity(stored.len());
        add_child(&mut t, "assessments", &stored, &owners, |_, d| derived.push(d)).map_err(within)?;
        assessments.values.extend(t.values);
        let latest_wifi = stored
            .iter()
            .zip(&derived)
            .filter_map(|(s, d)| d.wifi_stage.map(|w| ((date_key(s.data.assessed_on), s.id.as_str()), w)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, w)| i64::from(w));

        add_child(&mut wounds, "wounds", &record.wounds, &owners, |_, _| {}).map_err(within)?;
        owners.extend(record.wounds.iter().map(|w| (w.id.as_str(), pid)));
        add_child(&mut measurements, "wound_measurements", &record.wound_measurements, &owners, |_, _| {})
            .map_err(within)?;
        add_child(&mut vascular, "vascular_studies", &record.vascular_studies, &owners, |_, _| {}).map_err(within)?;
        add_child(&mut imaging, "imaging_studies", &record.imaging_studies, &owners, |_, _| {}).map_err(within)?;
        add_child(&mut procedures, "procedures", &record.procedures, &owners, |_, _| {}).map_err(within)?;
        add_child(&mut outcomes, "outcome_events", &record.outcome_events, &owners, |_, _| {}).map_err(within)?;
        add_child(&mut consents, "consents", &record.consents, &owners, |_, _| {}).map_err(within)?;
        add_child(&mut care_team, "care_team", &record.care_team, &owners, |m, _| {
            if let Some(u) = &m.user_id {
                user_ids.insert(u.clone());
            }
        })
        .map_err(within)?;

        row.push(Val::OptInt(latest_wifi));
        for s in EpisodeStatus::ALL {
            debug_assert!(PATIENT_EXTRA.contains(&status_column(*s)));
            row.push(Val::Bool(statuses.contains(s)));
        }
        let inputs = SearchInputs {
            site: patient.data.site.clone(),
            family_key: name_key(&patient.data.family_name),
            given_key: name_key(&patient.data.given_name),
            statuses: EpisodeStatus::ALL.iter().copied().filter(|s| statuses.contains(s)).collect(),
            stage: latest_wifi.and_then(|w| u8::try_from(w).ok()),
            aetiologies: Aetiology::ALL.iter().copied().filter(|a| aetiologies.contains(a)).collect(),
        };
        row.push(Val::Text(inputs.key()));
        search.values.extend(inputs.rows(pid));
        debug_assert_eq!(row.len(), patients.columns.len());
        patients.values.extend(row);
    }
    let tables = vec![
        patients,
        search,
        limbs,
        episodes,
        assessments,
        wounds,
        measurements,
        vascular,
        imaging,
        procedures,
        outcomes,
        consents,
        care_team,
    ];
    Ok(Batch { tables, user_ids, mrns })
}

/// A date as its stored text, which sorts like the date.
fn date_key(d: Date) -> String {
    crate::sql::date_text(d)
}

impl Store {
    /// Insert one whole patient record, with the ids, versions and timestamps
    /// it carries, in one transaction: all of it or nothing. Every part is
    /// validated first (errors name the part: `episodes[2].limb_id`), every
    /// child must name a parent in the same record, and assessments are derived
    /// afresh with the current engine (the record's `derived` is ignored).
    pub async fn insert_patient_record(&self, record: &PatientRecord) -> Result<()> {
        self.insert_patient_records(std::slice::from_ref(record)).await.map(|_| ())
    }

    /// Insert many whole records in one transaction (all or nothing), with
    /// multi-row INSERTs: the bulk loader of the demo cohort and imports. Errors
    /// name the record (`records[3].episodes[0].opened_on`). Returns the number
    /// of record rows written (the search index's rows not counted).
    pub async fn insert_patient_records(&self, records: &[PatientRecord]) -> Result<u64> {
        let batch = prepare_batch(records)?;
        let user_ids: Vec<String> = batch.user_ids.iter().cloned().collect();
        let tables = batch.tables;
        let numbered = self.numbered_placeholders();
        let written: Result<u64, BulkFail> = with_writer!(self, p => {
            async {
                let mut tx = p.begin_write().await?;
                for u in &user_ids {
                    let found = sqlx::query("SELECT 1 AS found FROM users WHERE id = $1")
                        .bind(u)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if found.is_none() {
                        return Err(BulkFail::MissingUser(u.clone()));
                    }
                }
                let written = insert_tables!(tx, &tables, numbered);
                tx.commit().await?;
                Ok(written)
            }
            .await
        });
        match written {
            Ok(n) => Ok(n),
            Err(BulkFail::MissingUser(id)) => {
                Err(StoreError::NotFound { entity: "user", id, field: Some("care_team.user_id") })
            }
            Err(BulkFail::Sql(e)) => Err(self.bulk_error(e, &batch.mrns).await),
        }
    }

    /// Name what a failed bulk insert collided with.
    pub(crate) async fn bulk_error(&self, e: sqlx::Error, mrns: &[(String, String)]) -> StoreError {
        if db_kind(&e) != Some(sqlx::error::ErrorKind::UniqueViolation) {
            return e.into();
        }
        if db_text(&e).contains("mrn") {
            for (site, mrn) in mrns {
                let taken: Result<bool> = with_pool!(self, p => {
                    sqlx::query("SELECT 1 AS found FROM patients WHERE site = $1 AND mrn = $2")
                        .bind(site)
                        .bind(mrn)
                        .fetch_optional(p)
                        .await
                        .map(|r| r.is_some())
                        .map_err(StoreError::from)
                });
                if let Ok(true) = taken {
                    return StoreError::Duplicate { field: "mrn", value: format!("{mrn} at {site}") };
                }
            }
            return StoreError::Duplicate { field: "mrn", value: String::new() };
        }
        StoreError::Duplicate { field: "id", value: db_text(&e).trim().to_owned() }
    }

    /// Everything about one patient, read in one snapshot (a consistent view
    /// even while others write).
    pub async fn get_patient_record(&self, patient_id: &str) -> Result<PatientRecord> {
        self.read_patient_record(patient_id, Assessments::All).await
    }

    /// One patient's record without its assessments (`assessments` is empty),
    /// for readers that look only at the patient, episodes, procedures and
    /// outcome events (a check-in's context). A patient's assessments are most
    /// of the record (each keeps its findings and the engine's result, about
    /// 14 KB of JSON in the soak) and grow with every visit, so a reader that
    /// does not need them should not read them.
    pub async fn get_patient_record_without_assessments(&self, patient_id: &str) -> Result<PatientRecord> {
        self.read_patient_record(patient_id, Assessments::None).await
    }

    /// A patient's record in one snapshot, with the assessments `which` asks for.
    pub(crate) async fn read_patient_record(&self, patient_id: &str, which: Assessments) -> Result<PatientRecord> {
        if check_id("patient_id", patient_id).is_err() {
            return Err(StoreError::NotFound { entity: "patient", id: patient_id.to_owned(), field: None });
        }
        macro_rules! all {
            ($tx:expr, $ty:ty) => {{
                let mut out = Vec::new();
                for row in sqlx::query(<$ty>::sql().by_patient.as_str()).bind(patient_id).fetch_all(&mut *$tx).await? {
                    out.push(<$ty>::decode(&row)?);
                }
                out
            }};
        }
        let record = with_pool!(self, p => {
            let mut tx = p.begin_snapshot().await?;
            let patient = match sqlx::query(PatientData::sql().get.as_str()).bind(patient_id).fetch_optional(&mut *tx).await? {
                Some(row) => PatientData::decode(&row)?,
                None => {
                    return Err(StoreError::NotFound { entity: "patient", id: patient_id.to_owned(), field: None });
                }
            };
            let assessments = match which {
                Assessments::All => all!(tx, AssessmentData),
                Assessments::None => Vec::new(),
            };
            let record = PatientRecord {
                patient: Some(patient),
                limbs: all!(tx, LimbData),
                episodes: all!(tx, EpisodeData),
                assessments,
                wounds: all!(tx, WoundData),
                wound_measurements: all!(tx, WoundMeasurementData),
                vascular_studies: all!(tx, VascularStudyData),
                imaging_studies: all!(tx, ImagingStudyData),
                procedures: all!(tx, ProcedureData),
                outcome_events: all!(tx, OutcomeEventData),
                consents: all!(tx, ConsentData),
                care_team: all!(tx, CareTeamMemberData),
            };
            tx.commit().await?;
            record
        });
        Ok(record)
    }
}

/// Which of a patient's assessments [`Store::read_patient_record`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Assessments {
    /// All of them (the whole record).
    All,
    /// None.
    None,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_insert_sql() {
        let t = TableRows { table: "t", columns: vec!["a", "b"], values: vec![], suffix: "" };
        assert_eq!(t.insert_sql(2, true), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(t.insert_sql(2, false), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        let wide = TableRows::new::<PatientData>();
        assert!(wide.rows_per_statement() * wide.columns.len() <= MAX_BINDS);
        assert_eq!(wide.columns.len(), 4 + 15 + 7);
    }
}
