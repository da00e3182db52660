//! `/account`: sessions, connected applications, password, email, sign-out.

use crate::auth::Factor;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::error::PageError;
use super::extract::Authenticated;
use super::{page, see_other, shown};
use crate::auth::SignedIn;
use crate::auth::flows::account;
use crate::http::state::AppState;
use crate::i18n::{Translator, args};
use crate::runtime::Active;

/// `?notice=` — a fixed set of messages (catalog keys), so nothing from the URL is echoed into
/// the page.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

impl NoticeQuery {
    /// The notice's key, as sent (only ever matched against a fixed list).
    pub fn key(&self) -> &str {
        &self.notice
    }
}

fn notice_text(key: &str) -> Option<&'static str> {
    match key {
        "password-changed" => Some("account.notice.passwordChanged"),
        "email-changed" => Some("account.notice.emailChanged"),
        "session-revoked" => Some("account.notice.sessionRevoked"),
        "app-revoked" => Some("account.notice.appRevoked"),
        "identity-linked" => Some("account.notice.identityLinked"),
        "identity-unlinked" => Some("account.notice.identityUnlinked"),
        "mfa-enabled" => Some("account.notice.mfaEnabled"),
        "mfa-removed" => Some("account.notice.mfaRemoved"),
        "mfa-unavailable" => Some("account.notice.mfaUnavailable"),
        "passkey-added" => Some("account.notice.passkeyAdded"),
        "passkey-removed" => Some("account.notice.passkeyRemoved"),
        "last-identity" => Some("account.notice.lastIdentity"),
        _ => None,
    }
}

/// Password-change form.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Email-change form.
#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
}

/// Email-change code form.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Application-revoke form.
#[derive(Debug, Default, Deserialize)]
pub struct RevokeAppForm {
    #[serde(default)]
    client_id: String,
}

/// Session-revoke form.
#[derive(Debug, Default, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    session_id: String,
}

/// "10 minutes ago", in the locale of `words`.
pub fn ago(words: &Translator, now: i64, then: i64) -> String {
    let minutes = (now - then).max(0) / 60_000;
    let (key, count) = match minutes {
        0 => return words.get("time.justNow", &[]),
        m if m < 60 => ("time.minutesAgo", m),
        m if m < 48 * 60 => ("time.hoursAgo", m / 60),
        m => ("time.daysAgo", m / (24 * 60)),
    };
    words.get(key, &args([("count", &count)]))
}

async fn account_page(
    state: &AppState,
    active: &Active,
    csrf: &CsrfToken,
    who: &SignedIn,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    let now = state.auth.clock.now();
    let words = &csrf.words;
    let ago = |then: i64| ago(words, now, then);
    let sessions: Vec<_> = state
        .auth
        .store
        .list_sessions(&who.user.id)
        .await?
        .into_iter()
        .filter(|s| s.expires_at > now)
        .map(|s| {
            context! {
                current => s.id == who.session.id,
                id => s.id,
                device => crate::auth::devices::describe(words, s.user_agent.as_deref()),
                ip => s.ip,
                last_seen => ago(s.last_seen_at),
            }
        })
        .collect();
    // Applications the user consented to, by their display name.
    let apps: Vec<_> = state
        .auth
        .store
        .consents_of(&who.user.id)
        .await?
        .into_iter()
        .map(|c| {
            let name = active
                .config
                .applications
                .iter()
                .find(|a| a.client_id == c.client_id)
                .map_or_else(|| c.client_id.clone(), |a| a.display_name.clone());
            context! {
                client_id => c.client_id,
                name => name,
                scopes => c.scopes.join(", "),
                since => ago(c.created_at),
            }
        })
        .collect();
    let identities = state.auth.store.identities_of_user(&who.user.id).await?;
    let ways = identities.len() + usize::from(who.user.password_hash.is_some());
    let linkable: Vec<_> = active
        .config
        .providers
        .iter()
        .filter(|p| !identities.iter().any(|i| i.provider == p.slug))
        .map(|p| context! { slug => &p.slug, name => &p.display_name })
        .collect();
    let identities: Vec<_> = identities
        .into_iter()
        .map(|i| {
            let name = active.config.provider_name(&i.provider).to_owned();
            context! {
                id => i.id,
                provider => i.provider,
                name => name,
                email => i.email,
                since => ago(i.created_at),
                removable => ways > 1,
            }
        })
        .collect();
    let nobody = crate::auth::ClientInfo::default();
    let ctx = crate::auth::Ctx::new(&state.auth, active, &nobody);
    let (policy, factors) = crate::auth::mfa::usable_factors(&ctx, &who.user).await?;
    let mfa = (policy.active && policy.totp).then(|| {
        context! {
            enabled_since => factors.totp_since.map(ago),
            required => policy.required,
        }
    });
    let passkeys = if policy.active && policy.webauthn && active.webauthn.is_some() {
        let list: Vec<_> = state
            .auth
            .store
            .passkeys_of(&who.user.id)
            .await?
            .into_iter()
            .map(|p| {
                context! {
                    id => p.id,
                    name => p.name,
                    added => ago(p.created_at),
                    last_used => p.last_used_at.map(ago),
                }
            })
            .collect();
        Some(list)
    } else {
        None
    };
    page(
        status,
        "account.html",
        active,
        csrf,
        "account.title",
        context! {
            backup_codes => (policy.active
                && policy.backup_codes
                && (factors.totp_since.is_some() || factors.passkeys > 0))
                .then_some(factors.backup_codes_left),
            webauthn => passkeys.is_some(),
            passkeys => passkeys,
            mfa => mfa,
            email => &who.user.email,
            organizations => active.config.organizations.enabled,
            sessions => sessions,
            apps => apps,
            identities => identities,
            linkable => linkable,
            error => error,
            notice => notice,
        },
    )
}

/// `GET /account`
pub async fn account_get(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    account_page(
        &state,
        active,
        csrf,
        &who,
        StatusCode::OK,
        None,
        notice_text(&q.notice),
    )
    .await
}

/// `POST /account/password`
pub async fn change_password(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    if let Some(step_up) =
        super::mfa::step_up_needed(&state, &request, &who, "/account#password").await?
    {
        return Ok(step_up);
    }
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    match account::change_password(&ctx, &who, &form.current_password, &form.new_password).await {
        Ok(()) => {
            // Privilege change: every old session is gone; this browser gets a new token.
            let cookie = request
                .renew_session(&state, &who.user, &who.factors())
                .await?;
            Ok(see_other("/account?notice=password-changed", &[cookie]))
        }
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            account_page(&state, active, csrf, &who, status, Some(&message), None).await
        }
    }
}

/// `POST /account/email`
pub async fn change_email(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    if let Some(step_up) =
        super::mfa::step_up_needed(&state, &request, &who, "/account#email").await?
    {
        return Ok(step_up);
    }
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    match account::start_email_change(&ctx, &who, &form.email, &form.current_password).await {
        Ok(email) => page(
            StatusCode::OK,
            "verify_email.html",
            active,
            csrf,
            "account.email.confirmTitle",
            context! {
                subtitle => csrf.words.get("verify.subtitle", &args([("email", &email)])),
                email => email,
                action => "/account/email/verify",
            },
        ),
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            account_page(&state, active, csrf, &who, status, Some(&message), None).await
        }
    }
}

/// `POST /account/email/verify`
pub async fn confirm_email(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    match account::confirm_email_change(&ctx, &who, &form.code).await {
        Ok(_) => {
            let user = state
                .auth
                .store
                .user_by_id(&who.user.id)
                .await?
                .ok_or(PageError::NotFound)?;
            let cookie = request
                .renew_session(&state, &user, &[Factor::Password, Factor::Email])
                .await?;
            Ok(see_other("/account?notice=email-changed", &[cookie]))
        }
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            account_page(&state, active, csrf, &who, status, Some(&message), None).await
        }
    }
}

/// `POST /account/sessions/revoke`
pub async fn revoke_session(
    State(state): State<AppState>,
    Authenticated { who, .. }: Authenticated,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    // Scoped to the signed-in user: another user's session id revokes nothing.
    state
        .auth
        .store
        .revoke_session(&who.user.id, &form.session_id, state.auth.clock.now())
        .await?;
    Ok(see_other("/account?notice=session-revoked", &[]))
}

/// `POST /account/apps/revoke`: forgets the consent given to an application and revokes every
/// grant the user gave it, so its refresh tokens stop working.
pub async fn revoke_app(
    State(state): State<AppState>,
    Authenticated { page: _, who }: Authenticated,
    Form(form): Form<RevokeAppForm>,
) -> Result<Response, PageError> {
    let revoked = state
        .auth
        .store
        .revoke_consent(&who.user.id, &form.client_id, state.auth.clock.now())
        .await?;
    if revoked {
        tracing::info!(client_id = %form.client_id, user = %who.user.id, "consent revoked on /account");
    }
    Ok(see_other("/account?notice=app-revoked#apps", &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_is_relative() {
        let en = crate::i18n::english();
        assert_eq!(ago(en, 0, 0), "just now");
        assert_eq!(ago(en, 60_000, 0), "1 minute ago");
        assert_eq!(ago(en, 10 * 60_000, 0), "10 minutes ago");
        assert_eq!(ago(en, 90 * 60_000, 0), "1 hour ago");
        assert_eq!(ago(en, 3 * 24 * 60 * 60_000, 0), "3 days ago");
    }
}
