//! `GET|POST /oauth2/authorize`: the authorization code flow's browser leg. The request is
//! checked by `auth::oidc::authorize`; an untrustworthy client or redirect URI gets an error
//! page, every other error goes back to the client with `state` and `iss` (RFC 9207). A user
//! without a session signs in on the hosted page and comes back here. Clients POST here
//! cross-site by design, so the pages' CSRF check does not apply; nothing here acts for the
//! user except issuing a code to a registered redirect URI, which is the flow's purpose.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use crate::auth::oidc::authorize::{PageError as Untrusted, Refusal, validate, without_prompt};
use crate::auth::oidc::grant::issue_code;
use crate::auth::{Ctx, sessions};
use crate::http::client::client_info;
use crate::http::cookies;
use crate::http::pages::csrf::words_for;
use crate::http::pages::error::{PageError, html_escape};
use crate::http::state::AppState;
use crate::i18n::Translator;

use super::Caller;

/// `acr_values` that ask for multi-factor authentication: our `aal2`, and the names clients
/// commonly send for it (OpenID PAPE's multi-factor policy, `mfa`).
pub const MFA_ACR_VALUES: [&str; 3] = [
    "aal2",
    "mfa",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
];

/// `GET /oauth2/authorize`.
pub async fn authorize_get(
    State(state): State<AppState>,
    request: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    authorize(state, request, super::query_params(query.as_deref())).await
}

/// `POST /oauth2/authorize` (OIDC Core 3.1.2.1: the same parameters, form-encoded).
pub async fn authorize_post(
    State(state): State<AppState>,
    request: Caller,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    authorize(state, request, params).await
}

async fn authorize(
    state: AppState,
    request: Caller,
    params: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let active = state.live.load();
    let client = client_info(&request.headers, request.peer, &active.trusted_proxies);
    let issuer = active.config.issuer.clone();
    let authorization = match validate(&active.config.applications, &params) {
        Ok(authorization) => authorization,
        Err(Refusal::Page(reason)) => {
            let ui_locales = params
                .iter()
                .find(|(k, _)| k == "ui_locales")
                .map(|(_, v)| v.as_str());
            let words = words_for(&request.headers, ui_locales, &active.look.locales);
            return Ok(untrusted_in(words, reason));
        }
        Err(Refusal::Redirect {
            redirect_uri,
            error,
            description,
            state,
        }) => {
            return Ok(back(
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                state.as_deref(),
                &issuer,
            ));
        }
    };
    let error = |code: &str, description: &str| {
        back(
            &authorization.redirect_uri,
            &[("error", code), ("error_description", description)],
            authorization.state.as_deref(),
            &issuer,
        )
    };
    let ctx = Ctx::new(&state.auth, &active, &client);
    let token = cookies::get(&request.headers, cookies::SESSION);
    let signed_in = sessions::current(&ctx, token).await?;
    let Some(signed_in) = signed_in else {
        if authorization.prompt.none {
            return Ok(error("login_required", "no session"));
        }
        // Sign in (or up) on the hosted page, then come back with the same request.
        return Ok(to_sign_in(
            &params,
            authorization.login_hint.as_deref(),
            false,
        ));
    };
    let session = &signed_in.session;
    let too_old = authorization.max_age.is_some_and(|max| {
        ctx.now - session.created_at > i64::try_from(max).unwrap_or(i64::MAX).saturating_mul(1000)
    });
    if authorization.prompt.login || too_old {
        if authorization.prompt.none {
            return Ok(error("login_required", "the user must sign in again"));
        }
        // Sign in again (a new session, so a fresh auth_time), then come back without
        // prompt=login and max_age so the user is not asked twice (max_age=0 would loop);
        // the fresh auth_time in the ID token is what the client checks.
        let back_with: Vec<(String, String)> = without_prompt(&params, "login")
            .into_iter()
            .filter(|(k, _)| k != "max_age")
            .collect();
        let hint = authorization
            .login_hint
            .as_deref()
            .or(Some(signed_in.user.email.as_str()));
        return Ok(to_sign_in(&back_with, hint, true));
    }
    // `acr_values` asking for MFA (OIDC Core 3.1.2.1): a session without a second factor steps
    // up first when the user has one; a user without any gets `acr: aal1`, which the client
    // sees in the ID token (the request is voluntary, not essential).
    let wants_mfa = params
        .iter()
        .filter(|(k, _)| k == "acr_values")
        .flat_map(|(_, v)| v.split(' '))
        .any(|value| MFA_ACR_VALUES.contains(&value));
    if wants_mfa
        && crate::auth::oidc::tokens::acr(&session.factors) != "aal2"
        && crate::auth::mfa::step_up_needs_second_factor(&ctx, &signed_in.user).await?
    {
        if authorization.prompt.none {
            return Ok(error(
                "interaction_required",
                "the user must show a second factor",
            ));
        }
        return Ok(via("/account/step-up", &params));
    }
    let Some(app) = active
        .config
        .applications
        .iter()
        .find(|a| a.client_id == authorization.client_id)
    else {
        return Ok(untrusted(Untrusted::UnknownClient));
    };
    // `organization=id-or-slug`: this grant's tokens speak for it (only a member's). The
    // session's active organization stays as it is: a link to this endpoint must not change
    // what other applications' tokens say.
    let mut session = session.clone();
    if let Some(wanted) = &authorization.organization {
        match organization_of_member(&ctx, &signed_in.user.id, wanted).await? {
            Some(id) => session.organization_id = Some(id),
            None => {
                return Ok(error(
                    "access_denied",
                    "the user is not a member of the requested organization",
                ));
            }
        }
    }
    // An Application that needs an organization: a user without an active one (or no longer
    // a member of it) picks one on /organizations and comes back with the same request.
    if app.require_organization
        && crate::auth::organizations::claims(
            &ctx,
            &signed_in.user.id,
            session.organization_id.as_deref(),
        )
        .await?
        .is_none()
    {
        if authorization.prompt.none {
            return Ok(error(
                "interaction_required",
                "the user must choose an organization",
            ));
        }
        return Ok(via("/organizations", &params));
    }
    let session = &session;
    // Consent: always for prompt=consent; otherwise when the Application asks for it and the
    // user has not agreed to every requested scope before.
    let needs_consent = authorization.prompt.consent
        || (app.require_consent && {
            let remembered = state
                .auth
                .store
                .consent(&signed_in.user.id, &app.client_id)
                .await
                .map_err(PageError::from)?;
            !remembered.is_some_and(|c| {
                authorization
                    .scopes
                    .iter()
                    .all(|s| c.scopes.iter().any(|given| given == s))
            })
        });
    if needs_consent {
        if authorization.prompt.none {
            return Ok(error("consent_required", "the user must consent"));
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(without_prompt(&params, "consent").iter())
            .finish();
        return Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/consent?{query}"))],
        )
            .into_response());
    }
    let code = issue_code(&ctx, app, &authorization, session).await?;
    Ok(back(
        &authorization.redirect_uri,
        &[("code", &code)],
        authorization.state.as_deref(),
        &issuer,
    ))
}

/// To the hosted page `page` (step-up, the organization picker), which returns to this very
/// authorization request afterwards.
fn via(page: &str, params: &[(String, String)]) -> Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let back: String =
        url::form_urlencoded::byte_serialize(format!("/oauth2/authorize?{query}").as_bytes())
            .collect();
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("{page}?redirect_url={back}"))],
    )
        .into_response()
}

/// The id of the organization `wanted` names (its id or slug), if `user_id` is a member.
async fn organization_of_member(
    ctx: &Ctx<'_>,
    user_id: &str,
    wanted: &str,
) -> Result<Option<String>, PageError> {
    if !ctx.active.config.organizations.enabled {
        return Ok(None);
    }
    let store = &ctx.services.store;
    // The id first: runtime slugs cannot look like ids, but the id is the stable name.
    let organization = match store.organization_by_id(wanted).await? {
        Some(o) => Some(o),
        None => store.organization_by_slug(wanted).await?,
    };
    let Some(organization) = organization else {
        return Ok(None);
    };
    Ok(store
        .membership(&organization.id, user_id)
        .await?
        .map(|_| organization.id))
}

/// A redirect to the client with `params`, `state` and `iss` added to the redirect URI's query.
pub fn back(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return untrusted(Untrusted::UnregisteredRedirectUri);
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
}

/// The hosted sign-in page, returning to this authorization request afterwards; `login_hint`
/// fills in the email address, `again` shows the form even to a signed-in user, `provider`
/// goes straight to that upstream provider.
fn to_sign_in(params: &[(String, String)], login_hint: Option<&str>, again: bool) -> Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let back_here = format!("/oauth2/authorize?{query}");
    let mut target = url::form_urlencoded::Serializer::new(String::new());
    target.append_pair("redirect_url", &back_here);
    if let Some(hint) = login_hint {
        target.append_pair("login_hint", hint);
    }
    if again {
        target.append_pair("prompt", "login");
    }
    // `provider=slug` (an `idp_hint`): sign-in goes straight to that upstream provider.
    if let Some((_, slug)) = params.iter().find(|(k, _)| k == "provider") {
        target.append_pair("provider", slug);
    }
    let target = target.finish();
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/sign-in?{target}"))],
    )
        .into_response()
}

/// The error page for a client or redirect URI that cannot be trusted: nothing is sent to it.
/// In English; [`untrusted_in`] where the request's locale is known.
pub fn untrusted(reason: Untrusted) -> Response {
    untrusted_in(crate::i18n::english(), reason)
}

/// [`untrusted`] in the locale of `words`.
pub fn untrusted_in(words: &Translator, reason: Untrusted) -> Response {
    let what = match reason {
        Untrusted::MissingClient => "oauth.refused.missingClient",
        Untrusted::UnknownClient => "oauth.refused.unknownClient",
        Untrusted::MissingRedirectUri => "oauth.refused.missingRedirectUri",
        Untrusted::UnregisteredRedirectUri => "oauth.refused.unregisteredRedirectUri",
    };
    refusal_page(
        words,
        "oauth.refused.title",
        "oauth.refused.heading",
        what,
        "oauth.refused.advice",
    )
}

/// The minimal page of a refused OpenID request (sign-in or sign-out), from catalog keys.
pub fn refusal_page(
    words: &Translator,
    title: &str,
    heading: &str,
    what: &str,
    advice: &str,
) -> Response {
    let say = |key: &str| html_escape(&words.get(key, &[]));
    let page = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main data-part=\"oauth.error\"><h1>{heading}</h1><p>{what}</p>\
         <p>{advice}</p></main></body></html>",
        lang = html_escape(words.locale()),
        dir = words.dir().as_str(),
        title = say(title),
        heading = say(heading),
        what = say(what),
        advice = say(advice),
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}
