//! `/verify-email`: by code (form), by link (confirm button, so mail scanners that fetch links
//! cannot use them up), and resend.

use crate::auth::Factor;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::error::PageError;
use super::extract::PageRequest;
use super::{page, shown};
use crate::auth::flows::verify;
use crate::auth::redirect;
use crate::http::state::AppState;
use crate::i18n::args;
use crate::runtime::Active;

/// `GET /verify-email` parameters.
#[derive(Debug, Default, Deserialize)]
pub struct VerifyQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// The code form.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// The link confirmation form.
#[derive(Debug, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    token: String,
}

fn code_page(
    active: &Active,
    csrf: &CsrfToken,
    status: StatusCode,
    email: &str,
    redirect_url: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, PageError> {
    page(
        status,
        "verify_email.html",
        active,
        csrf,
        "verify.title",
        context! {
            subtitle => csrf.words.get("verify.subtitle", &args([("email", &email)])),
            email => email,
            action => "/verify-email",
            resend_action => "/verify-email/resend",
            redirect_url => redirect_url,
            error => error,
            notice => notice,
        },
    )
}

/// `GET /verify-email`
pub async fn verify_page(
    request: PageRequest,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    if let Some(token) = q.token {
        return page(
            StatusCode::OK,
            "confirm_link.html",
            active,
            csrf,
            "verify.link.title",
            context! { action => "/verify-email/link", token => token, button => "verify.link.submit" },
        );
    }
    let redirect_url = redirect::kept(active, q.redirect_url.as_deref());
    code_page(
        active,
        csrf,
        StatusCode::OK,
        &q.email,
        &redirect_url,
        None,
        None,
    )
}

/// `POST /verify-email`
pub async fn verify_code_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    let redirect_url = redirect::kept(active, form.redirect_url.as_deref());
    match verify::verify_code(&ctx, &form.email, &form.code).await {
        Ok(user) => {
            request
                .sign_in(
                    &state,
                    &user,
                    &[Factor::Password, Factor::Email],
                    &redirect_url,
                )
                .await
        }
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            code_page(
                active,
                csrf,
                status,
                &form.email,
                &redirect_url,
                Some(&message),
                None,
            )
        }
    }
}

/// `POST /verify-email/link`
pub async fn verify_link_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    match verify::verify_link(&ctx, &form.token).await {
        Ok(user) => {
            request
                .sign_in(
                    &state,
                    &user,
                    &[Factor::Password, Factor::Email],
                    redirect::DEFAULT,
                )
                .await
        }
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            page(
                status,
                "notice.html",
                active,
                csrf,
                "verify.link.expired",
                context! { error => message, link => context! { href => "/sign-in", text => "common.signIn" } },
            )
        }
    }
}

/// `POST /verify-email/resend`
pub async fn resend_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (active, csrf) = (&request.active, &request.csrf);
    let ctx = request.ctx(&state);
    let redirect_url = redirect::kept(active, form.redirect_url.as_deref());
    match verify::resend(&ctx, &form.email).await {
        Ok(()) => code_page(
            active,
            csrf,
            StatusCode::OK,
            &form.email,
            &redirect_url,
            None,
            Some("verify.resent"),
        ),
        Err(e) => {
            let (message, status) = shown(e, &csrf.words)?;
            code_page(
                active,
                csrf,
                status,
                &form.email,
                &redirect_url,
                Some(&message),
                None,
            )
        }
    }
}
