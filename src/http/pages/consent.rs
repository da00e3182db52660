//! `/consent`: an Application that asks for consent (`requireConsent`, or `prompt=consent`)
//! shows the user its name and the scopes it asks for. Allowing remembers the answer per user
//! and client (listed and revocable on `/account`) and resumes the authorization request;
//! denying sends `access_denied` back to the client. The request travels as the authorize
//! query and is validated again on every step, so nothing in it is trusted from the form.

use axum::extract::{Form, RawQuery, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::error::PageError;
use super::extract::PageRequest;
use super::{page, see_other};
use crate::auth::oidc::authorize::{Authorization, Refusal, validate};
use crate::http::oauth::authorize::{back, untrusted_in};
use crate::http::state::AppState;
use crate::i18n::{Translator, args};

/// What a scope lets the application do, in the user's words.
fn scope_text(words: &Translator, scope: &str) -> String {
    let key = match scope {
        "openid" => "consent.scope.openid",
        "email" => "consent.scope.email",
        "profile" => "consent.scope.profile",
        "offline_access" => "consent.scope.offlineAccess",
        other => return words.get("consent.scope.other", &args([("scope", &other)])),
    };
    words.get(key, &[])
}

/// The checked authorization request in `query`.
fn authorization(state: &AppState, query: &str) -> Result<Authorization, Refusal> {
    let params = crate::http::oauth::query_params(Some(query));
    validate(&state.live.load().config.applications, &params)
}

/// The answer to a request that no longer validates: an error page, or the error sent back.
fn refused(request: &PageRequest, refusal: Refusal) -> Response {
    let issuer = &request.active.config.issuer;
    match refusal {
        Refusal::Page(reason) => untrusted_in(&request.csrf.words, reason),
        Refusal::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => back(
            &redirect_uri,
            &[("error", error), ("error_description", &description)],
            state.as_deref(),
            issuer,
        ),
    }
}

/// `GET /consent?<the authorization request>`.
pub async fn consent_page(
    State(state): State<AppState>,
    request: PageRequest,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.unwrap_or_default();
    let authorization = match authorization(&state, &query) {
        Ok(authorization) => authorization,
        Err(refusal) => return Ok(refused(&request, refusal)),
    };
    let Some(who) = request.session(&state).await? else {
        // Signed out meanwhile: the authorize endpoint sends the user to sign in first.
        return Ok(see_other(&format!("/oauth2/authorize?{query}"), &[]));
    };
    let active = &request.active;
    let words = &request.csrf.words;
    let app_name = active
        .config
        .applications
        .iter()
        .find(|a| a.client_id == authorization.client_id)
        .map_or_else(
            || authorization.client_id.clone(),
            |a| a.display_name.clone(),
        );
    let scopes: Vec<minijinja::Value> = authorization
        .scopes
        .iter()
        .map(|s| context! { name => s, text => scope_text(words, s) })
        .collect();
    page(
        axum::http::StatusCode::OK,
        "consent.html",
        active,
        &request.csrf,
        &words.get("consent.title", &args([("app", &app_name)])),
        context! {
            subtitle => words.get(
                "consent.subtitle",
                &args([("email", &who.user.email), ("app", &app_name)]),
            ),
            scopes => scopes,
            request => query,
        },
    )
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    /// The authorization request's query.
    #[serde(default)]
    request: String,
    /// `allow` or `deny`.
    #[serde(default)]
    decision: String,
}

/// `POST /consent`.
pub async fn consent_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    let authorization = match authorization(&state, &form.request) {
        Ok(authorization) => authorization,
        Err(refusal) => return Ok(refused(&request, refusal)),
    };
    let resume = format!("/oauth2/authorize?{}", form.request);
    let Some(who) = request.session(&state).await? else {
        return Ok(see_other(&resume, &[]));
    };
    match form.decision.as_str() {
        "allow" => {
            state
                .auth
                .store
                .save_consent(
                    &who.user.id,
                    &authorization.client_id,
                    &authorization.scopes,
                    state.auth.clock.now(),
                )
                .await?;
            tracing::info!(client_id = %authorization.client_id, user = %who.user.id, "consent given");
            Ok(see_other(&resume, &[]))
        }
        "deny" => {
            tracing::info!(client_id = %authorization.client_id, user = %who.user.id, "consent refused");
            Ok(back(
                &authorization.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", "the user refused"),
                ],
                authorization.state.as_deref(),
                &request.active.config.issuer,
            )
            .into_response())
        }
        _ => Err(PageError::BadRequest("consent.chooseOne".into())),
    }
}
