//! `limbpath analytics km|logrank|cif|cox --input cohort.csv`: the survival
//! estimators of `limbpath-analytics` on a researcher's CSV file, as text or
//! `--json`. For Kaplan-Meier, log-rank and cumulative incidence the file is
//! counted per distinct (time, event, group) in pieces, one slice per core,
//! never held whole; for Cox regression it is read whole (one row per
//! subject). Columns are documented in README.md.

use anyhow::{Context, Result};
use limbpath_analytics::{
    AnalyticsError, Cohort, CohortCsvTally, CoxOptions, CumulativeIncidenceOptions, InvalidInput, KaplanMeierOptions,
    combine_cohort_csv_tallies, cox_proportional_hazards, cumulative_incidence, cumulative_incidence_by_group,
    kaplan_meier, kaplan_meier_by_group, log_rank_test, parse_cohort_csv, read_cohort_csv_header,
    standard_horizon_days,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    estimator: Estimator,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// CSV file (`-` for stdin) with columns `duration_days,event` and optionally `id`, `group` and numeric
    /// covariates (every other column).
    #[arg(long, short)]
    input: PathBuf,
    /// Write JSON (`{"schema", "result"}`) instead of text.
    #[arg(long)]
    json: bool,
    /// 1 - confidence level of the intervals.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
}

#[derive(Debug, clap::Args)]
struct Times {
    /// Days at which to report the estimate and the numbers at risk
    /// [default: 30, 182, 365, 730, 1825].
    #[arg(long, value_delimiter = ',')]
    times: Vec<f64>,
    /// One estimate per value of the `group` column.
    #[arg(long)]
    by_group: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Estimator {
    /// Kaplan-Meier survival: Greenwood variance, log(-log) intervals, median, survival at fixed times.
    Km {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        times: Times,
    },
    /// Log-rank test across the groups of the `group` column (k-1 degrees of freedom), and every pair.
    Logrank {
        #[command(flatten)]
        common: Common,
    },
    /// Aalen-Johansen cumulative incidence of one event code, other codes >= 1 competing (0 = censored).
    Cif {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        times: Times,
        /// The event code of interest (e.g. 1 = major amputation, 2 = death as the competing risk).
        #[arg(long, default_value_t = 1)]
        event_of_interest: u8,
    },
    /// Cox proportional hazards (Efron ties) on every covariate column, plus indicators of the `group`
    /// column (first group as reference) when there is one.
    Cox {
        #[command(flatten)]
        common: Common,
        /// Newton-Raphson iteration limit.
        #[arg(long, default_value_t = 30)]
        max_iterations: u32,
        /// Skip Harrell's concordance (O(n log n), the slowest part on large files).
        #[arg(long)]
        no_concordance: bool,
    },
}

pub fn run(args: Args) -> Result<ExitCode> {
    let common = match &args.estimator {
        Estimator::Km { common, .. }
        | Estimator::Logrank { common }
        | Estimator::Cif { common, .. }
        | Estimator::Cox { common, .. } => common,
    };
    // Kaplan-Meier, log-rank and cumulative incidence need only the number of subjects per
    // (time, event, group): the file is counted in pieces on every core and never held whole.
    // Cox regression needs each subject's covariates: the file is read whole.
    let parsed = match &args.estimator {
        Estimator::Cox { .. } => parse_cohort_csv(&read_input(&common.input)?),
        _ => count_input(&common.input)?,
    };
    let cohort = match parsed {
        Ok(c) => c,
        Err(invalid) => return Ok(invalid_input(&common.input, &AnalyticsError::InvalidInput(invalid))),
    };
    let out = match &args.estimator {
        Estimator::Km { common, times } => {
            let options = KaplanMeierOptions { alpha: common.alpha, times: horizons(times) };
            if times.by_group {
                kaplan_meier_by_group(&cohort, &options).map(|r| render("km", common, r.as_slice(), km_text))
            } else {
                kaplan_meier(&cohort, &options).map(|r| render("km", common, std::slice::from_ref(&r), km_text))
            }
        }
        Estimator::Logrank { common } => log_rank_test(&cohort).map(|r| render("logrank", common, &r, logrank_text)),
        Estimator::Cif { common, times, event_of_interest } => {
            let options = CumulativeIncidenceOptions {
                event_of_interest: *event_of_interest,
                alpha: common.alpha,
                times: horizons(times),
            };
            if times.by_group {
                cumulative_incidence_by_group(&cohort, &options).map(|r| render("cif", common, r.as_slice(), cif_text))
            } else {
                cumulative_incidence(&cohort, &options)
                    .map(|r| render("cif", common, std::slice::from_ref(&r), cif_text))
            }
        }
        Estimator::Cox { common, max_iterations, no_concordance } => {
            let options =
                CoxOptions { alpha: common.alpha, max_iterations: *max_iterations, concordance: !no_concordance };
            with_group_indicators(&cohort)
                .and_then(|c| cox_proportional_hazards(&c, &options))
                .map(|r| render("cox", common, &r, cox_text))
        }
    };
    match out {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(invalid_input(&common.input, &e)),
    }
}

/// Bytes read at a time when counting.
const PIECE: usize = 1 << 20;

/// The cohort of a CSV file (or stdin) tallied by time, event and group, one
/// slice of the file per core, read a piece at a time.
fn count_input(path: &Path) -> Result<Result<Cohort, InvalidInput>> {
    if path.as_os_str() == "-" {
        let mut stdin = std::io::stdin().lock();
        let mut head = Vec::new();
        let start = loop {
            let mut piece = vec![0u8; PIECE];
            let n = stdin.read(&mut piece).context("reading stdin")?;
            head.extend_from_slice(&piece[..n]);
            if n == 0 || head.contains(&b'\n') {
                break head.len();
            }
        };
        let (header, consumed) = match read_cohort_csv_header(&head[..start]) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let mut tally = CohortCsvTally::new(&header);
        let mut result = tally.feed(&head[consumed..]);
        let mut piece = vec![0u8; PIECE];
        while result.is_ok() {
            let n = stdin.read(&mut piece).context("reading stdin")?;
            if n == 0 {
                break;
            }
            result = tally.feed(&piece[..n]);
        }
        return Ok(combine_cohort_csv_tallies(&header, vec![result.and_then(|()| tally.finish())]));
    }
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let len = file.metadata().with_context(|| format!("reading {}", path.display()))?.len();
    let read_error = || format!("reading {}", path.display());
    // The header line, then the byte offsets where each core's slice of whole lines starts.
    let header_end = next_line_start(&file, 0, len).with_context(read_error)?;
    let mut head = vec![0u8; header_end as usize];
    file.read_exact_at(&mut head, 0).with_context(read_error)?;
    let (header, consumed) = match read_cohort_csv_header(&head) {
        Ok(h) => h,
        Err(e) => return Ok(Err(e)),
    };
    let start = consumed as u64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let mut bounds = vec![start];
    for k in 1..cores {
        let at = next_line_start(&file, (start + (len - start) * k / cores).max(*bounds.last().unwrap_or(&start)), len)
            .with_context(read_error)?;
        bounds.push(at);
    }
    bounds.push(len);
    bounds.dedup();
    let tallies: Vec<std::io::Result<Result<CohortCsvTally, InvalidInput>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let (file, header, (from, to)) = (&file, &header, (w[0], w[1]));
                scope.spawn(move || -> std::io::Result<Result<CohortCsvTally, InvalidInput>> {
                    let mut tally = CohortCsvTally::new(header);
                    let mut piece = vec![0u8; PIECE];
                    let mut at = from;
                    while at < to {
                        let n = ((to - at) as usize).min(PIECE);
                        file.read_exact_at(&mut piece[..n], at)?;
                        if let Err(e) = tally.feed(&piece[..n]) {
                            return Ok(Err(e));
                        }
                        at += n as u64;
                    }
                    Ok(tally.finish())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let tallies = tallies.into_iter().collect::<std::io::Result<Vec<_>>>().with_context(read_error)?;
    Ok(combine_cohort_csv_tallies(&header, tallies))
}

/// The offset just after the first line feed at or after `from` (the file's
/// length if there is none).
fn next_line_start(file: &std::fs::File, mut from: u64, len: u64) -> std::io::Result<u64> {
    let mut window = [0u8; 4096];
    while from < len {
        let n = ((len - from) as usize).min(window.len());
        file.read_exact_at(&mut window[..n], from)?;
        if let Some(p) = window[..n].iter().position(|&b| b == b'\n') {
            return Ok(from + p as u64 + 1);
        }
        from += n as u64;
    }
    Ok(len)
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn invalid_input(path: &std::path::Path, e: &AnalyticsError) -> ExitCode {
    eprintln!("limbpath: {}: {e}", path.display());
    ExitCode::from(2)
}

fn horizons(times: &Times) -> Vec<f64> {
    if times.times.is_empty() { standard_horizon_days() } else { times.times.clone() }
}

/// The `group` column as indicator covariates, when the file has groups.
fn with_group_indicators(cohort: &Cohort) -> Result<std::borrow::Cow<'_, Cohort>, AnalyticsError> {
    if cohort.group_labels().len() > 1 {
        Ok(std::borrow::Cow::Owned(cohort.with_group_indicators()?))
    } else {
        Ok(std::borrow::Cow::Borrowed(cohort))
    }
}

fn render<T: Serialize + ?Sized>(kind: &str, common: &Common, result: &T, text: fn(&T) -> String) -> String {
    if common.json {
        let doc = serde_json::json!({ "schema": format!("limbpath.analytics.{kind}/1"), "result": result });
        serde_json::to_string_pretty(&doc).expect("results serialise") + "\n"
    } else {
        text(result)
    }
}

/// A number with at most `digits` decimals, or "–" when undefined.
fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_owned(),
    }
}

fn group_heading(out: &mut String, group: &Option<limbpath_analytics::GroupLabel>) {
    if let Some(g) = group {
        let _ = writeln!(out, "group {g}");
    }
}

fn km_text(curves: &[limbpath_analytics::KaplanMeier]) -> String {
    let mut out = String::new();
    for km in curves {
        group_heading(&mut out, &km.group);
        let _ = writeln!(out, "{}", km.method);
        let _ = writeln!(out, "subjects {}, events {}, censored {}", km.n_subjects, km.n_events, km.n_censored);
        let m = &km.median;
        let _ = writeln!(
            out,
            "median survival {} days ({:.0} % CI {} to {})",
            num(m.time, 0),
            km.confidence_level * 100.0,
            num(m.ci_lower, 0),
            num(m.ci_upper, 0)
        );
        let _ = writeln!(out, "{:>8}  {:>9}  {:>19}  {:>9}", "day", "survival", "CI", "at risk");
        for t in &km.at_times {
            let _ = writeln!(
                out,
                "{:>8}  {:>9}  {:>19}  {:>9}",
                num(Some(t.time), 0),
                num(Some(t.survival), 4),
                format!("{} – {}", num(Some(t.ci_lower), 4), num(Some(t.ci_upper), 4)),
                t.n_at_risk
            );
        }
        out.push('\n');
    }
    out
}

fn cif_text(curves: &[limbpath_analytics::CumulativeIncidence]) -> String {
    let mut out = String::new();
    for c in curves {
        group_heading(&mut out, &c.group);
        let _ = writeln!(out, "{}", c.method);
        let _ = writeln!(
            out,
            "subjects {}, events of interest (code {}) {}, competing events {}, censored {}",
            c.n_subjects, c.event_of_interest, c.n_events_of_interest, c.n_competing_events, c.n_censored
        );
        let _ = writeln!(out, "{:>8}  {:>10}  {:>19}  {:>9}", "day", "incidence", "CI", "at risk");
        for t in &c.at_times {
            let _ = writeln!(
                out,
                "{:>8}  {:>10}  {:>19}  {:>9}",
                num(Some(t.time), 0),
                num(Some(t.cumulative_incidence), 4),
                format!("{} – {}", num(t.ci_lower, 4), num(t.ci_upper, 4)),
                t.n_at_risk
            );
        }
        out.push('\n');
    }
    out
}

fn logrank_text(t: &limbpath_analytics::LogRankTest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", t.method);
    let _ = writeln!(out, "{:>10}  {:>9}  {:>9}  {:>12}", "group", "subjects", "observed", "expected");
    for g in &t.groups {
        let _ =
            writeln!(out, "{:>10}  {:>9}  {:>9}  {:>12.2}", g.group.to_string(), g.n_subjects, g.observed, g.expected);
    }
    let _ = writeln!(out, "chi-square {:.4} on {} df, p = {}", t.chi_square, t.degrees_of_freedom, p_value(t.p_value));
    if t.pairwise.len() > 1 {
        let _ = writeln!(out, "pairwise (no adjustment for multiple comparisons):");
        for p in &t.pairwise {
            let _ = writeln!(
                out,
                "  {} vs {}: chi-square {:.4}, p = {}",
                p.group_a,
                p.group_b,
                p.chi_square,
                p_value(p.p_value)
            );
        }
    }
    out
}

fn cox_text(m: &limbpath_analytics::CoxModel) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", m.method);
    let _ = writeln!(out, "subjects {}, events {}, iterations {}", m.n_subjects, m.n_events, m.iterations);
    let level = m.confidence_level * 100.0;
    let _ = writeln!(
        out,
        "{:>16}  {:>10}  {:>8}  {:>8}  {:>21}  {:>10}",
        "covariate",
        "coef",
        "se",
        "HR",
        format!("HR {level:.0} % CI"),
        "p"
    );
    for c in &m.coefficients {
        let _ = writeln!(
            out,
            "{:>16}  {:>10.6}  {:>8.5}  {:>8.4}  {:>21}  {:>10}",
            c.name,
            c.coefficient,
            c.standard_error,
            c.hazard_ratio,
            format!("{:.4} – {:.4}", c.hazard_ratio_ci_lower, c.hazard_ratio_ci_upper),
            p_value(c.p_value)
        );
    }
    let _ = writeln!(
        out,
        "likelihood ratio {:.2} ({} df, p = {}); Wald {:.2}; score {:.2}",
        m.likelihood_ratio_test.chi_square,
        m.likelihood_ratio_test.degrees_of_freedom,
        p_value(m.likelihood_ratio_test.p_value),
        m.wald_test.chi_square,
        m.score_test.chi_square
    );
    if let Some(c) = &m.concordance {
        let _ = writeln!(out, "concordance {:.4}", c.concordance);
    }
    if !m.converged {
        let _ = writeln!(out, "! the iteration limit was reached before convergence: the estimates are not final");
    }
    out
}

/// P-values below double precision's resolution are written as a bound.
fn p_value(p: f64) -> String {
    if p < 1e-16 {
        "< 1e-16".to_owned()
    } else if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}
