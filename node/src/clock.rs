//! The wall clock and the person's time zone. Claimed times in entries, and
//! the offset from UTC each entry records, come from here, and only here.
//!
//! The time zone is the system's (the `TZ` variable, else the system
//! setting); times are shown in it with their offset, so that a person reads
//! their own clock and anyone else can tell which one it was.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use countersign_shared::time::{self, UtcOffset};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The person's time zone, read once; UTC where the system names none.
fn zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}

/// The person's offset from UTC at `ms` (Unix milliseconds).
pub fn offset_at(ms: u64) -> UtcOffset {
    let Ok(instant) = Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(i64::MAX)) else { return UtcOffset::UTC };
    UtcOffset::from_minutes(zone().to_offset(instant).seconds() / 60).unwrap_or(UtcOffset::UTC)
}

/// `2026-11-28 17:33 UTC+03:00`: `ms` on the person's clock, with its offset.
pub fn local(ms: u64) -> String {
    time::local(ms, offset_at(ms))
}

/// `2026-11-28`: the person's date at `ms`.
pub fn local_date(ms: u64) -> String {
    time::local_date(ms, offset_at(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_is_found_for_any_instant() {
        // Whatever the machine's zone, its offset is within a day and the date has its shape.
        assert!(offset_at(now_ms()).minutes().abs() <= UtcOffset::MAX_MINUTES);
        assert_eq!(local_date(now_ms()).len(), 10);
        assert!(local(0).starts_with("19"), "{}", local(0));
    }
}
