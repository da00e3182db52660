//! `/sign-in`, `/sign-up` and `/sign-out`.

use crate::auth::Factor;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::error::PageError;
use super::extract::PageRequest;
use super::{messages, page, redirect_query, see_other, shown};
use crate::auth::flows::sign_in::{SignInOutcome, sign_in};
use crate::auth::flows::sign_up::{SignUpOutcome, sign_up};
use crate::auth::redirect;
use crate::config::runtime::SignUpMode;
use crate::http::cookies;
use crate::http::state::AppState;
use crate::i18n::args;

/// `?redirect_url=`
#[derive(Debug, Default, Deserialize)]
pub struct ReturnTo {
    /// Where to go afterwards.
    #[serde(default)]
    pub redirect_url: Option<String>,
}

/// The sign-in and sign-up forms.
#[derive(Debug, Default, Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// `GET /sign-in?redirect_url=&login_hint=&prompt=login`: the OpenID flow passes the client's
/// `login_hint` (an email address fills in the form) and `prompt=login` when a signed-in user
/// must sign in again.
#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
    /// `?provider=slug`: straight to that provider (an `idp_hint`).
    #[serde(default)]
    provider: Option<String>,
}

/// Home-realm discovery: an address in a domain of an Organization that sends its users to
/// its provider goes there (`to_provider`), unless it may sign in with a password and one was
/// typed (`password`). The provider's flow then signs them in (or up).
fn home_realm(
    active: &crate::runtime::Active,
    email: &str,
    password: Option<&str>,
    redirect_url: &str,
) -> Option<Response> {
    // The address as the flows will see it: what they would sign in is what is matched.
    let email = crate::auth::normalize_email(email)?;
    let organization = active.config.organizations.home_realm(&email)?;
    if organization.password_sign_in && password.is_some_and(|p| !p.is_empty()) {
        return None;
    }
    let slug = organization
        .allowed_providers
        .iter()
        .find(|slug| active.config.provider(slug).is_some())?;
    Some(see_other(
        &format!("/oauth/{slug}/start{}", redirect_query(redirect_url)),
        &[],
    ))
}

/// `GET /sign-in`
pub async fn sign_in_page(
    State(state): State<AppState>,
    request: PageRequest,
    Query(q): Query<SignInQuery>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let again = q.prompt.as_deref() == Some("login");
    if !again && request.session(&state).await?.is_some() {
        return Ok(see_other(
            &redirect::resolve(active, q.redirect_url.as_deref()),
            &[],
        ));
    }
    let redirect_url = redirect::kept(active, q.redirect_url.as_deref());
    if let Some(slug) = q.provider.as_deref()
        && active.config.provider(slug).is_some()
    {
        return Ok(see_other(
            &format!("/oauth/{slug}/start{}", redirect_query(&redirect_url)),
            &[],
        ));
    }
    let email = q
        .login_hint
        .as_deref()
        .filter(|hint| hint.contains('@') && hint.len() <= 320)
        .unwrap_or_default();
    if let Some(to_provider) = home_realm(active, email, None, &redirect_url) {
        return Ok(to_provider);
    }
    sign_in_form(active, csrf, StatusCode::OK, email, &redirect_url, None)
}

fn sign_in_form(
    active: &crate::runtime::Active,
    csrf: &CsrfToken,
    status: StatusCode,
    email: &str,
    redirect_url: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    page(
        status,
        "sign_in.html",
        active,
        csrf,
        "signIn.title",
        context! {
            email => email,
            error => error,
            redirect_url => redirect_url,
            redirect_query => redirect_query(redirect_url),
            sign_up_open => active.config.sign_up.mode == SignUpMode::Public,
            providers => super::federation::buttons(active, redirect_url, csrf.organization.as_deref()),
            passwordless => active.webauthn.is_some() && active.config.mfa.passwordless,
            webauthn => active.webauthn.is_some() && active.config.mfa.passwordless,
        },
    )
}

/// `POST /sign-in`
pub async fn sign_in_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<CredentialsForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    let redirect_url = redirect::kept(active, form.redirect_url.as_deref());
    // Before any password check: an address whose organization refuses passwords never gets
    // one compared (nor counted toward a lockout).
    if let Some(to_provider) = home_realm(active, &form.email, Some(&form.password), &redirect_url)
    {
        return Ok(to_provider);
    }
    match sign_in(&ctx, &form.email, &form.password).await {
        Ok(SignInOutcome::Success(user)) => {
            request
                .sign_in(&state, &user, &[Factor::Password], &redirect_url)
                .await
        }
        Ok(SignInOutcome::Unverified(email)) => {
            let email_q: String = url::form_urlencoded::byte_serialize(email.as_bytes()).collect();
            let extra = if redirect_url.is_empty() {
                String::new()
            } else {
                redirect_query(&redirect_url).replacen('?', "&", 1)
            };
            Ok(see_other(
                &format!("/verify-email?email={email_q}{extra}"),
                &[],
            ))
        }
        Err(e) => {
            let (message, _) = shown(e, &csrf.words)?;
            // The same status and body for an unknown address and a wrong password.
            sign_in_form(
                active,
                csrf,
                StatusCode::UNAUTHORIZED,
                &form.email,
                &redirect_url,
                Some(&message),
            )
        }
    }
}

/// `GET /sign-up`
pub async fn sign_up_page(
    request: PageRequest,
    Query(q): Query<ReturnTo>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let redirect_url = redirect::kept(active, q.redirect_url.as_deref());
    sign_up_form(active, csrf, StatusCode::OK, "", &redirect_url, None)
}

fn sign_up_form(
    active: &crate::runtime::Active,
    csrf: &CsrfToken,
    status: StatusCode,
    email: &str,
    redirect_url: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    // On the way to accepting an invitation the form shows; the flow checks the address has one.
    let invited = redirect_url.starts_with("/invitations/accept?");
    let closed = match active.config.sign_up.mode {
        SignUpMode::Public => None,
        SignUpMode::InviteOnly if invited => None,
        SignUpMode::InviteOnly => Some(messages::SIGN_UP_INVITE_ONLY),
        SignUpMode::Disabled => Some(messages::SIGN_UP_CLOSED),
    };
    page(
        status,
        "sign_up.html",
        active,
        csrf,
        "signUp.title",
        context! {
            email => email,
            error => error.or(closed),
            redirect_url => redirect_url,
            redirect_query => redirect_query(redirect_url),
            min_length => active.config.passwords.min_length,
            sign_up_open => closed.is_none(),
            providers => super::federation::buttons(active, redirect_url, csrf.organization.as_deref()),
        },
    )
}

/// `POST /sign-up`
pub async fn sign_up_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<CredentialsForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    let redirect_url = redirect::kept(active, form.redirect_url.as_deref());
    // An organization that refuses passwords for its domain: its users sign up through its
    // provider instead.
    if crate::auth::normalize_email(&form.email)
        .and_then(|email| active.config.organizations.home_realm(&email))
        .is_some_and(|o| !o.password_sign_in)
        && let Some(to_provider) = home_realm(active, &form.email, None, &redirect_url)
    {
        return Ok(to_provider);
    }
    match sign_up(&ctx, &form.email, &form.password).await {
        Ok(SignUpOutcome::VerifyEmail(email)) => {
            let email_q: String = url::form_urlencoded::byte_serialize(email.as_bytes()).collect();
            let extra = redirect_query(&redirect_url).replacen('?', "&", 1);
            Ok(see_other(
                &format!("/verify-email?email={email_q}{extra}"),
                &[],
            ))
        }
        Ok(SignUpOutcome::Created(user)) => {
            request
                .sign_in(&state, &user, &[Factor::Password], &redirect_url)
                .await
        }
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            sign_up_form(
                active,
                csrf,
                status,
                &form.email,
                &redirect_url,
                Some(&message),
            )
        }
    }
}

/// The parameters a relying party's sign-out request carries through the sign-out page.
const LOGOUT_PARAMS: [&str; 3] = ["client_id", "post_logout_redirect_uri", "state"];

/// The logout request in a sign-out page's query or form, checked: where to go afterwards.
fn logout_request(
    active: &crate::runtime::Active,
    params: &[(String, String)],
    now: i64,
) -> Result<crate::auth::oidc::logout::Logout, crate::auth::oidc::logout::LogoutRefusal> {
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| LOGOUT_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    crate::auth::oidc::logout::check(
        &active.config.applications,
        &active.config.issuer,
        None,
        &kept,
        now,
    )
}

/// `GET /sign-out`: asks a signed-in user to confirm signing out (where an application's
/// sign-out request without a usable `id_token_hint` lands); nobody signed in goes on at once.
pub async fn sign_out_page(
    State(state): State<AppState>,
    request: PageRequest,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let active = &request.active;
    let logout = match logout_request(active, &params, state.auth.clock.now()) {
        Ok(logout) => logout,
        Err(refusal) => {
            return Ok(crate::http::oauth::end_session::refused(
                &request.csrf.words,
                refusal,
            ));
        }
    };
    let Some(who) = request.session(&state).await? else {
        return Ok(see_other(
            logout.target.as_deref().unwrap_or("/sign-in"),
            &[],
        ));
    };
    let app_name = logout.client_id.as_ref().and_then(|id| {
        active
            .config
            .applications
            .iter()
            .find(|a| &a.client_id == id)
            .map(|a| a.display_name.clone())
    });
    let fields: Vec<minijinja::Value> = params
        .iter()
        .filter(|(k, _)| LOGOUT_PARAMS.contains(&k.as_str()))
        .map(|(name, value)| context! { name => name, value => value })
        .collect();
    let words = &request.csrf.words;
    let email = &who.user.email;
    let subtitle = match app_name {
        Some(app) => words.get("signOut.appAsks", &args([("app", &app), ("email", email)])),
        None => words.get("signOut.signedInAs", &args([("email", email)])),
    };
    page(
        StatusCode::OK,
        "sign_out.html",
        active,
        &request.csrf,
        "signOut.title",
        context! { subtitle => subtitle, fields => fields },
    )
}

/// `POST /sign-out`: ends the session server-side and clears the cookie, then goes to the
/// relying party's registered post-logout address when the form carries one, else to sign-in.
pub async fn sign_out(
    State(state): State<AppState>,
    request: PageRequest,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let logout = match logout_request(&request.active, &params, state.auth.clock.now()) {
        Ok(logout) => logout,
        Err(refusal) => {
            return Ok(crate::http::oauth::end_session::refused(
                &request.csrf.words,
                refusal,
            ));
        }
    };
    if let Some(current) = request.session(&state).await? {
        crate::auth::sessions::end(&request.ctx(&state), &current).await?;
    }
    Ok(see_other(
        logout.target.as_deref().unwrap_or("/sign-in"),
        &[cookies::clear(cookies::SESSION)],
    ))
}
