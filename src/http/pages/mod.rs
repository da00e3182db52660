//! The hosted pages face: server-rendered HTML forms under the cookie session, with CSRF
//! protection on every state-changing request and an HTML error page. Handlers extract, call a
//! flow in `crate::auth`, and map the outcome to a page or a redirect; the words for the domain's
//! reason codes come from [`messages`].

pub mod account;
mod assets;
pub mod consent;
pub mod csrf;
mod dev_theme;
pub mod error;
pub mod extract;
pub mod federation;
mod mailbox;
pub mod messages;
pub mod mfa;
pub mod organizations;
pub mod parts;
pub mod passkeys;
pub mod recovery;
mod session_check;
pub mod sign_in;
pub mod templates;
pub mod verify;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Value;

use super::state::AppState;
use crate::auth::AuthError;
use crate::i18n::Translator;
use crate::runtime::Active;
use csrf::CsrfToken;
use error::PageError;
use templates::{PageContext, render};

/// Every hosted page, behind the CSRF layer. `/dev/*` answers only when the state has a dev
/// outbox.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { see_other("/account", &[]) }))
        .route(
            "/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in_submit),
        )
        .route(
            "/sign-up",
            get(sign_in::sign_up_page).post(sign_in::sign_up_submit),
        )
        .route(
            "/sign-out",
            get(sign_in::sign_out_page).post(sign_in::sign_out),
        )
        .route(
            "/sign-in/factor",
            get(mfa::challenge_get).post(mfa::challenge_submit),
        )
        .route(
            "/sign-in/enrol",
            get(mfa::enrol_get).post(mfa::enrol_submit),
        )
        .route("/sign-in/enrol/postpone", post(mfa::enrol_postpone))
        .route(
            "/account/step-up",
            get(mfa::step_up_get).post(mfa::step_up_submit),
        )
        .route(
            "/sign-in/factor/passkey/options",
            post(passkeys::factor_options),
        )
        .route("/sign-in/factor/passkey", post(passkeys::factor))
        .route("/sign-in/passkey/options", post(passkeys::sign_in_options))
        .route("/sign-in/passkey", post(passkeys::sign_in))
        .route(
            "/account/step-up/passkey/options",
            post(passkeys::step_up_options),
        )
        .route("/account/step-up/passkey", post(passkeys::step_up))
        .route(
            "/account/passkeys/options",
            post(passkeys::register_options),
        )
        .route("/account/passkeys", post(passkeys::register))
        .route("/account/passkeys/rename", post(passkeys::rename))
        .route("/account/passkeys/remove", post(passkeys::remove))
        .route("/account/mfa/totp/start", post(mfa::totp_start))
        .route("/account/mfa/totp/confirm", post(mfa::totp_confirm))
        .route("/account/mfa/totp/remove", post(mfa::totp_remove))
        .route(
            "/account/mfa/backup-codes",
            post(mfa::backup_codes_regenerate),
        )
        .route(
            "/verify-email",
            get(verify::verify_page).post(verify::verify_code_submit),
        )
        .route("/verify-email/link", post(verify::verify_link_submit))
        .route("/verify-email/resend", post(verify::resend_submit))
        .route(
            "/forgot-password",
            get(recovery::forgot_page).post(recovery::forgot_submit),
        )
        .route(
            "/reset-password",
            get(recovery::reset_page).post(recovery::reset_submit),
        )
        .route(
            "/consent",
            get(consent::consent_page).post(consent::consent_submit),
        )
        .route("/oauth/{slug}/start", get(federation::start))
        .route(
            "/oauth/{slug}/callback",
            get(federation::callback_get).post(federation::callback_post),
        )
        .route(
            "/oauth/link",
            get(federation::link_page).post(federation::link_submit),
        )
        .route("/oauth/link/code", post(federation::link_send_code))
        .route("/oauth/link/finish", get(federation::link_finish))
        .route("/oauth/link/verify", post(federation::link_verify_code))
        .route(
            "/account/identities/link",
            post(federation::link_from_account),
        )
        .route("/account/identities/unlink", post(federation::unlink))
        .route(
            "/organizations",
            get(organizations::list).post(organizations::create),
        )
        .route("/organizations/switch", post(organizations::switch))
        .route("/organizations/join", post(organizations::join))
        .route("/organizations/{slug}", get(organizations::show))
        .route(
            "/organizations/{slug}/invitations",
            post(organizations::invite),
        )
        .route(
            "/organizations/{slug}/invitations/revoke",
            post(organizations::revoke_invitation),
        )
        .route(
            "/organizations/{slug}/members/role",
            post(organizations::change_role),
        )
        .route(
            "/organizations/{slug}/members/remove",
            post(organizations::remove_member),
        )
        .route("/organizations/{slug}/leave", post(organizations::leave))
        .route(
            "/organizations/{slug}/settings",
            post(organizations::settings),
        )
        .route(
            "/invitations/accept",
            get(organizations::accept_page).post(organizations::accept),
        )
        .route("/account", get(account::account_get))
        .route("/account/apps/revoke", post(account::revoke_app))
        .route("/session", get(session_check::session))
        .route("/account/password", post(account::change_password))
        .route("/account/email", post(account::change_email))
        .route("/account/email/verify", post(account::confirm_email))
        .route("/account/sessions/revoke", post(account::revoke_session))
        .route("/assets/vestibule.css", get(assets::stylesheet))
        .route("/assets/webauthn.js", get(assets::webauthn_script))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/dev/mailbox", get(mailbox::mailbox_html))
        .route("/dev/mailbox.json", get(mailbox::mailbox_json))
        .route("/dev/theme", get(dev_theme::preview))
        .route("/assets/dev-reload.js", get(dev_theme::reload_script))
        // Unknown paths belong to the pages face too, so a cross-site POST to any of them is
        // refused by the CSRF check like one to a real page.
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(state, csrf::protect))
}

/// `303 See Other` to `location`, setting `cookies`.
pub fn see_other(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for cookie in cookies {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// `page` with the `Set-Cookie` headers of `from` (a sign-in's redirect shown as a page first).
pub fn keep_cookies(mut page: Response, from: &Response) -> Response {
    for cookie in from.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    page
}

/// Renders a page with a status code.
pub fn page(
    status: StatusCode,
    template: &str,
    active: &Active,
    csrf: &CsrfToken,
    title: &str,
    values: Value,
) -> Result<Response, PageError> {
    let shared = PageContext {
        active,
        csrf_token: &csrf.token,
        words: &csrf.words,
        organization: csrf.organization.as_deref(),
        appearance: csrf.appearance,
    };
    let mut response = render(template, &shared, title, values)?;
    *response.status_mut() = status;
    Ok(response)
}

/// An auth error the page can show (its sentence in the locale of `words`, and status), or the
/// error page to return.
pub fn shown(error: AuthError, words: &Translator) -> Result<(String, StatusCode), PageError> {
    match error {
        AuthError::Rejected(reason) => Ok((
            messages::reason(words, &reason),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        AuthError::Throttled(retry) => Err(PageError::TooManyRequests(retry)),
        AuthError::Busy => Err(PageError::Busy),
        AuthError::Store(e) => Err(e.into()),
        AuthError::Internal(e) => Err(PageError::Internal(e)),
    }
}

/// `?redirect_url=...` to carry a return address across pages.
pub fn redirect_query(redirect_url: &str) -> String {
    if redirect_url.is_empty() {
        String::new()
    } else {
        let encoded: String =
            url::form_urlencoded::byte_serialize(redirect_url.as_bytes()).collect();
        format!("?redirect_url={encoded}")
    }
}
