//! The analysis cohort (issue 7): one [`CohortEpisode`] per episode, read in
//! pages of episodes by id, so memory is bounded by the page, never by the
//! database.
//!
//! A page is 6 statements (the last a UNION ALL of four), each a range scan
//! of an index whose first column is the episode id (`episodes` by primary
//! key; `outcome_events`, `procedures`, `assessments`, `imaging_studies`,
//! `wounds`, `vascular_studies` by their `*_by_episode` index, `episode_id
//! BETWEEN first AND last` of the page); the patient's covariates and death come with
//! the episode (primary key and `outcome_events_by_patient`). The SQL is the
//! same on both engines. Pages are read one after another without a
//! surrounding transaction: an analysis reflects the database as each page
//! was read (records written meanwhile may or may not be included).
//!
//! What is read: dates, codes, stages, the birth date (for the age at the
//! index date, computed by the caller and not kept), site, diabetes and
//! dialysis. No names, MRNs or free text leave the store through here.

use crate::sql::{RowExt, with_pool};
use crate::{Page, Result, Store};
use limbpath_analytics::outcomes::{DatedOutcome, DatedProcedure, EpisodeHistory};
use limbpath_analytics::programme::CohortEpisode;
use limbpath_clinical::glass::{GlassInput, GlassStage};
use limbpath_record::{Aetiology, AmputationLevel, Date, DiabetesStatus, OutcomeKind, ProcedureKind};
use std::collections::HashMap;

/// Episodes per page of [`Store::analysis_cohort_page`] when streaming.
pub const COHORT_PAGE: u32 = 2000;

const EPISODES: &str = "SELECT e.id, e.opened_on, e.closed_on, e.aetiology, p.birth_date, p.site, p.diabetes, \
     p.dialysis, (SELECT MIN(o.occurred_on) FROM outcome_events o WHERE o.patient_id = e.patient_id \
     AND o.kind = 'death') AS death_on \
     FROM episodes e JOIN patients p ON p.id = e.patient_id WHERE e.id > $1 ORDER BY e.id LIMIT $2";

const OUTCOMES: &str = "SELECT episode_id, occurred_on, kind, amputation_level FROM outcome_events \
     WHERE episode_id >= $1 AND episode_id <= $2";

const PROCEDURES: &str = "SELECT episode_id, performed_on, kind, amputation_level FROM procedures \
     WHERE episode_id >= $1 AND episode_id <= $2";

const ASSESSMENTS: &str = "SELECT episode_id, assessed_on, wifi_stage FROM assessments \
     WHERE episode_id >= $1 AND episode_id <= $2";

const IMAGING: &str = "SELECT episode_id, performed_on, arterial_segments FROM imaging_studies \
     WHERE episode_id >= $1 AND episode_id <= $2";

/// The latest date of the episode's other dated entries (wounds noted and
/// healed, wound measurements, vascular studies), one row per source.
const OTHER_DATES: &str = "SELECT episode_id, MAX(noted_on) AS d FROM wounds \
     WHERE episode_id >= $1 AND episode_id <= $2 GROUP BY episode_id \
     UNION ALL SELECT episode_id, MAX(healed_on) AS d FROM wounds \
     WHERE episode_id >= $1 AND episode_id <= $2 GROUP BY episode_id \
     UNION ALL SELECT w.episode_id, MAX(m.measured_on) AS d FROM wounds w JOIN wound_measurements m \
     ON m.wound_id = w.id WHERE w.episode_id >= $1 AND w.episode_id <= $2 GROUP BY w.episode_id \
     UNION ALL SELECT episode_id, MAX(performed_on) AS d FROM vascular_studies \
     WHERE episode_id >= $1 AND episode_id <= $2 GROUP BY episode_id";

struct Building {
    id: String,
    episode: CohortEpisode,
}

impl Store {
    /// One page of the analysis cohort: up to `limit` episodes with id after
    /// `after` (from the start when `None`), in id order. The cursor is the
    /// last episode's id.
    pub async fn analysis_cohort_page(&self, after: Option<&str>, limit: u32) -> Result<Page<CohortEpisode>> {
        let limit = limit.clamp(1, 10_000);
        let after = after.unwrap_or("");
        let mut page: Vec<Building> = Vec::new();
        with_pool!(self, p => {
            for row in sqlx::query(EPISODES).bind(after).bind(i64::from(limit)).fetch_all(p).await? {
                let opened_on = row.date("opened_on")?;
                let closed_on = row.opt_date("closed_on")?;
                let diabetes: DiabetesStatus = row.code("diabetes", DiabetesStatus::from_code)?;
                page.push(Building {
                    id: row.text("id")?,
                    episode: CohortEpisode {
                        history: EpisodeHistory {
                            opened_on,
                            last_entry_on: closed_on.map_or(opened_on, |c| c.max(opened_on)),
                            patient_death_on: row.opt_date("death_on")?,
                            procedures: Vec::new(),
                            outcomes: Vec::new(),
                            wifi_stages: Vec::new(),
                            glass_stages: Vec::new(),
                        },
                        birth_date: row.date("birth_date")?,
                        site: row.text("site")?,
                        aetiology: row.code("aetiology", Aetiology::from_code)?,
                        diabetes: diabetes != DiabetesStatus::None,
                        dialysis: row.boolean("dialysis")?,
                    },
                });
            }
            let (Some(first), Some(last)) = (page.first().map(|b| b.id.clone()), page.last().map(|b| b.id.clone()))
            else {
                return Ok(Page { items: Vec::new(), next_cursor: None });
            };
            let at: HashMap<String, usize> = page.iter().enumerate().map(|(i, b)| (b.id.clone(), i)).collect();
            let slot = |id: &str| at.get(id).copied();
            let see = |h: &mut EpisodeHistory, d: Date| h.last_entry_on = h.last_entry_on.max(d);
            // The page's five child reads run at once, each on its own pooled
            // connection (on SQLite, each connection's own worker thread).
            let range = |sql| sqlx::query(sql).bind(&first).bind(&last).fetch_all(p);
            let (outcomes, procedures, assessments, imaging, other_dates) = futures_util::future::try_join5(
                range(OUTCOMES),
                range(PROCEDURES),
                range(ASSESSMENTS),
                range(IMAGING),
                range(OTHER_DATES),
            )
            .await?;
            for row in outcomes {
                let Some(i) = slot(&row.text("episode_id")?) else { continue };
                let h = &mut page[i].episode.history;
                let on = row.date("occurred_on")?;
                see(h, on);
                h.outcomes.push(DatedOutcome {
                    on,
                    kind: row.code("kind", OutcomeKind::from_code)?,
                    amputation_level: row.opt_code("amputation_level", AmputationLevel::from_code)?,
                });
            }
            for row in procedures {
                let Some(i) = slot(&row.text("episode_id")?) else { continue };
                let h = &mut page[i].episode.history;
                let on = row.date("performed_on")?;
                see(h, on);
                h.procedures.push(DatedProcedure {
                    on,
                    kind: row.code("kind", ProcedureKind::from_code)?,
                    amputation_level: row.opt_code("amputation_level", AmputationLevel::from_code)?,
                });
            }
            for row in assessments {
                let Some(i) = slot(&row.text("episode_id")?) else { continue };
                let h = &mut page[i].episode.history;
                let on = row.date("assessed_on")?;
                see(h, on);
                if let Some(stage) = row.opt_small("wifi_stage")? {
                    h.wifi_stages.push((on, stage));
                }
            }
            for row in imaging {
                let Some(i) = slot(&row.text("episode_id")?) else { continue };
                let h = &mut page[i].episode.history;
                let on = row.date("performed_on")?;
                see(h, on);
                let segments: Option<GlassInput> = row.opt_json("arterial_segments")?;
                if let Some(stage) = segments.as_ref().and_then(glass_stage) {
                    h.glass_stages.push((on, stage));
                }
            }
            for row in other_dates {
                let Some(i) = slot(&row.text("episode_id")?) else { continue };
                if let Some(d) = row.opt_date("d")? {
                    see(&mut page[i].episode.history, d);
                }
            }
            Ok::<(), crate::StoreError>(())
        })?;
        let next_cursor = (page.len() == limit as usize).then(|| page.last().map(|b| b.id.clone())).flatten();
        Ok(Page { items: page.into_iter().map(|b| b.episode).collect(), next_cursor })
    }

    /// Stream the whole analysis cohort, page by page ([`COHORT_PAGE`]
    /// episodes), handing each episode to `f`. Returns the episodes read.
    pub async fn for_each_cohort_episode(&self, mut f: impl FnMut(&CohortEpisode)) -> Result<u64> {
        let mut cursor: Option<String> = None;
        let mut n = 0u64;
        loop {
            let page = self.analysis_cohort_page(cursor.as_deref(), COHORT_PAGE).await?;
            for e in &page.items {
                f(e);
            }
            n += page.items.len() as u64;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(n),
            }
        }
    }
}

/// The GLASS stage (1-3) the engine derives from stored arterial segments;
/// `None` for "not applicable" or segments it cannot stage.
fn glass_stage(input: &GlassInput) -> Option<u8> {
    match limbpath_clinical::glass::classify(input).ok()?.stage.stage {
        GlassStage::I => Some(1),
        GlassStage::II => Some(2),
        GlassStage::III => Some(3),
        GlassStage::NotApplicable => None,
    }
}
