//! A programme's own follow-up schedule templates (issue 5 item 4).
//!
//! LimbPath ships its templates (`limbpath_pathway::shipped_templates`); a
//! programme may edit one. The edit is made pure by
//! `limbpath_pathway::programme_template` (validated; changed items say
//! "Edited by the programme" with the editor's reason instead of a citation)
//! and kept here as JSON, one row per template id, with who edited it, when and
//! why. The row's `version` only grows: an edit names the version it was made
//! against (`UPDATE … WHERE version = $n`), and a reset to the shipped template
//! clears the JSON and bumps the version, so an edit made before the reset is a
//! conflict. [`Store::follow_up_templates`] is what every follow-up computation
//! uses: the programme's version where there is one, else the shipped one.

use crate::Store;
use crate::error::{Result, StoreError, corrupt};
use crate::sql::{RowExt, to_json, with_pool, with_writer};
use limbpath_clinical::InvalidInput;
use limbpath_pathway::{
    EpisodeSnapshot, FollowUpItem, FollowUpTemplate, ProgrammeEdit, programme_template, schedule, shipped_template,
    shipped_templates,
};
use limbpath_record::Date;
use serde::Serialize;

/// A template as the programme uses it: the shipped one, and the programme's
/// edit when it has one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgrammeTemplate {
    pub id: String,
    pub shipped: FollowUpTemplate,
    /// The programme's version, if it has edited the template and not reset it.
    pub edited: Option<FollowUpTemplate>,
    /// The row's version (the ETag); 0 when the programme never edited it.
    pub version: i64,
    /// Who last edited or reset it, when (ms), and their reason.
    pub edited_by: Option<String>,
    pub edited_at_ms: Option<i64>,
    pub reason: Option<String>,
}

impl ProgrammeTemplate {
    /// The template follow-ups are computed from.
    pub fn in_use(&self) -> &FollowUpTemplate {
        self.edited.as_ref().unwrap_or(&self.shipped)
    }
}

struct Row {
    id: String,
    version: i64,
    template: Option<FollowUpTemplate>,
    edited_by: String,
    edited_at_ms: i64,
    reason: String,
}

fn date_of_ms(ms: i64) -> Date {
    Date::from_julian_day(2_440_588 + ms.div_euclid(86_400_000) as i32).unwrap_or(Date::MIN)
}

fn unknown(id: &str) -> StoreError {
    StoreError::Invalid(InvalidInput::unrecognised(
        "template.id",
        id,
        shipped_templates().iter().map(|t| t.id.clone()).collect::<Vec<_>>().join(", "),
    ))
}

fn check_expected(v: i64) -> Result<()> {
    if v < 0 {
        return Err(StoreError::Invalid(InvalidInput::out_of_range("version", v, "the template's version, 0 or more")));
    }
    Ok(())
}

impl Store {
    async fn template_rows(&self) -> Result<Vec<Row>> {
        let rows = with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, version, template, edited_by, edited_at_ms, reason FROM follow_up_templates ORDER BY id",
            )
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let template = match r.opt_text("template")? {
                        Some(t) => Some(
                            serde_json::from_str(&t).map_err(|e| corrupt(format!("follow_up_templates.template: {e}")))?,
                        ),
                        None => None,
                    };
                    Ok(Row {
                        id: r.text("id")?,
                        version: r.int("version")?,
                        template,
                        edited_by: r.text("edited_by")?,
                        edited_at_ms: r.int("edited_at_ms")?,
                        reason: r.text("reason")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        Ok(rows)
    }

    /// Every shipped template with the programme's edit, if any.
    pub async fn programme_templates(&self) -> Result<Vec<ProgrammeTemplate>> {
        let rows = self.template_rows().await?;
        Ok(shipped_templates()
            .into_iter()
            .map(|shipped| {
                let row = rows.iter().find(|r| r.id == shipped.id);
                ProgrammeTemplate {
                    id: shipped.id.clone(),
                    edited: row.and_then(|r| r.template.clone()),
                    version: row.map_or(0, |r| r.version),
                    edited_by: row.map(|r| r.edited_by.clone()),
                    edited_at_ms: row.map(|r| r.edited_at_ms),
                    reason: row.map(|r| r.reason.clone()),
                    shipped,
                }
            })
            .collect())
    }

    /// One template with the programme's edit, if any.
    pub async fn programme_template(&self, id: &str) -> Result<ProgrammeTemplate> {
        self.programme_templates().await?.into_iter().find(|t| t.id == id).ok_or_else(|| unknown(id))
    }

    /// The templates follow-ups are computed from: the programme's version of
    /// each where it has one, else the shipped one.
    pub async fn follow_up_templates(&self) -> Result<Vec<FollowUpTemplate>> {
        Ok(self.programme_templates().await?.into_iter().map(|t| t.edited.unwrap_or(t.shipped)).collect())
    }

    /// Store the programme's edit of a shipped template. `expected_version` is
    /// the version it was made against: 0 when the programme never edited the
    /// template. The edited document is checked by
    /// `limbpath_pathway::programme_template` (nothing is stored when it is
    /// invalid); a stale version is `VersionConflict`.
    pub async fn put_programme_template(
        &self,
        edited: &FollowUpTemplate,
        expected_version: i64,
        edited_by: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<ProgrammeTemplate> {
        let shipped = shipped_template(&edited.id).ok_or_else(|| unknown(&edited.id))?;
        check_expected(expected_version)?;
        let revision = u32::try_from(expected_version + 1).map_err(|_| {
            StoreError::Invalid(InvalidInput::out_of_range("version", expected_version, "a template version"))
        })?;
        let edit = ProgrammeEdit {
            edited_by: edited_by.to_owned(),
            edited_on: date_of_ms(at_ms),
            reason: reason.to_owned(),
            revision,
        };
        let template = programme_template(&shipped, edited, &edit)?;
        self.write_template(&shipped.id, Some(&template), expected_version, edited_by, reason, at_ms).await
    }

    /// Reset a template to the shipped one (the edit is kept in the audit
    /// trail, not here). `expected_version` as for an edit.
    pub async fn reset_programme_template(
        &self,
        id: &str,
        expected_version: i64,
        reset_by: &str,
        at_ms: i64,
    ) -> Result<ProgrammeTemplate> {
        let shipped = shipped_template(id).ok_or_else(|| unknown(id))?;
        check_expected(expected_version)?;
        self.write_template(&shipped.id, None, expected_version, reset_by, "reset to the shipped template", at_ms).await
    }

    async fn write_template(
        &self,
        id: &str,
        template: Option<&FollowUpTemplate>,
        expected_version: i64,
        by: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<ProgrammeTemplate> {
        let json = template.map(|t| to_json("template", t)).transpose()?;
        let written: bool = if expected_version == 0 {
            with_writer!(self, p => sqlx::query(
                "INSERT INTO follow_up_templates (id, version, template, edited_by, edited_at_ms, reason) \
                 VALUES ($1, 1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(&json)
            .bind(by)
            .bind(at_ms)
            .bind(reason)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)?)
        } else {
            with_writer!(self, p => sqlx::query(
                "UPDATE follow_up_templates SET version = version + 1, template = $2, edited_by = $3, \
                 edited_at_ms = $4, reason = $5 WHERE id = $1 AND version = $6",
            )
            .bind(id)
            .bind(&json)
            .bind(by)
            .bind(at_ms)
            .bind(reason)
            .bind(expected_version)
            .execute(p)
            .await
            .map(|r| r.rows_affected() == 1)?)
        };
        let now = self.programme_template(id).await?;
        if !written {
            return Err(StoreError::VersionConflict {
                entity: "follow_up_template",
                id: id.to_owned(),
                current: now.version,
            });
        }
        Ok(now)
    }

    /// The dated follow-up items of an episode's procedures, from the
    /// templates in use ([`Store::follow_up_templates`]); with the episode's
    /// patient and snapshot (its tasks, for the missed-follow-up rule).
    pub async fn follow_up_items(&self, episode_id: &str) -> Result<(String, EpisodeSnapshot, Vec<FollowUpItem>)> {
        let (patient_id, snapshot) = self.episode_snapshot(episode_id).await?;
        let templates = self.follow_up_templates().await?;
        let mut items = Vec::new();
        for p in &snapshot.procedures {
            for t in templates.iter().filter(|t| t.applies_to.contains(&p.data.kind)) {
                items.extend(schedule(&p.id, &p.data, t)?);
            }
        }
        Ok((patient_id, snapshot, items))
    }
}
