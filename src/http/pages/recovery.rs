//! `/forgot-password` and `/reset-password`.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::error::PageError;
use super::extract::PageRequest;
use super::{page, shown};
use crate::auth::flows::recovery::{self, ResetOutcome};
use crate::http::cookies;
use crate::http::state::AppState;
use crate::i18n::args;
use crate::runtime::Active;

/// The forgot-password form.
#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `?token=`
#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The reset form.
#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

/// `GET /forgot-password`
pub async fn forgot_page(request: PageRequest) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    page(
        StatusCode::OK,
        "forgot_password.html",
        active,
        csrf,
        "forgotPassword.title",
        context! { subtitle => "forgotPassword.subtitle", email => "" },
    )
}

/// `POST /forgot-password`: the same answer whether or not the address has an account.
pub async fn forgot_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    if let Err(e) = recovery::request_reset(&ctx, &form.email).await {
        shown(e, &csrf.words)?;
    }
    page(
        StatusCode::OK,
        "notice.html",
        active,
        csrf,
        "resetPassword.sentTitle",
        context! {
            notice => "resetPassword.sent",
            link => context! { href => "/sign-in", text => "common.backToSignIn" },
        },
    )
}

fn reset_form(
    active: &Active,
    csrf: &CsrfToken,
    status: StatusCode,
    token: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    page(
        status,
        "reset_password.html",
        active,
        csrf,
        "resetPassword.title",
        context! {
            subtitle => csrf.words.get(
                "resetPassword.subtitle",
                &args([("count", &active.config.passwords.min_length)]),
            ),
            token => token,
            error => error,
        },
    )
}

/// `GET /reset-password?token=`: shows the form; the token is used only on submit.
pub async fn reset_page(
    request: PageRequest,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    reset_form(active, csrf, StatusCode::OK, &q.token, None)
}

/// `POST /reset-password`
pub async fn reset_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    match recovery::reset(&ctx, &form.token, &form.new_password).await {
        Ok(ResetOutcome::Done(_)) => {
            let mut response = page(
                StatusCode::OK,
                "notice.html",
                active,
                csrf,
                "resetPassword.done.title",
                context! {
                    notice => "resetPassword.done.notice",
                    link => context! { href => "/sign-in", text => "resetPassword.done.signIn" },
                },
            )?;
            response.headers_mut().append(
                axum::http::header::SET_COOKIE,
                cookies::clear(cookies::SESSION),
            );
            Ok(response)
        }
        Ok(ResetOutcome::Retry { reason, token }) => reset_form(
            active,
            csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            Some(&super::messages::reason(&csrf.words, &reason)),
        ),
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            reset_form(active, csrf, status, &form.token, Some(&message))
        }
    }
}
