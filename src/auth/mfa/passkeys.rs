//! Passkeys (WebAuthn, through webauthn-rs): registration from `/account`, a passkey as the
//! second factor or for step-up, and signing in with a passkey alone (discoverable credentials,
//! when `webauthn.passwordless`).
//!
//! Every ceremony's challenge is stored server-side, single use, bound to what started it (the
//! session, the half-signed-in record, or the CSRF cookie of an anonymous sign-in page), and lives
//! five minutes (SECURITY 29). The relying party id and origin come from the issuer, so an answer
//! made for another origin fails (SECURITY 30); webauthn-rs checks signatures, user presence and
//! user verification (SECURITY 31). Passkeys always verify the user, so one counts as two
//! factors (`amr: hwk, mfa`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnError,
};

use super::{Policy, Shown};
use crate::auth::limits::{self, MFA_PER_IP};
use crate::auth::{AuthError, Ctx, Factor, Reason};
use crate::crypto;
use crate::email::messages::{self, MfaChange};
use crate::store::{CeremonyPurpose, StoreError, StoredPasskey, User};

/// How long a ceremony's challenge stays answerable.
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
/// Longest passkey name kept.
const NAME_MAX: usize = 64;

/// The options a browser passes to `navigator.credentials`, and the id of the stored challenge
/// it must send back with the answer.
#[derive(Debug, Clone)]
pub struct Options {
    /// The ceremony id (random; only its hash is stored).
    pub ceremony: String,
    /// `{"publicKey": ...}` as webauthn-rs words it (base64url for binary fields).
    pub options: Value,
}

fn webauthn<'a>(ctx: &Ctx<'a>) -> Result<&'a Webauthn, AuthError> {
    ctx.active
        .webauthn
        .as_ref()
        .ok_or_else(|| Reason::FactorUnavailable.into())
}

fn offered(ctx: &Ctx<'_>, email: &str) -> Result<(), AuthError> {
    let policy = Policy::for_user(&ctx.active.config, email);
    if policy.active && policy.webauthn {
        Ok(())
    } else {
        Err(Reason::FactorUnavailable.into())
    }
}

/// The user handle the authenticator keeps: our 128-bit user id as a UUID.
fn user_handle(user: &User) -> Result<Uuid, AuthError> {
    Uuid::parse_str(&user.id).map_err(|_| AuthError::Internal("user id is not 128 bits".into()))
}

fn internal(what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(format!("{what}: {e}"))
}

/// A binding for a ceremony: the hash of the secret it belongs to.
pub fn binding(secret: &str) -> String {
    crypto::token_hash(secret)
}

async fn store_ceremony(
    ctx: &Ctx<'_>,
    user: Option<&User>,
    purpose: CeremonyPurpose,
    binding: &str,
    state: &impl serde::Serialize,
) -> Result<String, AuthError> {
    let ceremony = crypto::random_token();
    let state = serde_json::to_string(state).map_err(|e| internal("ceremony state", e))?;
    ctx.services
        .store
        .create_ceremony(
            &crypto::token_hash(&ceremony),
            user.map(|u| u.id.as_str()),
            purpose,
            binding,
            &state,
            ctx.now,
            ctx.now.saturating_add(CEREMONY_TTL_MS),
        )
        .await?;
    Ok(ceremony)
}

async fn take_ceremony<T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_>,
    ceremony: &str,
    purpose: CeremonyPurpose,
    binding: &str,
) -> Result<(Option<String>, T), AuthError> {
    if !crypto::is_token(ceremony) {
        return Err(Reason::PasskeyRejected.into());
    }
    let taken = ctx
        .services
        .store
        .take_ceremony(&crypto::token_hash(ceremony), purpose, binding, ctx.now)
        .await?
        .ok_or(Reason::PasskeyRejected)?;
    let state = serde_json::from_str(&taken.state).map_err(|e| internal("ceremony state", e))?;
    Ok((taken.user_id, state))
}

/// [`take_ceremony`] for a ceremony started for `user`: another user's ceremony answers nothing.
async fn take_ceremony_of<T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_>,
    user: &User,
    ceremony: &str,
    purpose: CeremonyPurpose,
    binding: &str,
) -> Result<T, AuthError> {
    let (owner, state) = take_ceremony(ctx, ceremony, purpose, binding).await?;
    if owner.as_deref() == Some(user.id.as_str()) {
        Ok(state)
    } else {
        Err(Reason::PasskeyRejected.into())
    }
}

/// The user's stored passkey with this credential id.
async fn stored_by_credential(
    ctx: &Ctx<'_>,
    user_id: &str,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, AuthError> {
    let wanted = URL_SAFE_NO_PAD.encode(credential_id);
    Ok(ctx
        .services
        .store
        .passkeys_of(user_id)
        .await?
        .into_iter()
        .find(|p| p.credential_id == wanted))
}

/// A passkey name as kept: trimmed, at most 64 characters; `None` when nothing is left.
fn passkey_name(name: &str) -> Option<String> {
    let name: String = name.trim().chars().take(NAME_MAX).collect();
    (!name.is_empty()).then_some(name)
}

fn parse_passkey(stored: &StoredPasskey) -> Result<Passkey, AuthError> {
    serde_json::from_str(&stored.credential).map_err(|e| internal("stored passkey", e))
}

fn credential_id_text(passkey: &Passkey) -> String {
    let id: &[u8] = passkey.cred_id().as_ref();
    URL_SAFE_NO_PAD.encode(id)
}

fn refused(ceremony: &str, e: &WebauthnError) -> AuthError {
    // The reason goes to the log (it says what the authenticator got wrong, nothing secret).
    tracing::info!(ceremony, error = %e, "passkey answer refused");
    Reason::PasskeyRejected.into()
}

/// Options to register a new passkey for `user` (the caller has checked step-up), bound to
/// `binding`. Registered credentials are excluded, and a discoverable credential is asked for,
/// so it can also sign in alone.
pub async fn register_options(
    ctx: &Ctx<'_>,
    user: &User,
    binding: &str,
) -> Result<Options, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    offered(ctx, &user.email)?;
    let webauthn = webauthn(ctx)?;
    let existing = ctx.services.store.passkeys_of(&user.id).await?;
    let exclude = existing
        .iter()
        .map(|p| parse_passkey(p).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (challenge, state): (_, PasskeyRegistration) = webauthn
        .start_passkey_registration(user_handle(user)?, &user.email, &user.email, Some(exclude))
        .map_err(|e| internal("passkey registration", e))?;
    let mut options = serde_json::to_value(&challenge).map_err(|e| internal("options", e))?;
    if let Some(selection) = options
        .get_mut("publicKey")
        .and_then(|p| p.get_mut("authenticatorSelection"))
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
    let ceremony =
        store_ceremony(ctx, Some(user), CeremonyPurpose::Register, binding, &state).await?;
    Ok(Options { ceremony, options })
}

/// Registers the browser's answer as a passkey of `user` named `name`. Returns its id.
pub async fn register_finish(
    ctx: &Ctx<'_>,
    user: &User,
    binding: &str,
    ceremony: &str,
    answer: &str,
    name: &str,
) -> Result<String, AuthError> {
    offered(ctx, &user.email)?;
    let webauthn = webauthn(ctx)?;
    let state: PasskeyRegistration =
        take_ceremony_of(ctx, user, ceremony, CeremonyPurpose::Register, binding).await?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(answer).map_err(|_| Reason::PasskeyRejected)?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &state)
        .map_err(|e| refused("registration", &e))?;
    let name = passkey_name(name).unwrap_or_else(|| "Passkey".to_owned());
    let record = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let stored = match ctx
        .services
        .store
        .add_passkey(
            &user.id,
            &credential_id_text(&passkey),
            &name,
            &record,
            ctx.now,
        )
        .await
    {
        Ok(stored) => stored,
        // Registered already, here or on another account (excludeCredentials should have
        // stopped the browser; a crafted answer gets here).
        Err(StoreError::IdentityTaken) => return Err(Reason::PasskeyRejected.into()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, passkey = %stored.id, "passkey registered");
    crate::auth::send(
        ctx,
        messages::mfa_changed(
            ctx.words(),
            &user.email,
            &crate::auth::product(ctx),
            MfaChange::PasskeyAdded,
        ),
    )
    .await;
    Ok(stored.id)
}

/// Options to use one of `user`'s passkeys (second factor, step-up), bound to `binding`.
pub async fn authenticate_options(
    ctx: &Ctx<'_>,
    user: &User,
    binding: &str,
) -> Result<Options, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    offered(ctx, &user.email)?;
    let webauthn = webauthn(ctx)?;
    let passkeys = ctx
        .services
        .store
        .passkeys_of(&user.id)
        .await?
        .iter()
        .map(parse_passkey)
        .collect::<Result<Vec<_>, _>>()?;
    if passkeys.is_empty() {
        return Err(Reason::FactorUnavailable.into());
    }
    let (challenge, state): (_, PasskeyAuthentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| internal("passkey authentication", e))?;
    let options = serde_json::to_value(&challenge).map_err(|e| internal("options", e))?;
    let ceremony = store_ceremony(
        ctx,
        Some(user),
        CeremonyPurpose::Authenticate,
        binding,
        &state,
    )
    .await?;
    Ok(Options { ceremony, options })
}

/// Checks the browser's answer with one of `user`'s passkeys.
pub async fn authenticate_finish(
    ctx: &Ctx<'_>,
    user: &User,
    binding: &str,
    ceremony: &str,
    answer: &str,
) -> Result<Shown, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    offered(ctx, &user.email)?;
    let webauthn = webauthn(ctx)?;
    let state: PasskeyAuthentication =
        take_ceremony_of(ctx, user, ceremony, CeremonyPurpose::Authenticate, binding).await?;
    let answer: PublicKeyCredential =
        serde_json::from_str(answer).map_err(|_| Reason::PasskeyRejected)?;
    let result = webauthn
        .finish_passkey_authentication(&answer, &state)
        .map_err(|e| refused("authentication", &e))?;
    used(ctx, user, result.cred_id().as_slice(), &result).await?;
    Ok(Shown {
        factor: Factor::Passkey,
        backup_codes_left: None,
    })
}

/// Options to sign in with a passkey alone (`webauthn.passwordless`), bound to `binding` (the
/// sign-in page's CSRF cookie).
pub async fn discover_options(ctx: &Ctx<'_>, binding: &str) -> Result<Options, AuthError> {
    let policy = Policy::for_user(&ctx.active.config, "");
    if !policy.passwordless {
        return Err(Reason::FactorUnavailable.into());
    }
    // Every request stores a challenge until it expires: bounded per address.
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    let webauthn = webauthn(ctx)?;
    let (challenge, state): (_, DiscoverableAuthentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("passkey sign-in", e))?;
    let options = serde_json::to_value(&challenge).map_err(|e| internal("options", e))?;
    let ceremony = store_ceremony(ctx, None, CeremonyPurpose::Discover, binding, &state).await?;
    Ok(Options { ceremony, options })
}

/// Signs in with a passkey alone: the user the credential belongs to, if the answer holds.
pub async fn discover_finish(
    ctx: &Ctx<'_>,
    binding: &str,
    ceremony: &str,
    answer: &str,
) -> Result<User, AuthError> {
    limits::hit(ctx, &MFA_PER_IP, limits::ip(ctx)).await?;
    let webauthn = webauthn(ctx)?;
    let (_, state): (_, DiscoverableAuthentication) =
        take_ceremony(ctx, ceremony, CeremonyPurpose::Discover, binding).await?;
    let answer: PublicKeyCredential =
        serde_json::from_str(answer).map_err(|_| Reason::PasskeyRejected)?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(&answer)
        .map_err(|e| refused("sign-in", &e))?;
    let user_id = handle.simple().to_string();
    let store = &ctx.services.store;
    let user = store
        .user_by_id(&user_id)
        .await?
        .ok_or(Reason::PasskeyRejected)?;
    let stored = stored_by_credential(ctx, &user.id, credential_id)
        .await?
        .ok_or(Reason::PasskeyRejected)?;
    let passkey = parse_passkey(&stored)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(&answer, state, Credential::from(passkey))
        .map_err(|e| refused("sign-in", &e))?;
    if !Policy::of(ctx, &user).await?.passwordless {
        return Err(Reason::FactorUnavailable.into());
    }
    used(ctx, &user, result.cred_id().as_slice(), &result).await?;
    Ok(user)
}

/// Records a use: the updated counter, when; a counter that went backwards (a cloned
/// authenticator, or one that does not count) is logged.
async fn used(
    ctx: &Ctx<'_>,
    user: &User,
    credential_id: &[u8],
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<(), AuthError> {
    let Some(stored) = stored_by_credential(ctx, &user.id, credential_id).await? else {
        return Err(Reason::PasskeyRejected.into());
    };
    let mut passkey = parse_passkey(&stored)?;
    let before: Value = serde_json::from_str(&stored.credential).unwrap_or_default();
    let old_counter = before
        .pointer("/cred/counter")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if result.counter() != 0 && u64::from(result.counter()) <= old_counter {
        tracing::warn!(user = %user.id, passkey = %stored.id, stored = old_counter, presented = result.counter(), "passkey sign-count regression");
    }
    passkey.update_credential(result);
    let record = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    ctx.services
        .store
        .passkey_used(&user.id, &stored.id, &record, ctx.now)
        .await?;
    Ok(())
}

/// Renames one of the user's passkeys.
pub async fn rename(ctx: &Ctx<'_>, user: &User, id: &str, name: &str) -> Result<bool, AuthError> {
    let Some(name) = passkey_name(name) else {
        return Ok(false);
    };
    Ok(ctx
        .services
        .store
        .rename_passkey(&user.id, id, &name)
        .await?)
}

/// Removes one of the user's passkeys and tells them (the caller has checked step-up).
pub async fn remove(ctx: &Ctx<'_>, user: &User, id: &str) -> Result<bool, AuthError> {
    let removed = ctx.services.store.remove_passkey(&user.id, id).await?;
    if removed {
        tracing::info!(user = %user.id, passkey = %id, "passkey removed");
        crate::auth::send(
            ctx,
            messages::mfa_changed(
                ctx.words(),
                &user.email,
                &crate::auth::product(ctx),
                MfaChange::PasskeyRemoved,
            ),
        )
        .await;
    }
    Ok(removed)
}
