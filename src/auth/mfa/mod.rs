//! Second factors: authenticator apps (TOTP), backup codes, remembered devices, the
//! second-factor step between a first factor and a session, and step-up for sensitive actions.
//!
//! Every sign-in path (password, email link, provider, and the OpenID flow through them) ends
//! in [`after_first_factor`], which decides from the [`Policy`] whether the user gets a session
//! now, owes a second factor, or must enrol one first. The in-between state is an
//! [`MfaPending`](crate::store::MfaPending) record, never a session (SECURITY 13, 16).

pub mod backup_codes;
pub mod passkeys;
pub mod policy;
pub mod remember;
pub mod totp;

pub use policy::Policy;

use super::limits::{self, MFA_FAILURES_PER_USER, MFA_PER_IP, SIGN_IN_FAILURES_PER_ACCOUNT};
use super::{AuthError, Ctx, Factor, Reason, SignedIn, TOKEN_TTL_MS};
use crate::crypto::{self, sealing::MfaKey};
use crate::email::messages::{self, MfaChange};
use crate::store::{Factors, MfaPending, PendingPurpose, User};

/// What follows a successful first factor.
#[derive(Debug)]
pub enum Next {
    /// Nothing more is owed: start a session with these factors.
    Session(Vec<Factor>),
    /// The user must show a second factor; the browser keeps this token (cookie) meanwhile.
    Challenge(PendingToken),
    /// The policy requires a second factor the user has not set up: enrol first. `postpone`
    /// is when the grace period ends, while it still runs.
    Enrol {
        /// The half-signed-in record's token.
        token: PendingToken,
        /// End of the grace period, if the user may still postpone.
        postpone_until: Option<i64>,
    },
}

/// The secret a browser holds for its half-signed-in record. `Debug` never prints it.
pub struct PendingToken(pub String);

impl std::fmt::Debug for PendingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingToken(<redacted>)")
    }
}

/// How long the half-signed-in state lasts.
pub const PENDING_TTL_MS: i64 = TOKEN_TTL_MS;

/// A second factor as typed in.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// A 6-digit code from the authenticator app.
    Totp(&'a str),
    /// A backup code.
    BackupCode(&'a str),
}

/// A second factor that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Which factor.
    pub factor: Factor,
    /// After a backup code: how many are left.
    pub backup_codes_left: Option<u32>,
}

/// The MFA key of the config in use. A config offering MFA without one never activates, so
/// this fails only if a policy was added while the key was missing.
pub fn key<'a>(ctx: &Ctx<'a>) -> Result<&'a MfaKey, AuthError> {
    ctx.active
        .mfa_key
        .as_ref()
        .ok_or_else(|| AuthError::Internal("no MFA key in the region's Secret".into()))
}

/// The factors of `user` that the policy offers now (a factor the policy stopped offering is
/// not asked for).
pub async fn usable_factors(ctx: &Ctx<'_>, user: &User) -> Result<(Policy, Factors), AuthError> {
    let policy = Policy::of(ctx, user).await?;
    let mut factors = ctx.services.store.factors(&user.id).await?;
    if !policy.active || !policy.totp {
        factors.totp_since = None;
    }
    if !policy.active || !policy.backup_codes {
        factors.backup_codes_left = 0;
    }
    if !policy.active || !policy.webauthn {
        factors.passkeys = 0;
    }
    Ok((policy, factors))
}

/// Decides what follows a first factor for `user`: a session, a challenge or enrolment.
/// `remembered` is the browser's remembered-device cookie, if any.
pub async fn after_first_factor(
    ctx: &Ctx<'_>,
    user: &User,
    first: &[Factor],
    identity_id: Option<&str>,
    return_to: &str,
    remembered: Option<&str>,
) -> Result<Next, AuthError> {
    let (policy, factors) = usable_factors(ctx, user).await?;
    // No policy, or a passkey (which verified the user too) was the first factor.
    if !policy.active || first.contains(&Factor::Passkey) {
        return Ok(Next::Session(first.to_vec()));
    }
    if factors.any() {
        if policy.remember_device_ms.is_some()
            && let Some(cookie) = remembered
            && remember::valid(key(ctx)?, cookie, &user.id, factors.epoch, ctx.now)
        {
            let mut shown = first.to_vec();
            shown.push(Factor::RememberedDevice);
            return Ok(Next::Session(shown));
        }
        let token = pending(
            ctx,
            user,
            PendingPurpose::Challenge,
            first,
            identity_id,
            return_to,
        )
        .await?;
        return Ok(Next::Challenge(token));
    }
    if policy.required && policy.totp {
        let since = ctx
            .services
            .store
            .mfa_required_since(&user.id, ctx.now)
            .await?;
        let deadline = since.saturating_add(policy.grace_ms);
        let token = pending(
            ctx,
            user,
            PendingPurpose::Enrol,
            first,
            identity_id,
            return_to,
        )
        .await?;
        return Ok(Next::Enrol {
            token,
            postpone_until: (ctx.now < deadline).then_some(deadline),
        });
    }
    Ok(Next::Session(first.to_vec()))
}

async fn pending(
    ctx: &Ctx<'_>,
    user: &User,
    purpose: PendingPurpose,
    first: &[Factor],
    identity_id: Option<&str>,
    return_to: &str,
) -> Result<PendingToken, AuthError> {
    let token = crypto::random_token();
    ctx.services
        .store
        .create_mfa_pending(
            &crypto::token_hash(&token),
            &MfaPending {
                purpose,
                user_id: user.id.clone(),
                factors: first.iter().map(|f| f.as_str().to_owned()).collect(),
                identity_id: identity_id.map(str::to_owned),
                return_to: return_to.to_owned(),
                created_at: ctx.now,
                expires_at: ctx.now.saturating_add(PENDING_TTL_MS),
            },
        )
        .await?;
    Ok(PendingToken(token))
}

/// The live half-signed-in record for the browser's token, with its user, if it was made for
/// `purpose`. An enrolment record is good only while the user still has no usable factor: a
/// factor enrolled since (or a challenge record) never opens enrolment, which would otherwise
/// skip the second factor.
pub async fn pending_of(
    ctx: &Ctx<'_>,
    token: Option<&str>,
    purpose: PendingPurpose,
) -> Result<Option<(MfaPending, User)>, AuthError> {
    let Some(token) = token.filter(|t| crypto::is_token(t)) else {
        return Ok(None);
    };
    let store = &ctx.services.store;
    let Some(pending) = store
        .mfa_pending(&crypto::token_hash(token), ctx.now)
        .await?
    else {
        return Ok(None);
    };
    if pending.purpose != purpose {
        return Ok(None);
    }
    let Some(user) = store.user_by_id(&pending.user_id).await? else {
        return Ok(None);
    };
    if purpose == PendingPurpose::Enrol && usable_factors(ctx, &user).await?.1.any() {
        return Ok(None);
    }
    Ok(Some((pending, user)))
}

/// Uses up the half-signed-in record once its second factor (or enrolment) is done: the first
/// factors and where to go. Fails if another request finished it first.
pub async fn finish_pending(ctx: &Ctx<'_>, token: &str) -> Result<MfaPending, AuthError> {
    ctx.services
        .store
        .take_mfa_pending(&crypto::token_hash(token), ctx.now)
        .await?
        .ok_or_else(|| Reason::SecondFactorExpired.into())
}

/// The first factors a pending record holds.
pub fn first_factors(pending: &MfaPending) -> Vec<Factor> {
    pending
        .factors
        .iter()
        .filter_map(|f| Factor::parse(f))
        .collect()
}

/// Checks a second factor of `user`, under the per-address and per-user limits; a wrong code
/// also counts toward the account's sign-in lockout (SECURITY 25). A TOTP code is accepted once
/// (its step is recorded atomically, SECURITY 23); a backup code is used up (SECURITY 26).
pub async fn verify(ctx: &Ctx<'_>, user: &User, proof: Proof<'_>) -> Result<Shown, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    // Counted before the code is checked (and cleared on success), so guesses sent in
    // parallel cannot all pass a check that has not counted any of them yet.
    limits::hit(ctx, &MFA_FAILURES_PER_USER, &user.id).await?;
    limits::hit(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &user.email).await?;
    let (_, factors) = usable_factors(ctx, user).await?;
    let store = &ctx.services.store;
    let shown = match proof {
        Proof::Totp(code) if factors.totp_since.is_some() => {
            let accepted = match store.totp_factor(&user.id).await? {
                Some(factor) => {
                    let secret = key(ctx)?
                        .open(&factor.secret_sealed, &user.id)
                        .map_err(|e| AuthError::Internal(e.to_string()))?;
                    match totp::check(&secret, code, ctx.now) {
                        Some(step) => {
                            store
                                .accept_totp_step(&user.id, step, false, &[], ctx.now)
                                .await?
                        }
                        None => false,
                    }
                }
                None => false,
            };
            accepted.then_some(Shown {
                factor: Factor::Totp,
                backup_codes_left: None,
            })
        }
        Proof::BackupCode(code) if factors.backup_codes_left > 0 => {
            match backup_codes::normalize(code) {
                Some(code) => {
                    let mac = backup_codes::mac(key(ctx)?, &user.id, &code);
                    if store.use_backup_code(&user.id, &mac, ctx.now).await? {
                        let left = factors.backup_codes_left.saturating_sub(1);
                        super::send(
                            ctx,
                            messages::mfa_changed(
                                ctx.words(),
                                &user.email,
                                &super::product(ctx),
                                MfaChange::CodeUsed(left),
                            ),
                        )
                        .await;
                        Some(Shown {
                            factor: Factor::BackupCode,
                            backup_codes_left: Some(left),
                        })
                    } else {
                        None
                    }
                }
                None => None,
            }
        }
        _ => None,
    };
    match shown {
        Some(shown) => {
            limits::clear(ctx, &MFA_FAILURES_PER_USER, &user.id).await?;
            limits::clear(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &user.email).await?;
            Ok(shown)
        }
        None => {
            tracing::info!(user = %user.id, "wrong second factor");
            Err(Reason::InvalidSecondFactor.into())
        }
    }
}

/// Whether `who`'s session showed what a sensitive action needs right now: a second factor
/// within the step-up window when the user has one, otherwise a sign-in within it.
pub async fn is_fresh(ctx: &Ctx<'_>, who: &SignedIn) -> Result<bool, AuthError> {
    let (policy, factors) = usable_factors(ctx, &who.user).await?;
    let recent = ctx.now.saturating_sub(who.session.created_at) <= policy.step_up_ms;
    let second = who.factors().iter().any(|f| f.is_second());
    Ok(recent && (second || !factors.any()))
}

/// What step-up asks for: a second factor when the user has one, else the password.
pub async fn step_up_needs_second_factor(ctx: &Ctx<'_>, user: &User) -> Result<bool, AuthError> {
    Ok(usable_factors(ctx, user).await?.1.any())
}

/// Step-up with the account password (for a user without a second factor), under the sign-in
/// lockout. Returns the factor shown.
pub async fn verify_password(
    ctx: &Ctx<'_>,
    user: &User,
    password: &str,
) -> Result<Factor, AuthError> {
    limits::hit(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &user.email).await?;
    let verification = ctx
        .services
        .hasher
        .verify(
            password,
            user.password_hash.as_deref(),
            &ctx.active.config.passwords,
        )
        .await?;
    if verification.valid && user.password_hash.is_some() {
        limits::clear(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &user.email).await?;
        Ok(Factor::Password)
    } else {
        Err(Reason::WrongCurrentPassword.into())
    }
}

/// Starts enrolling an authenticator app for `user` (replacing an unfinished enrolment).
pub async fn begin_totp(ctx: &Ctx<'_>, user: &User) -> Result<totp::Enrolment, AuthError> {
    let policy = Policy::of(ctx, user).await?;
    if !policy.active || !policy.totp {
        return Err(Reason::FactorUnavailable.into());
    }
    let secret = totp::new_secret();
    let sealed = key(ctx)?.seal(&secret, &user.id);
    if !ctx
        .services
        .store
        .begin_totp(&user.id, &sealed, ctx.now)
        .await?
    {
        return Err(Reason::AlreadyEnrolled.into());
    }
    enrolment_view(ctx, user, &secret)
}

/// The unfinished enrolment of `user`, shown again (after a wrong first code).
pub async fn unfinished_totp(
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<Option<totp::Enrolment>, AuthError> {
    let Some(factor) = ctx.services.store.totp_factor(&user.id).await? else {
        return Ok(None);
    };
    if factor.confirmed_at.is_some() {
        return Ok(None);
    }
    let secret = key(ctx)?
        .open(&factor.secret_sealed, &user.id)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    enrolment_view(ctx, user, &secret).map(Some)
}

fn enrolment_view(ctx: &Ctx<'_>, user: &User, secret: &[u8]) -> Result<totp::Enrolment, AuthError> {
    let label = ctx
        .active
        .config
        .mfa
        .totp_issuer_label
        .clone()
        .unwrap_or_else(|| super::product(ctx));
    totp::enrolment(secret, &label, &user.email)
        .ok_or_else(|| AuthError::Internal("TOTP enrolment could not be drawn".into()))
}

/// Confirms the unfinished enrolment with a first code. Returns the first backup codes, shown
/// once, when the policy issues them and the user has none yet.
pub async fn confirm_totp(
    ctx: &Ctx<'_>,
    user: &User,
    code: &str,
) -> Result<Vec<String>, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    limits::hit(ctx, &MFA_FAILURES_PER_USER, &user.id).await?;
    let store = &ctx.services.store;
    let policy = Policy::of(ctx, user).await?;
    let factor = store
        .totp_factor(&user.id)
        .await?
        .filter(|f| f.confirmed_at.is_none())
        .ok_or(Reason::SecondFactorExpired)?;
    let secret = key(ctx)?
        .open(&factor.secret_sealed, &user.id)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let Some(step) = totp::check(&secret, code, ctx.now) else {
        return Err(Reason::InvalidSecondFactor.into());
    };
    let existing = store.factors(&user.id).await?;
    let codes = if policy.backup_codes && existing.backup_codes_left == 0 {
        backup_codes::new_set(policy.backup_code_count)
    } else {
        Vec::new()
    };
    let key = key(ctx)?;
    let macs: Vec<String> = codes
        .iter()
        .filter_map(|c| backup_codes::normalize(c))
        .map(|c| backup_codes::mac(key, &user.id, &c))
        .collect();
    if !store
        .accept_totp_step(&user.id, step, true, &macs, ctx.now)
        .await?
    {
        return Err(Reason::InvalidSecondFactor.into());
    }
    limits::clear(ctx, &MFA_FAILURES_PER_USER, &user.id).await?;
    super::send(
        ctx,
        messages::mfa_changed(
            ctx.words(),
            &user.email,
            &super::product(ctx),
            MfaChange::AppAdded,
        ),
    )
    .await;
    Ok(codes)
}

/// Removes the authenticator app (and with it the backup codes and remembered devices) and
/// tells the user (SECURITY 27). The caller has checked step-up.
pub async fn remove_totp(ctx: &Ctx<'_>, user: &User) -> Result<(), AuthError> {
    ctx.services.store.remove_totp(&user.id).await?;
    tracing::info!(user = %user.id, "authenticator app removed");
    super::send(
        ctx,
        messages::mfa_changed(
            ctx.words(),
            &user.email,
            &super::product(ctx),
            MfaChange::AppRemoved,
        ),
    )
    .await;
    Ok(())
}

/// A new set of backup codes replacing the old one. The caller has checked step-up.
pub async fn regenerate_backup_codes(ctx: &Ctx<'_>, user: &User) -> Result<Vec<String>, AuthError> {
    let (policy, factors) = usable_factors(ctx, user).await?;
    // Backup codes recover another factor; without one they would be a factor of their own.
    if !policy.backup_codes || (factors.totp_since.is_none() && factors.passkeys == 0) {
        return Err(Reason::FactorUnavailable.into());
    }
    let codes = backup_codes::new_set(policy.backup_code_count);
    let key = key(ctx)?;
    let macs: Vec<String> = codes
        .iter()
        .filter_map(|c| backup_codes::normalize(c))
        .map(|c| backup_codes::mac(key, &user.id, &c))
        .collect();
    ctx.services
        .store
        .set_backup_codes(&user.id, &macs, ctx.now)
        .await?;
    super::send(
        ctx,
        messages::mfa_changed(
            ctx.words(),
            &user.email,
            &super::product(ctx),
            MfaChange::CodesRegenerated,
        ),
    )
    .await;
    Ok(codes)
}

/// The administrator's MFA reset (for the admin API): removes every second factor of the user,
/// ends their remembered devices, writes an audit line naming who did it, and tells the user.
pub async fn admin_reset(ctx: &Ctx<'_>, user: &User, actor: &str) -> Result<(), AuthError> {
    ctx.services.store.reset_mfa(&user.id).await?;
    tracing::warn!(target: "vestibule::audit", user = %user.id, actor = %actor, action = "mfa.reset", "second factors reset by an administrator");
    super::send(
        ctx,
        messages::mfa_changed(
            ctx.words(),
            &user.email,
            &super::product(ctx),
            MfaChange::Reset,
        ),
    )
    .await;
    Ok(())
}

/// A remembered-device cookie value for `user`, when the policy allows remembering: the value
/// and its lifetime in seconds.
pub async fn remember_device(
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<Option<(String, u64)>, AuthError> {
    let (policy, factors) = usable_factors(ctx, user).await?;
    let Some(duration) = policy.remember_device_ms else {
        return Ok(None);
    };
    let expires = ctx.now.saturating_add(duration);
    let value = remember::issue(key(ctx)?, &user.id, factors.epoch, expires);
    Ok(Some((value, u64::try_from(duration / 1000).unwrap_or(0))))
}
