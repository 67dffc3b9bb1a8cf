//! Patient search: name prefix or MRN, site, episode status, WIfI stage, in a
//! stable order with keyset pagination. See the crate documentation for why
//! each path is one index range scan at 1,000,000 patients.

use crate::entity::{Entity, name_key, status_column};
use crate::error::Result;
use crate::facets::facet;
use crate::records::{bad_cursor, check_limit, cut_page};
use crate::sql::{RowExt, Val, bind_all, date_text, with_pool};
use crate::{Page, Store};
use limbpath_clinical::InvalidInput;
use limbpath_record::{Aetiology, Date, EpisodeStatus, PatientData, Stored, check_id};
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

/// What to search for. Every filter given must match. Results are ordered by
/// family name, given name (case-insensitive) and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatientQuery {
    /// A family-name prefix (`smi`), a family name and given-name prefix
    /// (`smith, jo`), or an exact MRN (`MRN-0001`); case-insensitive for names.
    pub text: Option<String>,
    /// The site that issued the MRN (exact).
    pub site: Option<String>,
    /// Patients with at least one episode in this status.
    pub episode_status: Option<EpisodeStatus>,
    /// Patients whose latest assessment with a WIfI stage has this stage (1-5).
    pub wifi_stage: Option<u8>,
    /// Patients with at least one episode of this aetiology.
    pub aetiology: Option<Aetiology>,
    /// Patients with at least one open or assigned care task due before this
    /// day ("overdue tasks"; the caller passes today).
    pub overdue_on: Option<Date>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to [`crate::MAX_PAGE`].
    pub limit: u32,
}

impl Default for PatientQuery {
    fn default() -> Self {
        PatientQuery {
            text: None,
            site: None,
            episode_status: None,
            wifi_stage: None,
            aetiology: None,
            overdue_on: None,
            cursor: None,
            limit: 50,
        }
    }
}

/// A patient in a search result: the record and what search filtered on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    #[serde(flatten)]
    pub patient: Stored<PatientData>,
    pub latest_wifi_stage: Option<u8>,
    /// The statuses of the patient's episodes (each once, in vocabulary order).
    pub episode_statuses: Vec<EpisodeStatus>,
}

/// The summary's columns, from the patients table aliased `p`.
fn summary_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        // The stored-record columns, the patient's data columns, then the search facets.
        let record = ["id", "version", "created_at_ms", "updated_at_ms"].into_iter();
        let data = PatientData::META.columns.iter().copied();
        let facets = std::iter::once("latest_wifi_stage").chain(EpisodeStatus::ALL.iter().map(|s| status_column(*s)));
        record.chain(data).chain(facets).map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ")
    })
}

fn decode_summary(r: &impl RowExt) -> Result<PatientSummary> {
    let mut episode_statuses = Vec::new();
    for s in EpisodeStatus::ALL {
        if r.boolean(status_column(*s))? {
            episode_statuses.push(*s);
        }
    }
    Ok(PatientSummary {
        patient: PatientData::decode(r)?,
        latest_wifi_stage: r.opt_small("latest_wifi_stage")?,
        episode_statuses,
    })
}

/// The smallest string greater than every string that starts with `prefix`
/// (in code point order, which is UTF-8 byte order): the prefix with its last
/// character incremented. `None` when no such string exists.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Accumulates binds and hands out their `$n` placeholders.
struct Binds(Vec<Val>);

impl Binds {
    fn push(&mut self, v: Val) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }
}

/// A name condition: an index range on the name keys. `@` stands for the
/// table prefix of the key columns (`s.` or `p.`).
fn name_condition(text: &str, b: &mut Binds) -> String {
    let (family, given) = match text.split_once(',') {
        Some((f, g)) => (name_key(f), Some(name_key(g))),
        None => (name_key(text), None),
    };
    match given {
        Some(given) if !given.is_empty() => {
            let f = b.push(Val::Text(family));
            let mut cond = format!("@family_key = {f} AND @given_key >= {}", b.push(Val::Text(given.clone())));
            if let Some(upper) = prefix_upper_bound(&given) {
                cond += &format!(" AND @given_key < {}", b.push(Val::Text(upper)));
            }
            cond
        }
        Some(_) => format!("@family_key = {}", b.push(Val::Text(family))),
        None => {
            let upper = prefix_upper_bound(&family);
            let mut cond = format!("@family_key >= {}", b.push(Val::Text(family)));
            if let Some(upper) = upper {
                cond += &format!(" AND @family_key < {}", b.push(Val::Text(upper)));
            }
            cond
        }
    }
}

fn and(conds: &[String]) -> String {
    if conds.is_empty() { "TRUE".to_owned() } else { conds.join(" AND ") }
}

impl Store {
    /// Search patients; see [`PatientQuery`]. Each page is one or two index
    /// range scans, whatever the page number.
    pub async fn search_patients(&self, query: &PatientQuery) -> Result<Page<PatientSummary>> {
        let (sql, binds) = self.search_sql(query).await?;
        let rows = with_pool!(self, p => {
            let mut out = Vec::new();
            for row in bind_all!(sqlx::query(AssertSqlSafe(sql)), binds).fetch_all(p).await? {
                out.push(decode_summary(&row)?);
            }
            out
        });
        Ok(cut_page(rows, query.limit, |s| s.patient.id.clone()))
    }

    /// The database's plan for a search, for diagnosing a slow one: SQLite's
    /// `EXPLAIN QUERY PLAN`, or PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)`
    /// (which runs the query).
    pub async fn explain_search(&self, query: &PatientQuery) -> Result<String> {
        let (sql, binds) = self.search_sql(query).await?;
        let mut lines = Vec::new();
        match self {
            Store::Sqlite(p) => {
                let sql = AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"));
                for row in bind_all!(sqlx::query(sql), binds).fetch_all(&p.read).await? {
                    lines.push(row.text("detail")?);
                }
            }
            Store::Postgres(p) => {
                let sql = AssertSqlSafe(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"));
                for row in bind_all!(sqlx::query(sql), binds).fetch_all(p).await? {
                    lines.push(row.text("QUERY PLAN")?);
                }
            }
        }
        Ok(lines.join("\n"))
    }

    /// The SQL text and binds of a search. The text is assembled from constant
    /// fragments and `$n` placeholders only; every value is bound.
    async fn search_sql(&self, query: &PatientQuery) -> Result<(String, Vec<Val>)> {
        let fetch = check_limit(query.limit)?;
        if let Some(stage) = query.wifi_stage
            && !(1..=5).contains(&stage)
        {
            return Err(InvalidInput::out_of_range("wifi_stage", stage, "a WIfI clinical stage, 1 to 5").into());
        }
        let keyset = match &query.cursor {
            None => None,
            Some(cursor) => {
                let keys = if check_id("cursor", cursor).is_ok() {
                    with_pool!(self, p => {
                        match sqlx::query("SELECT family_key, given_key FROM patients WHERE id = $1")
                            .bind(cursor)
                            .fetch_optional(p)
                            .await?
                        {
                            Some(row) => Some((row.text("family_key")?, row.text("given_key")?)),
                            None => None,
                        }
                    })
                } else {
                    None
                };
                let Some((family, given)) = keys else {
                    return Err(bad_cursor(cursor));
                };
                Some((family, given, cursor.clone()))
            }
        };
        let mut b = Binds(Vec::new());
        let keyset = keyset.map(|(f, g, i)| (b.push(Val::Text(f)), b.push(Val::Text(g)), b.push(Val::Text(i))));
        let limit = b.push(Val::Int(fetch));
        let text = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let name = text.map(|t| name_condition(t, &mut b));

        // The driving branch: the search index when any facet is given, else
        // the patients' name index. Either way one range scan in page order.
        // With the overdue filter, the patients with an overdue task drive
        // instead (a range of the open tasks' due-date index, sorted): the
        // tasks' index cannot give name order, and a probe per name would
        // read the whole facet when few patients match.
        let faceted = query.site.is_some()
            || query.episode_status.is_some()
            || query.wifi_stage.is_some()
            || query.aetiology.is_some();
        let facet_value =
            faceted.then(|| facet(query.site.as_deref(), query.episode_status, query.wifi_stage, query.aetiology));
        let overdue_on = query.overdue_on.map(|d| b.push(Val::Text(date_text(d))));
        let mut conds = Vec::new();
        let (from, keys, prefix) = if let Some(day) = &overdue_on {
            conds.push("p.id = o.patient_id".to_owned());
            if let Some(f) = &facet_value {
                conds.push(format!(
                    "EXISTS (SELECT 1 FROM patient_search s WHERE s.facet = {} AND s.family_key = p.family_key \
                     AND s.given_key = p.given_key AND s.patient_id = p.id)",
                    b.push(Val::Text(f.clone()))
                ));
            }
            // CROSS JOIN: SQLite keeps the overdue patients as the outer loop
            // (PostgreSQL treats it as an inner join).
            (
                format!(
                    "(SELECT DISTINCT t.patient_id FROM care_tasks t WHERE t.state IN ('open', 'assigned') \
                     AND t.due_on < {day}) o CROSS JOIN patients p"
                ),
                ["p.family_key", "p.given_key", "p.id"],
                "p.",
            )
        } else if let Some(f) = &facet_value {
            conds.push(format!("s.facet = {}", b.push(Val::Text(f.clone()))));
            (
                "patient_search s JOIN patients p ON p.id = s.patient_id".to_owned(),
                ["s.family_key", "s.given_key", "s.patient_id"],
                "s.",
            )
        } else {
            ("patients p".to_owned(), ["p.family_key", "p.given_key", "p.id"], "p.")
        };
        let order = keys.join(", ");
        if let Some(name) = &name {
            conds.push(name.replace('@', prefix));
        }
        if let Some((f, g, i)) = &keyset {
            conds.push(format!("({order}) > ({f}, {g}, {i})"));
        }
        let main =
            format!("SELECT {} FROM {from} WHERE {} ORDER BY {order} LIMIT {limit}", summary_columns(), and(&conds));
        let (Some(text), Some(name)) = (text, name) else {
            return Ok((main, b.0));
        };

        // The text may also be an exact MRN: a second, tiny branch on the MRN
        // index, filtered on the patient's own columns, merged in order.
        let mut conds =
            vec![format!("p.mrn = {}", b.push(Val::text(text))), format!("NOT ({})", name.replace('@', "p."))];
        if let Some(site) = &query.site {
            conds.push(format!("p.site = {}", b.push(Val::text(site))));
        }
        if let Some(status) = query.episode_status {
            // a column name from a closed list, not input
            conds.push(format!("p.{}", status_column(status)));
        }
        if let Some(stage) = query.wifi_stage {
            conds.push(format!("p.latest_wifi_stage = {}", b.push(Val::Int(i64::from(stage)))));
        }
        if let Some(a) = query.aetiology {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = p.id AND e.aetiology = {})",
                b.push(Val::text(a.code()))
            ));
        }
        if let Some(day) = &overdue_on {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM care_tasks t WHERE t.patient_id = p.id AND t.state IN ('open', 'assigned') \
                 AND t.due_on < {day})"
            ));
        }
        if let Some((f, g, i)) = &keyset {
            conds.push(format!("(p.family_key, p.given_key, p.id) > ({f}, {g}, {i})"));
        }
        let by_mrn = format!(
            "SELECT {} FROM patients p WHERE {} ORDER BY p.family_key, p.given_key, p.id LIMIT {limit}",
            summary_columns(),
            and(&conds)
        );
        let sql = format!(
            "SELECT * FROM ({main}) AS by_name UNION ALL SELECT * FROM ({by_mrn}) AS by_mrn \
             ORDER BY family_key, given_key, id LIMIT {limit}"
        );
        Ok((sql, b.0))
    }

    /// How many patients the store holds.
    pub async fn count_patients(&self) -> Result<i64> {
        let n = with_pool!(self, p => {
            sqlx::query("SELECT COUNT(*) AS n FROM patients").fetch_one(p).await?.int("n")?
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bounds() {
        assert_eq!(prefix_upper_bound("smi").as_deref(), Some("smj"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        // every string with the prefix sorts below the bound, byte-wise
        for s in ["smith", "smi", "smi\u{10FFFF}\u{10FFFF}", "smiz"] {
            assert!(s.as_bytes() < "smj".as_bytes(), "{s}");
        }
    }

    #[test]
    fn name_conditions_are_ranges() {
        let mut b = Binds(Vec::new());
        assert_eq!(name_condition("Smi", &mut b), "@family_key >= $1 AND @family_key < $2");
        assert_eq!(b.0, vec![Val::text("smi"), Val::text("smj")]);
        let mut b = Binds(Vec::new());
        assert_eq!(name_condition("Doe, Ja", &mut b), "@family_key = $1 AND @given_key >= $2 AND @given_key < $3");
        assert_eq!(b.0, vec![Val::text("doe"), Val::text("ja"), Val::text("jb")]);
        let mut b = Binds(Vec::new());
        assert_eq!(name_condition("Doe,", &mut b), "@family_key = $1");
    }
}
