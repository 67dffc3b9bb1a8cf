//! The reproducible synthetic survival cohort of `shared/bench/cohort.md`,
//! for benchmarks and cross-checks against lifelines and R on identical data
//! without shipping large files. Row i depends only on (seed, i).
//!
//! The cohort is synthetic: its group means are benchmark parameters, not
//! clinical numbers.

use crate::cohort::{Cohort, CohortBuilder, GroupLabel};
use crate::error::InvalidInput;

/// The seed whose CSV hashes `shared/bench/cohort.md` prints.
pub const REFERENCE_SEED: u64 = 20240601;

/// The CSV header line of the synthetic cohort (LF-terminated).
pub const SYNTHETIC_CSV_HEADER: &str = "id,group,duration_days,event\n";

// Benchmark parameters from shared/bench/cohort.md (not clinical numbers).
const MEAN_EVENT_DAYS: [f64; 4] = [600.0, 900.0, 1400.0, 2500.0];
const MEAN_LOSS_TO_FOLLOW_UP_DAYS: f64 = 3000.0;
const ADMINISTRATIVE_CENSORING_DAYS: f64 = 1825.0;
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// One row of the synthetic cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticRow {
    /// i + 1.
    pub id: u64,
    /// 0..=3.
    pub group: u8,
    /// max(1, ceil(min(T, C))) whole days.
    pub duration_days: u32,
    /// T <= C.
    pub event: bool,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn draw(seed: u64, i: u64, k: u64) -> u64 {
    mix(seed.wrapping_add(i.wrapping_mul(4).wrapping_add(k).wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

fn uniform(seed: u64, i: u64, k: u64) -> f64 {
    ((draw(seed, i, k) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Row `i` (0-based) of the cohort with `seed`.
pub fn synthetic_row(seed: u64, i: u64) -> SyntheticRow {
    let group = (draw(seed, i, 0) % 4) as u8;
    let t = -uniform(seed, i, 1).ln() * MEAN_EVENT_DAYS[group as usize];
    let c = (-uniform(seed, i, 2).ln() * MEAN_LOSS_TO_FOLLOW_UP_DAYS).min(ADMINISTRATIVE_CENSORING_DAYS);
    // min(T, C) <= 1825, so the day count fits easily.
    let duration_days = t.min(c).ceil().max(1.0) as u32;
    SyntheticRow { id: i.wrapping_add(1), group, duration_days, event: t <= c }
}

/// Append rows `rows` of the cohort's CSV (no header) to `out`.
pub fn append_synthetic_csv_rows(seed: u64, rows: std::ops::Range<u64>, out: &mut Vec<u8>) {
    for i in rows {
        let r = synthetic_row(seed, i);
        push_decimal(out, r.id);
        out.push(b',');
        out.push(b'0' + r.group);
        out.push(b',');
        push_decimal(out, u64::from(r.duration_days));
        out.push(b',');
        out.push(if r.event { b'1' } else { b'0' });
        out.push(b'\n');
    }
}

/// The cohort's first `n` rows as CSV text, header included.
pub fn synthetic_csv(seed: u64, n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SYNTHETIC_CSV_HEADER.len() + (n as usize).saturating_mul(20));
    out.extend_from_slice(SYNTHETIC_CSV_HEADER.as_bytes());
    append_synthetic_csv_rows(seed, 0..n, &mut out);
    out
}

/// The cohort's first `n` rows in memory, grouped by `group` (labels 0..=3),
/// without covariates. Fails only beyond [`Cohort`]'s 4,294,967,295 subjects.
pub fn synthetic_cohort(seed: u64, n: u64) -> Result<Cohort, InvalidInput> {
    let mut b = CohortBuilder::new();
    b.reserve(n as usize);
    let labels: Vec<u32> = (0..4).map(|g| b.add_label(GroupLabel::Number(g))).collect();
    for i in 0..n {
        let r = synthetic_row(seed, i);
        b.push_checked(f64::from(r.duration_days), u8::from(r.event), labels[r.group as usize], &[]);
    }
    b.build()
}

fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn ten_thousand_rows_hash_as_cohort_md_prints() {
        // shared/bench/cohort.md: "10,000 rows: 2532496c...": the specification's own hash,
        // computed by whoever wrote the specification, not by this crate.
        let csv = synthetic_csv(REFERENCE_SEED, 10_000);
        assert_eq!(hex(&Sha256::digest(&csv)), "2532496c0bf7e6db26f390ae5a58ef040bd82308ae19eacb17e19f4fe1eefde4");
    }

    #[test]
    fn rows_are_a_prefix_and_in_range() {
        let a = synthetic_csv(REFERENCE_SEED, 50);
        let b = synthetic_csv(REFERENCE_SEED, 100);
        assert!(b.starts_with(&a));
        for i in 0..1000 {
            let r = synthetic_row(REFERENCE_SEED, i);
            assert!(r.group < 4 && (1..=1825).contains(&r.duration_days));
            assert!(r.event || r.duration_days > 0);
        }
    }

    #[test]
    fn the_in_memory_cohort_equals_the_parsed_csv() {
        let csv = synthetic_csv(REFERENCE_SEED, 500);
        let parsed = crate::parse_cohort_csv(&csv).unwrap();
        assert_eq!(parsed, synthetic_cohort(REFERENCE_SEED, 500).unwrap());
    }
}
