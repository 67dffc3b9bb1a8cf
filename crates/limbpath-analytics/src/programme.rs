//! The programme's analysis table: one compact row per episode, built as the
//! store streams the cohort, and the analyses the dashboard, the API and the
//! programme report run on it (Kaplan-Meier by stratum, log-rank, cumulative
//! incidence, Cox with chosen covariates, and observed-versus-expected
//! benchmarking with a funnel plot).
//!
//! A row holds no name, identifier or date of birth: the index year, the age
//! in whole years at the index date, the site, coded covariates and, per
//! outcome, days and an event code. Memory is about 90 bytes per episode.

use crate::cohort::{Cohort, CohortBuilder, GroupLabel, Subject};
use crate::cox::{CoxModel, CoxOptions, cox_proportional_hazards};
use crate::cumulative_incidence::{CumulativeIncidence, CumulativeIncidenceOptions, cumulative_incidence_by_group};
use crate::error::{AnalyticsError, InvalidInput, Problem};
use crate::kaplan_meier::{KaplanMeier, KaplanMeierOptions, kaplan_meier_by_group, standard_horizon_days};
use crate::log_rank::{LogRankTest, log_rank_test};
use crate::outcomes::{
    EpisodeHistory, Exclusion, IndexDate, OUTCOME_DEFINITIONS_VERSION, Outcome, OutcomeDefinition, TimeToEvent,
    binary_event, days_between,
};
use limbpath_record::{Aetiology, Date, ProcedureKind};
use serde::Serialize;
use statrs::distribution::{DiscreteCDF, Poisson};
use std::collections::{BTreeMap, HashMap};

/// One episode as the store reads it for analysis: the dated history and the
/// patient's covariates (the birth date is used for the age and not kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortEpisode {
    pub history: EpisodeHistory,
    pub birth_date: Date,
    pub site: String,
    pub aetiology: Aetiology,
    pub diabetes: bool,
    pub dialysis: bool,
}

/// One episode in the analysis table (no identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AnalysisRow {
    pub index_year: i32,
    pub age_years: u8,
    pub diabetes: bool,
    pub dialysis: bool,
    /// WIfI stage 1-5 for the index date ([`EpisodeHistory::wifi_stage_at`]).
    pub wifi_stage: Option<u8>,
    /// GLASS stage 1-3 for the index date ([`EpisodeHistory::glass_stage_at`]).
    pub glass_stage: Option<u8>,
    pub aetiology: Aetiology,
    /// Index into [`AnalysisTable::sites`].
    pub site: u32,
    /// The index procedure's kind (the first revascularisation), if any.
    pub procedure: Option<ProcedureKind>,
    /// Days of follow-up from the index date to the last follow-up.
    pub follow_up_days: u32,
    /// Per outcome, in [`Outcome::ALL`] order: (days, event code).
    pub times: [(u32, u8); 8],
}

/// What the analyses stratify by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stratum {
    None,
    WifiStage,
    GlassStage,
    Aetiology,
    Site,
    Year,
    ProcedureType,
}

impl Stratum {
    pub const ALL: [Stratum; 7] = [
        Stratum::None,
        Stratum::WifiStage,
        Stratum::GlassStage,
        Stratum::Aetiology,
        Stratum::Site,
        Stratum::Year,
        Stratum::ProcedureType,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stratum::None => "none",
            Stratum::WifiStage => "wifi_stage",
            Stratum::GlassStage => "glass_stage",
            Stratum::Aetiology => "aetiology",
            Stratum::Site => "site",
            Stratum::Year => "year",
            Stratum::ProcedureType => "procedure_type",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Stratum::None => "all episodes",
            Stratum::WifiStage => "WIfI stage",
            Stratum::GlassStage => "GLASS stage",
            Stratum::Aetiology => "aetiology",
            Stratum::Site => "site",
            Stratum::Year => "year of the index date",
            Stratum::ProcedureType => "index procedure type",
        }
    }

    pub fn from_code(code: &str) -> Option<Stratum> {
        Stratum::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Covariates a Cox model may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Covariate {
    /// Age at the index date, per 10 years.
    Age,
    Diabetes,
    Dialysis,
    /// WIfI stage 1-4 as a number (per stage); stage 5 (the clinician's
    /// override) and unstaged episodes are left out of the model.
    WifiStage,
    /// GLASS stage 1-3 as a number (per stage); unstaged episodes are left out.
    GlassStage,
    /// One indicator per aetiology present, the first present in vocabulary
    /// order (CLTI, when present) being the reference.
    Aetiology,
}

impl Covariate {
    pub const ALL: [Covariate; 6] = [
        Covariate::Age,
        Covariate::Diabetes,
        Covariate::Dialysis,
        Covariate::WifiStage,
        Covariate::GlassStage,
        Covariate::Aetiology,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Covariate::Age => "age",
            Covariate::Diabetes => "diabetes",
            Covariate::Dialysis => "dialysis",
            Covariate::WifiStage => "wifi_stage",
            Covariate::GlassStage => "glass_stage",
            Covariate::Aetiology => "aetiology",
        }
    }

    pub fn from_code(code: &str) -> Option<Covariate> {
        Covariate::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The analysis table for one index date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisTable {
    pub index: IndexDate,
    pub definitions_version: &'static str,
    pub sites: Vec<String>,
    pub rows: Vec<AnalysisRow>,
    /// Episodes read but not in the table, by reason.
    pub excluded: BTreeMap<&'static str, u64>,
    #[serde(skip)]
    site_index: HashMap<String, u32>,
}

impl AnalysisTable {
    pub fn new(index: IndexDate) -> AnalysisTable {
        AnalysisTable {
            index,
            definitions_version: OUTCOME_DEFINITIONS_VERSION,
            sites: Vec::new(),
            rows: Vec::new(),
            excluded: BTreeMap::new(),
            site_index: HashMap::new(),
        }
    }

    /// Episodes read (in the table or excluded).
    pub fn episodes_read(&self) -> u64 {
        self.rows.len() as u64 + self.excluded.values().sum::<u64>()
    }

    /// Add one episode (or count its exclusion).
    pub fn push(&mut self, e: &CohortEpisode) {
        match analysis_row(e, self.index) {
            Ok(mut row) => {
                let next = self.sites.len() as u32;
                let site = *self.site_index.entry(e.site.clone()).or_insert(next);
                if site == next {
                    self.sites.push(e.site.clone());
                }
                row.site = site;
                self.rows.push(row);
            }
            Err(x) => *self.excluded.entry(x.words()).or_default() += 1,
        }
    }

    /// The group label of a row for a stratum.
    pub fn label(&self, row: &AnalysisRow, stratum: Stratum) -> GroupLabel {
        let text = |s: &str| GroupLabel::Text(s.to_owned());
        match stratum {
            Stratum::None => text("all"),
            Stratum::WifiStage => row.wifi_stage.map_or(text("unstaged"), |s| text(&format!("WIfI {s}"))),
            Stratum::GlassStage => row.glass_stage.map_or(text("unstaged"), |s| text(&format!("GLASS {}", roman(s)))),
            Stratum::Aetiology => text(row.aetiology.code()),
            Stratum::Site => text(&self.sites[row.site as usize]),
            Stratum::Year => GroupLabel::Number(i64::from(row.index_year)),
            Stratum::ProcedureType => text(row.procedure.map_or("none", |p| p.code())),
        }
    }

    fn cohort(&self, outcome: Outcome, stratum: Stratum, binary: bool) -> Result<Cohort, InvalidInput> {
        let k = outcome as usize;
        let mut b = CohortBuilder::new();
        b.reserve(self.rows.len());
        for row in &self.rows {
            let (days, event) = row.times[k];
            let event = if binary { binary_event(TimeToEvent { days: 0.0, event }) } else { event };
            b.push(Subject { duration_days: f64::from(days), event, covariates: &[] }, Some(self.label(row, stratum)))?;
        }
        b.build()
    }

    /// Kaplan-Meier per stratum (competing events censored at their date),
    /// with survival at 30 days, 6 months, 1, 2 and 5 years.
    pub fn kaplan_meier(
        &self,
        outcome: Outcome,
        stratum: Stratum,
    ) -> Result<Analysis<Vec<KaplanMeier>>, AnalyticsError> {
        let cohort = self.cohort(outcome, stratum, true)?;
        let options = KaplanMeierOptions { alpha: 0.05, times: standard_horizon_days() };
        let result = kaplan_meier_by_group(&cohort, &options)?;
        Ok(self.wrap(outcome, stratum, result))
    }

    /// Log-rank test across the strata (and pairwise).
    pub fn log_rank(&self, outcome: Outcome, stratum: Stratum) -> Result<Analysis<LogRankTest>, AnalyticsError> {
        let cohort = self.cohort(outcome, stratum, true)?;
        Ok(self.wrap(outcome, stratum, log_rank_test(&cohort)?))
    }

    /// Aalen-Johansen cumulative incidence of the outcome's event, its
    /// competing events (code 2) competing.
    pub fn cumulative_incidence(
        &self,
        outcome: Outcome,
        stratum: Stratum,
    ) -> Result<Analysis<Vec<CumulativeIncidence>>, AnalyticsError> {
        let cohort = self.cohort(outcome, stratum, false)?;
        let options = CumulativeIncidenceOptions { event_of_interest: 1, alpha: 0.05, times: standard_horizon_days() };
        Ok(self.wrap(outcome, stratum, cumulative_incidence_by_group(&cohort, &options)?))
    }

    /// Cox proportional hazards (Efron ties) with the chosen covariates,
    /// complete cases only (the rows left out are counted).
    pub fn cox(&self, outcome: Outcome, covariates: &[Covariate]) -> Result<Analysis<CoxFit>, AnalyticsError> {
        if covariates.is_empty() {
            return Err(InvalidInput::option("covariates", None, Problem::Missing, "at least one covariate").into());
        }
        let aetiologies: Vec<Aetiology> = if covariates.contains(&Covariate::Aetiology) {
            Aetiology::ALL.iter().copied().filter(|a| self.rows.iter().any(|r| r.aetiology == *a)).collect()
        } else {
            Vec::new()
        };
        let mut names = Vec::new();
        for c in covariates {
            match c {
                Covariate::Age => names.push("age (per 10 years)".to_owned()),
                Covariate::Aetiology => {
                    names.extend(aetiologies.iter().skip(1).map(|a| format!("aetiology={} (vs {})", a, aetiologies[0])))
                }
                Covariate::WifiStage => names.push("WIfI stage (per stage, 1-4)".to_owned()),
                Covariate::GlassStage => names.push("GLASS stage (per stage, I-III)".to_owned()),
                other => names.push(other.code().to_owned()),
            }
        }
        let k = outcome as usize;
        let mut b = CohortBuilder::with_covariates(names)?;
        let mut left_out = 0u64;
        let mut x = Vec::new();
        'rows: for row in &self.rows {
            x.clear();
            for c in covariates {
                match c {
                    Covariate::Age => x.push(f64::from(row.age_years) / 10.0),
                    Covariate::Diabetes => x.push(f64::from(u8::from(row.diabetes))),
                    Covariate::Dialysis => x.push(f64::from(u8::from(row.dialysis))),
                    Covariate::WifiStage => match row.wifi_stage {
                        Some(s @ 1..=4) => x.push(f64::from(s)),
                        _ => {
                            left_out += 1;
                            continue 'rows;
                        }
                    },
                    Covariate::GlassStage => match row.glass_stage {
                        Some(s) => x.push(f64::from(s)),
                        None => {
                            left_out += 1;
                            continue 'rows;
                        }
                    },
                    Covariate::Aetiology => {
                        x.extend(aetiologies.iter().skip(1).map(|a| f64::from(u8::from(row.aetiology == *a))))
                    }
                }
            }
            let (days, event) = row.times[k];
            let event = binary_event(TimeToEvent { days: 0.0, event });
            b.push(Subject { duration_days: f64::from(days), event, covariates: &x }, None)?;
        }
        let cohort = b.build()?;
        let model = cox_proportional_hazards(&cohort, &CoxOptions { concordance: false, ..CoxOptions::default() })?;
        Ok(self.wrap(outcome, Stratum::None, CoxFit { model, left_out_incomplete: left_out }))
    }

    fn wrap<T>(&self, outcome: Outcome, stratum: Stratum, result: T) -> Analysis<T> {
        Analysis {
            outcome: outcome.definition(),
            index_date: self.index,
            index_date_definition: self.index.definition(),
            stratified_by: stratum,
            definitions_version: OUTCOME_DEFINITIONS_VERSION,
            n_episodes: self.rows.len() as u64,
            excluded: self.excluded.clone(),
            result,
        }
    }
}

fn roman(s: u8) -> &'static str {
    match s {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "?",
    }
}

/// A Cox fit and how many episodes lacked a covariate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxFit {
    pub model: CoxModel,
    /// Episodes left out because a chosen covariate was missing (unstaged).
    pub left_out_incomplete: u64,
}

/// A result with what it was computed on: the outcome's definition, the
/// index date, the stratification, the definitions' version and the counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis<T> {
    pub outcome: &'static OutcomeDefinition,
    pub index_date: IndexDate,
    pub index_date_definition: &'static str,
    pub stratified_by: Stratum,
    pub definitions_version: &'static str,
    pub n_episodes: u64,
    pub excluded: BTreeMap<&'static str, u64>,
    pub result: T,
}

/// The analysis row of one episode for an index date.
pub fn analysis_row(e: &CohortEpisode, index: IndexDate) -> Result<AnalysisRow, Exclusion> {
    let h = &e.history;
    let zero = h.index_date(index)?;
    let mut times = [(0u32, 0u8); 8];
    for (i, o) in Outcome::ALL.into_iter().enumerate() {
        let t = h.time_to(o, index)?;
        times[i] = (t.days as u32, t.event);
    }
    Ok(AnalysisRow {
        index_year: zero.year(),
        age_years: age_years(e.birth_date, zero),
        diabetes: e.diabetes,
        dialysis: e.dialysis,
        wifi_stage: h.wifi_stage_at(zero),
        glass_stage: h.glass_stage_at(zero),
        aetiology: e.aetiology,
        site: 0,
        procedure: h.index_procedure().map(|p| p.kind),
        follow_up_days: days_between(zero, h.last_follow_up().max(zero)) as u32,
        times,
    })
}

/// Completed years of age on `on`.
pub fn age_years(birth: Date, on: Date) -> u8 {
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.clamp(0, 255) as u8
}

// ---------------------------------------------------------------------------
// Benchmarking
// ---------------------------------------------------------------------------

/// The benchmark horizon: 1 year, 365 days (a calendar convention, as in
/// [`crate::STANDARD_HORIZONS`]).
pub const BENCHMARK_HORIZON_DAYS: u32 = 365;

/// A published stage-specific 1-year major amputation rate, with its source.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PublishedStageRate {
    pub wifi_stage: u8,
    /// Proportion 0-1.
    pub one_year_major_amputation: f64,
    pub source: String,
}

/// Published stage-specific 1-year major amputation rates.
// source: none — shared/clinical/REFERENCES.md holds only WIfI stage distributions (§1.6), no stage-specific
// 1-year amputation rates | status: UNVERIFIED (empty on purpose; a programme supplies its own, with sources)
pub const PUBLISHED_STAGE_RATES: &[PublishedStageRate] = &[];

/// What the benchmark output says when no published rates are configured.
pub const NO_PUBLISHED_RATES: &str = "published stage-specific rates: not in the LimbPath reference pack \
     (UNVERIFIED) — expected counts use this programme's pooled rates";

/// Observed and expected 1-year major amputations in one WIfI stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageBenchmark {
    pub wifi_stage: u8,
    /// Episodes with a 1-year outcome known (see [`Benchmark::rule`]).
    pub episodes: u64,
    pub observed: u64,
    /// The programme's pooled rate, observed / episodes.
    pub pooled_rate: f64,
    /// A published rate, when configured, and the expected count it gives.
    pub published_rate: Option<f64>,
    pub expected_by_published: Option<f64>,
    pub published_source: Option<String>,
}

/// One unit (site) on the funnel plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelPoint {
    pub site: String,
    pub episodes: u64,
    pub observed: u64,
    /// Σ over stages of the site's episodes × the pooled stage rate.
    pub expected: f64,
    /// observed / expected.
    pub ratio: f64,
    /// Exact Poisson control limits of the ratio at this expected count.
    pub limits_95: (f64, f64),
    pub limits_998: (f64, f64),
    /// "within", "above 95 %", "above 99.8 %", "below 95 %", "below 99.8 %".
    pub position: &'static str,
}

/// Observed versus expected 1-year major amputation by WIfI stage, by site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    pub rule: &'static str,
    pub control_limits: &'static str,
    pub published_rates_note: Option<&'static str>,
    pub definitions_version: &'static str,
    pub index_date: IndexDate,
    pub stages: Vec<StageBenchmark>,
    pub sites: Vec<FunnelPoint>,
    /// Staged episodes left out: follow-up under a year with no amputation or death.
    pub left_out_short_follow_up: u64,
    /// Episodes without a WIfI stage at the index date.
    pub unstaged: u64,
    /// Funnel curves: (expected, lower 95, upper 95, lower 99.8, upper 99.8) across the range of expected counts.
    pub funnel: Vec<(f64, f64, f64, f64, f64)>,
}

const BENCHMARK_RULE: &str = "Episodes with a WIfI stage at the index date (stages 1-5) whose 1-year outcome is \
     known: a major amputation within 365 days, a death within 365 days without one, or follow-up of at least 365 \
     days. Observed = major amputations within 365 days. Expected for a site = Σ over WIfI stages of the site's \
     episodes × the programme's pooled stage rate (indirect standardisation; the programme's own rates, computed, \
     not published ones).";

const CONTROL_LIMITS: &str = "exact Poisson control limits for the observed count given the expected count E (the \
     smallest o with P(X ≤ o) ≥ p, X ~ Poisson(E), for p = 0.025/0.975 (95 %) and 0.001/0.999 (99.8 %)), divided \
     by E to give limits for observed/expected";

/// Poisson quantile: the smallest o with P(X <= o) >= p.
fn poisson_quantile(mean: f64, p: f64) -> f64 {
    match Poisson::new(mean) {
        Ok(d) => {
            let mut o = d.inverse_cdf(p);
            // statrs' search may land one above; step down while the cdf still reaches p.
            while o > 0 && d.cdf(o - 1) >= p {
                o -= 1;
            }
            while d.cdf(o) < p {
                o += 1;
            }
            o as f64
        }
        Err(_) => 0.0,
    }
}

fn ratio_limits(expected: f64, lo: f64, hi: f64) -> (f64, f64) {
    (poisson_quantile(expected, lo) / expected, poisson_quantile(expected, hi) / expected)
}

impl AnalysisTable {
    /// Observed versus expected 1-year major amputation, by WIfI stage and site.
    pub fn benchmark(&self, published: &[PublishedStageRate]) -> Benchmark {
        let k = Outcome::MajorAmputation as usize;
        let mut stage_n = [0u64; 6];
        let mut stage_o = [0u64; 6];
        let mut site_stage_n: Vec<[u64; 6]> = vec![[0; 6]; self.sites.len()];
        let mut site_o = vec![0u64; self.sites.len()];
        let (mut short, mut unstaged) = (0u64, 0u64);
        for row in &self.rows {
            let Some(s) = row.wifi_stage.filter(|s| (1..=5).contains(s)) else {
                unstaged += 1;
                continue;
            };
            let (days, event) = row.times[k];
            let amputated = event == 1 && days <= BENCHMARK_HORIZON_DAYS;
            let died = event == 2 && days <= BENCHMARK_HORIZON_DAYS;
            if !amputated && !died && row.follow_up_days < BENCHMARK_HORIZON_DAYS {
                short += 1;
                continue;
            }
            let s = usize::from(s);
            stage_n[s] += 1;
            site_stage_n[row.site as usize][s] += 1;
            if amputated {
                stage_o[s] += 1;
                site_o[row.site as usize] += 1;
            }
        }
        let rate: Vec<f64> =
            (0..6).map(|s| if stage_n[s] > 0 { stage_o[s] as f64 / stage_n[s] as f64 } else { 0.0 }).collect();
        let stages = (1..=5u8)
            .map(|s| {
                let i = usize::from(s);
                let p = published.iter().find(|r| r.wifi_stage == s);
                StageBenchmark {
                    wifi_stage: s,
                    episodes: stage_n[i],
                    observed: stage_o[i],
                    pooled_rate: rate[i],
                    published_rate: p.map(|p| p.one_year_major_amputation),
                    expected_by_published: p.map(|p| p.one_year_major_amputation * stage_n[i] as f64),
                    published_source: p.map(|p| p.source.clone()),
                }
            })
            .collect();
        let mut sites = Vec::new();
        for (j, name) in self.sites.iter().enumerate() {
            let n: u64 = site_stage_n[j].iter().sum();
            let expected: f64 = (1..6).map(|s| site_stage_n[j][s] as f64 * rate[s]).sum();
            if n == 0 || expected <= 0.0 {
                continue;
            }
            let observed = site_o[j];
            let ratio = observed as f64 / expected;
            let l95 = ratio_limits(expected, 0.025, 0.975);
            let l998 = ratio_limits(expected, 0.001, 0.999);
            let position = if ratio > l998.1 {
                "above 99.8 %"
            } else if ratio > l95.1 {
                "above 95 %"
            } else if ratio < l998.0 {
                "below 99.8 %"
            } else if ratio < l95.0 {
                "below 95 %"
            } else {
                "within"
            };
            sites.push(FunnelPoint {
                site: name.clone(),
                episodes: n,
                observed,
                expected,
                ratio,
                limits_95: l95,
                limits_998: l998,
                position,
            });
        }
        sites.sort_by(|a, b| a.site.cmp(&b.site));
        let max_e = sites.iter().map(|s| s.expected).fold(0.0, f64::max);
        let funnel = if max_e > 0.0 {
            (1..=60)
                .map(|i| {
                    let e = (max_e * 1.1) * f64::from(i) / 60.0;
                    let (a, b) = ratio_limits(e, 0.025, 0.975);
                    let (c, d) = ratio_limits(e, 0.001, 0.999);
                    (e, a, b, c, d)
                })
                .collect()
        } else {
            Vec::new()
        };
        Benchmark {
            rule: BENCHMARK_RULE,
            control_limits: CONTROL_LIMITS,
            published_rates_note: published.is_empty().then_some(NO_PUBLISHED_RATES),
            definitions_version: OUTCOME_DEFINITIONS_VERSION,
            index_date: self.index,
            stages,
            sites,
            left_out_short_follow_up: short,
            unstaged,
            funnel,
        }
    }

    /// The de-identified cohort as CSV: no names, MRNs, record ids or dates
    /// (index year and whole years of age only); one line per episode.
    pub fn csv_header() -> String {
        let mut h = String::from(
            "index_year,age_years,diabetes,dialysis,wifi_stage,glass_stage,aetiology,site,index_procedure,follow_up_days",
        );
        for o in Outcome::ALL {
            h.push_str(&format!(",{c}_days,{c}_event", c = o.code()));
        }
        h.push('\n');
        h
    }

    /// One CSV line (LF-terminated) for a row; text fields are quoted when needed.
    pub fn csv_line(&self, row: &AnalysisRow) -> String {
        let opt = |v: Option<u8>| v.map_or(String::new(), |v| v.to_string());
        let mut l = format!(
            "{},{},{},{},{},{},{},{},{},{}",
            row.index_year,
            row.age_years,
            u8::from(row.diabetes),
            u8::from(row.dialysis),
            opt(row.wifi_stage),
            opt(row.glass_stage),
            row.aetiology.code(),
            csv_field(&self.sites[row.site as usize]),
            row.procedure.map_or("", |p| p.code()),
            row.follow_up_days
        );
        for (days, event) in row.times {
            l.push_str(&format!(",{days},{event}"));
        }
        l.push('\n');
        l
    }
}

fn csv_field(s: &str) -> String {
    // Quote fields with separators; neutralise spreadsheet formulas.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::{DatedOutcome, DatedProcedure};
    use limbpath_record::{AmputationLevel, OutcomeKind};

    fn d(s: &str) -> Date {
        Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
    }

    fn episode(site: &str, stage: u8, amputate: Option<&str>, last: &str) -> CohortEpisode {
        let mut outcomes = Vec::new();
        if let Some(a) = amputate {
            outcomes.push(DatedOutcome {
                on: d(a),
                kind: OutcomeKind::MajorAmputation,
                amputation_level: Some(AmputationLevel::Transtibial),
            });
        }
        CohortEpisode {
            history: EpisodeHistory {
                opened_on: d("2022-01-01"),
                last_entry_on: d(last),
                patient_death_on: None,
                procedures: vec![DatedProcedure {
                    on: d("2022-01-05"),
                    kind: ProcedureKind::Pta,
                    amputation_level: None,
                }],
                outcomes,
                wifi_stages: vec![(d("2022-01-01"), stage)],
                glass_stages: vec![],
            },
            birth_date: d("1950-06-15"),
            site: site.to_owned(),
            aetiology: Aetiology::Clti,
            diabetes: true,
            dialysis: false,
        }
    }

    #[test]
    fn rows_carry_age_year_stage_and_procedure() {
        let mut t = AnalysisTable::new(IndexDate::IndexProcedure);
        t.push(&episode("North", 3, Some("2022-03-01"), "2022-12-31"));
        let r = t.rows[0];
        assert_eq!(
            (r.age_years, r.index_year, r.wifi_stage, r.procedure),
            (71, 2022, Some(3), Some(ProcedureKind::Pta))
        );
        assert_eq!(r.times[Outcome::MajorAmputation as usize], (55, 1));
        assert_eq!(r.follow_up_days, 360);
        assert_eq!(age_years(d("1950-06-15"), d("2022-06-14")), 71);
        assert_eq!(age_years(d("1950-06-15"), d("2022-06-15")), 72);
    }

    #[test]
    fn benchmark_uses_pooled_rates_and_says_so() {
        let mut t = AnalysisTable::new(IndexDate::EpisodeStart);
        // stage 4: A has 2 of 2 amputated, B 0 of 2 → pooled 0.5
        t.push(&episode("A", 4, Some("2022-02-01"), "2023-06-01"));
        t.push(&episode("A", 4, Some("2022-05-01"), "2023-06-01"));
        t.push(&episode("B", 4, None, "2023-06-01"));
        t.push(&episode("B", 4, None, "2023-06-01"));
        // stage 1, B, amputated after a year: not observed within 1 year
        t.push(&episode("B", 1, Some("2023-03-01"), "2023-06-01"));
        // stage 2, short follow-up: left out
        t.push(&episode("B", 2, None, "2022-03-01"));
        let b = t.benchmark(PUBLISHED_STAGE_RATES);
        assert_eq!(b.published_rates_note, Some(NO_PUBLISHED_RATES));
        assert_eq!(b.left_out_short_follow_up, 1);
        let s4 = &b.stages[3];
        assert_eq!((s4.episodes, s4.observed, s4.pooled_rate), (4, 2, 0.5));
        assert_eq!((b.stages[0].episodes, b.stages[0].observed), (1, 0));
        let a = b.sites.iter().find(|s| s.site == "A").unwrap();
        assert_eq!((a.observed, a.expected, a.ratio), (2, 1.0, 2.0));
        let bb = b.sites.iter().find(|s| s.site == "B").unwrap();
        assert_eq!((bb.observed, bb.expected), (0, 1.0));
        // Poisson(1): P(X<=0)=0.368, so the 2.5 % quantile is 0; P(X<=3)=0.981 >= 0.975 > P(X<=2)=0.920.
        assert_eq!(a.limits_95, (0.0, 3.0));
        assert_eq!(a.position, "within");
        // with a published table the note goes and expected-by-published appears
        let p = [PublishedStageRate { wifi_stage: 4, one_year_major_amputation: 0.25, source: "test".into() }];
        let b = t.benchmark(&p);
        assert_eq!(b.published_rates_note, None);
        assert_eq!(b.stages[3].expected_by_published, Some(1.0));
    }

    #[test]
    fn poisson_quantiles_are_exact() {
        // Poisson(10): P(X<=3)=0.0103, P(X<=4)=0.0293 → 2.5 % quantile 4; P(X<=16)=0.9730, P(X<=17)=0.9857 → 17.
        assert_eq!(poisson_quantile(10.0, 0.025), 4.0);
        assert_eq!(poisson_quantile(10.0, 0.975), 17.0);
    }

    #[test]
    fn analyses_run_on_the_table_and_csv_has_no_identifiers() {
        let mut t = AnalysisTable::new(IndexDate::EpisodeStart);
        for i in 0..20 {
            let amp = (i % 3 == 0).then_some("2022-04-01");
            let mut e = episode(if i % 2 == 0 { "A" } else { "B" }, (i % 4 + 1) as u8, amp, "2023-01-01");
            e.dialysis = i % 5 == 0;
            e.birth_date += time::Duration::days(i * 400);
            t.push(&e);
        }
        let km = t.kaplan_meier(Outcome::LimbSalvage, Stratum::Site).unwrap();
        assert_eq!(km.result.len(), 2);
        assert_eq!(km.definitions_version, OUTCOME_DEFINITIONS_VERSION);
        assert!(t.log_rank(Outcome::LimbSalvage, Stratum::WifiStage).is_ok());
        let cif = t.cumulative_incidence(Outcome::MajorAmputation, Stratum::None).unwrap();
        assert_eq!(cif.result[0].n_events_of_interest, 7);
        let cox = t.cox(Outcome::LimbSalvage, &[Covariate::Age, Covariate::Dialysis]).unwrap();
        assert_eq!(cox.result.model.coefficients.len(), 2);
        let line = t.csv_line(&t.rows[0]);
        assert!(line.starts_with("2022,71,1,1,1,,clti,A,pta,"), "{line}");
        assert_eq!(line.split(',').count(), AnalysisTable::csv_header().split(',').count());
        assert_eq!(csv_field("=cmd"), "'=cmd");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
