//! Claimed times (Unix milliseconds) as people read them, in UTC.

/// `2026-11-28 14:33:15 UTC` for a Unix time in milliseconds.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
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
}
