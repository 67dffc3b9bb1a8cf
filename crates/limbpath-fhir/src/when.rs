//! FHIR date and instant text ⇄ LimbPath dates and millisecond timestamps.
//! Pure: every time comes in as an argument.

use limbpath_record::Date;
use time::format_description::well_known::Rfc3339;
use time::{Month, OffsetDateTime};

/// A FHIR `instant` with millisecond precision in UTC
/// (`2024-11-04T08:35:00.000Z`), or `None` outside the years 1–9999.
pub(crate) fn instant(ms: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

/// Milliseconds since the epoch of a FHIR instant/dateTime with a time and an
/// offset (`2013-12-02T17:17:39.249+00:00`); sub-millisecond digits are cut.
pub(crate) fn parse_instant(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// A LimbPath date as FHIR `date` text (`2024-11-04`).
pub(crate) fn date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The calendar date of a FHIR `date` or `dateTime` that has at least a full
/// date (`2024-11-04`, `2013-12-02T17:17:39+00:00`: the date as written, in
/// the sender's offset). `None` for partial dates (`2024`, `2024-11`) and
/// anything that is not a date.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || (b.len() > 10 && b[10] != b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_utc_with_milliseconds_and_read_back() {
        // 1730709300000 ms = 2024-11-04 08:35:00 UTC (worked out by hand: 20031 days + 30900 s)
        assert_eq!(instant(1_730_709_300_000).as_deref(), Some("2024-11-04T08:35:00.000Z"));
        assert_eq!(instant(1_730_709_300_123).as_deref(), Some("2024-11-04T08:35:00.123Z"));
        assert_eq!(parse_instant("2024-11-04T08:35:00.123Z"), Some(1_730_709_300_123));
        assert_eq!(parse_instant("2024-11-04T09:35:00.123+01:00"), Some(1_730_709_300_123));
        assert_eq!(instant(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        assert_eq!(parse_instant("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(instant(i64::MAX), None);
        assert_eq!(parse_instant("2024-11-04"), None);
    }

    #[test]
    fn dates_are_read_from_full_dates_and_datetimes_only() {
        let d = Date::from_calendar_date(2013, Month::December, 2).unwrap();
        assert_eq!(parse_date("2013-12-02"), Some(d));
        assert_eq!(parse_date("2013-12-02T17:17:39+00:00"), Some(d));
        assert_eq!(date(d), "2013-12-02");
        for bad in ["2013", "2013-12", "2013-13-01", "2013-02-30", "20131202", "2013-12-02X", "２０１３-12-02", ""]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
