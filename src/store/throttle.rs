//! Fixed-window rate-limit counters (per IP, per account, per resend). They live in the database
//! so a restart does not reset an attacker's budget and every replica counts against the same
//! limit.
//!
//! A window covers `[window_started_at, window_started_at + window_ms)`: a hit at or after its end
//! starts a new window.

use sqlx::Row;

use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Hits in the current window, this one included.
    pub count: u32,
    pub window_started_at: i64,
}

impl Store {
    /// Counts a hit on `key`: restarts the window at `now` with count 1 if the stored window is
    /// over (or there is none), else increments it. One upsert statement, so concurrent hits
    /// are never lost: the row's lock (PostgreSQL) or the write lock (SQLite) orders them.
    pub async fn throttle_hit(
        &self,
        key: &str,
        window_ms: i64,
        now: i64,
    ) -> Result<ThrottleState, StoreError> {
        // In SET, column names denote the row's values before this update on both backends.
        let row = sqlx::query(
            "INSERT INTO throttle_counters (throttle_key, window_started_at, hits) \
             VALUES ($1, $3, 1) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               hits = CASE WHEN $3 - throttle_counters.window_started_at >= $2 THEN 1 \
                           ELSE throttle_counters.hits + 1 END, \
               window_started_at = CASE WHEN $3 - throttle_counters.window_started_at >= $2 THEN $3 \
                                        ELSE throttle_counters.window_started_at END \
             RETURNING hits, window_started_at",
        )
        .bind(key)
        .bind(window_ms)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let hits: i64 = row.try_get("hits")?;
        Ok(ThrottleState {
            count: saturating_u32(hits),
            window_started_at: row.try_get("window_started_at")?,
        })
    }

    /// Hits in the current window of `key` without counting one: 0 if there is no counter or its
    /// window is over.
    pub async fn throttle_peek(
        &self,
        key: &str,
        window_ms: i64,
        now: i64,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "SELECT hits FROM throttle_counters WHERE throttle_key = $1 AND $3 - window_started_at < $2",
        )
        .bind(key)
        .bind(window_ms)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(saturating_u32(row.try_get("hits")?)),
            None => Ok(0),
        }
    }

    /// Forgets the counter of `key` (e.g. a successful sign-in clears the failures).
    pub async fn throttle_clear(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttle_counters WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn saturating_u32(hits: i64) -> u32 {
    u32::try_from(hits.max(0)).unwrap_or(u32::MAX)
}
