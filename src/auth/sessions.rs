//! Sessions: which factors authenticated them, server-side idle and absolute timeouts, and a
//! fresh session (new token) at sign-in and at every privilege change (SECURITY 34, 36).
//!
//! The token itself travels in a cookie that the pages face sets and reads; here it is only a
//! string, and only its hash reaches the store.

use super::{AuthError, Ctx};
use crate::crypto;
use crate::store::{NewSession, Session, User};

/// `last_seen_at` is written at most this often, so authenticated reads stay reads.
/// Idle timeouts are therefore exact to within a minute.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// How a session's user proved who they are. Stored by name on the session, so later policies
/// (MFA, step-up) can ask what a session has shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Factor {
    /// The account's password.
    Password,
    /// Control of the mailbox: an emailed code or link.
    Email,
    /// An upstream identity provider's sign-in (`amr: fed`).
    Federated,
    /// A code from an authenticator app (`amr: otp`).
    Totp,
    /// A single-use backup code (`amr: otp`).
    BackupCode,
    /// A passkey (WebAuthn, always with user verification: `amr: hwk` and `mfa`).
    Passkey,
    /// A device the user marked as trusted after an earlier second factor: it skips the
    /// challenge but is not itself a factor (no `amr` value, no step-up).
    RememberedDevice,
}

impl Factor {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Email => "email",
            Factor::Federated => "federated",
            Factor::Totp => "totp",
            Factor::BackupCode => "backup_code",
            Factor::Passkey => "passkey",
            Factor::RememberedDevice => "remembered_device",
        }
    }

    /// The factor with this stored name.
    pub fn parse(name: &str) -> Option<Factor> {
        match name {
            "password" => Some(Factor::Password),
            "email" => Some(Factor::Email),
            "federated" => Some(Factor::Federated),
            "totp" => Some(Factor::Totp),
            "backup_code" => Some(Factor::BackupCode),
            "passkey" => Some(Factor::Passkey),
            "remembered_device" => Some(Factor::RememberedDevice),
            _ => None,
        }
    }

    /// Whether this is a second factor shown just now (what MFA and step-up ask for).
    pub fn is_second(self) -> bool {
        matches!(self, Factor::Totp | Factor::BackupCode | Factor::Passkey)
    }
}

/// A live session and its user.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

impl SignedIn {
    /// The factors this session was authenticated with (unknown names are skipped).
    pub fn factors(&self) -> Vec<Factor> {
        self.session
            .factors
            .iter()
            .filter_map(|f| Factor::parse(f))
            .collect()
    }
}

/// A new session's secret, for the caller to hand to the browser. `Debug` never prints it.
pub struct IssuedSession {
    /// The session token (only its hash is stored).
    pub token: String,
    /// How long it lives, for the cookie's `Max-Age`.
    pub max_age_seconds: u64,
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("token", &"<redacted>")
            .field("max_age_seconds", &self.max_age_seconds)
            .finish()
    }
}

/// The live session for `token`, if there is one. An expired or idle session is revoked
/// server-side, whatever the browser still holds.
pub async fn current(ctx: &Ctx<'_>, token: Option<&str>) -> Result<Option<SignedIn>, AuthError> {
    let Some(token) = token.filter(|t| crypto::is_token(t)) else {
        return Ok(None);
    };
    let store = &ctx.services.store;
    let Some((session, user)) = store
        .session_by_token_hash(&crypto::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    let now = ctx.now;
    let idle_ms = seconds_to_ms(ctx.active.config.sessions.idle_timeout_seconds);
    if now >= session.expires_at || now.saturating_sub(session.last_seen_at) > idle_ms {
        store
            .revoke_session(&session.user_id, &session.id, now)
            .await?;
        return Ok(None);
    }
    if now.saturating_sub(session.last_seen_at) > TOUCH_INTERVAL_MS {
        store.touch_session(&session.id, now).await?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// Starts a session for `user` authenticated by `factors`. Always a new token; a session this
/// browser had before (`previous`) is revoked first, so no token survives sign-in (fixation).
pub async fn start(
    ctx: &Ctx<'_>,
    user: &User,
    factors: &[Factor],
    previous: Option<&SignedIn>,
) -> Result<IssuedSession, AuthError> {
    begin(ctx, user, factors, None, previous, None).await
}

/// Starts a session for `user` signed in through the provider identity `identity_id`, which
/// the session records (as [`start`] otherwise). `factors` is `[Federated]`, or what the person
/// showed instead when proving the account to link the identity (`[Password]`).
pub async fn start_federated(
    ctx: &Ctx<'_>,
    user: &User,
    identity_id: &str,
    factors: &[Factor],
    previous: Option<&SignedIn>,
) -> Result<IssuedSession, AuthError> {
    begin(ctx, user, factors, Some(identity_id), previous, None).await
}

/// `expires_at`: keep this absolute expiry (a renewal), instead of a full lifetime from now.
async fn begin(
    ctx: &Ctx<'_>,
    user: &User,
    factors: &[Factor],
    identity_id: Option<&str>,
    previous: Option<&SignedIn>,
    expires_at: Option<i64>,
) -> Result<IssuedSession, AuthError> {
    let store = &ctx.services.store;
    if let Some(old) = previous {
        store
            .revoke_session(&old.user.id, &old.session.id, ctx.now)
            .await?;
    }
    let token = crypto::random_token();
    let sessions = &ctx.active.config.sessions;
    let full = ctx
        .now
        .saturating_add(seconds_to_ms(sessions.lifetime_seconds));
    let expires_at = expires_at.map_or(full, |kept| kept.min(full));
    store
        .create_session(&NewSession {
            token_hash: crypto::token_hash(&token),
            user_id: user.id.clone(),
            factors: factors.iter().map(|f| f.as_str().to_owned()).collect(),
            ip: ctx.client.ip.clone(),
            user_agent: ctx.client.user_agent.clone(),
            identity_id: identity_id.map(str::to_owned),
            // The same person signing in again in this browser keeps working in the same
            // organization.
            organization_id: previous
                .filter(|old| old.user.id == user.id)
                .and_then(|old| old.session.organization_id.clone()),
            expires_at,
            now: ctx.now,
        })
        .await?;
    Ok(IssuedSession {
        token,
        max_age_seconds: u64::try_from(expires_at.saturating_sub(ctx.now) / 1000).unwrap_or(0),
    })
}

/// Replaces `who`'s session with a new one (new token, SECURITY 34) after they showed `factor`
/// (step-up, or a factor just added): it records the session's factors, less a remembered
/// device, plus `factor`, and its `created_at` is now, so the factor counts as fresh.
pub async fn renew_with(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    factor: Factor,
) -> Result<IssuedSession, AuthError> {
    let mut factors: Vec<Factor> = who
        .factors()
        .into_iter()
        .filter(|f| *f != Factor::RememberedDevice)
        .collect();
    if !factors.contains(&factor) {
        factors.push(factor);
    }
    // The absolute lifetime runs from the sign-in, not from the step-up (SECURITY 36).
    begin(
        ctx,
        &who.user,
        &factors,
        who.session.identity_id.as_deref(),
        Some(who),
        Some(who.session.expires_at),
    )
    .await
}

/// Ends `who`'s session (sign-out).
pub async fn end(ctx: &Ctx<'_>, who: &SignedIn) -> Result<(), AuthError> {
    ctx.services
        .store
        .revoke_session(&who.user.id, &who.session.id, ctx.now)
        .await?;
    Ok(())
}

fn seconds_to_ms(seconds: u64) -> i64 {
    i64::try_from(seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_round_trip_through_their_stored_names() {
        for factor in [
            Factor::Password,
            Factor::Email,
            Factor::Federated,
            Factor::Totp,
            Factor::BackupCode,
            Factor::Passkey,
            Factor::RememberedDevice,
        ] {
            assert_eq!(Factor::parse(factor.as_str()), Some(factor));
        }
        assert_eq!(Factor::parse("carrier-pigeon"), None);
    }
}
