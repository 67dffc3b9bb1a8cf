//! The programme outcomes dashboard (`/analytics`) and the self-contained
//! programme report (`limbpath report`), which share their sections: a
//! Kaplan-Meier curve with 95 % bands, its numbers at risk and survival at
//! the reporting times, the log-rank test, the cumulative incidence of major
//! amputation with death competing, a forest plot of the Cox model's hazard
//! ratios, and observed-versus-expected benchmarking with a funnel plot.
//! Everything shown is aggregate: no names, identifiers or dates of birth.

use super::analytics_charts::{
    BEYOND_FOLLOW_UP, Curve, at_risk_table, forest_plot, funnel_plot, horizon_table, step_chart,
};
use super::html::{Markup, num, words};
use super::{Web, page, page_error, session};
use crate::access::{Action, Family};
use crate::analytics::{Analysis, AnalysisQuery, Lookup, ReadProgress, analytics_problem, describe};
use crate::app::{AppState, RemoteAddr, authorise, store_problem};
use crate::{html, markup};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use limbpath_analytics::outcomes::{IndexDate, OUTCOME_DEFINITIONS, OUTCOME_DEFINITIONS_VERSION, Outcome, Reported};
use limbpath_analytics::programme::{AnalysisTable, Covariate, PUBLISHED_STAGE_RATES, PublishedStageRate, Stratum};
use limbpath_store::AuditOutcome;
use std::sync::Arc;
use std::time::Duration;

fn select(m: &mut Markup, name: &str, label: &str, options: &[(&str, String)], chosen: &str) {
    html!(
        m,
        "<div class=\"field\"><label for=\"{}\">{}</label><select id=\"{}\" name=\"{}\">",
        name,
        label,
        name,
        name
    );
    for (code, text) in options {
        if *code == chosen {
            html!(m, "<option value=\"{}\" selected>{}</option>", *code, text);
        } else {
            html!(m, "<option value=\"{}\">{}</option>", *code, text);
        }
    }
    html!(m, "</select></div>");
}

/// The dashboard's choice form (GET).
fn form(a: &Analysis) -> Markup {
    let mut m = markup!("<form method=\"get\" action=\"/analytics\" class=\"card search analytics-form\">");
    let outcomes: Vec<(&str, String)> = OUTCOME_DEFINITIONS.iter().map(|d| (d.code, d.name.to_owned())).collect();
    select(&mut m, "outcome", "Outcome", &outcomes, a.outcome.code());
    let index: Vec<(&str, String)> = IndexDate::ALL
        .iter()
        .map(|i| (i.code(), if *i == IndexDate::EpisodeStart { "episode start" } else { "index procedure" }.to_owned()))
        .collect();
    select(&mut m, "index", "Time zero", &index, a.index.code());
    let strata: Vec<(&str, String)> = Stratum::ALL.iter().map(|s| (s.code(), s.words().to_owned())).collect();
    select(&mut m, "stratify", "Stratify by", &strata, a.stratify.code());
    html!(m, "<fieldset class=\"field\"><legend>Cox covariates</legend>");
    for c in Covariate::ALL {
        let on = if a.covariates.contains(&c) { Markup::from_static(" checked") } else { Markup::new() };
        html!(
            m,
            "<label class=\"check\"><input type=\"checkbox\" name=\"cov\" value=\"{}\"{}> {}</label> ",
            c.code(),
            on,
            words(c.code())
        );
    }
    html!(m, "</fieldset><div class=\"actions\"><button type=\"submit\" class=\"primary\">Show</button></div></form>");
    m
}

fn note(m: &mut Markup, text: &str) {
    html!(m, "<p class=\"note\">{}</p>", text);
}

/// Which of the shared sections to show besides the Kaplan-Meier and Cox ones.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    pub cohort: bool,
    pub cif: bool,
    pub benchmark: bool,
}

impl Parts {
    pub const ALL: Parts = Parts { cohort: true, cif: true, benchmark: true };
}

/// The sections shown for an analysis (dashboard and report alike).
pub fn sections(t: &AnalysisTable, a: &Analysis, parts: Parts, published: &[PublishedStageRate]) -> Markup {
    let mut m = Markup::new();
    if parts.cohort {
        cohort_section(&mut m, t, a);
    }
    km_section(&mut m, t, a);
    if parts.cif {
        cif_section(&mut m, t, a);
    }
    cox_section(&mut m, t, a);
    if parts.benchmark {
        benchmark_section(&mut m, t, published);
    }
    m
}

fn cohort_section(m: &mut Markup, t: &AnalysisTable, a: &Analysis) {
    html!(
        m,
        "<section class=\"card\" id=\"cohort\"><h2>Cohort</h2><p>{} episodes analysed from time zero = {}. Outcome definitions {}.</p>",
        grouped(t.rows.len() as u64),
        a.index.definition(),
        OUTCOME_DEFINITIONS_VERSION
    );
    if !t.excluded.is_empty() {
        html!(m, "<ul>");
        for (why, n) in &t.excluded {
            html!(m, "<li>{} excluded: {}</li>", *n, *why);
        }
        html!(m, "</ul>");
    }
    html!(m, "</section>");
}

fn km_section(m: &mut Markup, t: &AnalysisTable, a: &Analysis) {
    let def = a.outcome.definition();
    html!(
        m,
        "<section class=\"card\" id=\"km\"><h2>{} by {}</h2><p class=\"definition\"><strong>Event:</strong> {}. <strong>Competing events:</strong> {}. <em>{}</em></p>",
        def.name,
        a.stratify.words(),
        def.event,
        if def.competing.is_empty() { "none" } else { def.competing },
        def.source
    );
    match t.kaplan_meier(a.outcome, a.stratify) {
        Ok(km) => {
            let incidence = def.reported_as == Reported::Incidence;
            let curves: Vec<Curve> = km
                .result
                .iter()
                .map(|k| {
                    let mut c = Curve::from_km(k);
                    if incidence {
                        c.steps = c
                            .steps
                            .iter()
                            .map(|s| (s.0, 1.0 - s.1, s.3.map(|u| 1.0 - u), s.2.map(|l| 1.0 - l)))
                            .collect();
                    }
                    c
                })
                .collect();
            let (label, start) = if incidence { ("1 − Kaplan-Meier (%)", 0.0) } else { ("event-free (%)", 1.0) };
            m.push(step_chart(&format!("Kaplan-Meier: {} by {}", def.name, a.stratify.words()), label, &curves, start));
            m.push(at_risk_table(&km.result));
            m.push(horizon_table(&km.result, incidence));
            if let Some(k) = km.result.first() {
                note(m, &k.method);
            }
        }
        Err(e) => note(m, &format!("Not shown: {}", analytics_problem(e).detail)),
    }
    if a.stratify != Stratum::None {
        match t.log_rank(a.outcome, a.stratify) {
            Ok(lr) => html!(
                m,
                "<p class=\"log-rank\">Log-rank test across {} groups: χ² = {}, {} degrees of freedom, p {}.</p>",
                lr.result.groups.len(),
                num(lr.result.chi_square, 2),
                lr.result.degrees_of_freedom,
                format_p(lr.result.p_value)
            ),
            Err(e) => note(m, &format!("Log-rank test not shown: {}", analytics_problem(e).detail)),
        }
    }
    html!(m, "</section>");
}

fn cif_section(m: &mut Markup, t: &AnalysisTable, a: &Analysis) {
    let major = Outcome::MajorAmputation.definition();
    html!(
        m,
        "<section class=\"card\" id=\"cif\"><h2>Cumulative incidence of major amputation by {}, death competing</h2><p class=\"definition\">{}. <em>{}</em></p>",
        a.stratify.words(),
        major.event,
        major.source
    );
    match t.cumulative_incidence(Outcome::MajorAmputation, a.stratify) {
        Ok(cif) => {
            let curves: Vec<Curve> = cif.result.iter().map(Curve::from_cif).collect();
            m.push(step_chart(
                &format!("Cumulative incidence of major amputation by {}", a.stratify.words()),
                "cumulative incidence (%)",
                &curves,
                0.0,
            ));
            html!(
                m,
                "<table class=\"horizons\"><thead><tr><th scope=\"col\">Group</th><th scope=\"col\">Major amputations</th><th scope=\"col\">Deaths (competing)</th>"
            );
            for l in ["30 d", "6 mo", "1 y", "2 y", "5 y"] {
                html!(m, "<th scope=\"col\">{}</th>", l);
            }
            html!(m, "</tr></thead><tbody>");
            for c in &cif.result {
                html!(
                    m,
                    "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td>",
                    c.group.as_ref().map_or("all".to_owned(), |g| g.to_string()),
                    c.n_events_of_interest,
                    c.n_competing_events
                );
                for x in &c.at_times {
                    if x.n_at_risk == 0 {
                        html!(m, "<td class=\"beyond\">{}</td>", BEYOND_FOLLOW_UP);
                        continue;
                    }
                    html!(
                        m,
                        "<td>{} % ({}–{})</td>",
                        num(x.cumulative_incidence * 100.0, 1),
                        x.ci_lower.map_or("–".to_owned(), |v| num(v * 100.0, 1)),
                        x.ci_upper.map_or("–".to_owned(), |v| num(v * 100.0, 1))
                    );
                }
                html!(m, "</tr>");
            }
            html!(m, "</tbody></table>");
            if let Some(c) = cif.result.first() {
                note(m, &c.method);
            }
        }
        Err(e) => note(m, &format!("Not shown: {}", analytics_problem(e).detail)),
    }
    html!(m, "</section>");
}

fn cox_section(m: &mut Markup, t: &AnalysisTable, a: &Analysis) {
    let def = a.outcome.definition();
    html!(m, "<section class=\"card\" id=\"cox\"><h2>Risk-adjusted hazard ratios: {}</h2>", def.name);
    match t.cox(a.outcome, &a.covariates) {
        Ok(cox) => {
            m.push(forest_plot(&format!("Hazard ratios for {}", def.name), &cox.result.model.coefficients));
            html!(
                m,
                "<p>{} episodes, {} events; {} episodes without a chosen covariate (unstaged) left out. Likelihood-ratio test χ² = {} on {} df, p {}.{}</p>",
                cox.result.model.n_subjects,
                cox.result.model.n_events,
                cox.result.left_out_incomplete,
                num(cox.result.model.likelihood_ratio_test.chi_square, 2),
                cox.result.model.likelihood_ratio_test.degrees_of_freedom,
                format_p(cox.result.model.likelihood_ratio_test.p_value),
                if cox.result.model.converged {
                    ""
                } else {
                    " The fit did NOT converge: do not report these estimates."
                }
            );
            note(m, &cox.result.model.method);
        }
        Err(e) => note(m, &format!("Not shown: {}", analytics_problem(e).detail)),
    }
    html!(m, "</section>");
}

fn benchmark_section(m: &mut Markup, t: &AnalysisTable, published: &[PublishedStageRate]) {
    let b = t.benchmark(published);
    html!(m, "<section class=\"card\" id=\"benchmark\"><h2>Observed versus expected 1-year major amputation</h2>");
    if let Some(n) = b.published_rates_note {
        html!(m, "<p class=\"flag\" role=\"note\">{}</p>", n);
    }
    html!(
        m,
        "<p>{}</p><table class=\"horizons\"><thead><tr><th scope=\"col\">WIfI stage</th><th scope=\"col\">Episodes</th><th scope=\"col\">Observed</th><th scope=\"col\">Programme rate</th></tr></thead><tbody>",
        b.rule
    );
    for s in &b.stages {
        html!(
            m,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{} %</td><td>{}</td><td>{}</td></tr>",
            s.wifi_stage,
            s.episodes,
            s.observed,
            num(s.pooled_rate * 100.0, 1),
            match (&s.published_rate, &s.published_source) {
                (Some(r), Some(src)) => format!("{} % ({src})", num(r * 100.0, 1)),
                _ => "none configured".to_owned(),
            },
            s.expected_by_published.map_or("–".to_owned(), |e| num(e, 1))
        );
    }
    html!(
        m,
        "</tbody></table><p>{} unstaged episodes and {} with under a year of follow-up (no amputation or death) are not in the benchmark.</p>",
        b.unstaged,
        b.left_out_short_follow_up
    );
    if b.sites.is_empty() {
        note(m, "No site has an expected count above 0: the funnel plot needs at least one amputation.");
    } else {
        m.push(funnel_plot(&b));
        html!(
            m,
            "<table class=\"horizons\"><thead><tr><th scope=\"col\">Site</th><th scope=\"col\">Episodes</th><th scope=\"col\">Observed</th><th scope=\"col\">Expected</th><th scope=\"col\">O/E</th><th scope=\"col\">Position</th></tr></thead><tbody>"
        );
        for s in &b.sites {
            html!(
                m,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                s.site,
                s.episodes,
                s.observed,
                num(s.expected, 1),
                num(s.ratio, 2),
                s.position
            );
        }
        html!(m, "</tbody></table>");
    }
    note(m, &format!("Control limits: {}. The record has no operator field, so units are sites.", b.control_limits));
    html!(m, "</section>");
}

fn format_p(p: f64) -> String {
    if p < 0.0001 { "< 0.0001".to_owned() } else { format!("= {}", num(p, 4)) }
}

/// The outcome definitions as a table (for the report and the dashboard's foot).
pub fn definitions_table() -> Markup {
    let mut m = markup!(
        "<section class=\"card\" id=\"definitions\"><h2>Outcome definitions ({})</h2><table class=\"definitions\"><thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Event</th><th scope=\"col\">Competing / censoring</th><th scope=\"col\">Source</th></tr></thead><tbody>",
        OUTCOME_DEFINITIONS_VERSION
    );
    for d in OUTCOME_DEFINITIONS {
        html!(
            m,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.name,
            d.event,
            if d.competing.is_empty() { "—" } else { d.competing },
            d.source
        );
    }
    html!(
        m,
        "</tbody></table><p>Time zero: episode start = {}; index procedure = {}. Censoring at the last follow-up: the last dated entry of the episode, or a death recorded within it.</p></section>",
        IndexDate::EpisodeStart.definition(),
        IndexDate::IndexProcedure.definition()
    );
    m
}

/// The dashboard's query: the form sends each covariate as `cov=…`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DashboardQuery {
    outcome: Option<String>,
    index: Option<String>,
    stratify: Option<String>,
    #[serde(default)]
    cov: Vec<String>,
}

pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    addr: RemoteAddr,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let web = match session(&state, &headers, &addr, "analytics").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let audit = web.audit(&state, "dashboard", "analytics");
    if let Err(p) = authorise(&audit, &web.caller, Family::Aggregates, Action::Read, None).await {
        return page_error(&web, p);
    }
    // Repeated `cov` keys: parse the query by hand (serde_urlencoded keeps the last).
    let mut q = DashboardQuery::default();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "outcome" => q.outcome = Some(v.into_owned()),
            "index" => q.index = Some(v.into_owned()),
            "stratify" => q.stratify = Some(v.into_owned()),
            "cov" => q.cov.push(v.into_owned()),
            _ => {}
        }
    }
    let query = AnalysisQuery {
        outcome: q.outcome,
        index: q.index,
        stratify: q.stratify,
        covariates: (!q.cov.is_empty()).then(|| q.cov.join(",")),
    };
    let a = match query.check(Outcome::AmputationFreeSurvival, Stratum::WifiStage) {
        Ok(a) => a,
        Err(p) => {
            if let Err(p) = audit.record(None, None, AuditOutcome::Invalid, &p.detail).await {
                return page_error(&web, p);
            }
            return page_error(&web, p);
        }
    };
    let built = match state.analytics.lookup(&state.store, a.index, Some(state.config.dashboard_first_read_wait)).await
    {
        Ok(Lookup::Ready(b)) => b,
        Ok(Lookup::Reading(progress)) => {
            if let Err(p) =
                audit.record(None, None, AuditOutcome::Ok, &format!("{} (table not read yet)", describe(&a))).await
            {
                return page_error(&web, p);
            }
            return reading_page(&web, &progress);
        }
        Err(e) => {
            let (p, outcome) = store_problem(e);
            let _ = audit.record(None, None, outcome, &p.detail).await;
            return page_error(&web, p);
        }
    };
    if let Err(p) = audit.record(None, None, AuditOutcome::Ok, &describe(&a)).await {
        return page_error(&web, p);
    }
    let mut body = markup!("<h1>Programme outcomes</h1>");
    body.push(form(&a));
    html!(
        body,
        "<p class=\"note\">Aggregate, de-identified figures from the analysis table read {} ago (in {} s). A table older than {} minutes is read again in the background while it goes on answering. <a href=\"/api/v1/analytics/cohort.csv?index={}\">Download the de-identified cohort (CSV)</a> — no names, MRNs, record ids or dates.</p>",
        age(built.at.elapsed()),
        num(built.took.as_secs_f64(), 1),
        crate::analytics::TABLE_TTL.as_secs() / 60,
        a.index.code()
    );
    body.push(sections(&built.table, &a, Parts::ALL, PUBLISHED_STAGE_RATES));
    body.push(definitions_table());
    page(Some(&web), "Programme outcomes", body)
}

/// 1234567 as "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "42 s", "3 min", "2 h 5 min".
fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// While the first read of the cohort runs: its progress, and the page asks
/// the browser to look again in a few seconds (a `Refresh` header, no script).
fn reading_page(web: &Web, progress: &ReadProgress) -> Response {
    let mut body = markup!("<h1>Programme outcomes</h1>");
    html!(
        body,
        "<div class=\"note\" role=\"status\"><p>The analysis table is being read from the database: {} episodes so far, for {}. This page looks again every 5 seconds; the figures appear when the read ends.</p><p>A large programme's first read after the server starts takes a while (every episode, its procedures, outcomes and stages); later views answer at once and the table is refreshed in the background.</p><p><a href=\"\">Check now</a></p></div>",
        grouped(progress.episodes_read),
        age(progress.running_for)
    );
    let mut response = page(Some(web), "Programme outcomes", body);
    response.headers_mut().insert(HeaderName::from_static("refresh"), HeaderValue::from_static("5"));
    response
}

/// The report's stylesheet (inline: the report is one self-contained file).
const REPORT_CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#111827;max-width:1000px;margin:2rem auto;padding:0 1rem;line-height:1.45}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:0}section{border:1px solid #d1d5db;border-radius:6px;padding:1rem;margin:1rem 0;break-inside:avoid}table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}th,td{border:1px solid #d1d5db;padding:.25rem .5rem;text-align:left}svg.chart{width:100%;height:auto;max-width:760px;display:block}.note{color:#4b5563;font-size:.85rem}.flag{background:#fef3c7;border-left:4px solid #b45309;padding:.5rem}@media print{body{margin:0;max-width:none}section{border:none;padding:0}}";

/// The analyses the programme report contains.
pub fn report_analyses(index: IndexDate) -> Vec<Analysis> {
    let covariates = crate::analytics::DEFAULT_COVARIATES.to_vec();
    [
        (Outcome::AmputationFreeSurvival, Stratum::WifiStage),
        (Outcome::LimbSalvage, Stratum::Aetiology),
        (Outcome::Male, Stratum::ProcedureType),
        (Outcome::Death, Stratum::Site),
    ]
    .into_iter()
    .map(|(outcome, stratify)| Analysis { outcome, index, stratify, covariates: covariates.clone() })
    .collect()
}

/// The self-contained programme report: inline CSS and SVG, no external
/// assets, no scripts, no patient identifiers.
pub fn report_document(
    t: &AnalysisTable,
    generated: &str,
    took_seconds: f64,
    published: &[PublishedStageRate],
) -> String {
    let mut m = markup!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>LimbPath programme report</title><style>{}</style></head><body><h1>LimbPath programme report</h1><p>Generated {}. {} episodes read from the database in {} s. Aggregate, de-identified figures: no names, identifiers or dates of birth.</p>",
        Markup::from_static(REPORT_CSS),
        generated,
        grouped(t.episodes_read()),
        num(took_seconds, 1)
    );
    for a in report_analyses(t.index) {
        // The cohort, cumulative incidence and benchmark once, with the first analysis.
        let first = a.stratify == Stratum::WifiStage;
        m.push(sections(t, &a, Parts { cohort: first, cif: first, benchmark: first }, published));
    }
    m.push(definitions_table());
    html!(
        m,
        "<p class=\"note\">Decision support — for the clinician's judgement. LimbPath programme report.</p></body></html>"
    );
    m.into_string()
}

#[cfg(test)]
mod tests {
    use super::{age, grouped};
    use std::time::Duration;

    #[test]
    fn counts_and_ages_read_as_people_write_them() {
        let g: Vec<String> = [0, 7, 999, 1000, 65_432, 1_234_567].into_iter().map(grouped).collect();
        assert_eq!(g, ["0", "7", "999", "1,000", "65,432", "1,234,567"]);
        let a: Vec<String> = [0, 59, 60, 3599, 3600, 7500].into_iter().map(|s| age(Duration::from_secs(s))).collect();
        assert_eq!(a, ["0 s", "59 s", "1 min", "59 min", "1 h 0 min", "2 h 5 min"]);
    }
}
