//! Charts as SVG, rendered on the server. Pure and deterministic: the same
//! points give the same bytes (no clock, no randomness), so the output is
//! unit-tested and prints the same as it shows. Colours are attributes, not
//! inline styles (the pages' CSP forbids inline styles); lines also differ by
//! dash pattern so a black-and-white print stays readable.

use super::html::{Markup, num};
use crate::{html, markup};

/// One measurement on the percent-area-reduction chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ReductionPoint {
    /// Days since the baseline (first) measurement.
    pub day: i64,
    /// Percent area reduction from the baseline; negative when the wound grew.
    pub percent: f64,
    /// The measurement date, for the tooltip and the text description.
    pub label: String,
}

/// The checkpoint the chart marks: reach `min_percent` by `day`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartCheckpoint {
    pub day: i64,
    pub min_percent: f64,
}

const W: f64 = 520.0;
const H: f64 = 260.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 44.0;

/// The plotted ranges: days 0..x_max, percent y_min..100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes {
    pub x_max: i64,
    pub y_min: f64,
    pub y_max: f64,
}

impl Axes {
    /// Ranges that show every point and the checkpoint: days rounded up to whole
    /// weeks (at least one week past the checkpoint), percent from a multiple of
    /// 25 at or below the lowest point (never above −25) to 100.
    pub fn fit(points: &[ReductionPoint], checkpoint: ChartCheckpoint) -> Axes {
        let last = points.iter().map(|p| p.day).max().unwrap_or(0).max(checkpoint.day + 7);
        let x_max = (last + 6) / 7 * 7;
        let lowest = points.iter().map(|p| p.percent).fold(-25.0_f64, f64::min).max(-400.0);
        let y_min = (lowest / 25.0).floor() * 25.0;
        Axes { x_max, y_min, y_max: 100.0 }
    }

    /// SVG x of a day.
    pub fn x(&self, day: i64) -> f64 {
        let d = day.clamp(0, self.x_max) as f64;
        LEFT + d / self.x_max.max(1) as f64 * (W - LEFT - RIGHT)
    }

    /// SVG y of a percentage.
    pub fn y(&self, percent: f64) -> f64 {
        let p = percent.clamp(self.y_min, self.y_max);
        TOP + (self.y_max - p) / (self.y_max - self.y_min) * (H - TOP - BOTTOM)
    }
}

/// The percent-area-reduction chart of one wound, with the checkpoint marked.
/// `title` names the wound (escaped).
pub fn reduction_chart(title: &str, points: &[ReductionPoint], checkpoint: ChartCheckpoint) -> Markup {
    let axes = Axes::fit(points, checkpoint);
    let mut m = Markup::new();
    html!(
        m,
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        W,
        H,
        format!("Percent area reduction, {title}")
    );
    // Description for screen readers: every point in words.
    let mut desc =
        format!("Target: at least {} % area reduction by day {}. ", num(checkpoint.min_percent, 1), checkpoint.day);
    if points.is_empty() {
        desc.push_str("No measurements yet.");
    }
    for p in points {
        desc.push_str(&format!("Day {} ({}): {} %. ", p.day, p.label, num(p.percent, 1)));
    }
    html!(m, "<desc>{}</desc>", desc);
    // Horizontal grid every 25 %.
    let mut pct = 100.0;
    while pct >= axes.y_min - 1e-9 {
        let y = axes.y(pct);
        let class = if pct == 0.0 { "axis" } else { "grid" };
        html!(
            m,
            "<line class=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>",
            class,
            num(LEFT, 1),
            num(y, 1),
            num(W - RIGHT, 1),
            num(y, 1),
            if pct == 0.0 { "#6b7280" } else { "#d1d5db" }
        );
        html!(
            m,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"#374151\">{} %</text>",
            num(LEFT - 6.0, 1),
            num(y + 4.0, 1),
            num(pct, 0)
        );
        pct -= 25.0;
    }
    // Vertical ticks every week.
    let mut day = 0;
    while day <= axes.x_max {
        let x = axes.x(day);
        html!(
            m,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#6b7280\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">{}</text>",
            num(x, 1),
            num(H - BOTTOM, 1),
            num(x, 1),
            num(H - BOTTOM + 4.0, 1),
            num(x, 1),
            num(H - BOTTOM + 16.0, 1),
            day
        );
        day += 7;
    }
    html!(
        m,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#374151\">days since baseline</text>",
        num((LEFT + W - RIGHT) / 2.0, 1),
        num(H - 6.0, 1)
    );
    // The checkpoint: target line, day line and the target point.
    let (cx, cy) = (axes.x(checkpoint.day), axes.y(checkpoint.min_percent));
    html!(
        m,
        "<g class=\"checkpoint\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#b45309\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
        num(LEFT, 1),
        num(cy, 1),
        num(W - RIGHT, 1),
        num(cy, 1)
    );
    html!(
        m,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#b45309\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>",
        num(cx, 1),
        num(TOP, 1),
        num(cx, 1),
        num(H - BOTTOM, 1)
    );
    html!(
        m,
        "<path d=\"M{} {}l6 6l-6 6l-6 -6z\" fill=\"#b45309\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#92400e\">≥{} % by day {}</text></g>",
        num(cx, 1),
        num(cy - 6.0, 1),
        num(cx + 8.0, 1),
        num(cy - 8.0, 1),
        num(checkpoint.min_percent, 1),
        checkpoint.day
    );
    // The data.
    if points.len() > 1 {
        let pts: Vec<String> =
            points.iter().map(|p| format!("{},{}", num(axes.x(p.day), 1), num(axes.y(p.percent), 1))).collect();
        html!(
            m,
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"#1d4ed8\" stroke-width=\"2.5\"/>",
            pts.join(" ")
        );
    }
    for p in points {
        html!(
            m,
            "<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"#1d4ed8\" stroke=\"#ffffff\" stroke-width=\"1.5\"><title>{}: {} % (day {})</title></circle>",
            num(axes.x(p.day), 1),
            num(axes.y(p.percent), 1),
            p.label,
            num(p.percent, 1),
            p.day
        );
    }
    if points.is_empty() {
        html!(
            m,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#374151\">No measurements yet</text>",
            num(W / 2.0, 1),
            num(H / 2.0, 1)
        );
    }
    m.push(markup!("</svg>"));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const CP: ChartCheckpoint = ChartCheckpoint { day: 28, min_percent: 50.0 };

    fn p(day: i64, percent: f64) -> ReductionPoint {
        ReductionPoint { day, percent, label: format!("d{day}") }
    }

    #[test]
    fn axes_cover_the_checkpoint_and_every_point() {
        // No points: 28 + 7 = 35 days, a whole number of weeks; percent -25..100.
        assert_eq!(Axes::fit(&[], CP), Axes { x_max: 35, y_min: -25.0, y_max: 100.0 });
        // A point at day 40 rounds up to 42; a wound that grew 60 % goes to -75.
        assert_eq!(Axes::fit(&[p(0, 0.0), p(40, -60.0)], CP), Axes { x_max: 42, y_min: -75.0, y_max: 100.0 });
    }

    #[test]
    fn coordinates_map_linearly() {
        let a = Axes { x_max: 35, y_min: -25.0, y_max: 100.0 };
        // Plot area: x 52..500 (448 px), y 18..216 (198 px).
        assert_eq!(a.x(0), 52.0);
        assert_eq!(a.x(35), 500.0);
        assert!((a.x(28) - (52.0 + 28.0 / 35.0 * 448.0)).abs() < 1e-9);
        assert_eq!(a.y(100.0), 18.0);
        assert_eq!(a.y(-25.0), 216.0);
        // 50 % is 50/125 of the way down.
        assert!((a.y(50.0) - (18.0 + 50.0 / 125.0 * 198.0)).abs() < 1e-9);
        // Out-of-range values are clamped to the plot area.
        assert_eq!(a.y(250.0), 18.0);
        assert_eq!(a.x(-3), 52.0);
    }

    #[test]
    fn the_chart_marks_the_checkpoint_and_plots_each_point() {
        let svg = reduction_chart("plantar heel", &[p(0, 0.0), p(14, 30.0), p(28, 55.0)], CP);
        let s = svg.as_str();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        // x of day 28 with x_max 35: 52 + 0.8 * 448 = 410.4; y of 50 %: 97.2.
        assert!(s.contains("x1=\"410.4\" y1=\"18\" x2=\"410.4\" y2=\"216\""), "{s}");
        assert!(s.contains("y1=\"97.2\""), "{s}");
        assert_eq!(s.matches("<circle").count(), 3);
        assert!(s.contains("points=\"52,176.4 231.2,128.9 410.4,89.3\""), "{s}");
        assert!(s.contains("≥50 % by day 28"));
        assert!(s.contains("Day 28 (d28): 55 %."));
        // Deterministic.
        assert_eq!(svg, reduction_chart("plantar heel", &[p(0, 0.0), p(14, 30.0), p(28, 55.0)], CP));
    }

    #[test]
    fn titles_are_escaped_and_empty_charts_say_so() {
        let s = reduction_chart("<b>", &[], CP).into_string();
        assert!(s.contains("&lt;b&gt;") && !s.contains("<b>"));
        assert!(s.contains("No measurements yet"));
        assert!(!s.contains("<polyline"));
    }
}
