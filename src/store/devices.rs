//! Browsers an account has signed in from, so the user can be told about a new one (SECURITY 14).
//!
//! A device is a short hash of its User-Agent, computed by the caller. It stays known while the
//! account keeps signing in from it: a device counts as new again only after `remember_ms` without
//! a sign-in.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Records a sign-in of `user_id` from `device` at `now`. Returns true when the device is new
    /// to the account: never seen, or last seen `remember_ms` or longer ago (the same boundary as
    /// a throttle window that is over). A sighting older than the stored one (a replica whose
    /// clock is behind) changes nothing and reports the device known.
    ///
    /// One upsert statement, so concurrent sign-ins from one new device report it new exactly
    /// once: the row's lock (PostgreSQL) or the write lock (SQLite) orders them.
    pub async fn note_device(
        &self,
        user_id: &str,
        device: &str,
        now: i64,
        remember_ms: i64,
    ) -> Result<bool, StoreError> {
        // A negative window would let `last_seen_at` move backwards below.
        let remember_ms = remember_ms.max(0);
        // RETURNING shows the row after an upsert, not before (SQLite; PostgreSQL before 18), so
        // the answer is read from the row after it:
        // - new (inserted, or known but forgotten): `first_seen_at` restarts at `now`;
        // - known and `now` is later: only `last_seen_at` moves, to `now`, and `first_seen_at`
        //   stays at or before the old `last_seen_at` (a CHECK holds that), which is before `now`;
        // - known and `now` is not later (the same millisecond, a slower clock): the WHERE
        //   skips the update and nothing is returned.
        // So a returned `first_seen_at` equal to `now` means new, whatever the interleaving.
        // In SET and WHERE, `devices.` columns denote the row's values before this update.
        let row = sqlx::query(
            "INSERT INTO devices (user_id, device, first_seen_at, last_seen_at) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (user_id, device) DO UPDATE SET \
               first_seen_at = CASE WHEN $3 - devices.last_seen_at >= $4 THEN $3 \
                                    ELSE devices.first_seen_at END, \
               last_seen_at = $3 \
             WHERE $3 - devices.last_seen_at >= $4 OR devices.last_seen_at < $3 \
             RETURNING first_seen_at",
        )
        .bind(user_id)
        .bind(device)
        .bind(now)
        .bind(remember_ms)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(row.try_get::<i64, _>("first_seen_at")? == now),
            None => Ok(false),
        }
    }
}
