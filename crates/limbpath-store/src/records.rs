//! Create, read, update and list for every record type: one generic
//! implementation over [`Entity`], and the typed methods callers use.

use crate::audit::INSERT_ENTRY;
use crate::care::{CreationAudit, PlanAfter};
use crate::entity::{Entity, Search};
use crate::error::{Result, StoreError, db_kind, db_text};
use crate::sql::{Begin, RowExt, Val, bind_all, lookup, new_id, now_ms, sync_search, with_pool, with_writer};
use crate::{AuditEntry, Page, Store};
use limbpath_clinical::InvalidInput;
use limbpath_pathway::CareRules;
use limbpath_record::*;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;

/// The largest page a list or search returns.
pub const MAX_PAGE: u32 = 1000;

pub(crate) fn check_limit(limit: u32) -> Result<i64> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(i64::from(limit) + 1)
    } else {
        Err(InvalidInput::out_of_range("limit", limit, format!("1 to {MAX_PAGE}")).into())
    }
}

/// Cut a page fetched with `limit + 1` rows: the extra row only says that
/// there is a next page, which starts after the last row kept.
pub(crate) fn cut_page<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// Ids are UUIDs; anything else cannot name a stored record.
fn is_id(id: &str) -> bool {
    check_id("id", id).is_ok()
}

fn not_found(entity: &'static str, id: &str) -> StoreError {
    StoreError::NotFound { entity, id: id.to_owned(), field: None }
}

/// The kinds of record that belong to a patient, for [`Store::owner_patient_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Patient,
    Limb,
    Episode,
    Assessment,
    Wound,
    WoundMeasurement,
    VascularStudy,
    ImagingStudy,
    Procedure,
    OutcomeEvent,
    Consent,
    CareTeamMember,
}

impl RecordKind {
    pub const ALL: [RecordKind; 12] = [
        RecordKind::Patient,
        RecordKind::Limb,
        RecordKind::Episode,
        RecordKind::Assessment,
        RecordKind::Wound,
        RecordKind::WoundMeasurement,
        RecordKind::VascularStudy,
        RecordKind::ImagingStudy,
        RecordKind::Procedure,
        RecordKind::OutcomeEvent,
        RecordKind::Consent,
        RecordKind::CareTeamMember,
    ];

    /// The entity name used in errors and audit entries (`wound_measurement`).
    pub fn entity(self) -> &'static str {
        self.meta().entity
    }

    /// Whether a new record of this kind re-runs its episode's care plan
    /// (issue 5): assessments, wounds, wound measurements and procedures.
    pub fn feeds_care_plan(self) -> bool {
        matches!(
            self,
            RecordKind::Assessment | RecordKind::Wound | RecordKind::WoundMeasurement | RecordKind::Procedure
        )
    }

    /// The kind whose records `meta` describes.
    fn of_meta(meta: &crate::entity::Meta) -> Option<RecordKind> {
        RecordKind::ALL.iter().copied().find(|k| k.meta().table == meta.table)
    }

    fn meta(self) -> &'static crate::entity::Meta {
        match self {
            RecordKind::Patient => &PatientData::META,
            RecordKind::Limb => &LimbData::META,
            RecordKind::Episode => &EpisodeData::META,
            RecordKind::Assessment => &AssessmentData::META,
            RecordKind::Wound => &WoundData::META,
            RecordKind::WoundMeasurement => &WoundMeasurementData::META,
            RecordKind::VascularStudy => &VascularStudyData::META,
            RecordKind::ImagingStudy => &ImagingStudyData::META,
            RecordKind::Procedure => &ProcedureData::META,
            RecordKind::OutcomeEvent => &OutcomeEventData::META,
            RecordKind::Consent => &ConsentData::META,
            RecordKind::CareTeamMember => &CareTeamMemberData::META,
        }
    }

    fn owner_sql(self) -> &'static str {
        match self {
            RecordKind::Patient => &PatientData::sql().owner_of,
            RecordKind::Limb => &LimbData::sql().owner_of,
            RecordKind::Episode => &EpisodeData::sql().owner_of,
            RecordKind::Assessment => &AssessmentData::sql().owner_of,
            RecordKind::Wound => &WoundData::sql().owner_of,
            RecordKind::WoundMeasurement => &WoundMeasurementData::sql().owner_of,
            RecordKind::VascularStudy => &VascularStudyData::sql().owner_of,
            RecordKind::ImagingStudy => &ImagingStudyData::sql().owner_of,
            RecordKind::Procedure => &ProcedureData::sql().owner_of,
            RecordKind::OutcomeEvent => &OutcomeEventData::sql().owner_of,
            RecordKind::Consent => &ConsentData::sql().owner_of,
            RecordKind::CareTeamMember => &CareTeamMemberData::sql().owner_of,
        }
    }
}

/// A wound measurement with the area used for its trajectory and its percent
/// area reduction from the wound's baseline (first) measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementWithReduction {
    #[serde(flatten)]
    pub measurement: Stored<WoundMeasurementData>,
    /// Measured area, or length x width when no area was measured.
    pub area_cm2_used: f64,
    /// `(baseline - this) / baseline x 100`; `None` when the baseline area is 0.
    pub percent_area_reduction: Option<f64>,
}

/// The record types the store keeps: the twelve `limbpath-record` types
/// (sealed: the bound is the store's own trait).
pub trait Record: Entity {}
impl<E: Entity> Record for E {}

/// A record with the id of the patient it belongs to: what the server needs
/// to scope and audit the request, returned by the same statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned<T> {
    pub owner: String,
    pub record: T,
}

/// What a record's creation stores in the record's own transaction
/// ([`Store::create_owned_and_run_care_plan`]).
pub(crate) struct StoredWith<'a> {
    /// The creation's audit entry.
    audit: &'a CreationAudit,
    /// The care plan with its audit entry: only on the direct writer.
    plan: Option<(RecordKind, Arc<CareRules>, Date)>,
}

impl Store {
    /// Create any record (see the per-kind `create_*`), returning it with its
    /// owner's id.
    pub async fn create_owned<E: Record>(&self, data: E) -> Result<Owned<E::Out>> {
        Ok(self.create_entity(data, None).await?.0)
    }

    /// Create any record and, when it feeds a care plan (an assessment, wound,
    /// wound measurement or procedure: [`RecordKind::feeds_care_plan`]), run
    /// the plan of its episode on `today` (issue 5). On a SQLite file the plan
    /// runs in the record's own transaction, reading the episode as that
    /// transaction sees it; elsewhere it runs once the record is stored (a
    /// plan cut off by a crash in between is run by the next sweep of open
    /// episodes). Either way the record is kept when the plan fails
    /// ([`PlanAfter::Failed`]).
    ///
    /// `audit` is the creation's audit entry as the caller knows it (who, from
    /// where, the action and entity, any detail); the store fills in the new
    /// record's id and patient and stores it in the record's own transaction,
    /// and the plan's entry (action [`RUN_CARE_PLAN`](crate::RUN_CARE_PLAN) on
    /// `care_task`: the episode, the tasks created or why the plan failed) in
    /// the transaction that stores the plan's tasks (the same one on a SQLite
    /// file). A record or a task is never stored without its entry. An entry
    /// the trail would refuse is `Invalid` and nothing is stored.
    pub async fn create_owned_and_run_care_plan<E: Record>(
        &self,
        data: E,
        rules: &Arc<CareRules>,
        today: Date,
        audit: AuditEntry,
    ) -> Result<(Owned<E::Out>, PlanAfter)> {
        let audit = CreationAudit::new(audit)?;
        let kind = RecordKind::of_meta(&E::META).filter(|k| k.feeds_care_plan());
        let plan = kind.filter(|_| self.writes_directly()).map(|kind| (kind, rules.clone(), today));
        let (owned, plan) = self.create_entity(data, Some(StoredWith { audit: &audit, plan })).await?;
        let plan = match (plan, kind) {
            (Some(plan), _) => plan,
            (None, Some(kind)) => {
                let id = E::out_id(&owned.record);
                self.care_plan_after(kind, id, &owned.owner, rules, today, &audit).await?
            }
            (None, None) => PlanAfter::NotRun,
        };
        Ok((owned, plan))
    }

    /// Read any record (see the per-kind `get_*`) with its owner's id, in one
    /// statement.
    pub async fn get_owned<E: Record>(&self, id: &str) -> Result<Owned<E::Out>> {
        if !is_id(id) {
            return Err(not_found(E::META.entity, id));
        }
        let sql = E::sql().get_owned.as_str();
        let out = lookup!(self, sql, [Val::text(id)], |row| Ok::<_, StoreError>(Owned {
            owner: row.text("owner")?,
            record: E::decode(row)?
        }))?;
        out.ok_or_else(|| not_found(E::META.entity, id))
    }

    // -- the generic implementation --------------------------------------------

    /// Insert a record (and bring the patient's search rows up to date), with
    /// what `with` adds in the same transaction. The care plan's outcome is
    /// returned when it ran there, `None` when it has not run.
    pub(crate) async fn create_entity<E: Entity>(
        &self,
        data: E,
        with: Option<StoredWith<'_>>,
    ) -> Result<(Owned<E::Out>, Option<PlanAfter>)> {
        let (vals, extra) = data.prepare()?;
        let m = &E::META;
        let sql = E::sql().insert.as_str();
        let id = new_id();
        let now = now_ms();
        let mut binds = vec![Val::Text(id.clone()), Val::Int(now)];
        if let Some(parent) = data.parent_id() {
            binds.push(Val::text(parent));
        }
        binds.extend(vals);
        let search = m.search;
        let postgres = self.is_postgres();
        let inserted: Result<Option<(String, Option<PlanAfter>)>, sqlx::Error> = if self.writes_directly() {
            let record_id = id.clone();
            let with = with.map(|StoredWith { audit, plan }| (audit.clone(), plan));
            self.write_direct(move |tx| {
                let Some(owner) = tx.optional(sql, &binds, |r| r.text("owner"))? else {
                    return Ok(None);
                };
                let unchanged = search == Search::LatestStage
                    && tx.optional(crate::facets::STAGE_UNCHANGED, &[Val::text(&owner)], |_| Ok(()))?.is_some();
                if search != Search::No && !unchanged {
                    let statements = tx
                        .optional(crate::facets::REFRESH, &[Val::text(&owner)], |row| {
                            crate::facets::sync_statements(row, &owner, false)
                        })?
                        .ok_or(sqlx::Error::RowNotFound)?;
                    for (sql, vals) in statements {
                        tx.execute(&sql, &vals)?;
                    }
                }
                let Some((audit, plan)) = with else {
                    return Ok(Some((owner, None)));
                };
                tx.execute(INSERT_ENTRY, &audit.of_record(&record_id, &owner))?;
                let plan = match plan {
                    Some((kind, rules, today)) => Some(crate::care::care_plan_in_transaction(
                        tx,
                        (kind, &record_id, &owner),
                        &rules,
                        today,
                        &audit,
                    )?),
                    None => None,
                };
                Ok(Some((owner, plan)))
            })
            .await
        } else {
            let record_id = &id;
            let audit = with.map(|w| w.audit);
            with_writer!(self, p => {
            async move {
                if search == Search::No && audit.is_none() {
                    let row = bind_all!(sqlx::query(sql), binds).fetch_optional(p).await?;
                    return row.map(|r| r.try_get::<String, _>("owner").map(|o| (o, None))).transpose();
                }
                let mut tx = p.begin_write().await?;
                let Some(row) = bind_all!(sqlx::query(sql), binds).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let owner: String = row.try_get("owner")?;
                if search != Search::No {
                    sync_search!(tx, &owner, postgres, search);
                }
                if let Some(audit) = audit {
                    bind_all!(sqlx::query(INSERT_ENTRY), audit.of_record(record_id, &owner)).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(Some((owner, None)))
            }
            .await
            })
        };
        match inserted {
            Ok(Some((owner, plan))) => Ok((
                Owned {
                    owner,
                    record: E::output(Stored { id, version: 1, created_at_ms: now, updated_at_ms: now, data }, extra),
                },
                plan,
            )),
            Ok(None) => Err(parent_not_found(m, &data)),
            Err(e) => Err(constraint(&data, e, &id)),
        }
    }

    pub(crate) async fn get_entity<E: Entity>(&self, id: &str) -> Result<E::Out> {
        if !is_id(id) {
            return Err(not_found(E::META.entity, id));
        }
        let sql = E::sql().get.as_str();
        let out = lookup!(self, sql, [Val::text(id)], |row| E::decode(row))?;
        out.ok_or_else(|| not_found(E::META.entity, id))
    }

    pub(crate) async fn update_entity<E: Entity>(&self, id: &str, expected_version: i64, data: E) -> Result<E::Out> {
        let m = &E::META;
        if !is_id(id) {
            return Err(not_found(m.entity, id));
        }
        let (vals, extra) = data.prepare()?;
        let sql = E::sql().update.as_str();
        let now = now_ms();
        let mut binds = vec![Val::text(id), Val::Int(expected_version), Val::Int(now)];
        binds.extend(vals);
        if let Some(parent) = data.parent_id() {
            binds.push(Val::text(parent));
        }
        let search = m.search;
        let postgres = self.is_postgres();
        let updated: Result<Option<i64>, sqlx::Error> = with_writer!(self, p => {
            async move {
                if search == Search::No {
                    let row = bind_all!(sqlx::query(sql), binds).fetch_optional(p).await?;
                    return row.map(|r| r.try_get::<i64, _>("created_at_ms")).transpose();
                }
                let mut tx = p.begin_write().await?;
                let Some(row) = bind_all!(sqlx::query(sql), binds).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let owner: String = row.try_get("owner")?;
                sync_search!(tx, &owner, postgres, search);
                tx.commit().await?;
                Ok(Some(row.try_get::<i64, _>("created_at_ms")?))
            }
            .await
        });
        let created_at_ms = match updated {
            Ok(Some(created)) => created,
            Ok(None) => return Err(self.why_not_updated::<E>(id, &data).await),
            Err(e) => return Err(constraint(&data, e, id)),
        };
        Ok(E::output(
            Stored { id: id.to_owned(), version: expected_version + 1, created_at_ms, updated_at_ms: now, data },
            extra,
        ))
    }

    /// An update changed no row: the record is missing, its parent differs
    /// (parents are fixed at creation), or its version moved on.
    async fn why_not_updated<E: Entity>(&self, id: &str, data: &E) -> StoreError {
        let m = &E::META;
        let sql = E::sql().version_of.as_str();
        let found: Result<Option<(i64, String)>> = with_pool!(self, p => {
            match sqlx::query(sql).bind(id).fetch_optional(p).await {
                Ok(Some(row)) => match (row.int("version"), row.text("parent")) {
                    (Ok(v), Ok(parent)) => Ok(Some((v, parent))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
                Ok(None) => Ok(None),
                Err(e) => Err(e.into()),
            }
        });
        match found {
            Err(e) => e,
            Ok(None) => not_found(m.entity, id),
            Ok(Some((current, parent))) => match (&m.parent, data.parent_id()) {
                (Some(p), Some(given)) if given != parent => StoreError::Invalid(InvalidInput::inconsistent(
                    p.field,
                    given,
                    format!("the {} this {} belongs to ({parent}); it cannot be moved", p.entity, m.entity),
                )),
                _ => StoreError::VersionConflict { entity: m.entity, id: id.to_owned(), current },
            },
        }
    }

    pub(crate) async fn list_entity<E: Entity>(
        &self,
        parent_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<E::Out>> {
        let m = &E::META;
        let fetch = check_limit(limit)?;
        let Some(parent) = &m.parent else {
            return Err(not_found(m.entity, parent_id));
        };
        if !is_id(parent_id) {
            return Err(not_found(parent.entity, parent_id));
        }
        let sql = E::sql();
        let rows: Vec<E::Out> = with_pool!(self, p => {
            let mut q = sqlx::query(sql.list_first.as_str());
            if let Some(cursor) = cursor {
                let keys = if is_id(cursor) {
                    sqlx::query(sql.cursor_keys.as_str()).bind(cursor).bind(parent_id).fetch_optional(p).await?
                } else {
                    None
                };
                let Some(keys) = keys else {
                    return Err(bad_cursor(cursor));
                };
                q = sqlx::query(sql.list_after.as_str());
                let mut after = Vec::with_capacity(m.order.len());
                for col in m.order {
                    after.push(Val::Text(keys.text(col)?));
                }
                q = bind_all!(q.bind(parent_id).bind(fetch), after);
            } else {
                q = q.bind(parent_id).bind(fetch);
            }
            let mut out = Vec::new();
            for row in q.fetch_all(p).await? {
                out.push(E::decode(&row)?);
            }
            out
        });
        if rows.is_empty() && cursor.is_none() {
            let exists = sql.parent_exists.as_str();
            let found = with_pool!(self, p => sqlx::query(exists).bind(parent_id).fetch_optional(p).await?.is_some());
            if !found {
                return Err(not_found(parent.entity, parent_id));
            }
        }
        Ok(cut_page(rows, limit, |o| E::out_id(o).to_owned()))
    }

    // -- what callers use ------------------------------------------------------

    /// The id of the patient a record belongs to: what the server needs to
    /// authorise and audit a read or write of any record.
    pub async fn owner_patient_id(&self, kind: RecordKind, id: &str) -> Result<String> {
        let entity = kind.entity();
        if !is_id(id) {
            return Err(not_found(entity, id));
        }
        let owner = lookup!(self, kind.owner_sql(), [Val::text(id)], |row| row.text("owner"))?;
        owner.ok_or_else(|| not_found(entity, id))
    }

    pub async fn create_patient(&self, data: PatientData) -> Result<Stored<PatientData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_patient(&self, id: &str) -> Result<Stored<PatientData>> {
        self.get_entity::<PatientData>(id).await
    }
    pub async fn update_patient(
        &self,
        id: &str,
        expected_version: i64,
        data: PatientData,
    ) -> Result<Stored<PatientData>> {
        self.update_entity(id, expected_version, data).await
    }

    pub async fn create_limb(&self, data: LimbData) -> Result<Stored<LimbData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_limb(&self, id: &str) -> Result<Stored<LimbData>> {
        self.get_entity::<LimbData>(id).await
    }
    pub async fn update_limb(&self, id: &str, expected_version: i64, data: LimbData) -> Result<Stored<LimbData>> {
        self.update_entity(id, expected_version, data).await
    }
    /// A patient's limbs, in creation order.
    pub async fn list_limbs(
        &self,
        patient_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<LimbData>>> {
        self.list_entity::<LimbData>(patient_id, cursor, limit).await
    }

    /// Creating, updating: recomputes the patient's episode status flags in the
    /// same transaction.
    pub async fn create_episode(&self, data: EpisodeData) -> Result<Stored<EpisodeData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_episode(&self, id: &str) -> Result<Stored<EpisodeData>> {
        self.get_entity::<EpisodeData>(id).await
    }
    pub async fn update_episode(
        &self,
        id: &str,
        expected_version: i64,
        data: EpisodeData,
    ) -> Result<Stored<EpisodeData>> {
        self.update_entity(id, expected_version, data).await
    }
    /// A limb's episodes, by opening date.
    pub async fn list_episodes(
        &self,
        limb_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<EpisodeData>>> {
        self.list_entity::<EpisodeData>(limb_id, cursor, limit).await
    }

    /// Derives every classification with the engine (`AssessmentData::derive`)
    /// and stores the findings as sent, the result, the engine version and the
    /// WIfI stage; recomputes the patient's latest WIfI stage in the same
    /// transaction.
    pub async fn create_assessment(&self, data: AssessmentData) -> Result<StoredAssessment> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_assessment(&self, id: &str) -> Result<StoredAssessment> {
        self.get_entity::<AssessmentData>(id).await
    }
    /// Replaces the findings and derives again with the current engine.
    pub async fn update_assessment(
        &self,
        id: &str,
        expected_version: i64,
        data: AssessmentData,
    ) -> Result<StoredAssessment> {
        self.update_entity(id, expected_version, data).await
    }
    /// An episode's assessments, by assessment date.
    pub async fn list_assessments(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredAssessment>> {
        self.list_entity::<AssessmentData>(episode_id, cursor, limit).await
    }

    pub async fn create_wound(&self, data: WoundData) -> Result<Stored<WoundData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_wound(&self, id: &str) -> Result<Stored<WoundData>> {
        self.get_entity::<WoundData>(id).await
    }
    pub async fn update_wound(&self, id: &str, expected_version: i64, data: WoundData) -> Result<Stored<WoundData>> {
        self.update_entity(id, expected_version, data).await
    }
    /// An episode's wounds, by the date noted.
    pub async fn list_wounds(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<WoundData>>> {
        self.list_entity::<WoundData>(episode_id, cursor, limit).await
    }

    pub async fn create_wound_measurement(&self, data: WoundMeasurementData) -> Result<Stored<WoundMeasurementData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_wound_measurement(&self, id: &str) -> Result<Stored<WoundMeasurementData>> {
        self.get_entity::<WoundMeasurementData>(id).await
    }
    pub async fn update_wound_measurement(
        &self,
        id: &str,
        expected_version: i64,
        data: WoundMeasurementData,
    ) -> Result<Stored<WoundMeasurementData>> {
        self.update_entity(id, expected_version, data).await
    }
    /// A wound's measurements by date, each with its percent area reduction
    /// from the wound's baseline: its earliest measurement (by date, then id).
    pub async fn list_wound_measurements(
        &self,
        wound_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<MeasurementWithReduction>> {
        let page = self.list_entity::<WoundMeasurementData>(wound_id, cursor, limit).await?;
        let baseline = if cursor.is_none() {
            page.items.first().map(|m| m.data.area())
        } else {
            let first = self.list_entity::<WoundMeasurementData>(wound_id, None, 1).await?;
            first.items.first().map(|m| m.data.area())
        };
        let items = page
            .items
            .into_iter()
            .map(|m| {
                let area = m.data.area();
                MeasurementWithReduction {
                    percent_area_reduction: baseline.and_then(|b| percent_area_reduction(b, area)),
                    area_cm2_used: area,
                    measurement: m,
                }
            })
            .collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn create_vascular_study(&self, data: VascularStudyData) -> Result<Stored<VascularStudyData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_vascular_study(&self, id: &str) -> Result<Stored<VascularStudyData>> {
        self.get_entity::<VascularStudyData>(id).await
    }
    pub async fn update_vascular_study(
        &self,
        id: &str,
        expected_version: i64,
        data: VascularStudyData,
    ) -> Result<Stored<VascularStudyData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_vascular_studies(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<VascularStudyData>>> {
        self.list_entity::<VascularStudyData>(episode_id, cursor, limit).await
    }

    pub async fn create_imaging_study(&self, data: ImagingStudyData) -> Result<Stored<ImagingStudyData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_imaging_study(&self, id: &str) -> Result<Stored<ImagingStudyData>> {
        self.get_entity::<ImagingStudyData>(id).await
    }
    pub async fn update_imaging_study(
        &self,
        id: &str,
        expected_version: i64,
        data: ImagingStudyData,
    ) -> Result<Stored<ImagingStudyData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_imaging_studies(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<ImagingStudyData>>> {
        self.list_entity::<ImagingStudyData>(episode_id, cursor, limit).await
    }

    pub async fn create_procedure(&self, data: ProcedureData) -> Result<Stored<ProcedureData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_procedure(&self, id: &str) -> Result<Stored<ProcedureData>> {
        self.get_entity::<ProcedureData>(id).await
    }
    pub async fn update_procedure(
        &self,
        id: &str,
        expected_version: i64,
        data: ProcedureData,
    ) -> Result<Stored<ProcedureData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_procedures(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<ProcedureData>>> {
        self.list_entity::<ProcedureData>(episode_id, cursor, limit).await
    }

    pub async fn create_outcome_event(&self, data: OutcomeEventData) -> Result<Stored<OutcomeEventData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_outcome_event(&self, id: &str) -> Result<Stored<OutcomeEventData>> {
        self.get_entity::<OutcomeEventData>(id).await
    }
    pub async fn update_outcome_event(
        &self,
        id: &str,
        expected_version: i64,
        data: OutcomeEventData,
    ) -> Result<Stored<OutcomeEventData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_outcome_events(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<OutcomeEventData>>> {
        self.list_entity::<OutcomeEventData>(episode_id, cursor, limit).await
    }

    pub async fn create_consent(&self, data: ConsentData) -> Result<Stored<ConsentData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_consent(&self, id: &str) -> Result<Stored<ConsentData>> {
        self.get_entity::<ConsentData>(id).await
    }
    pub async fn update_consent(
        &self,
        id: &str,
        expected_version: i64,
        data: ConsentData,
    ) -> Result<Stored<ConsentData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_consents(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<ConsentData>>> {
        self.list_entity::<ConsentData>(episode_id, cursor, limit).await
    }

    /// A member's `user_id`, when given, must name an existing user
    /// (`NotFound { entity: "user", field: Some("user_id") }`).
    pub async fn create_care_team_member(&self, data: CareTeamMemberData) -> Result<Stored<CareTeamMemberData>> {
        self.create_owned(data).await.map(|o| o.record)
    }
    pub async fn get_care_team_member(&self, id: &str) -> Result<Stored<CareTeamMemberData>> {
        self.get_entity::<CareTeamMemberData>(id).await
    }
    pub async fn update_care_team_member(
        &self,
        id: &str,
        expected_version: i64,
        data: CareTeamMemberData,
    ) -> Result<Stored<CareTeamMemberData>> {
        self.update_entity(id, expected_version, data).await
    }
    pub async fn list_care_team_members(
        &self,
        episode_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Stored<CareTeamMemberData>>> {
        self.list_entity::<CareTeamMemberData>(episode_id, cursor, limit).await
    }
}

pub(crate) fn bad_cursor(cursor: &str) -> StoreError {
    StoreError::Invalid(InvalidInput::unrecognised(
        "cursor",
        cursor,
        "the next_cursor of a previous page of the same list",
    ))
}

fn parent_not_found<E: Entity>(m: &crate::entity::Meta, data: &E) -> StoreError {
    match (&m.parent, data.parent_id()) {
        (Some(p), Some(id)) => StoreError::NotFound { entity: p.entity, id: id.to_owned(), field: Some(p.field) },
        _ => StoreError::Database(sqlx::Error::RowNotFound),
    }
}

/// A database error from a write, in the entity's terms where it has some.
fn constraint<E: Entity>(data: &E, e: sqlx::Error, id: &str) -> StoreError {
    if let Some(kind) = db_kind(&e) {
        let unique = kind == sqlx::error::ErrorKind::UniqueViolation;
        if let Some(mapped) = data.constraint_error(kind, &db_text(&e)) {
            return mapped;
        }
        if unique {
            return StoreError::Duplicate { field: "id", value: id.to_owned() };
        }
    }
    e.into()
}
