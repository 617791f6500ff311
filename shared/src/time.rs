//! Claimed times (Unix milliseconds) as people read them: in UTC, or in a
//! person's own time with its offset from UTC.

use std::fmt;

use serde::Serialize;

/// How far a person's clock was ahead of UTC when they made an entry, in
/// minutes (negative west of Greenwich); each entry records its author's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct UtcOffset(i16);

impl UtcOffset {
    /// UTC itself.
    pub const UTC: Self = UtcOffset(0);
    /// The largest offset in use anywhere, either way: 14 hours.
    pub const MAX_MINUTES: i16 = 14 * 60;

    /// The offset of `minutes` east of UTC, if it is within ±14 hours.
    pub fn from_minutes(minutes: i32) -> Option<Self> {
        i16::try_from(minutes).ok().filter(|m| m.abs() <= Self::MAX_MINUTES).map(UtcOffset)
    }

    /// Minutes east of UTC.
    pub fn minutes(self) -> i16 {
        self.0
    }
}

/// `UTC+03:00`, `UTC-05:30`.
impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let minutes = self.0.unsigned_abs();
        write!(f, "UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// `2026-11-28 17:33 UTC+03:00` for a Unix time in milliseconds, seen at `offset`.
pub fn local(ms: u64, offset: UtcOffset) -> String {
    let (date, time) = civil(shifted(ms, offset));
    format!("{date} {} {offset}", &time[..5])
}

/// `2026-11-28`: the date at `offset` for a Unix time in milliseconds.
pub fn local_date(ms: u64, offset: UtcOffset) -> String {
    civil(shifted(ms, offset)).0
}

/// `2026-11-28 17:33:15 UTC+03:00 (14:33:15 UTC)`: a time as the person who
/// claimed it saw it, and in UTC. Only the time of day of UTC is repeated
/// when both fall on the same day.
pub fn local_and_utc(ms: u64, offset: UtcOffset) -> String {
    let (local_date, local_time) = civil(shifted(ms, offset));
    let (utc_date, utc_time) = civil(ms / 1000);
    if offset == UtcOffset::UTC {
        return format!("{utc_date} {utc_time} UTC");
    }
    let utc = if utc_date == local_date { format!("{utc_time} UTC") } else { format!("{utc_date} {utc_time} UTC") };
    format!("{local_date} {local_time} {offset} ({utc})")
}

/// Seconds since the epoch of the wall clock at `offset`.
fn shifted(ms: u64, offset: UtcOffset) -> u64 {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    u64::try_from(secs.saturating_add(i64::from(offset.0) * 60)).unwrap_or(0)
}

/// `("2026-11-28", "14:33:15")` for seconds since the epoch.
fn civil(secs: u64) -> (String, String) {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    (format!("{year:04}-{month:02}-{day:02}"), format!("{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60))
}

/// `2026-11-28 14:33:15 UTC` for a Unix time in milliseconds.
pub fn utc(ms: u64) -> String {
    let (date, time) = civil(ms / 1000);
    format!("{date} {time} UTC")
}

/// `2026-11-28` for a Unix time in milliseconds.
pub fn date(ms: u64) -> String {
    let (year, month, day) = civil_from_days(ms / 1000 / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `D:20261128143315Z`, the PDF date format (ISO 32000-2 §7.9.4), for a Unix time in milliseconds.
pub fn pdf_date(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("D:{year:04}{month:02}{day:02}{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_876_395_000), "2026-11-28 14:33:15 UTC");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(pdf_date(1_795_876_395_000), "D:20261128143315Z");
    }

    #[test]
    fn shows_a_time_at_the_persons_offset_and_in_utc() {
        let moscow = UtcOffset::from_minutes(180).unwrap();
        let new_york = UtcOffset::from_minutes(-300).unwrap();
        let kolkata = UtcOffset::from_minutes(330).unwrap();
        assert_eq!(moscow.to_string(), "UTC+03:00");
        assert_eq!(new_york.to_string(), "UTC-05:00");
        assert_eq!(local(1_795_876_395_000, kolkata), "2026-11-28 20:03 UTC+05:30");
        assert_eq!(local_and_utc(1_795_876_395_000, moscow), "2026-11-28 17:33:15 UTC+03:00 (14:33:15 UTC)");
        assert_eq!(local_and_utc(1_795_836_000_000, new_york), "2026-11-27 22:20:00 UTC-05:00 (2026-11-28 03:20:00 UTC)");
        assert_eq!(local_and_utc(1_795_876_395_000, UtcOffset::UTC), "2026-11-28 14:33:15 UTC");
        assert_eq!(UtcOffset::from_minutes(15 * 60), None);
        assert_eq!(local(0, new_york), "1970-01-01 00:00 UTC-05:00", "never before the epoch");
        assert_eq!(local_date(1_795_836_000_000, new_york), "2026-11-27");
    }
}
