//! Physical removal of rows that no longer mean anything: rate-limit windows that are over,
//! sessions, single-use tokens and OpenID grants long past expiry, and devices long forgotten. Reads already
//! treat them as gone; this keeps the tables (and their indexes) from growing with every visitor.

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
    /// OpenID grants (with their codes and refresh tokens) ended or revoked longer ago than the
    /// retention.
    pub grants: u64,
    /// Provider sign-in flows, pending links and half-signed-in MFA records past expiry (no
    /// retention: nothing reads them).
    pub flows: u64,
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
        // Codes and refresh tokens go with their grant (ON DELETE CASCADE).
        let grants = sqlx::query(
            "DELETE FROM oauth_grants WHERE expires_at < $1 \
             OR (revoked_at IS NOT NULL AND revoked_at < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let mut flows = 0;
        for statement in [
            "DELETE FROM federation_flows WHERE expires_at < $1",
            "DELETE FROM pending_links WHERE expires_at < $1",
            "DELETE FROM mfa_pending WHERE expires_at < $1",
            "DELETE FROM webauthn_challenges WHERE expires_at < $1",
        ] {
            flows += sqlx::query(statement)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(Swept {
            counters,
            sessions,
            tokens,
            grants,
            flows,
        })
    }

    /// Deletes device sightings whose last sign-in is more than `remember_ms + retention_ms` ago.
    /// Past `remember_ms` a device already counts as new again ([`Store::note_device`] restarts
    /// its row), so this removes nothing a sign-in would still read; the retention keeps recently
    /// forgotten devices around, as for sessions.
    ///
    /// Separate from [`Store::sweep`] because the device window is the sign-in flow's policy,
    /// not a rate limit: it is far longer than any throttle window, and a counter sweep must not
    /// forget devices early.
    pub async fn sweep_devices(
        &self,
        now: i64,
        remember_ms: i64,
        retention_ms: i64,
    ) -> Result<u64, StoreError> {
        let before = now
            .saturating_sub(remember_ms.max(0))
            .saturating_sub(retention_ms.max(0));
        let devices = sqlx::query("DELETE FROM devices WHERE last_seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(devices)
    }
}
