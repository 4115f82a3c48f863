//! The audit log: appended entries, filtered newest-first pages, and pruning by age.

use crate::codec::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::Store;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most entries one page returns.
pub const MAX_AUDIT_PAGE: i64 = 500;

/// One audit entry, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Increasing id; pages continue with `before = id`.
    pub id: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who (None for a caller who is not logged in).
    pub user_id: Option<Uuid>,
    /// Their name at the time, or the name a failed login tried.
    pub user_name: Option<String>,
    /// Client address, None for the command line.
    pub source: Option<String>,
    /// What was done, e.g. `login.failed`, `session.stop`.
    pub action: String,
    /// `success`, `failure`, `denied` or `limited`.
    pub outcome: String,
    /// What it was done to (session id, token id, user name).
    pub target: Option<String>,
    /// The particulars, a JSON object.
    pub detail: serde_json::Value,
}

/// What to append; `at` and `id` are given by the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewAuditEntry {
    /// See [`AuditRecord::user_id`].
    pub user_id: Option<Uuid>,
    /// See [`AuditRecord::user_name`].
    pub user_name: Option<String>,
    /// See [`AuditRecord::source`].
    pub source: Option<String>,
    /// See [`AuditRecord::action`].
    pub action: String,
    /// See [`AuditRecord::outcome`].
    pub outcome: String,
    /// See [`AuditRecord::target`].
    pub target: Option<String>,
    /// See [`AuditRecord::detail`] (`null` is stored as `{}`).
    pub detail: serde_json::Value,
}

/// Which entries a page holds; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries of this user (or, with `user_name`, of either).
    pub user_id: Option<Uuid>,
    /// Entries with this user name (a failed login records only the name tried).
    pub user_name: Option<String>,
    /// This action, or with a trailing `.*` every action under it (`session.*`).
    pub action: Option<String>,
    /// This outcome.
    pub outcome: Option<String>,
    /// At or after.
    pub since: Option<OffsetDateTime>,
    /// Before.
    pub until: Option<OffsetDateTime>,
    /// Only ids below this (the next page).
    pub before_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    user_id: Option<String>,
    user_name: Option<String>,
    source: Option<String>,
    action: String,
    outcome: String,
    target: Option<String>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = sqlx::Error;

    fn try_from(row: AuditRow) -> Result<Self, sqlx::Error> {
        Ok(AuditRecord {
            id: row.id,
            at: parse_ts("audit_log.at", &row.at)?,
            // A damaged id is shown as absent rather than failing the whole page.
            user_id: row.user_id.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
            user_name: row.user_name,
            source: row.source,
            action: row.action,
            outcome: row.outcome,
            target: row.target,
            detail: match serde_json::from_str(&row.detail) {
                Ok(v) => v,
                Err(_) => serde_json::Value::String(row.detail),
            },
        })
    }
}

impl Store {
    /// Appends an entry and returns it as stored.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditRecord> {
        let at = OffsetDateTime::now_utc();
        let detail = if entry.detail.is_null() {
            "{}".to_owned()
        } else {
            serde_json::to_string(&entry.detail)
                .map_err(|e| StoreError::InvalidInput(e.to_string()))?
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO audit_log (at, user_id, user_name, source, action, outcome, target, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(ts(at)?)
        .bind(entry.user_id.map(|u| u.to_string()))
        .bind(&entry.user_name)
        .bind(&entry.source)
        .bind(&entry.action)
        .bind(&entry.outcome)
        .bind(&entry.target)
        .bind(&detail)
        .fetch_one(&self.pool)
        .await?;
        Ok(AuditRecord {
            id,
            at,
            user_id: entry.user_id,
            user_name: entry.user_name.clone(),
            source: entry.source.clone(),
            action: entry.action.clone(),
            outcome: entry.outcome.clone(),
            target: entry.target.clone(),
            detail: serde_json::from_str(&detail).unwrap_or_default(),
        })
    }

    /// Entries matching `filter`, newest first, at most `limit` (1..=[`MAX_AUDIT_PAGE`]).
    pub async fn audit_page(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditRecord>> {
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        // Each condition is always present and switched off by a NULL parameter, so the
        // statement text is fixed (no SQL built from input).
        let (action_exact, action_prefix) = match filter.action.as_deref() {
            Some(a) => match a.strip_suffix(".*") {
                Some(prefix) => (None, Some(format!("{prefix}."))),
                None => (Some(a.to_owned()), None),
            },
            None => (None, None),
        };
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, user_id, user_name, source, action, outcome, target, detail \
             FROM audit_log WHERE \
             (($1 IS NULL AND $9 IS NULL) OR user_id = $1 OR user_name = $9) AND \
             ($2 IS NULL OR action = $2) AND \
             ($3 IS NULL OR substr(action, 1, length($3)) = $3) AND \
             ($4 IS NULL OR outcome = $4) AND \
             ($5 IS NULL OR at >= $5) AND \
             ($6 IS NULL OR at < $6) AND \
             ($7 IS NULL OR id < $7) \
             ORDER BY id DESC LIMIT $8",
        )
        .bind(filter.user_id.map(|u| u.to_string()))
        .bind(action_exact)
        .bind(action_prefix)
        .bind(&filter.outcome)
        .bind(filter.since.map(ts).transpose()?)
        .bind(filter.until.map(ts).transpose()?)
        .bind(filter.before_id)
        .bind(limit)
        .bind(&filter.user_name)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| AuditRecord::try_from(r).map_err(StoreError::from))
            .collect()
    }

    /// Deletes entries older than `cutoff`; returns how many.
    pub async fn prune_audit(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(ts(cutoff)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
