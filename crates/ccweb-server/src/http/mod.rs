//! REST handlers, one module per feature.

pub mod account;
pub mod admin;
pub mod credentials;
pub mod export;
pub mod fs;
pub mod history;
pub mod openapi;
pub mod sessions;
pub mod shares;
pub mod tokens;

/// The expiry of a lifetime a client asked for in `expires_in_secs`: none
/// when it asked for none, 400 `invalid_expiry` outside 1..=`max_secs`.
pub(crate) fn expiry(
    expires_in_secs: Option<u64>,
    max_secs: u64,
) -> Result<Option<time::OffsetDateTime>, crate::error::ApiError> {
    match expires_in_secs {
        None => Ok(None),
        // `max_secs` is at most years, so the seconds fit in an i64.
        Some(secs) if (1..=max_secs).contains(&secs) => Ok(Some(
            time::OffsetDateTime::now_utc()
                + time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX)),
        )),
        Some(_) => Err(crate::error::ApiError::bad_request(
            "invalid_expiry",
            format!("expires_in_secs must be between 1 and {max_secs}"),
        )),
    }
}
