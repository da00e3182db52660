//! `GET|POST /oauth2/end-session` (OpenID Connect RP-Initiated Logout 1.0). With a genuine
//! `id_token_hint` for the signed-in user, the session ends at once and the browser goes to the
//! registered `post_logout_redirect_uri` (with `state`). Without one, the user confirms on the
//! hosted sign-out page, so a cross-site link cannot sign anybody out. A request naming an
//! unregistered redirect, an unknown client or a forged hint gets an error page and is never
//! redirected.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Caller;
use crate::auth::oidc::logout::{self, LogoutRefusal};
use crate::auth::{Ctx, sessions};
use crate::http::client::client_info;
use crate::http::cookies;
use crate::http::pages::csrf::words_for;
use crate::http::pages::error::PageError;
use crate::http::state::AppState;
use crate::i18n::Translator;

/// `GET /oauth2/end-session`.
pub async fn end_session_get(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    end_session(state, caller, super::query_params(query.as_deref())).await
}

/// `POST /oauth2/end-session` (the same parameters, form-encoded).
pub async fn end_session_post(
    State(state): State<AppState>,
    caller: Caller,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    end_session(state, caller, params).await
}

async fn end_session(
    state: AppState,
    caller: Caller,
    params: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let active = state.live.load();
    let now = state.auth.clock.now();
    let request = match logout::check(
        &active.config.applications,
        &active.config.issuer,
        active.keys.as_ref(),
        &params,
        now,
    ) {
        Ok(request) => request,
        Err(refusal) => {
            let words = words_for(&caller.headers, None, &active.look.locales);
            return Ok(refused(words, refusal));
        }
    };
    let client = client_info(&caller.headers, caller.peer, &active.trusted_proxies);
    let ctx = Ctx::new(&state.auth, &active, &client);
    let signed_in =
        sessions::current(&ctx, cookies::get(&caller.headers, cookies::SESSION)).await?;
    let after = request.target.clone().unwrap_or_else(|| "/sign-in".into());
    match (signed_in, &request.subject) {
        // Nobody is signed in here: nothing to end.
        (None, _) => Ok(see_other(&after, false)),
        // The hint names this browser's user: the relying party's word is enough.
        (Some(who), Some(subject)) if &who.user.id == subject => {
            sessions::end(&ctx, &who).await?;
            tracing::info!(client_id = ?request.client_id, "signed out by the relying party");
            Ok(see_other(&after, true))
        }
        // No hint, or one for another user: ask on the sign-out page.
        (Some(_), _) => {
            let mut confirm = url::form_urlencoded::Serializer::new(String::new());
            for name in ["client_id", "post_logout_redirect_uri", "state"] {
                if let Some((_, value)) = params.iter().find(|(k, _)| k == name) {
                    confirm.append_pair(name, value);
                }
            }
            if let (Some(client_id), false) = (
                &request.client_id,
                params.iter().any(|(k, _)| k == "client_id"),
            ) {
                confirm.append_pair("client_id", client_id);
            }
            Ok(see_other(&format!("/sign-out?{}", confirm.finish()), false))
        }
    }
}

fn see_other(location: &str, clear_session: bool) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response();
    if clear_session {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    }
    response
}

/// The error page for a logout request that cannot be trusted, in the locale of `words`:
/// nothing is redirected.
pub fn refused(words: &Translator, refusal: LogoutRefusal) -> Response {
    let what = match refusal {
        LogoutRefusal::InvalidHint => "logout.refused.invalidHint",
        LogoutRefusal::UnknownClient => "logout.refused.unknownClient",
        LogoutRefusal::UnregisteredRedirectUri => "logout.refused.unregisteredRedirectUri",
        LogoutRefusal::RepeatedParameter => "logout.refused.repeatedParameter",
    };
    super::authorize::refusal_page(
        words,
        "logout.refused.title",
        "logout.refused.heading",
        what,
        "logout.refused.advice",
    )
}
