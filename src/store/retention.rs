//! Physical removal of rows that no longer mean anything: rate-limit windows that are over,
//! and sessions and single-use tokens long past expiry. Reads already treat them as gone; this
//! keeps the tables (and their indexes) from growing with every visitor.

use super::{Store, StoreError};

/// Rows removed by one sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Rate-limit counters whose window ended.
    pub counters: u64,
    /// Sessions expired (or revoked) longer ago than the retention.
    pub sessions: u64,
    /// Single-use tokens expired longer ago than the retention.
    pub tokens: u64,
}

impl Store {
    /// Deletes counters whose window started more than `longest_window_ms` ago, and sessions and
    /// tokens that expired (sessions also: were revoked) more than `retention_ms` ago. The
    /// retention keeps recent ones around for the account page's history and for telling "this
    /// link was already used" from "this link never existed".
    pub async fn sweep(
        &self,
        now: i64,
        longest_window_ms: i64,
        retention_ms: i64,
    ) -> Result<Swept, StoreError> {
        let counters = sqlx::query("DELETE FROM throttle_counters WHERE window_started_at < $1")
            .bind(now.saturating_sub(longest_window_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let before = now.saturating_sub(retention_ms);
        let sessions = sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1 \
             OR (revoked_at IS NOT NULL AND revoked_at < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let tokens = sqlx::query("DELETE FROM single_use_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(Swept {
            counters,
            sessions,
            tokens,
        })
    }
}
