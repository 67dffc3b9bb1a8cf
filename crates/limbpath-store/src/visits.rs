//! The patient between visits (issue 6): check-ins with the triage decision
//! that answered them, alerts grouped per (patient, kind) while open, their
//! acknowledgement, the programme's settings and written instructions, and
//! the osseointegration and lengthening plans with their logs.
//!
//! The rules live in `limbpath-protocols`; the store keeps what they were
//! given and what they said. Grouping uses the rule layer's own
//! [`alerts::group`]: a signal whose key matches an open alert joins it in the
//! same transaction that records it (one open alert per key is also a unique
//! index). Plans keep their input and settings as JSON and are recomputed by
//! the rule layer on read. Times are milliseconds since the Unix epoch passed
//! in by the caller (the server's clock), never read here.

use crate::error::corrupt;
use crate::sql::{Begin, RowExt, date_text, new_id, to_json, with_pool, with_writer};
use crate::{Result, Store, StoreError};
use limbpath_clinical::InvalidInput;
use limbpath_protocols::alerts::{self, AlertKind, AlertSignal, GroupedAlert};
use limbpath_protocols::lengthening::DistractionLogEntry;
use limbpath_protocols::oi_rehab::LoadLogEntry;
use limbpath_protocols::triage::TriageLevel;
use limbpath_record::check_id;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

/// The longest list of open alerts one request reads.
pub const MAX_ALERTS: u32 = 500;
/// The longest programme instruction text accepted, in characters.
pub const INSTRUCTIONS_MAX_CHARS: usize = 20_000;
/// The protocols a programme writes instructions for.
pub const INSTRUCTION_PROTOCOLS: [&str; 4] = ["general", "oi_rehab", "lengthening", "external_frame"];

/// A stored check-in: the answers, the decision, and the rule set version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCheckIn {
    pub id: String,
    pub patient_id: String,
    pub at_ms: i64,
    /// The user id of who submitted it (the patient, or the team on their behalf).
    pub submitted_by: String,
    pub answers: Value,
    pub decision: Value,
    /// The decision's level (`routine`, `contact_team_today`, `contact_team_immediately`).
    pub level: String,
    pub rule_set_version: String,
}

/// A new check-in and the alert signals its decision raised.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    pub patient_id: String,
    pub at_ms: i64,
    pub submitted_by: String,
    pub answers: Value,
    pub decision: Value,
    pub level: TriageLevel,
    pub rule_set_version: String,
    pub signals: Vec<AlertSignal>,
}

/// An alert as stored: the grouped alert plus who acknowledged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAlert {
    pub id: String,
    pub patient_id: String,
    pub kind: AlertKind,
    pub level: TriageLevel,
    pub count: u32,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub latest_summary: String,
    pub acknowledged_at_ms: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub repeats_since_acknowledgement: u32,
    /// When a clinician closed it (resolved), with who and their note.
    pub closed_at_ms: Option<i64>,
    pub closed_by: Option<String>,
    pub close_note: Option<String>,
}

/// What the patient list shows of a patient's open alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AlertBadges {
    /// Open check-in red flags (a triage rule said contact the team).
    pub red_flags: u32,
    /// Open protocol deviations (loading log, distraction drift).
    pub protocol_deviations: u32,
    /// Any of them at "contact the team immediately".
    pub immediate: bool,
}

impl StoredAlert {
    /// The rule layer's view of this alert.
    pub fn grouped(&self) -> GroupedAlert {
        GroupedAlert {
            key: alerts::AlertKey { patient_id: self.patient_id.clone(), kind: self.kind.clone() },
            level: self.level,
            count: self.count,
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            latest_summary: self.latest_summary.clone(),
            acknowledged_at_ms: self.acknowledged_at_ms,
            repeats_since_acknowledgement: self.repeats_since_acknowledgement,
        }
    }
}

/// Which open alerts to read.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// One patient's, or everyone's (the care team's worklist).
    pub patient_id: Option<String>,
    /// At most this many (capped at [`MAX_ALERTS`]).
    pub limit: u32,
}

/// The protocol a plan follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanProtocol {
    OiRehab,
    Lengthening,
}

impl PlanProtocol {
    pub fn code(self) -> &'static str {
        match self {
            PlanProtocol::OiRehab => "oi_rehab",
            PlanProtocol::Lengthening => "lengthening",
        }
    }
    pub fn from_code(s: &str) -> Option<PlanProtocol> {
        match s {
            "oi_rehab" => Some(PlanProtocol::OiRehab),
            "lengthening" => Some(PlanProtocol::Lengthening),
            _ => None,
        }
    }
}

/// A stored plan: its input and the programme settings it was made with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPlan {
    pub id: String,
    pub patient_id: String,
    pub protocol: PlanProtocol,
    pub created_at_ms: i64,
    pub created_by: String,
    pub input: Value,
    pub settings: Value,
}

/// One logged loading session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredLoadEntry {
    pub id: String,
    pub plan_id: String,
    pub patient_id: String,
    pub date: Date,
    pub load_kg: f64,
    pub pain_nrs: Option<u8>,
    pub logged_at_ms: i64,
    pub logged_by: String,
}

impl StoredLoadEntry {
    /// The rule layer's view of the entry.
    pub fn entry(&self) -> LoadLogEntry {
        LoadLogEntry { date: self.date, load_kg: self.load_kg, pain_nrs: self.pain_nrs }
    }
}

/// One logged distraction day (turns done).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDistractionEntry {
    pub id: String,
    pub plan_id: String,
    pub patient_id: String,
    pub date: Date,
    pub turns: u32,
    pub logged_at_ms: i64,
    pub logged_by: String,
}

impl StoredDistractionEntry {
    /// The rule layer's view of the entry.
    pub fn entry(&self) -> DistractionLogEntry {
        DistractionLogEntry { date: self.date, turns: self.turns }
    }
}

/// A programme setting (a JSON document by key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSetting {
    pub key: String,
    pub value: Value,
    pub updated_at_ms: i64,
    pub updated_by: Option<String>,
}

/// The programme's written instructions for one protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredInstructions {
    pub protocol: String,
    pub text: String,
    pub updated_at_ms: i64,
    pub updated_by: Option<String>,
}

fn level_rank(level: TriageLevel) -> i64 {
    match level {
        TriageLevel::ContactTeamImmediately => 2,
        TriageLevel::ContactTeamToday => 1,
        TriageLevel::Routine => 0,
    }
}

fn level_from_code(s: &str) -> Option<TriageLevel> {
    match s {
        "contact_team_immediately" => Some(TriageLevel::ContactTeamImmediately),
        "contact_team_today" => Some(TriageLevel::ContactTeamToday),
        "routine" => Some(TriageLevel::Routine),
        _ => None,
    }
}

fn to_u32(col: &str, v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format_args!("{col} = {v}")))
}

fn decode_alert(r: &impl RowExt) -> Result<StoredAlert> {
    let kind: AlertKind = r.json("kind_key")?;
    let patient_id = r.text("patient_id")?;
    Ok(StoredAlert {
        id: r.text("id")?,
        patient_id,
        kind,
        level: r.code("level", level_from_code)?,
        count: to_u32("count", r.int("count")?)?,
        first_seen_ms: r.int("first_seen_ms")?,
        last_seen_ms: r.int("last_seen_ms")?,
        latest_summary: r.text("latest_summary")?,
        acknowledged_at_ms: r.opt_int("acknowledged_at_ms")?,
        acknowledged_by: r.opt_text("acknowledged_by")?,
        repeats_since_acknowledgement: to_u32("repeats_since_ack", r.int("repeats_since_ack")?)?,
        closed_at_ms: r.opt_int("closed_at_ms")?,
        closed_by: r.opt_text("closed_by")?,
        close_note: r.opt_text("close_note")?,
    })
}

fn decode_check_in(r: &impl RowExt) -> Result<StoredCheckIn> {
    Ok(StoredCheckIn {
        id: r.text("id")?,
        patient_id: r.text("patient_id")?,
        at_ms: r.int("at_ms")?,
        submitted_by: r.text("submitted_by")?,
        answers: r.json("answers")?,
        decision: r.json("decision")?,
        level: r.text("level")?,
        rule_set_version: r.text("rule_set_version")?,
    })
}

fn decode_plan(r: &impl RowExt) -> Result<StoredPlan> {
    Ok(StoredPlan {
        id: r.text("id")?,
        patient_id: r.text("patient_id")?,
        protocol: r.code("protocol", PlanProtocol::from_code)?,
        created_at_ms: r.int("created_at_ms")?,
        created_by: r.text("created_by")?,
        input: r.json("input")?,
        settings: r.json("settings")?,
    })
}

fn decode_load(r: &impl RowExt) -> Result<StoredLoadEntry> {
    Ok(StoredLoadEntry {
        id: r.text("id")?,
        plan_id: r.text("plan_id")?,
        patient_id: r.text("patient_id")?,
        date: r.date("logged_on")?,
        load_kg: r.float("load_kg")?,
        pain_nrs: r.opt_small("pain_nrs")?,
        logged_at_ms: r.int("logged_at_ms")?,
        logged_by: r.text("logged_by")?,
    })
}

fn decode_distraction(r: &impl RowExt) -> Result<StoredDistractionEntry> {
    Ok(StoredDistractionEntry {
        id: r.text("id")?,
        plan_id: r.text("plan_id")?,
        patient_id: r.text("patient_id")?,
        date: r.date("logged_on")?,
        turns: to_u32("turns", r.int("turns")?)?,
        logged_at_ms: r.int("logged_at_ms")?,
        logged_by: r.text("logged_by")?,
    })
}

const ALERT_COLUMNS: &str = "id, patient_id, kind_key, level, count, first_seen_ms, last_seen_ms, latest_summary, \
                             acknowledged_at_ms, acknowledged_by, repeats_since_ack, closed_at_ms, closed_by, \
                             close_note";
const PLAN_COLUMNS: &str = "id, patient_id, protocol, created_at_ms, created_by, input, settings";

fn not_found(entity: &'static str, id: &str) -> StoreError {
    StoreError::NotFound { entity, id: id.to_owned(), field: None }
}

fn check_signals(patient_id: &str, signals: &[AlertSignal]) -> Result<()> {
    for (i, s) in signals.iter().enumerate() {
        if s.key.patient_id != patient_id {
            return Err(StoreError::Invalid(InvalidInput::inconsistent(
                format!("signals[{i}].key.patient_id"),
                s.key.patient_id.clone(),
                format!("the patient the alerts are raised for ({patient_id})"),
            )));
        }
    }
    // The rule layer's own checks (no routine signal, a patient id).
    alerts::group(Vec::new(), signals)?;
    Ok(())
}

impl Store {
    async fn patient_exists(&self, patient_id: &str) -> Result<bool> {
        if check_id("patient_id", patient_id).is_err() {
            return Ok(false);
        }
        let found = with_pool!(self, p => sqlx::query("SELECT id FROM patients WHERE id = $1")
            .bind(patient_id)
            .fetch_optional(p)
            .await?
            .is_some());
        Ok(found)
    }

    /// Record a check-in and raise its alert signals, grouped into the
    /// patient's open alerts, in one transaction. Returns the check-in and the
    /// alerts its signals joined or opened.
    pub async fn record_check_in(&self, c: NewCheckIn) -> Result<(StoredCheckIn, Vec<StoredAlert>)> {
        if !self.patient_exists(&c.patient_id).await? {
            return Err(StoreError::NotFound { entity: "patient", id: c.patient_id, field: Some("patient_id") });
        }
        check_signals(&c.patient_id, &c.signals)?;
        let stored = StoredCheckIn {
            id: new_id(),
            patient_id: c.patient_id.clone(),
            at_ms: c.at_ms,
            submitted_by: c.submitted_by.clone(),
            answers: c.answers.clone(),
            decision: c.decision.clone(),
            level: c.level.as_str().to_owned(),
            rule_set_version: c.rule_set_version.clone(),
        };
        let alerts = self.write_signals(Some(&stored), &c.patient_id, &c.signals).await?;
        Ok((stored, alerts))
    }

    /// Raise alert signals (from a log review) for a patient, grouped into
    /// their open alerts.
    pub async fn raise_alerts(&self, patient_id: &str, signals: &[AlertSignal]) -> Result<Vec<StoredAlert>> {
        if !self.patient_exists(patient_id).await? {
            return Err(StoreError::NotFound {
                entity: "patient",
                id: patient_id.to_owned(),
                field: Some("patient_id"),
            });
        }
        check_signals(patient_id, signals)?;
        self.write_signals(None, patient_id, signals).await
    }

    async fn write_signals(
        &self,
        check_in: Option<&StoredCheckIn>,
        patient_id: &str,
        signals: &[AlertSignal],
    ) -> Result<Vec<StoredAlert>> {
        let postgres = self.is_postgres();
        let check_in_row = match check_in {
            Some(c) => Some((to_json("answers", &c.answers)?, to_json("decision", &c.decision)?)),
            None => None,
        };
        let out: Result<Vec<StoredAlert>, sqlx::Error> = with_writer!(self, p => {
            async {
                let mut tx = p.begin_write().await?;
                if postgres {
                    sqlx::query(crate::facets::LOCK_PATIENT).bind(patient_id).execute(&mut *tx).await?;
                }
                if let (Some(c), Some((answers, decision))) = (check_in, &check_in_row) {
                    sqlx::query(
                        "INSERT INTO check_ins (id, patient_id, at_ms, submitted_by, answers, decision, level, \
                         rule_set_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&c.id)
                    .bind(&c.patient_id)
                    .bind(c.at_ms)
                    .bind(&c.submitted_by)
                    .bind(answers)
                    .bind(decision)
                    .bind(&c.level)
                    .bind(&c.rule_set_version)
                    .execute(&mut *tx)
                    .await?;
                }
                let mut touched: Vec<StoredAlert> = Vec::new();
                for s in signals {
                    let kind_key = serde_json::to_string(&s.key.kind)
                        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
                    let sql = format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts WHERE patient_id = $1 AND kind_key = $2 AND closed_at_ms IS NULL"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(patient_id)
                        .bind(&kind_key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let existing = row.map(|r| decode_alert(&r)).transpose().map_err(crate::sql::into_sqlx)?;
                    let open: Vec<GroupedAlert> = existing.iter().map(StoredAlert::grouped).collect();
                    let grouped = alerts::group(open, std::slice::from_ref(s))
                        .map_err(|e| crate::sql::into_sqlx(StoreError::Invalid(e)))?;
                    let Some(g) = grouped.into_iter().next() else { continue };
                    let id = match &existing {
                        Some(a) => {
                            sqlx::query(
                                "UPDATE alerts SET level = $2, level_rank = $3, count = $4, first_seen_ms = $5, \
                                 last_seen_ms = $6, latest_summary = $7, repeats_since_ack = $8 WHERE id = $1",
                            )
                            .bind(&a.id)
                            .bind(g.level.as_str())
                            .bind(level_rank(g.level))
                            .bind(i64::from(g.count))
                            .bind(g.first_seen_ms)
                            .bind(g.last_seen_ms)
                            .bind(&g.latest_summary)
                            .bind(i64::from(g.repeats_since_acknowledgement))
                            .execute(&mut *tx)
                            .await?;
                            a.id.clone()
                        }
                        None => {
                            let id = new_id();
                            sqlx::query(
                                "INSERT INTO alerts (id, patient_id, kind_key, level, level_rank, count, \
                                 first_seen_ms, last_seen_ms, latest_summary, repeats_since_ack) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
                            )
                            .bind(&id)
                            .bind(patient_id)
                            .bind(&kind_key)
                            .bind(g.level.as_str())
                            .bind(level_rank(g.level))
                            .bind(i64::from(g.count))
                            .bind(g.first_seen_ms)
                            .bind(g.last_seen_ms)
                            .bind(&g.latest_summary)
                            .execute(&mut *tx)
                            .await?;
                            id
                        }
                    };
                    let a = StoredAlert {
                        id,
                        patient_id: patient_id.to_owned(),
                        kind: g.key.kind,
                        level: g.level,
                        count: g.count,
                        first_seen_ms: g.first_seen_ms,
                        last_seen_ms: g.last_seen_ms,
                        latest_summary: g.latest_summary,
                        acknowledged_at_ms: g.acknowledged_at_ms,
                        acknowledged_by: existing.as_ref().and_then(|e| e.acknowledged_by.clone()),
                        repeats_since_acknowledgement: g.repeats_since_acknowledgement,
                        closed_at_ms: None,
                        closed_by: None,
                        close_note: None,
                    };
                    match touched.iter_mut().find(|t| t.id == a.id) {
                        Some(t) => *t = a,
                        None => touched.push(a),
                    }
                }
                tx.commit().await?;
                Ok(touched)
            }
            .await
        });
        Ok(out?)
    }

    /// Open alerts, most urgent first: unacknowledged before acknowledged,
    /// then "contact the team immediately" before "today", then oldest first.
    pub async fn open_alerts(&self, q: &AlertQuery) -> Result<Vec<StoredAlert>> {
        let limit = i64::from(q.limit.clamp(1, MAX_ALERTS));
        let order = "ORDER BY CASE WHEN acknowledged_at_ms IS NULL THEN 0 ELSE 1 END, level_rank DESC, \
                     first_seen_ms, id";
        let rows: Vec<StoredAlert> = match &q.patient_id {
            Some(pid) => {
                let sql = format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE patient_id = $1 AND closed_at_ms IS NULL {order} LIMIT $2"
                );
                with_pool!(self, p => {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pid).bind(limit).fetch_all(p).await?;
                    rows.iter().map(decode_alert).collect::<Result<Vec<_>>>()?
                })
            }
            None => {
                let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE closed_at_ms IS NULL {order} LIMIT $1");
                with_pool!(self, p => {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(p).await?;
                    rows.iter().map(decode_alert).collect::<Result<Vec<_>>>()?
                })
            }
        };
        Ok(rows)
    }

    /// One alert by id.
    pub async fn get_alert(&self, id: &str) -> Result<StoredAlert> {
        if check_id("id", id).is_err() {
            return Err(not_found("alert", id));
        }
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let found = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(r) => Some(decode_alert(&r)?),
                None => None,
            }
        });
        found.ok_or_else(|| not_found("alert", id))
    }

    /// Acknowledge an alert (who, when). The first acknowledgement stands:
    /// acknowledging again changes nothing. An acknowledgement is never
    /// recorded before the alert was first seen.
    pub async fn acknowledge_alert(&self, id: &str, user_id: &str, at_ms: i64) -> Result<StoredAlert> {
        if check_id("id", id).is_err() {
            return Err(not_found("alert", id));
        }
        with_writer!(self, p => sqlx::query(
            "UPDATE alerts SET acknowledged_at_ms = CASE WHEN $2 < first_seen_ms THEN first_seen_ms ELSE $2 END, \
             acknowledged_by = $3 WHERE id = $1 AND acknowledged_at_ms IS NULL",
        )
        .bind(id)
        .bind(at_ms)
        .bind(user_id)
        .execute(p)
        .await
        .map(|_| ())?);
        self.get_alert(id).await
    }

    /// Close (resolve) an acknowledged alert with a note: who, when, why. An
    /// alert not yet acknowledged is `Invalid` naming `acknowledged_at_ms`
    /// (acknowledge it first); a blank note is `Invalid` naming `note`. The
    /// first close stands: closing again changes nothing. Once closed, a new
    /// signal of the same kind opens a new alert. Never recorded before the
    /// acknowledgement.
    pub async fn close_alert(&self, id: &str, user_id: &str, note: &str, at_ms: i64) -> Result<StoredAlert> {
        if check_id("id", id).is_err() {
            return Err(not_found("alert", id));
        }
        limbpath_record::check_text("note", note, 2000, true)?;
        let current = self.get_alert(id).await?;
        if current.closed_at_ms.is_some() {
            return Ok(current);
        }
        if current.acknowledged_at_ms.is_none() {
            return Err(StoreError::Invalid(InvalidInput::inconsistent(
                "acknowledged_at_ms",
                "not acknowledged",
                "an acknowledged alert: acknowledge it before closing it",
            )));
        }
        with_writer!(self, p => sqlx::query(
            "UPDATE alerts SET closed_at_ms = CASE WHEN $2 < acknowledged_at_ms THEN acknowledged_at_ms ELSE $2 END, \
             closed_by = $3, close_note = $4 WHERE id = $1 AND closed_at_ms IS NULL AND acknowledged_at_ms IS NOT NULL",
        )
        .bind(id)
        .bind(at_ms)
        .bind(user_id)
        .bind(note.trim())
        .execute(p)
        .await
        .map(|_| ())?);
        self.get_alert(id).await
    }

    /// The open-alert badges of some patients (the patient list's page): one
    /// probe of the open alerts' `(patient_id, kind_key)` index per patient.
    /// Patients without open alerts are absent.
    pub async fn alert_badges(&self, patient_ids: &[String]) -> Result<Vec<(String, AlertBadges)>> {
        let ids: Vec<&String> = patient_ids.iter().filter(|id| check_id("id", id).is_ok()).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT patient_id, kind_key, level_rank FROM alerts WHERE patient_id IN ({}) AND closed_at_ms IS NULL",
            list.join(", ")
        );
        let rows = with_pool!(self, p => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                q = q.bind(id.as_str());
            }
            let mut out = Vec::new();
            for r in q.fetch_all(p).await? {
                let kind: AlertKind = r.json("kind_key")?;
                out.push((r.text("patient_id")?, kind, r.int("level_rank")?));
            }
            out
        });
        let mut out: Vec<(String, AlertBadges)> = Vec::new();
        for (pid, kind, rank) in rows {
            let i = match out.iter().position(|(p, _)| *p == pid) {
                Some(i) => i,
                None => {
                    out.push((pid, AlertBadges::default()));
                    out.len() - 1
                }
            };
            let b = &mut out[i].1;
            match kind {
                AlertKind::CheckInRule { .. } => b.red_flags += 1,
                AlertKind::LoadingDeviation { .. } | AlertKind::DistractionDrift { .. } => b.protocol_deviations += 1,
            }
            b.immediate |= rank >= 2;
        }
        Ok(out)
    }

    /// A patient's check-ins, newest first (at most `limit`, capped at 500).
    pub async fn list_check_ins(&self, patient_id: &str, limit: u32) -> Result<Vec<StoredCheckIn>> {
        let limit = i64::from(limit.clamp(1, 500));
        let rows = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, patient_id, at_ms, submitted_by, answers, decision, level, rule_set_version \
                 FROM check_ins WHERE patient_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
            )
            .bind(patient_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode_check_in).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// A programme setting by key, if the programme has set it.
    pub async fn programme_setting(&self, key: &str) -> Result<Option<StoredSetting>> {
        let found = with_pool!(self, p => {
            match sqlx::query("SELECT key, value, updated_at_ms, updated_by FROM programme_settings WHERE key = $1")
                .bind(key)
                .fetch_optional(p)
                .await?
            {
                Some(r) => Some(StoredSetting {
                    key: r.text("key")?,
                    value: r.json("value")?,
                    updated_at_ms: r.int("updated_at_ms")?,
                    updated_by: r.opt_text("updated_by")?,
                }),
                None => None,
            }
        });
        Ok(found)
    }

    /// Set a programme setting (the caller validates the document first).
    pub async fn put_programme_setting(
        &self,
        key: &str,
        value: &Value,
        updated_by: Option<&str>,
        at_ms: i64,
    ) -> Result<StoredSetting> {
        if key.trim().is_empty() || key.len() > 100 {
            return Err(StoreError::Invalid(InvalidInput::out_of_range("key", key, "a setting key of 1 to 100 bytes")));
        }
        let text = to_json("value", value)?;
        with_writer!(self, p => sqlx::query(
            "INSERT INTO programme_settings (key, value, updated_at_ms, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms, \
             updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(&text)
        .bind(at_ms)
        .bind(updated_by)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(StoredSetting {
            key: key.to_owned(),
            value: value.clone(),
            updated_at_ms: at_ms,
            updated_by: updated_by.map(str::to_owned),
        })
    }

    /// The programme's written instructions, every protocol that has some.
    pub async fn instructions(&self) -> Result<Vec<StoredInstructions>> {
        let rows = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT protocol, text, updated_at_ms, updated_by FROM programme_instructions ORDER BY protocol",
            )
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(StoredInstructions {
                        protocol: r.text("protocol")?,
                        text: r.text("text")?,
                        updated_at_ms: r.int("updated_at_ms")?,
                        updated_by: r.opt_text("updated_by")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Write the programme's instructions for a protocol (one of
    /// [`INSTRUCTION_PROTOCOLS`]).
    pub async fn put_instructions(
        &self,
        protocol: &str,
        text: &str,
        updated_by: Option<&str>,
        at_ms: i64,
    ) -> Result<StoredInstructions> {
        if !INSTRUCTION_PROTOCOLS.contains(&protocol) {
            return Err(StoreError::Invalid(InvalidInput::unrecognised(
                "protocol",
                protocol,
                INSTRUCTION_PROTOCOLS.join(", "),
            )));
        }
        limbpath_record::check_text("text", text, INSTRUCTIONS_MAX_CHARS, true)?;
        with_writer!(self, p => sqlx::query(
            "INSERT INTO programme_instructions (protocol, text, updated_at_ms, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (protocol) DO UPDATE SET text = excluded.text, updated_at_ms = excluded.updated_at_ms, \
             updated_by = excluded.updated_by",
        )
        .bind(protocol)
        .bind(text)
        .bind(at_ms)
        .bind(updated_by)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(StoredInstructions {
            protocol: protocol.to_owned(),
            text: text.to_owned(),
            updated_at_ms: at_ms,
            updated_by: updated_by.map(str::to_owned),
        })
    }

    /// Store a plan's input and settings (the caller has computed the plan
    /// from them, so they are valid).
    pub async fn create_plan(
        &self,
        patient_id: &str,
        protocol: PlanProtocol,
        input: &Value,
        settings: &Value,
        created_by: &str,
        at_ms: i64,
    ) -> Result<StoredPlan> {
        if !self.patient_exists(patient_id).await? {
            return Err(StoreError::NotFound {
                entity: "patient",
                id: patient_id.to_owned(),
                field: Some("patient_id"),
            });
        }
        let plan = StoredPlan {
            id: new_id(),
            patient_id: patient_id.to_owned(),
            protocol,
            created_at_ms: at_ms,
            created_by: created_by.to_owned(),
            input: input.clone(),
            settings: settings.clone(),
        };
        let (input_text, settings_text) = (to_json("input", input)?, to_json("settings", settings)?);
        with_writer!(self, p => sqlx::query(
            "INSERT INTO protocol_plans (id, patient_id, protocol, created_at_ms, created_by, input, settings) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&plan.id)
        .bind(patient_id)
        .bind(protocol.code())
        .bind(at_ms)
        .bind(created_by)
        .bind(&input_text)
        .bind(&settings_text)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(plan)
    }

    /// A plan by id.
    pub async fn get_plan(&self, id: &str) -> Result<StoredPlan> {
        if check_id("id", id).is_err() {
            return Err(not_found("plan", id));
        }
        let sql = format!("SELECT {PLAN_COLUMNS} FROM protocol_plans WHERE id = $1");
        let found = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await? {
                Some(r) => Some(decode_plan(&r)?),
                None => None,
            }
        });
        found.ok_or_else(|| not_found("plan", id))
    }

    /// A patient's latest plan of a protocol, if any.
    pub async fn latest_plan(&self, patient_id: &str, protocol: PlanProtocol) -> Result<Option<StoredPlan>> {
        let sql = format!(
            "SELECT {PLAN_COLUMNS} FROM protocol_plans WHERE patient_id = $1 AND protocol = $2 \
             ORDER BY created_at_ms DESC, id DESC LIMIT 1"
        );
        let found = with_pool!(self, p => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(patient_id).bind(protocol.code()).fetch_optional(p).await? {
                Some(r) => Some(decode_plan(&r)?),
                None => None,
            }
        });
        Ok(found)
    }

    /// Log a loading session against an osseointegration plan.
    pub async fn add_load_entry(
        &self,
        plan: &StoredPlan,
        entry: &LoadLogEntry,
        logged_by: &str,
        at_ms: i64,
    ) -> Result<StoredLoadEntry> {
        if plan.protocol != PlanProtocol::OiRehab {
            return Err(StoreError::Invalid(InvalidInput::inconsistent(
                "plan_id",
                plan.id.clone(),
                "an osseointegration rehabilitation plan",
            )));
        }
        let stored = StoredLoadEntry {
            id: new_id(),
            plan_id: plan.id.clone(),
            patient_id: plan.patient_id.clone(),
            date: entry.date,
            load_kg: entry.load_kg,
            pain_nrs: entry.pain_nrs,
            logged_at_ms: at_ms,
            logged_by: logged_by.to_owned(),
        };
        with_writer!(self, p => sqlx::query(
            "INSERT INTO oi_load_log (id, plan_id, patient_id, logged_on, load_kg, pain_nrs, logged_at_ms, logged_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&stored.id)
        .bind(&stored.plan_id)
        .bind(&stored.patient_id)
        .bind(date_text(stored.date))
        .bind(stored.load_kg)
        .bind(stored.pain_nrs.map(i64::from))
        .bind(at_ms)
        .bind(logged_by)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(stored)
    }

    /// A plan's loading log, by date.
    pub async fn load_log(&self, plan_id: &str) -> Result<Vec<StoredLoadEntry>> {
        let rows = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, plan_id, patient_id, logged_on, load_kg, pain_nrs, logged_at_ms, logged_by \
                 FROM oi_load_log WHERE plan_id = $1 ORDER BY logged_on, id",
            )
            .bind(plan_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode_load).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Log the turns done on a day against a lengthening plan.
    pub async fn add_distraction_entry(
        &self,
        plan: &StoredPlan,
        entry: &DistractionLogEntry,
        logged_by: &str,
        at_ms: i64,
    ) -> Result<StoredDistractionEntry> {
        if plan.protocol != PlanProtocol::Lengthening {
            return Err(StoreError::Invalid(InvalidInput::inconsistent(
                "plan_id",
                plan.id.clone(),
                "a lengthening plan",
            )));
        }
        let stored = StoredDistractionEntry {
            id: new_id(),
            plan_id: plan.id.clone(),
            patient_id: plan.patient_id.clone(),
            date: entry.date,
            turns: entry.turns,
            logged_at_ms: at_ms,
            logged_by: logged_by.to_owned(),
        };
        with_writer!(self, p => sqlx::query(
            "INSERT INTO distraction_log (id, plan_id, patient_id, logged_on, turns, logged_at_ms, logged_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&stored.id)
        .bind(&stored.plan_id)
        .bind(&stored.patient_id)
        .bind(date_text(stored.date))
        .bind(i64::from(stored.turns))
        .bind(at_ms)
        .bind(logged_by)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(stored)
    }

    /// A plan's distraction log, by date.
    pub async fn distraction_log(&self, plan_id: &str) -> Result<Vec<StoredDistractionEntry>> {
        let rows = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, plan_id, patient_id, logged_on, turns, logged_at_ms, logged_by \
                 FROM distraction_log WHERE plan_id = $1 ORDER BY logged_on, id",
            )
            .bind(plan_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(decode_distraction).collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }
}
