//! The programme's outcome charts as SVG, rendered on the server (the
//! dashboard and `limbpath report` share them): step curves with confidence
//! bands (Kaplan-Meier survival, Aalen-Johansen cumulative incidence), the
//! numbers-at-risk table, a forest plot of hazard ratios and a funnel plot.
//! Pure and deterministic; colours are attributes (no inline styles, the CSP
//! forbids them) and every series also has its own dash pattern so a
//! black-and-white print stays readable.

use super::html::{Markup, num};
use crate::{html, markup};
use limbpath_analytics::programme::Benchmark;
use limbpath_analytics::{CoxCoefficient, CumulativeIncidence, KaplanMeier};

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

const COLOURS: [&str; 8] = ["#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4b5563"];
const DASHES: [&str; 8] = ["", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 2 1 2", "3 5"];

/// The reporting times the x axis is marked at (days) and their labels.
pub const TICKS: [(f64, &str); 7] =
    [(0.0, "0"), (182.0, "6 mo"), (365.0, "1 y"), (730.0, "2 y"), (1095.0, "3 y"), (1460.0, "4 y"), (1825.0, "5 y")];

/// One curve: (time, estimate, lower, upper) at each step, ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    pub steps: Vec<(f64, f64, Option<f64>, Option<f64>)>,
}

impl Curve {
    pub fn from_km(km: &KaplanMeier) -> Curve {
        Curve {
            label: km.group.as_ref().map_or("all".to_owned(), |g| g.to_string()),
            steps: km.steps.iter().map(|s| (s.time, s.survival, Some(s.ci_lower), Some(s.ci_upper))).collect(),
        }
    }

    pub fn from_cif(c: &CumulativeIncidence) -> Curve {
        Curve {
            label: c.group.as_ref().map_or("all".to_owned(), |g| g.to_string()),
            steps: c.steps.iter().map(|s| (s.time, s.cumulative_incidence, s.ci_lower, s.ci_upper)).collect(),
        }
    }
}

fn x_of(t: f64, x_max: f64) -> f64 {
    LEFT + t.clamp(0.0, x_max) / x_max * (W - LEFT - RIGHT)
}

fn y_of(v: f64) -> f64 {
    TOP + (1.0 - v.clamp(0.0, 1.0)) * (H - TOP - BOTTOM)
}

/// Step curves with 95 % bands, y from 0 to 100 %, x from 0 to 5 years (or
/// less when follow-up is shorter). `start` is the value at time 0 (1 for
/// survival, 0 for incidence).
pub fn step_chart(title: &str, y_label: &str, curves: &[Curve], start: f64) -> Markup {
    let longest = curves.iter().flat_map(|c| c.steps.last()).map(|s| s.0).fold(0.0, f64::max);
    let x_max = TICKS.iter().map(|t| t.0).find(|&t| t >= longest).unwrap_or(1825.0).max(182.0);
    let mut m = Markup::new();
    html!(
        m,
        "<svg class=\"chart outcome-chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        W,
        H,
        title
    );
    let mut desc = format!("{title}. ");
    for c in curves {
        let at = |t: f64| c.steps.iter().take_while(|s| s.0 <= t).last().map_or(start, |s| s.1);
        desc.push_str(&format!("{}: {} % at 1 year. ", c.label, num(at(365.0) * 100.0, 1)));
    }
    html!(m, "<desc>{}</desc>", desc);
    for pct in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = y_of(pct);
        html!(
            m,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"#374151\">{} %</text>",
            num(LEFT, 1),
            num(y, 1),
            num(W - RIGHT, 1),
            num(y, 1),
            if pct == 0.0 { "#6b7280" } else { "#e5e7eb" },
            num(LEFT - 6.0, 1),
            num(y + 4.0, 1),
            num(pct * 100.0, 0)
        );
    }
    for (t, label) in TICKS.iter().filter(|t| t.0 <= x_max) {
        let x = x_of(*t, x_max);
        html!(
            m,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#6b7280\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">{}</text>",
            num(x, 1),
            num(H - BOTTOM, 1),
            num(x, 1),
            num(H - BOTTOM + 4.0, 1),
            num(x, 1),
            num(H - BOTTOM + 16.0, 1),
            *label
        );
    }
    html!(
        m,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">time from the index date</text><text x=\"12\" y=\"{}\" font-size=\"11\" fill=\"#374151\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">{}</text>",
        num((LEFT + W - RIGHT) / 2.0, 1),
        num(H - 6.0, 1),
        num((TOP + H - BOTTOM) / 2.0, 1),
        num((TOP + H - BOTTOM) / 2.0, 1),
        y_label
    );
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let dash = DASHES[i % DASHES.len()];
        // The band: upper edge forward, lower edge back, as steps.
        let mut upper = Vec::new();
        let mut lower = Vec::new();
        let (mut pu, mut pl) = (start, start);
        for s in c.steps.iter().filter(|s| s.0 <= x_max) {
            let (Some(lo), Some(hi)) = (s.2, s.3) else { continue };
            let x = num(x_of(s.0, x_max), 1);
            upper.push(format!("{x},{} {x},{}", num(y_of(pu), 1), num(y_of(hi), 1)));
            lower.push(format!("{x},{} {x},{}", num(y_of(pl), 1), num(y_of(lo), 1)));
            pu = hi;
            pl = lo;
        }
        if !upper.is_empty() {
            let end = num(x_of(c.steps.last().map_or(0.0, |s| s.0).min(x_max), x_max), 1);
            lower.reverse();
            let lower: Vec<String> =
                lower.iter().map(|pair| pair.split(' ').rev().collect::<Vec<_>>().join(" ")).collect();
            html!(
                m,
                "<polygon class=\"ci-band\" points=\"{},{} {} {},{} {},{} {} {},{}\" fill=\"{}\" fill-opacity=\"0.13\" stroke=\"none\"/>",
                num(LEFT, 1),
                num(y_of(start), 1),
                upper.join(" "),
                end,
                num(y_of(pu), 1),
                end,
                num(y_of(pl), 1),
                lower.join(" "),
                num(LEFT, 1),
                num(y_of(start), 1),
                colour
            );
        }
        let mut pts = vec![format!("{},{}", num(LEFT, 1), num(y_of(start), 1))];
        let mut prev = start;
        for s in c.steps.iter().filter(|s| s.0 <= x_max) {
            let x = num(x_of(s.0, x_max), 1);
            pts.push(format!("{x},{} {x},{}", num(y_of(prev), 1), num(y_of(s.1), 1)));
            prev = s.1;
        }
        let last = c.steps.last().map_or(0.0, |s| s.0).min(x_max);
        pts.push(format!("{},{}", num(x_of(last, x_max), 1), num(y_of(prev), 1)));
        html!(
            m,
            "<polyline class=\"curve\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>",
            pts.join(" "),
            colour,
            dash
        );
        let ly = TOP + 8.0 + 16.0 * i as f64;
        html!(
            m,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#111827\">{}</text>",
            num(W - RIGHT + 10.0, 1),
            num(ly, 1),
            num(W - RIGHT + 34.0, 1),
            num(ly, 1),
            colour,
            dash,
            num(W - RIGHT + 38.0, 1),
            num(ly + 4.0, 1),
            c.label
        );
    }
    if curves.is_empty() {
        html!(
            m,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">No episodes</text>",
            W / 2.0,
            H / 2.0
        );
    }
    m.push(markup!("</svg>"));
    m
}

/// Numbers at risk at the reporting times, one row per curve.
pub fn at_risk_table(curves: &[KaplanMeier]) -> Markup {
    let mut m =
        markup!("<table class=\"at-risk\"><caption>Numbers at risk</caption><thead><tr><th scope=\"col\">Group</th>");
    let times = [0.0, 30.0, 182.0, 365.0, 730.0, 1825.0];
    for t in ["0", "30 d", "6 mo", "1 y", "2 y", "5 y"] {
        html!(m, "<th scope=\"col\">{}</th>", t);
    }
    html!(m, "</tr></thead><tbody>");
    for km in curves {
        html!(m, "<tr><th scope=\"row\">{}</th>", km.group.as_ref().map_or("all".to_owned(), |g| g.to_string()));
        for t in times {
            // Subjects with duration >= t: all at 0; else from the reported times or the steps.
            let n = if t == 0.0 {
                km.n_subjects
            } else {
                km.at_times
                    .iter()
                    .find(|a| a.time == t)
                    .map_or_else(|| km.steps.iter().find(|s| s.time >= t).map_or(0, |s| s.n_at_risk), |a| a.n_at_risk)
            };
            html!(m, "<td>{}</td>", n);
        }
        html!(m, "</tr>");
    }
    html!(m, "</tbody></table>");
    m
}

/// Survival (or incidence) with 95 % CI at the standard horizons, per curve.
/// What a horizon table shows at a time no one in the group was followed to.
pub const BEYOND_FOLLOW_UP: &str = "beyond follow-up";

/// Estimates at 30 days to 5 years per group, with medians. A time that no
/// subject of the group reached (none at risk) shows [`BEYOND_FOLLOW_UP`].
pub fn horizon_table(curves: &[KaplanMeier], incidence: bool) -> Markup {
    let mut m = markup!(
        "<table class=\"horizons\"><thead><tr><th scope=\"col\">Group</th><th scope=\"col\">Episodes</th><th scope=\"col\">Events</th><th scope=\"col\">Median (95 % CI), days</th>"
    );
    for l in ["30 d", "6 mo", "1 y", "2 y", "5 y"] {
        html!(m, "<th scope=\"col\">{}</th>", l);
    }
    html!(m, "</tr></thead><tbody>");
    for km in curves {
        let med = |v: Option<f64>| v.map_or("not reached".to_owned(), |v| num(v, 0));
        html!(
            m,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{} ({} to {})</td>",
            km.group.as_ref().map_or("all".to_owned(), |g| g.to_string()),
            km.n_subjects,
            km.n_events,
            med(km.median.time),
            med(km.median.ci_lower),
            med(km.median.ci_upper)
        );
        for a in &km.at_times {
            // Nobody is followed that long: the estimator carries its last
            // value forward (as lifelines does), but that is no estimate.
            if a.n_at_risk == 0 {
                html!(m, "<td class=\"beyond\">{}</td>", BEYOND_FOLLOW_UP);
                continue;
            }
            let (v, lo, hi) = if incidence {
                (1.0 - a.survival, 1.0 - a.ci_upper, 1.0 - a.ci_lower)
            } else {
                (a.survival, a.ci_lower, a.ci_upper)
            };
            html!(m, "<td>{} % ({}–{})</td>", num(v * 100.0, 1), num(lo * 100.0, 1), num(hi * 100.0, 1));
        }
        html!(m, "</tr>");
    }
    html!(m, "</tbody></table>");
    m
}

/// A forest plot of hazard ratios with 95 % CIs on a log scale.
pub fn forest_plot(title: &str, coefficients: &[CoxCoefficient]) -> Markup {
    let label_w = 250.0;
    let w = 640.0;
    let row = 24.0;
    let h = 40.0 + row * coefficients.len() as f64;
    let finite = |v: f64| v.is_finite() && v > 0.0;
    let lo = coefficients.iter().map(|c| c.hazard_ratio_ci_lower).filter(|v| finite(*v)).fold(0.5, f64::min);
    let hi = coefficients.iter().map(|c| c.hazard_ratio_ci_upper).filter(|v| finite(*v)).fold(2.0, f64::max);
    let (llo, lhi) = (lo.ln().floor().min(-0.7), hi.ln().ceil().max(0.7));
    let x = |hr: f64| label_w + (hr.max(1e-300).ln().clamp(llo, lhi) - llo) / (lhi - llo) * (w - label_w - 150.0);
    let mut m = Markup::new();
    html!(
        m,
        "<svg class=\"chart forest-plot\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        w,
        num(h, 0),
        title
    );
    let mut desc = format!("{title}. ");
    for c in coefficients {
        desc.push_str(&format!(
            "{}: HR {} (95 % CI {}–{}). ",
            c.name,
            num(c.hazard_ratio, 2),
            num(c.hazard_ratio_ci_lower, 2),
            num(c.hazard_ratio_ci_upper, 2)
        ));
    }
    html!(m, "<desc>{}</desc>", desc);
    html!(
        m,
        "<line x1=\"{}\" y1=\"8\" x2=\"{}\" y2=\"{}\" stroke=\"#6b7280\" stroke-dasharray=\"4 3\"/>",
        num(x(1.0), 1),
        num(x(1.0), 1),
        num(h - 24.0, 1)
    );
    for hr in [0.25f64, 0.5, 1.0, 2.0, 4.0, 8.0] {
        if hr.ln() >= llo && hr.ln() <= lhi {
            html!(
                m,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">{}</text>",
                num(x(hr), 1),
                num(h - 8.0, 1),
                num(hr, 2)
            );
        }
    }
    for (i, c) in coefficients.iter().enumerate() {
        let y = 20.0 + row * i as f64;
        html!(
            m,
            "<text x=\"4\" y=\"{}\" font-size=\"12\" fill=\"#111827\">{}</text><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#111827\" stroke-width=\"1.5\"/><rect x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"#1d4ed8\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#111827\">{} ({}–{})</text>",
            num(y + 4.0, 1),
            c.name,
            num(x(c.hazard_ratio_ci_lower), 1),
            num(y, 1),
            num(x(c.hazard_ratio_ci_upper), 1),
            num(y, 1),
            num(x(c.hazard_ratio) - 4.0, 1),
            num(y - 4.0, 1),
            num(w - 140.0, 1),
            num(y + 4.0, 1),
            num(c.hazard_ratio, 2),
            num(c.hazard_ratio_ci_lower, 2),
            num(c.hazard_ratio_ci_upper, 2)
        );
    }
    m.push(markup!("</svg>"));
    m
}

/// One point of the funnel curves: (expected, lower 95, upper 95, lower 99.8, upper 99.8).
type FunnelRow = (f64, f64, f64, f64, f64);

/// A funnel plot: observed/expected by site against the expected count, with
/// the exact Poisson 95 % and 99.8 % control limits.
pub fn funnel_plot(b: &Benchmark) -> Markup {
    let (w, h) = (640.0, 320.0);
    let (left, right, top, bottom) = (56.0, 20.0, 16.0, 44.0);
    let e_max = b.funnel.last().map_or(1.0, |f| f.0).max(1.0);
    let r_max = b
        .sites
        .iter()
        .map(|s| s.ratio)
        .chain(b.funnel.iter().filter(|f| f.0 >= e_max * 0.1).map(|f| f.4))
        .fold(2.0, f64::max)
        .min(6.0);
    let x = |e: f64| left + (e / e_max).clamp(0.0, 1.0) * (w - left - right);
    let y = |r: f64| top + (1.0 - (r / r_max).clamp(0.0, 1.0)) * (h - top - bottom);
    let mut m = Markup::new();
    html!(
        m,
        "<svg class=\"chart funnel-plot\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Funnel plot of observed/expected 1-year major amputation by site\" xmlns=\"http://www.w3.org/2000/svg\">",
        w,
        h
    );
    let mut desc = String::from("Observed/expected 1-year major amputation by site. ");
    for s in &b.sites {
        desc.push_str(&format!(
            "{}: {} observed, {} expected, ratio {} ({}). ",
            s.site,
            s.observed,
            num(s.expected, 1),
            num(s.ratio, 2),
            s.position
        ));
    }
    html!(m, "<desc>{}</desc>", desc);
    for r in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0].into_iter().filter(|r| *r <= r_max) {
        html!(
            m,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"#374151\">{}</text>",
            left,
            num(y(r), 1),
            w - right,
            num(y(r), 1),
            if r == 1.0 { "#111827" } else { "#e5e7eb" },
            left - 6.0,
            num(y(r) + 4.0, 1),
            num(r, 1)
        );
    }
    let line = |f: &dyn Fn(&FunnelRow) -> f64| {
        b.funnel.iter().map(|p| format!("{},{}", num(x(p.0), 1), num(y(f(p)), 1))).collect::<Vec<_>>().join(" ")
    };
    for (pts, dash, colour) in [
        (line(&|p| p.1), "5 3", "#b45309"),
        (line(&|p| p.2), "5 3", "#b45309"),
        (line(&|p| p.3), "1 2", "#b91c1c"),
        (line(&|p| p.4), "1 2", "#b91c1c"),
    ] {
        html!(
            m,
            "<polyline class=\"control-limit\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"{}\"/>",
            pts,
            colour,
            dash
        );
    }
    for s in &b.sites {
        html!(
            m,
            "<circle class=\"site\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" stroke=\"#ffffff\"><title>{}: O/E {} (O {}, E {}; {})</title></circle><text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#111827\">{}</text>",
            num(x(s.expected), 1),
            num(y(s.ratio), 1),
            if s.position == "within" { "#1d4ed8" } else { "#b91c1c" },
            s.site,
            num(s.ratio, 2),
            s.observed,
            num(s.expected, 1),
            s.position,
            num(x(s.expected) + 7.0, 1),
            num(y(s.ratio) + 3.0, 1),
            s.site
        );
    }
    html!(
        m,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">expected 1-year major amputations (E); dashed 95 %, dotted 99.8 % limits</text>",
        num((left + w - right) / 2.0, 1),
        h - 8.0
    );
    m.push(markup!("</svg>"));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_start_at_the_start_and_step() {
        let c = Curve { label: "A<".into(), steps: vec![(365.0, 0.5, Some(0.4), Some(0.6))] };
        let s = step_chart("t", "y", &[c], 1.0).into_string();
        // x_max 365: the step is at the right edge (x 490), y of 0.5 = 16 + 0.5*260 = 146.
        assert!(s.contains("points=\"56,16 490,16 490,146 490,146\""), "{s}");
        assert!(s.contains("class=\"ci-band\""));
        assert!(s.contains("A&lt;") && !s.contains("A<"));
        assert!(s.contains("A&lt;: 50 % at 1 year."));
    }

    #[test]
    fn a_horizon_past_everyone_s_follow_up_has_no_estimate() {
        use limbpath_analytics::{CohortBuilder, KaplanMeierOptions, Subject, kaplan_meier, standard_horizon_days};
        // Followed 400 days at most: 30 d, 6 mo and 1 y have subjects at risk, 2 y and 5 y none.
        let mut b = CohortBuilder::new();
        for (d, e) in [(20.0, 1), (100.0, 0), (200.0, 1), (400.0, 0)] {
            b.push(Subject { duration_days: d, event: e, covariates: &[] }, None).unwrap();
        }
        let options = KaplanMeierOptions { times: standard_horizon_days(), ..KaplanMeierOptions::default() };
        let km = kaplan_meier(&b.build().unwrap(), &options).unwrap();
        let html = horizon_table(&[km], false).into_string();
        assert_eq!(html.matches(BEYOND_FOLLOW_UP).count(), 2, "{html}");
        assert_eq!(html.matches(" % (").count(), 3, "{html}");
    }

    #[test]
    fn forest_plot_marks_one_and_each_ratio() {
        let c = CoxCoefficient {
            name: "dialysis".into(),
            coefficient: 2f64.ln(),
            standard_error: 0.1,
            hazard_ratio: 2.0,
            hazard_ratio_ci_lower: 1.5,
            hazard_ratio_ci_upper: 2.5,
            z: 6.9,
            p_value: 0.0,
        };
        let s = forest_plot("HR", &[c]).into_string();
        assert!(s.contains("dialysis: HR 2 (95 % CI 1.5–2.5)."));
        assert_eq!(s.matches("<rect").count(), 1);
    }
}
