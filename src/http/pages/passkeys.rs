//! Passkey endpoints for `assets/webauthn.js`: each ceremony is an `…/options` POST (options
//! JSON, a ceremony id) and a POST of the browser's answer, both ordinary CSRF-checked form posts
//! that answer JSON (`{"redirect": …}` or `{"error": …}`), plus rename and remove forms on
//! `/account`. Ceremonies are bound to the session (registration, step-up), to the
//! half-signed-in record (second factor) or to the CSRF cookie (sign-in with a passkey).

use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::PageError;
use super::extract::{Authenticated, PageRequest, session_cookie};
use super::mfa::step_up_needed;
use super::{see_other, shown};
use crate::auth::mfa::passkeys::{self, Options, binding};
use crate::auth::mfa::{self};
use crate::auth::{AuthError, Factor, sessions};
use crate::http::cookies;
use crate::http::state::AppState;
use crate::store::PendingPurpose;

/// An answer to a ceremony.
#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_url: Option<String>,
}

/// Rename and remove forms.
#[derive(Debug, Default, Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    response
}

fn options(o: Options) -> Response {
    json_response(
        StatusCode::OK,
        json!({"ceremony": o.ceremony, "options": o.options}),
    )
}

fn refused(request: &PageRequest, error: AuthError) -> Result<Response, PageError> {
    let (message, status) = shown(error, &request.csrf.words)?;
    Ok(json_response(status, json!({"error": message})))
}

/// A `303` the pages would answer, as JSON for the script: where to go, with its cookies.
fn as_json(redirect: Response) -> Response {
    let location = redirect
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/account")
        .to_owned();
    super::keep_cookies(
        json_response(StatusCode::OK, json!({"redirect": location})),
        &redirect,
    )
}

fn session_binding(request: &PageRequest) -> String {
    binding(cookies::get(&request.headers, cookies::SESSION).unwrap_or_default())
}

/// `POST /account/passkeys/options`: registration options (after step-up).
pub async fn register_options(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#passkeys").await? {
        return Ok(as_json(step_up));
    }
    let ctx = request.ctx(&state);
    match passkeys::register_options(&ctx, &who.user, &session_binding(&request)).await {
        Ok(o) => Ok(options(o)),
        Err(e) => refused(&request, e),
    }
}

/// `POST /account/passkeys`: registers the answer.
pub async fn register(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match passkeys::register_finish(
        &ctx,
        &who.user,
        &session_binding(&request),
        &form.ceremony,
        &form.credential,
        &form.name,
    )
    .await
    {
        Ok(_) => {
            // As after adding an app: the session is renewed, recording the factor just shown.
            let issued = sessions::renew_with(&ctx, &who, Factor::Passkey).await?;
            Ok(as_json(see_other(
                "/account?notice=passkey-added#passkeys",
                &[session_cookie(&issued)],
            )))
        }
        Err(e) => refused(&request, e),
    }
}

/// `POST /account/passkeys/rename`
pub async fn rename(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<PasskeyForm>,
) -> Result<Response, PageError> {
    passkeys::rename(&request.ctx(&state), &who.user, &form.id, &form.name).await?;
    Ok(see_other("/account#passkeys", &[]))
}

/// `POST /account/passkeys/remove` (after step-up).
pub async fn remove(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<PasskeyForm>,
) -> Result<Response, PageError> {
    if let Some(step_up) = step_up_needed(&state, &request, &who, "/account#passkeys").await? {
        return Ok(step_up);
    }
    passkeys::remove(&request.ctx(&state), &who.user, &form.id).await?;
    Ok(see_other("/account?notice=passkey-removed#passkeys", &[]))
}

/// `POST /sign-in/factor/passkey/options`: a passkey as the second factor.
pub async fn factor_options(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let token = cookies::get(&request.headers, cookies::MFA_PENDING);
    let Some((_, user)) = mfa::pending_of(&ctx, token, PendingPurpose::Challenge).await? else {
        return Ok(json_response(
            StatusCode::OK,
            json!({"redirect": "/sign-in"}),
        ));
    };
    match passkeys::authenticate_options(&ctx, &user, &binding(token.unwrap_or_default())).await {
        Ok(o) => Ok(options(o)),
        Err(e) => refused(&request, e),
    }
}

/// `POST /sign-in/factor/passkey`: checks the answer, then starts the session.
pub async fn factor(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let token = cookies::get(&request.headers, cookies::MFA_PENDING).unwrap_or_default();
    let Some((_, user)) = mfa::pending_of(&ctx, Some(token), PendingPurpose::Challenge).await?
    else {
        return Ok(json_response(
            StatusCode::OK,
            json!({"redirect": "/sign-in"}),
        ));
    };
    if let Err(e) = passkeys::authenticate_finish(
        &ctx,
        &user,
        &binding(token),
        &form.ceremony,
        &form.credential,
    )
    .await
    {
        return refused(&request, e);
    }
    let done = match mfa::finish_pending(&ctx, token).await {
        Ok(done) => done,
        Err(e) => return refused(&request, e),
    };
    let mut factors = mfa::first_factors(&done);
    factors.push(Factor::Passkey);
    let response = request
        .start_session(
            &state,
            &user,
            done.identity_id.as_deref(),
            &factors,
            &done.return_to,
            &[cookies::clear(cookies::MFA_PENDING)],
        )
        .await?;
    Ok(as_json(response))
}

/// `POST /account/step-up/passkey/options`
pub async fn step_up_options(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match passkeys::authenticate_options(&ctx, &who.user, &session_binding(&request)).await {
        Ok(o) => Ok(options(o)),
        Err(e) => refused(&request, e),
    }
}

/// `POST /account/step-up/passkey`: a new session recording the passkey, then back.
pub async fn step_up(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    if let Err(e) = passkeys::authenticate_finish(
        &ctx,
        &who.user,
        &session_binding(&request),
        &form.ceremony,
        &form.credential,
    )
    .await
    {
        return refused(&request, e);
    }
    let issued = sessions::renew_with(&ctx, &who, Factor::Passkey).await?;
    let back = crate::auth::redirect::kept(&request.active, form.redirect_url.as_deref());
    let target = crate::auth::redirect::resolve(&request.active, Some(&back));
    Ok(as_json(see_other(&target, &[session_cookie(&issued)])))
}

/// `POST /sign-in/passkey/options`: sign in with a passkey alone (`webauthn.passwordless`).
pub async fn sign_in_options(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    match passkeys::discover_options(&ctx, &binding(&request.csrf.token)).await {
        Ok(o) => Ok(options(o)),
        Err(e) => refused(&request, e),
    }
}

/// `POST /sign-in/passkey`: the passkey's user is signed in (a passkey is two factors).
pub async fn sign_in(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let ctx = request.ctx(&state);
    let user = match passkeys::discover_finish(
        &ctx,
        &binding(&request.csrf.token),
        &form.ceremony,
        &form.credential,
    )
    .await
    {
        Ok(user) => user,
        Err(e) => return refused(&request, e),
    };
    let redirect_url = crate::auth::redirect::kept(&request.active, form.redirect_url.as_deref());
    let response = request
        .sign_in(&state, &user, &[Factor::Passkey], &redirect_url)
        .await?;
    Ok(as_json(response))
}
