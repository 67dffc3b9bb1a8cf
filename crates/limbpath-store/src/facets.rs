//! The search index: each patient's rows in `patient_search`, one per
//! combination of their search facets, so that every combination of filters is
//! one range scan in page order (see the crate documentation).
//!
//! A facet is `site SEP status SEP stage` with an empty component for "any",
//! followed by `SEP aetiology` when the combination names an aetiology (so
//! the rows written before aetiology became a facet, migration 0005, are still
//! the "any aetiology" rows); `SEP` is U+001F, which no stored text can
//! contain (text fields refuse control characters), so facets are unambiguous
//! whatever a site is called.

use crate::entity::{aetiology_column, status_column};
use crate::error::{Result, corrupt};
use crate::sql::{RowExt, Val, values_list};
use limbpath_record::{Aetiology, EpisodeStatus};

const SEP: char = '\u{1f}';

/// The facet of a combination of filters (`None` = any).
pub(crate) fn facet(
    site: Option<&str>,
    status: Option<EpisodeStatus>,
    stage: Option<u8>,
    aetiology: Option<Aetiology>,
) -> String {
    let mut f = format!(
        "{}{SEP}{}{SEP}{}",
        site.unwrap_or(""),
        status.map_or("", EpisodeStatus::code),
        stage.map(|s| s.to_string()).unwrap_or_default()
    );
    if let Some(a) = aetiology {
        f.push(SEP);
        f.push_str(a.code());
    }
    f
}

/// What a patient's search rows are built from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchInputs {
    pub site: String,
    pub family_key: String,
    pub given_key: String,
    /// The statuses of the patient's episodes, in vocabulary order.
    pub statuses: Vec<EpisodeStatus>,
    pub stage: Option<u8>,
    /// The aetiologies of the patient's episodes, in vocabulary order.
    pub aetiologies: Vec<Aetiology>,
}

impl SearchInputs {
    /// Every combination of site, one status, stage and one aetiology that
    /// the patient matches, except "any, any, any, any" (which is the name
    /// index's job).
    pub fn facets(&self) -> Vec<String> {
        let mut statuses: Vec<Option<EpisodeStatus>> = vec![None];
        statuses.extend(self.statuses.iter().copied().map(Some));
        let stages: Vec<Option<u8>> = match self.stage {
            Some(s) => vec![None, Some(s)],
            None => vec![None],
        };
        let mut aetiologies: Vec<Option<Aetiology>> = vec![None];
        aetiologies.extend(self.aetiologies.iter().copied().map(Some));
        let mut out = Vec::new();
        for aetiology in &aetiologies {
            for site in [None, Some(self.site.as_str())] {
                for status in &statuses {
                    for stage in &stages {
                        if site.is_some() || status.is_some() || stage.is_some() || aetiology.is_some() {
                            out.push(facet(site, *status, *stage, *aetiology));
                        }
                    }
                }
            }
        }
        out
    }

    /// A fingerprint of the inputs: the rows are rebuilt when it changes.
    pub fn key(&self) -> String {
        let statuses: Vec<&str> = self.statuses.iter().map(|s| s.code()).collect();
        let aetiologies: Vec<&str> = self.aetiologies.iter().map(|a| a.code()).collect();
        format!(
            "{}{SEP}{}{SEP}{}{SEP}{}{SEP}{}{SEP}{}",
            self.site,
            self.family_key,
            self.given_key,
            statuses.join(","),
            self.stage.map(|s| s.to_string()).unwrap_or_default(),
            aetiologies.join(",")
        )
    }

    /// The rows of `patient_search` for a patient, as bind values.
    pub fn rows(&self, patient_id: &str) -> Vec<Val> {
        let mut vals = Vec::new();
        for f in self.facets() {
            vals.extend([Val::Text(f), Val::text(&self.family_key), Val::text(&self.given_key), Val::text(patient_id)]);
        }
        vals
    }
}

/// The WIfI stage of the patient's (`$1`) latest assessment with one, by
/// date then id. Read through the patient's episodes and
/// `assessments_by_episode (episode_id, assessed_on, id, wifi_stage)`, which
/// holds every column asked for: no assessment row (each about 14 KB) is read.
macro_rules! latest_stage {
    () => {
        "(SELECT a.wifi_stage FROM episodes e JOIN assessments a ON a.episode_id = e.id \
         WHERE e.patient_id = $1 AND a.wifi_stage IS NOT NULL ORDER BY a.assessed_on DESC, a.id DESC LIMIT 1)"
    };
}

/// Recompute a patient's denormalised search columns from their episodes and
/// assessments, returning what the search rows are built from. Run in the
/// transaction of every write that can change them.
pub(crate) const REFRESH: &str = concat!(
    "UPDATE patients SET \
    status_referred = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = 'referred'), \
    status_evaluation = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = 'evaluation'), \
    status_treatment = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = 'treatment'), \
    status_follow_up = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = 'follow_up'), \
    status_closed = EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND status = 'closed'), \
    latest_wifi_stage = ",
    latest_stage!(),
    " WHERE id = $1 \
    RETURNING site, family_key, given_key, status_referred, status_evaluation, status_treatment, \
    status_follow_up, status_closed, latest_wifi_stage, search_key, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'clti') AS aetiology_clti, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'diabetic_foot') AS aetiology_diabetic_foot, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'venous') AS aetiology_venous, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'trauma') AS aetiology_trauma, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'tumour') AS aetiology_tumour, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'infection') AS aetiology_infection, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'post_amputation_osseointegration') \
    AS aetiology_post_amputation_osseointegration, \
    EXISTS (SELECT 1 FROM episodes WHERE patient_id = $1 AND aetiology = 'limb_length_discrepancy') \
    AS aetiology_limb_length_discrepancy"
);

/// A row when the patient's search rows exist and their latest WIfI stage is
/// still that of their latest assessment with one, so that a new or changed
/// assessment (which can change nothing else of them) needs no [`REFRESH`].
/// (`IS NOT DISTINCT FROM`: equal, or both null, on both engines.)
pub(crate) const STAGE_UNCHANGED: &str = concat!(
    "SELECT 1 FROM patients WHERE id = $1 AND search_key IS NOT NULL AND latest_wifi_stage IS NOT DISTINCT FROM ",
    latest_stage!()
);

/// PostgreSQL only (see `sync_search!`). `NO KEY UPDATE`, the lock an UPDATE
/// of non-key columns takes: it does not conflict with the `KEY SHARE` locks
/// that inserting children (foreign keys to the patient) hold, so writers of
/// one patient queue here instead of deadlocking.
pub(crate) const LOCK_PATIENT: &str = "SELECT id FROM patients WHERE id = $1 FOR NO KEY UPDATE";
pub(crate) const SET_KEY: &str = "UPDATE patients SET search_key = $2 WHERE id = $1";
pub(crate) const WIDTH: usize = 4;

pub(crate) fn insert_rows_sql(rows: usize, numbered: bool) -> String {
    format!(
        "INSERT INTO patient_search (facet, family_key, given_key, patient_id) VALUES {}",
        values_list(rows, WIDTH, numbered)
    )
}

impl SearchInputs {
    /// The inputs a [`SearchInputs::key`] was made from.
    fn from_key(key: &str) -> Option<SearchInputs> {
        let parts: Vec<&str> = key.split(SEP).collect();
        let [site, family_key, given_key, statuses, stage, aetiologies] = parts.as_slice() else {
            return None;
        };
        let aetiologies = if aetiologies.is_empty() {
            Vec::new()
        } else {
            aetiologies.split(',').map(Aetiology::from_code).collect::<Option<Vec<_>>>()?
        };
        let statuses = if statuses.is_empty() {
            Vec::new()
        } else {
            statuses.split(',').map(EpisodeStatus::from_code).collect::<Option<Vec<_>>>()?
        };
        let stage = if stage.is_empty() { None } else { Some(stage.parse().ok()?) };
        Some(SearchInputs {
            site: (*site).to_owned(),
            family_key: (*family_key).to_owned(),
            given_key: (*given_key).to_owned(),
            statuses,
            stage,
            aetiologies,
        })
    }
}

/// The statements that bring a patient's search rows up to date after
/// [`REFRESH`] returned `row`; none when they already are. The old rows are
/// found from the old key (they are exactly its facets), by primary key, so
/// the table needs no second index.
pub(crate) fn sync_statements(row: &impl RowExt, patient_id: &str, numbered: bool) -> Result<Vec<(String, Vec<Val>)>> {
    let mut statuses = Vec::new();
    for s in EpisodeStatus::ALL {
        if row.boolean(status_column(*s))? {
            statuses.push(*s);
        }
    }
    let mut aetiologies = Vec::new();
    for a in Aetiology::ALL {
        if row.boolean(aetiology_column(*a))? {
            aetiologies.push(*a);
        }
    }
    let inputs = SearchInputs {
        site: row.text("site")?,
        family_key: row.text("family_key")?,
        given_key: row.text("given_key")?,
        statuses,
        stage: row.opt_small("latest_wifi_stage")?,
        aetiologies,
    };
    let key = inputs.key();
    let old_key = row.opt_text("search_key")?;
    if old_key.as_deref() == Some(key.as_str()) {
        return Ok(Vec::new());
    }
    let mut statements = Vec::new();
    if let Some(old_key) = old_key {
        let old = SearchInputs::from_key(&old_key)
            .ok_or_else(|| corrupt(format_args!("patients.search_key of {patient_id}: {old_key:?}")))?;
        let facets = old.facets();
        let list: Vec<String> = (0..facets.len()).map(|i| format!("${}", i + 4)).collect();
        let mut vals = vec![Val::Text(old.family_key), Val::Text(old.given_key), Val::text(patient_id)];
        vals.extend(facets.into_iter().map(Val::Text));
        statements.push((
            format!(
                "DELETE FROM patient_search WHERE family_key = $1 AND given_key = $2 AND patient_id = $3 \
                 AND facet IN ({})",
                list.join(", ")
            ),
            vals,
        ));
    }
    let rows = inputs.rows(patient_id);
    statements.push((insert_rows_sql(rows.len() / WIDTH, numbered), rows));
    statements.push((SET_KEY.to_owned(), vec![Val::text(patient_id), Val::Text(key)]));
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(statuses: Vec<EpisodeStatus>, stage: Option<u8>) -> SearchInputs {
        SearchInputs {
            site: "North".into(),
            family_key: "doe".into(),
            given_key: "jane".into(),
            statuses,
            stage,
            aetiologies: vec![],
        }
    }

    #[test]
    fn every_combination_of_the_patients_facets() {
        assert_eq!(inputs(vec![], None).facets(), vec!["North\u{1f}\u{1f}"]);
        let one = inputs(vec![EpisodeStatus::Treatment], Some(4)).facets();
        assert_eq!(one.len(), 7);
        for f in [
            facet(Some("North"), None, None, None),
            facet(None, Some(EpisodeStatus::Treatment), None, None),
            facet(None, None, Some(4), None),
            facet(Some("North"), Some(EpisodeStatus::Treatment), None, None),
            facet(Some("North"), None, Some(4), None),
            facet(None, Some(EpisodeStatus::Treatment), Some(4), None),
            facet(Some("North"), Some(EpisodeStatus::Treatment), Some(4), None),
        ] {
            assert!(one.contains(&f), "{f:?}");
        }
        assert!(!one.contains(&facet(None, None, None, None)));
        assert_eq!(inputs(vec![EpisodeStatus::Referred, EpisodeStatus::Closed], Some(1)).facets().len(), 11);
    }

    #[test]
    fn aetiology_is_a_fourth_dimension() {
        // Without an aetiology the facets are the three-component ones written
        // before migration 0005, so those rows stay valid.
        assert_eq!(facet(Some("North"), None, Some(4), None), "North\u{1f}\u{1f}4");
        assert_eq!(facet(None, None, None, Some(Aetiology::Clti)), "\u{1f}\u{1f}\u{1f}clti");
        let i = SearchInputs {
            aetiologies: vec![Aetiology::Clti, Aetiology::Trauma],
            ..inputs(vec![EpisodeStatus::Treatment], Some(4))
        };
        let all = i.facets();
        // 7 without an aetiology, then 8 per aetiology (any/any/any included)
        assert_eq!(all.len(), 7 + 2 * 8);
        for f in [
            facet(None, None, None, Some(Aetiology::Clti)),
            facet(Some("North"), Some(EpisodeStatus::Treatment), Some(4), Some(Aetiology::Trauma)),
            facet(None, Some(EpisodeStatus::Treatment), None, Some(Aetiology::Clti)),
        ] {
            assert!(all.contains(&f), "{f:?}");
        }
        assert!(!all.contains(&facet(None, None, None, Some(Aetiology::Venous))));
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn a_key_gives_back_its_inputs() {
        for i in [
            inputs(vec![], None),
            inputs(vec![EpisodeStatus::Treatment], Some(4)),
            inputs(vec![EpisodeStatus::Referred, EpisodeStatus::Closed], Some(1)),
            SearchInputs { site: "North, West|x".into(), family_key: "o'brien, jr".into(), ..inputs(vec![], Some(5)) },
            SearchInputs { aetiologies: vec![Aetiology::Clti, Aetiology::Venous], ..inputs(vec![], None) },
        ] {
            assert_eq!(SearchInputs::from_key(&i.key()), Some(i));
        }
        assert_eq!(SearchInputs::from_key("a\u{1f}b"), None);
        assert_eq!(SearchInputs::from_key("a\u{1f}b\u{1f}c\u{1f}nonsense\u{1f}\u{1f}"), None);
        assert_eq!(SearchInputs::from_key("a\u{1f}b\u{1f}c\u{1f}\u{1f}\u{1f}nonsense"), None);
    }

    #[test]
    fn the_key_changes_with_every_input() {
        let base = inputs(vec![EpisodeStatus::Treatment], Some(4));
        let variants = [
            SearchInputs { site: "South".into(), ..base.clone() },
            SearchInputs { family_key: "roe".into(), ..base.clone() },
            SearchInputs { given_key: "j".into(), ..base.clone() },
            SearchInputs { statuses: vec![], ..base.clone() },
            SearchInputs { stage: Some(3), ..base.clone() },
            SearchInputs { aetiologies: vec![Aetiology::Trauma], ..base.clone() },
        ];
        for v in variants {
            assert_ne!(v.key(), base.key());
        }
    }
}
