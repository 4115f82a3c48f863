//! How values are spelled in the database: ids, timestamps and enum strings as TEXT.
//!
//! Ids are hyphenated lower-case UUID strings and timestamps are RFC 3339 UTC strings of
//! fixed width (`2024-05-01T12:00:00.000000000Z`). Both read the same in SQLite and
//! PostgreSQL, show plainly in a SQL shell, and, because every timestamp has the same width,
//! sort as text in time order, so `ORDER BY created_at` and `<` comparisons work on them.
//! Nanoseconds are kept so a value read back equals the value written.

use crate::error::{Result, StoreError};
use std::str::FromStr;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

/// How stale `last_used_at` / `last_seen_at` may get before authentication rewrites it:
/// writing on every request would serialize all requests on SQLite's single writer.
pub(crate) const TOUCH_INTERVAL_SECS: i64 = 60;

/// Whether a last-use timestamp is old enough to be rewritten at `now`.
pub(crate) fn needs_touch(last: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    last.is_none_or(|last| now - last >= time::Duration::seconds(TOUCH_INTERVAL_SECS))
}

/// Spells a timestamp for storage (UTC, fixed width).
pub(crate) fn ts(t: OffsetDateTime) -> Result<String> {
    let t = t.to_offset(UtcOffset::UTC);
    // Outside 0000..=9999 the text would no longer be RFC 3339 nor sort correctly.
    if !(0..=9999).contains(&t.year()) {
        return Err(StoreError::InvalidInput(format!(
            "timestamp {t} is outside the years 0000 to 9999"
        )));
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    ))
}

/// Spells an optional timestamp for storage.
pub(crate) fn opt_ts(t: Option<OffsetDateTime>) -> Result<Option<String>> {
    t.map(ts).transpose()
}

/// A decode error naming the column, so a bad stored value says where it is.
fn decode_error(
    column: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: source.into(),
    }
}

/// Reads a stored timestamp (any RFC 3339 text), as UTC.
pub(crate) fn parse_ts(column: &str, s: &str) -> Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|e| decode_error(column, e))
}

/// Reads an optional stored timestamp.
pub(crate) fn parse_opt_ts(
    column: &str,
    s: Option<&str>,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    s.map(|s| parse_ts(column, s)).transpose()
}

/// Reads a stored id.
pub(crate) fn parse_uuid(column: &str, s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| decode_error(column, e))
}

/// Reads a stored enum spelling (`SessionMode`, `SessionState`, `TokenScope`).
pub(crate) fn parse_enum<T>(column: &str, s: &str) -> Result<T, sqlx::Error>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse().map_err(|e| decode_error(column, e))
}

/// Reads a stored terminal dimension.
pub(crate) fn parse_u16(column: &str, v: i64) -> Result<u16, sqlx::Error> {
    u16::try_from(v).map_err(|e| decode_error(column, e))
}

/// Converts a TTL into a `time::Duration`, refusing ones too large to add to a timestamp.
pub(crate) fn ttl(d: std::time::Duration, what: &str) -> Result<time::Duration> {
    time::Duration::try_from(d)
        .map_err(|_| StoreError::InvalidInput(format!("{what} of {d:?} is too long")))
}

/// A `LIKE … ESCAPE '\'` pattern that finds `text` anywhere, literally:
/// `%`, `_` and `\` in it match only themselves.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_have_fixed_width_and_round_trip_exactly() {
        let t = datetime!(2024-05-01 12:00:00.000000001 +02:00);
        let s = ts(t).unwrap();
        assert_eq!(s, "2024-05-01T10:00:00.000000001Z");
        assert_eq!(parse_ts("t", &s).unwrap(), t);
        assert_eq!(ts(datetime!(2024-05-01 10:00 UTC)).unwrap().len(), s.len());
    }

    #[test]
    fn timestamp_text_sorts_in_time_order() {
        let a = ts(datetime!(2024-05-01 10:00:00.9 UTC)).unwrap();
        let b = ts(datetime!(2024-05-01 10:00:01 UTC)).unwrap();
        assert!(a < b);
    }

    #[test]
    fn timestamps_beyond_year_9999_are_refused() {
        let t = datetime!(2024-01-01 0:00 UTC).replace_year(-1).unwrap();
        assert!(matches!(ts(t), Err(StoreError::InvalidInput(_))));
    }

    #[test]
    fn bad_stored_values_are_decode_errors_naming_the_column() {
        let err = parse_uuid("owner_id", "nope").unwrap_err();
        assert!(matches!(err, sqlx::Error::ColumnDecode { ref index, .. } if index == "owner_id"));
        assert!(parse_ts("created_at", "yesterday").is_err());
        assert!(parse_enum::<ccweb_protocol::SessionState>("state", "zombie").is_err());
        assert!(parse_u16("cols", 70_000).is_err());
    }
}
