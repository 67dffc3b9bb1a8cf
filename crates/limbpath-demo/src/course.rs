//! Wound courses: dated measurements following a trajectory.
//!
//! Demo trajectories (not clinical data): "fast" wounds lose 55–85 % of their
//! area by week 4 and heal; "slow" ones lose 15–45 % by week 4 and heal much
//! later; "stalled" ones stay within about ±10 %; "worse" ones grow 12–60 % by
//! week 4. The weekly factor is the fourth root of the week-4 ratio, taken
//! with two square roots so that every platform computes the same bits.

use crate::draft::{MeasurementDraft, WoundDraft};
use crate::rng::Rng;
use limbpath_clinical::angiosome::WoundLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trajectory {
    Fast,
    Slow,
    Stalled,
    Worse,
}

/// A trajectory with `fast` the share of fast healers; the rest split
/// slow 25 : stalled 20 : worse 10.
pub(crate) fn trajectory(rng: &mut Rng, fast: f64) -> Trajectory {
    let fast = fast.clamp(0.02, 0.9);
    let rest = 1.0 - fast;
    let w = |x: f64| (x * 1000.0).round() as u32;
    rng.weighted(&[
        (Trajectory::Fast, w(fast)),
        (Trajectory::Slow, w(rest * 25.0 / 55.0)),
        (Trajectory::Stalled, w(rest * 20.0 / 55.0)),
        (Trajectory::Worse, w(rest * 10.0 / 55.0)),
    ])
}

fn round1(x: f64) -> f64 {
    ((x * 10.0).round() / 10.0).max(0.1)
}

/// Healing is reached when the area is down to 3 % of the baseline.
const HEALED_FRACTION: f64 = 0.03;

/// A wound first seen on `noted` with `area` cm², measured 2–8 times at 1–3
/// week intervals until it heals (or the measurements planned are done). The
/// wound's `end` (an amputation) is applied when the episode is finished; the
/// second measurement is brought forward to fall by `fit_by` (the end, death
/// or the cut-off) when that is at least a week away.
#[allow(clippy::too_many_arguments)]
pub(crate) fn wound(
    rng: &mut Rng,
    location: WoundLocation,
    noted: i32,
    area: f64,
    depth: Option<f64>,
    trajectory: Trajectory,
    description: String,
    end: i32,
    fit_by: i32,
) -> WoundDraft {
    let week4_ratio = match trajectory {
        Trajectory::Fast => 1.0 - rng.uniform(0.55, 0.85),
        Trajectory::Slow => 1.0 - rng.uniform(0.15, 0.45),
        Trajectory::Stalled => 1.0 - rng.uniform(-0.08, 0.12),
        Trajectory::Worse => 1.0 + rng.uniform(0.12, 0.6),
    };
    let weekly = week4_ratio.sqrt().sqrt();
    let heal_week = if matches!(trajectory, Trajectory::Fast | Trajectory::Slow) {
        let mut f = 1.0;
        let mut w = 0;
        while f > HEALED_FRACTION && w < 520 {
            f *= weekly;
            w += 1;
        }
        Some(w)
    } else {
        None
    };
    let planimetry = rng.chance(0.4);
    let aspect = rng.uniform(1.0, 2.5);
    let n = rng.weighted(&[(2usize, 10), (3, 15), (4, 20), (5, 20), (6, 15), (7, 10), (8, 10)]);
    // The weeks measured: spread over the course of a healing wound (clinic
    // visits thin out on a long course); every 1–3 weeks for one that does not heal.
    let mut weeks: Vec<i32> = match heal_week {
        Some(h) => {
            let n = n.min(h.max(1) as usize).max(1) as i32;
            if n == 1 { vec![0] } else { (0..n).map(|k| k * (h - 1) / (n - 1)).collect() }
        }
        None => {
            let mut w = 0;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(w);
                w += rng.weighted(&[(1, 40), (2, 40), (3, 20)]);
            }
            v
        }
    };
    // Bring the second visit forward when the wound's course is cut short.
    let room = ((i64::from(fit_by.min(end)) - i64::from(noted)) / 7).clamp(1, 520) as i32;
    if weeks.len() >= 2 && weeks[1] > room {
        weeks[1] = room;
    }
    let mut measurements = Vec::with_capacity(weeks.len());
    let mut factor = 1.0; // weekly^week
    let mut at = 0;
    for week in weeks {
        while at < week {
            factor *= weekly;
            at += 1;
        }
        let noise = if week == 0 { 1.0 } else { rng.uniform(0.95, 1.05) };
        let a = (area * factor * noise).clamp(0.05, (area * 4.0).min(400.0));
        let length = (a * aspect).sqrt();
        let width = a / length;
        measurements.push(MeasurementDraft {
            day: noted + week * 7,
            length: round1(length),
            width: round1(width),
            depth: depth.map(|d| round1(d * (a / area).sqrt().clamp(0.3, 1.5))),
            area: planimetry.then(|| round1(a)),
        });
    }
    let healed = heal_week.map(|h| noted + h * 7 + rng.days(0, 6));
    WoundDraft { location, noted, description, healed, end, measurements }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_wounds_halve_by_week_four_and_heal() {
        let mut rng = Rng::new(3, 4);
        for _ in 0..500 {
            let w = wound(
                &mut rng,
                WoundLocation::Dorsum,
                1000,
                8.0,
                Some(1.0),
                Trajectory::Fast,
                String::new(),
                i32::MAX,
                i32::MAX,
            );
            assert!((2..=8).contains(&w.measurements.len()));
            let first = &w.measurements[0];
            let base = first.length * first.width;
            let healed = w.healed.unwrap();
            assert!(w.measurements.iter().all(|m| m.day < healed));
            assert!(w.measurements.windows(2).all(|p| p[0].day < p[1].day));
            if let Some(m) = w.measurements.iter().find(|m| m.day - 1000 >= 28) {
                // From the unrounded model: ≥55 % less area at week 4, ±5 % noise,
                // so clearly more than 50 % even after rounding lengths.
                assert!(m.length * m.width < base * 0.6, "{} vs {base}", m.length * m.width);
            }
        }
    }

    #[test]
    fn stalled_and_worse_wounds_do_not_heal() {
        let mut rng = Rng::new(3, 5);
        for t in [Trajectory::Stalled, Trajectory::Worse] {
            let w = wound(&mut rng, WoundLocation::Dorsum, 1000, 8.0, None, t, String::new(), i32::MAX, i32::MAX);
            assert!(w.healed.is_none());
            assert!((2..=8).contains(&w.measurements.len()));
        }
    }
}
