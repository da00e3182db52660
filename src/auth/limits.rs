//! Rate limits and lockout (SECURITY 9, 10). Counters live in the database, so they hold across
//! restarts and replicas; only the token endpoint's request rate ([`TokenRate`]) is counted in
//! memory, per replica, so its hot path writes nothing.
//!
//! Lockout is per email address (existing or not, so it reveals nothing), temporary (15 minutes),
//! and lifted by a password reset, which proves control of the mailbox: knowing someone's address
//! lets an attacker slow their password sign-in for a while, never lock them out of recovery.

use super::{AuthError, Ctx};

/// One limit: at most `max` events per `window_ms` for a key.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    /// Key prefix.
    pub name: &'static str,
    /// Events allowed per window.
    pub max: u32,
    /// Window length.
    pub window_ms: i64,
}

const MINUTE: i64 = 60_000;

/// Sign-in attempts per client address.
pub const SIGN_IN_PER_IP: Limit = Limit {
    name: "sign-in:ip",
    max: 50,
    window_ms: 15 * MINUTE,
};
/// Failed sign-ins per email address before a temporary lockout.
pub const SIGN_IN_FAILURES_PER_ACCOUNT: Limit = Limit {
    name: "sign-in:account",
    max: 10,
    window_ms: 15 * MINUTE,
};
/// Sign-ups per client address.
pub const SIGN_UP_PER_IP: Limit = Limit {
    name: "sign-up:ip",
    max: 20,
    window_ms: 60 * MINUTE,
};
/// Password-reset requests per client address.
pub const RECOVERY_PER_IP: Limit = Limit {
    name: "recovery:ip",
    max: 20,
    window_ms: 60 * MINUTE,
};
/// Reset emails per address (beyond it the request is accepted but nothing is sent).
pub const RECOVERY_PER_ACCOUNT: Limit = Limit {
    name: "recovery:account",
    max: 3,
    window_ms: 15 * MINUTE,
};
/// Code submissions per client address (guessing across accounts).
pub const VERIFY_PER_IP: Limit = Limit {
    name: "verify:ip",
    max: 60,
    window_ms: 15 * MINUTE,
};
/// New codes per address (resend throttle).
pub const RESEND_PER_ACCOUNT: Limit = Limit {
    name: "resend:account",
    max: 1,
    window_ms: MINUTE,
};

/// Failed token requests per client address (guessing codes, refresh tokens or client
/// secrets). Only failures are counted, so legitimate traffic costs no counter write.
pub const TOKEN_FAILURES_PER_IP: Limit = Limit {
    name: "token:ip",
    max: 100,
    window_ms: 15 * MINUTE,
};

/// Provider sign-ins started per client address (each stores a flow until it expires).
pub const PROVIDER_START_PER_IP: Limit = Limit {
    name: "provider-start:ip",
    max: 100,
    window_ms: 15 * MINUTE,
};

/// Second-factor attempts per client address (authenticator or backup codes, at sign-in and at
/// step-up), counted whether right or wrong.
pub const MFA_PER_IP: Limit = Limit {
    name: "mfa:ip",
    max: 60,
    window_ms: 15 * MINUTE,
};
/// Wrong second-factor codes per user. With one step of skew three codes in a million are live,
/// so 5 guesses per 15 minutes make a brute force take about a century (SECURITY 25); wrong
/// codes also count toward the account's sign-in lockout.
pub const MFA_FAILURES_PER_USER: Limit = Limit {
    name: "mfa:user",
    max: 5,
    window_ms: 15 * MINUTE,
};

/// Invitations one member sends (each is an email to an address they choose).
pub const INVITATIONS_PER_USER: Limit = Limit {
    name: "invite:user",
    max: 50,
    window_ms: 60 * MINUTE,
};

/// Every limit, for the sweep that removes counters whose window is over.
pub const ALL: [Limit; 12] = [
    SIGN_IN_PER_IP,
    SIGN_IN_FAILURES_PER_ACCOUNT,
    SIGN_UP_PER_IP,
    RECOVERY_PER_IP,
    RECOVERY_PER_ACCOUNT,
    VERIFY_PER_IP,
    RESEND_PER_ACCOUNT,
    TOKEN_FAILURES_PER_IP,
    PROVIDER_START_PER_IP,
    MFA_PER_IP,
    MFA_FAILURES_PER_USER,
    INVITATIONS_PER_USER,
];

/// The longest window of any limit: a counter older than this counts for nothing.
pub fn longest_window_ms() -> i64 {
    ALL.iter().map(|l| l.window_ms).max().unwrap_or(0)
}

fn key(limit: &Limit, subject: &str) -> String {
    format!("{}:{subject}", limit.name)
}

fn retry_after(limit: &Limit) -> u64 {
    u64::try_from(limit.window_ms / 1000).unwrap_or(60)
}

/// Counts one event; refuses it when over the limit.
pub async fn hit(ctx: &Ctx<'_>, limit: &Limit, subject: &str) -> Result<(), AuthError> {
    if allow(ctx, limit, subject).await? {
        Ok(())
    } else {
        Err(AuthError::Throttled(retry_after(limit)))
    }
}

/// Counts one event; returns whether it is within the limit (for limits that fail silently).
pub async fn allow(ctx: &Ctx<'_>, limit: &Limit, subject: &str) -> Result<bool, AuthError> {
    if !ctx.services.rate_limits {
        return Ok(true);
    }
    let state = ctx
        .services
        .store
        .throttle_hit(&key(limit, subject), limit.window_ms, ctx.now)
        .await?;
    Ok(state.count <= limit.max)
}

/// Refuses when the limit is already reached, without counting.
pub async fn check(ctx: &Ctx<'_>, limit: &Limit, subject: &str) -> Result<(), AuthError> {
    if !ctx.services.rate_limits {
        return Ok(());
    }
    let count = ctx
        .services
        .store
        .throttle_peek(&key(limit, subject), limit.window_ms, ctx.now)
        .await?;
    if count >= limit.max {
        return Err(AuthError::Throttled(retry_after(limit)));
    }
    Ok(())
}

/// Forgets a counter (a success ends a run of failures).
pub async fn clear(ctx: &Ctx<'_>, limit: &Limit, subject: &str) -> Result<(), AuthError> {
    ctx.services
        .store
        .throttle_clear(&key(limit, subject))
        .await?;
    Ok(())
}

/// The client's address for per-IP limits.
pub fn ip<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.client.ip.as_deref().unwrap_or("unknown")
}

/// Token requests a confidential client may make per second on one replica (a leaked secret
/// cannot flood the endpoint), with bursts of twice that.
pub const TOKEN_PER_CONFIDENTIAL_CLIENT_PER_SECOND: u32 = 200;
/// Token requests a public client may make per second from one address on one replica: its
/// users are many browsers and devices, so the limit is per address, not for the whole client.
pub const TOKEN_PER_PUBLIC_CLIENT_ADDRESS_PER_SECOND: u32 = 20;

/// Keys kept before forgetting the ones whose buckets are full again.
const TOKEN_RATE_KEYS: usize = 10_000;

type KeyedLimiter = governor::RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
    governor::clock::DefaultClock,
>;

/// The token endpoint's request rate: GCRA buckets per confidential client, and per public
/// client and address.
#[derive(Clone)]
pub struct TokenRate {
    confidential: std::sync::Arc<KeyedLimiter>,
    public: std::sync::Arc<KeyedLimiter>,
}

impl Default for TokenRate {
    fn default() -> Self {
        let quota = |per_second: u32| {
            let rate = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
            let burst = std::num::NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
            governor::Quota::per_second(rate).allow_burst(burst)
        };
        Self {
            confidential: std::sync::Arc::new(governor::RateLimiter::keyed(quota(
                TOKEN_PER_CONFIDENTIAL_CLIENT_PER_SECOND,
            ))),
            public: std::sync::Arc::new(governor::RateLimiter::keyed(quota(
                TOKEN_PER_PUBLIC_CLIENT_ADDRESS_PER_SECOND,
            ))),
        }
    }
}

impl TokenRate {
    /// Counts one token request of `client_id` from the context's address; `Throttled` with
    /// the seconds until the next one is allowed when over the limit.
    pub fn hit(&self, ctx: &Ctx<'_>, client_id: &str, confidential: bool) -> Result<(), AuthError> {
        if !ctx.services.rate_limits {
            return Ok(());
        }
        let (limiter, key) = if confidential {
            (&self.confidential, client_id.to_owned())
        } else {
            (&self.public, format!("{client_id} {}", ip(ctx)))
        };
        if limiter.len() > TOKEN_RATE_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| {
            use governor::clock::Clock as _;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            AuthError::Throttled(wait.as_secs().max(1))
        })
    }
}
