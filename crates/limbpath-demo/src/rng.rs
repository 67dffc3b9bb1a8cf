//! A small counter-based generator: SplitMix64 over (seed, index, k).
//!
//! Self-contained on purpose: the cohort must not change when a dependency is
//! upgraded. Only integer arithmetic, IEEE-754 `+ - * /` and `sqrt` are used
//! on the draws (no `ln`/`exp`/`powf`, whose last bit may differ between
//! platforms' maths libraries), so a record is bit-identical on every machine.

pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijection on u64.
pub(crate) fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The k-th draw of record `index` is `mix(key + (k + 1) · φ)`, where `key`
/// depends only on (seed, index): records are independent of each other.
pub(crate) struct Rng {
    key: u64,
    k: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64, index: u64) -> Rng {
        let key = mix(seed.wrapping_add(mix(index.wrapping_add(1).wrapping_mul(GOLDEN))));
        Rng { key, k: 0 }
    }

    pub(crate) fn u64(&mut self) -> u64 {
        self.k = self.k.wrapping_add(1);
        mix(self.key.wrapping_add(self.k.wrapping_mul(GOLDEN)))
    }

    /// Uniform in (0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        ((self.u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64 + 1;
        // Lemire's multiply-shift; the bias for spans this small is negligible.
        lo + ((u128::from(self.u64()) * u128::from(span)) >> 64) as i64
    }

    /// Uniform day offset in `lo..=hi` days.
    pub(crate) fn days(&mut self, lo: i32, hi: i32) -> i32 {
        self.int(i64::from(lo), i64::from(hi)) as i32
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Triangular-ish: the mean of two uniforms in `[lo, hi)` (mode at the middle).
    pub(crate) fn hump(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.unit() + self.unit()) / 2.0
    }

    /// A value with one decimal in `[lo, hi]`, computed from integer tenths so
    /// it prints as written (37.4, not 37.400000000000006).
    pub(crate) fn tenth(&mut self, lo: f64, hi: f64) -> f64 {
        let lo10 = (lo * 10.0).round() as i64;
        let hi10 = (hi * 10.0).round() as i64;
        self.int(lo10, hi10) as f64 / 10.0
    }

    /// A whole number in `lo..=hi`, as f64 (pressures, counts).
    pub(crate) fn whole(&mut self, lo: i64, hi: i64) -> f64 {
        self.int(lo, hi) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let i = self.int(0, items.len() as i64 - 1) as usize;
        items[i.min(items.len() - 1)]
    }

    /// Pick by integer weights (a zero weight is never picked unless all are zero).
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return items[0].0;
        }
        let mut r = self.int(0, total as i64 - 1) as u64;
        for (item, w) in items {
            let w = u64::from(*w);
            if r < w {
                return *item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_only_on_seed_index_and_counter() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, 42);
            (0..5).map(|_| r.u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7, 42);
            (0..5).map(|_| r.u64()).collect()
        };
        assert_eq!(a, b);
        let mut c = Rng::new(7, 43);
        assert_ne!(a[0], c.u64());
        let mut d = Rng::new(8, 42);
        assert_ne!(a[0], d.u64());
    }

    #[test]
    fn helpers_stay_in_range() {
        let mut r = Rng::new(1, 2);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!(u > 0.0 && u < 1.0);
            let i = r.int(-3, 5);
            assert!((-3..=5).contains(&i));
            let t = r.tenth(36.1, 37.9);
            assert!((36.1..=37.9).contains(&t));
            assert_eq!(t, (t * 10.0).round() / 10.0);
        }
        assert_eq!(r.int(4, 4), 4);
        assert_eq!(r.weighted(&[('a', 0), ('b', 3)]), 'b');
    }
}
