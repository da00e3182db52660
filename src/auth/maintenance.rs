//! Sweeping dead rows: finished rate-limit windows, sessions and tokens a week past expiry, and
//! devices not seen for a week past the time they are remembered. Every replica may sweep; the
//! deletes are idempotent.

use super::{AuthError, Services, devices, limits};

/// How long expired sessions, tokens and forgotten devices are kept before they are deleted.
pub const RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Rate-limit counters.
    pub counters: u64,
    /// Sessions.
    pub sessions: u64,
    /// Emailed codes and links.
    pub tokens: u64,
    /// OpenID grants, with their codes and refresh tokens.
    pub grants: u64,
    /// Provider sign-in flows and pending links.
    pub flows: u64,
    /// Devices.
    pub devices: u64,
}

/// Deletes every row that can no longer matter at the services' current time.
pub async fn sweep(services: &Services) -> Result<SweepReport, AuthError> {
    let now = services.clock.now();
    let store = &services.store;
    let swept = store
        .sweep(now, limits::longest_window_ms(), RETENTION_MS)
        .await?;
    let devices = store
        .sweep_devices(now, devices::REMEMBER_MS, RETENTION_MS)
        .await?;
    Ok(SweepReport {
        counters: swept.counters,
        sessions: swept.sessions,
        tokens: swept.tokens,
        grants: swept.grants,
        flows: swept.flows,
        devices,
    })
}
