//! Deterministic ids and timestamps.
//!
//! Ids are UUIDv7-shaped: the first 48 bits are the record's `created_at_ms`
//! (so ids sort by creation time, as the store's do), then the version nibble
//! 7, 74 "random" bits and the RFC 9562 variant. The random bits are a
//! bijection of (index, k) keyed by the seed, so ids are unique within a seed
//! by construction (for index < 2^48 and fewer than 65,536 ids per patient),
//! not merely with high probability.

use crate::rng::{GOLDEN, mix};
use limbpath_clinical::InvalidInput;
use limbpath_record::Date;

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JD: i64 = 2_440_588;
const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the Unix epoch at `minute` past midnight (UTC) of day `jd`.
pub(crate) fn ms(jd: i32, minute: i32) -> i64 {
    (i64::from(jd) - UNIX_EPOCH_JD) * DAY_MS + i64::from(minute) * 60_000
}

/// A day number as a `Date`; the generator only makes days from 1900 to 2030,
/// but a bad day is still an error, never a panic.
pub(crate) fn date(field: &str, jd: i32) -> Result<Date, InvalidInput> {
    Date::from_julian_day(jd)
        .map_err(|_| InvalidInput::out_of_range(field, jd, "a Julian day the calendar can represent"))
}

pub(crate) struct Ids {
    key: u64,
    tag: u64,
    index: u64,
    k: u64,
}

impl Ids {
    pub(crate) fn new(seed: u64, index: u64) -> Ids {
        Ids { key: mix(seed ^ 0x05EE_D1D5_u64.wrapping_mul(GOLDEN)), tag: mix(seed) >> 54, index, k: 0 }
    }

    /// The next id, stamped with `created_ms`.
    pub(crate) fn next(&mut self, created_ms: i64) -> String {
        let counter = (self.index << 16) | (self.k & 0xFFFF);
        self.k += 1;
        // mix is a bijection and XOR with a constant is one: distinct counters
        // give distinct values under the same seed.
        let bits = mix(counter ^ self.key);
        let ts = (created_ms.max(0) as u64) & 0xFFFF_FFFF_FFFF;
        let rand_a = bits >> 52; // 12 bits
        let rand_b = (self.tag << 52) | (bits & ((1 << 52) - 1)); // 10 + 52 = 62 bits
        let hi = (ts << 16) | (0x7 << 12) | rand_a;
        let lo = (0b10 << 62) | rand_b;
        let value = (u128::from(hi) << 64) | u128::from(lo);
        // 8-4-4-4-12 lowercase hex, written directly (ids are made by the million).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 36];
        let mut nibble = 32;
        for (i, byte) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                *byte = b'-';
            } else {
                nibble -= 1;
                *byte = HEX[((value >> (nibble * 4)) & 0xF) as usize];
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ids_are_v7_shaped_and_carry_the_timestamp() {
        let mut ids = Ids::new(1, 2);
        let t = ms(date!(2024 - 05 - 06).to_julian_day(), 9 * 60);
        let id = ids.next(t);
        limbpath_record::check_id("id", &id).unwrap();
        assert_eq!(&id[14..15], "7");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        let ts = u64::from_str_radix(&format!("{}{}", &id[0..8], &id[9..13]), 16).unwrap();
        assert_eq!(ts as i64, t);
        assert_ne!(ids.next(t), id);
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = date!(2026 - 10 - 31);
        assert_eq!(date("d", d.to_julian_day()).unwrap(), d);
        assert_eq!(ms(date!(1970 - 01 - 01).to_julian_day(), 0), 0);
        assert!(date("d", i32::MAX).is_err());
    }
}
