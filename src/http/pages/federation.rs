//! Sign-in through upstream providers: `/oauth/{slug}/start`, its callback, the proof page that
//! links a provider identity to an existing account (`/oauth/link`), and linking and unlinking
//! providers on `/account`. The protocol and the linking rule are in
//! [`crate::auth::federation`]; here are cookies, pages and words.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::error::PageError;
use super::extract::{Authenticated, PageRequest};
use super::sign_in::ReturnTo;
use super::{page, see_other, shown};
use crate::auth::federation::flow::{
    self, Arrival, Callback, FLOW_TTL_MS, Failure, PENDING_TTL_MS,
};
use crate::auth::federation::proof;
use crate::auth::flows::sign_in::{SignInOutcome, sign_in};
use crate::auth::{Ctx, Factor, redirect};
use crate::config::runtime::ProviderConfig;
use crate::crypto;
use crate::email::messages;
use crate::http::cookies;
use crate::http::state::AppState;
use crate::i18n::args;
use crate::runtime::Active;
use crate::store::{NewIdentity, PendingLink, User};

/// The status and catalog keys (title, text) of a failure page; the text takes `{provider}`.
fn failure_text(failure: Failure) -> (StatusCode, &'static str, &'static str) {
    match failure {
        Failure::Disabled => (
            StatusCode::NOT_FOUND,
            "federation.disabled.title",
            "federation.disabled.text",
        ),
        Failure::Expired => (
            StatusCode::BAD_REQUEST,
            "federation.expired.title",
            "federation.expired.text",
        ),
        Failure::State => (
            StatusCode::BAD_REQUEST,
            "federation.state.title",
            "federation.state.text",
        ),
        Failure::Denied => (
            StatusCode::FORBIDDEN,
            "federation.denied.title",
            "federation.denied.text",
        ),
        Failure::Unreachable => (
            StatusCode::BAD_GATEWAY,
            "federation.unreachable.title",
            "federation.unreachable.text",
        ),
        Failure::Token => (
            StatusCode::UNAUTHORIZED,
            "federation.token.title",
            "federation.token.text",
        ),
        Failure::NoEmail => (
            StatusCode::FORBIDDEN,
            "federation.noEmail.title",
            "federation.noEmail.text",
        ),
        Failure::Domain => (
            StatusCode::FORBIDDEN,
            "federation.domain.title",
            "federation.domain.text",
        ),
        Failure::SignUpClosed => (
            StatusCode::FORBIDDEN,
            "federation.signUpClosed.title",
            "federation.signUpClosed.text",
        ),
        Failure::IdentityTaken => (
            StatusCode::CONFLICT,
            "federation.identityTaken.title",
            "federation.identityTaken.text",
        ),
    }
}

/// The themed failure page, with a way back; clears the flow cookie.
fn failure_page(
    request: &PageRequest,
    failure: Failure,
    provider: Option<&ProviderConfig>,
    back: &str,
) -> Result<Response, PageError> {
    let words = &request.csrf.words;
    let name = provider.map_or_else(
        || words.get("federation.theProvider", &[]),
        |p| p.display_name.clone(),
    );
    let (status, title, text) = failure_text(failure);
    let text = words.get(text, &args([("provider", &name)]));
    let mut response = page(
        status,
        "notice.html",
        &request.active,
        &request.csrf,
        title,
        context! {
            subtitle => text,
            link => context! { href => back, text => "common.back" },
        },
    )?;
    response.headers_mut().append(
        axum::http::header::SET_COOKIE,
        cookies::clear(cookies::FLOW),
    );
    Ok(response)
}

/// The metric label of a slug from a URL: only configured providers, so a URL cannot mint
/// label values.
fn slug_label<'a>(active: &'a Active, slug: &str) -> &'a str {
    active
        .config
        .provider(slug)
        .map_or("unknown", |p| p.slug.as_str())
}

fn flow_cookie(flow_id: &str) -> HeaderValue {
    cookies::set_cross_site(cookies::FLOW, flow_id, (FLOW_TTL_MS / 1000) as u64)
}

async fn begin(
    state: &AppState,
    request: &PageRequest,
    slug: &str,
    return_to: &str,
    link_user_id: Option<&str>,
    back: &str,
) -> Result<Response, PageError> {
    let ctx = request.ctx(state);
    let Some(provider) = ctx.active.config.provider(slug) else {
        return failure_page(request, Failure::Disabled, None, back);
    };
    match flow::start(&ctx, provider, return_to, link_user_id).await? {
        Ok(started) => Ok(see_other(
            &started.location,
            &[flow_cookie(&started.flow_id)],
        )),
        Err(failure) => {
            state
                .auth
                .metrics
                .provider_sign_in(&provider.slug, failure.label());
            failure_page(request, failure, Some(provider), back)
        }
    }
}

/// `GET /oauth/{slug}/start?redirect_url=`: off to the provider. A plain link (the buttons on
/// sign-in and sign-up): starting a flow changes nothing until its callback, which only this
/// browser can complete.
pub async fn start(
    State(state): State<AppState>,
    request: PageRequest,
    Path(slug): Path<String>,
    Query(q): Query<ReturnTo>,
) -> Result<Response, PageError> {
    let return_to = redirect::kept(&request.active, q.redirect_url.as_deref());
    let back = format!("/sign-in{}", super::redirect_query(&return_to));
    begin(&state, &request, &slug, &return_to, None, &back).await
}

/// `GET /oauth/{slug}/callback`
pub async fn callback_get(
    State(state): State<AppState>,
    request: PageRequest,
    Path(slug): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    finish(&state, &request, &slug, &params).await
}

/// `POST /oauth/{slug}/callback`: `response_mode=form_post` (Sign in with Apple).
pub async fn callback_post(
    State(state): State<AppState>,
    request: PageRequest,
    Path(slug): Path<String>,
    Form(params): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    finish(&state, &request, &slug, &params).await
}

async fn finish(
    state: &AppState,
    request: &PageRequest,
    slug: &str,
    params: &[(String, String)],
) -> Result<Response, PageError> {
    let who = request.session(state).await?;
    let ctx = request.ctx(state);
    let provider = ctx.active.config.provider(slug);
    let label = slug_label(&request.active, slug);
    let input = Callback {
        slug,
        flow_id: cookies::get(&request.headers, cookies::FLOW),
        params,
        signed_in: who.as_ref().map(|w| w.user.id.as_str()),
    };
    let arrival = match flow::callback(&ctx, &input).await? {
        Ok(arrival) => arrival,
        Err(failure) => {
            state.auth.metrics.provider_sign_in(label, failure.label());
            let back = if who.is_some() {
                "/account"
            } else {
                "/sign-in"
            };
            return failure_page(request, failure, provider, back);
        }
    };
    state.auth.metrics.provider_sign_in(label, "success");
    let name = provider.map_or(slug, |p| p.display_name.as_str());
    let clear_flow = cookies::clear(cookies::FLOW);
    match arrival {
        Arrival::SignIn {
            user,
            identity,
            return_to,
            created,
            linked,
        } => {
            if linked {
                notify(&ctx, &user.email, name, true).await;
            }
            tracing::info!(provider = %label, created, linked, "provider sign-in");
            request
                .sign_in_federated(
                    state,
                    &user,
                    &identity.id,
                    &[Factor::Federated],
                    &return_to,
                    &[clear_flow],
                )
                .await
        }
        Arrival::Prove { pending_id } => {
            let cookie = cookies::set(
                cookies::PENDING_LINK,
                &pending_id,
                Some((PENDING_TTL_MS / 1000) as u64),
            );
            Ok(see_other("/oauth/link", &[clear_flow, cookie]))
        }
        Arrival::Linked => {
            // The flow's owner is this browser's signed-in user (the callback checked).
            if let Some(who) = &who {
                notify(&ctx, &who.user.email, name, true).await;
            }
            Ok(see_other("/account?notice=identity-linked", &[clear_flow]))
        }
    }
}

async fn notify(ctx: &Ctx<'_>, to: &str, provider: &str, linked: bool) {
    let product = crate::auth::product(ctx);
    crate::auth::send(
        ctx,
        messages::identity_changed(ctx.words(), to, &product, provider, linked),
    )
    .await;
}

/// `a***@example.com`: enough for the owner to recognise, not to harvest.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// The proof forms: the account's password, or the code mailed to it.
#[derive(Debug, Default, Deserialize)]
pub struct ProofForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `?sent=1` after a code was mailed.
#[derive(Debug, Default, Deserialize)]
pub struct ProofQuery {
    #[serde(default)]
    sent: Option<String>,
}

/// This browser's pending link (its cookie's hash, the record, the account), if it is live.
async fn pending_of(
    state: &AppState,
    request: &PageRequest,
) -> Result<Option<(String, PendingLink, User)>, PageError> {
    let Some(id) =
        cookies::get(&request.headers, cookies::PENDING_LINK).filter(|id| crypto::is_token(id))
    else {
        return Ok(None);
    };
    let id_hash = crypto::token_hash(id);
    let store = &state.auth.store;
    let Some(pending) = store.pending_link(&id_hash, state.auth.clock.now()).await? else {
        return Ok(None);
    };
    Ok(store
        .user_by_id(&pending.user_id)
        .await?
        .map(|user| (id_hash, pending, user)))
}

async fn proof_page(
    state: &AppState,
    request: &PageRequest,
    status: StatusCode,
    error: Option<&str>,
    code_sent: bool,
) -> Result<Response, PageError> {
    let Some((_, pending, user)) = pending_of(state, request).await? else {
        return failure_page(request, Failure::Expired, None, "/sign-in");
    };
    let name = request.active.config.provider_name(&pending.provider);
    let words = &request.csrf.words;
    page(
        status,
        "link_identity.html",
        &request.active,
        &request.csrf,
        &words.get("link.title", &args([("provider", &name)])),
        context! {
            subtitle => words.get(
                "link.subtitle",
                &args([("email", &masked(&user.email)), ("provider", &name)]),
            ),
            has_password => user.password_hash.is_some(),
            code_sent => code_sent,
            provider => name,
            error => error,
        },
    )
}

/// `GET /oauth/link`: prove the existing account to link the provider identity to it.
pub async fn link_page(
    State(state): State<AppState>,
    request: PageRequest,
    Query(q): Query<ProofQuery>,
) -> Result<Response, PageError> {
    proof_page(&state, &request, StatusCode::OK, None, q.sent.is_some()).await
}

/// `POST /oauth/link`: the existing account's password proves it. Wrong passwords count toward
/// the same limits and lockout as sign-in.
pub async fn link_submit(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<ProofForm>,
) -> Result<Response, PageError> {
    let Some((id_hash, _, user)) = pending_of(&state, &request).await? else {
        return failure_page(&request, Failure::Expired, None, "/sign-in");
    };
    let ctx = request.ctx(&state);
    match sign_in(&ctx, &user.email, &form.password).await {
        Ok(SignInOutcome::Success(proven)) if proven.id == user.id => {
            complete_link(&state, &request, &id_hash, &proven, Factor::Password).await
        }
        // Another account's password (or none) proves nothing here.
        Ok(_) => {
            wrong_password(
                &state,
                &request,
                crate::auth::Reason::InvalidCredentials.into(),
            )
            .await
        }
        Err(e) => wrong_password(&state, &request, e).await,
    }
}

async fn wrong_password(
    state: &AppState,
    request: &PageRequest,
    error: crate::auth::AuthError,
) -> Result<Response, PageError> {
    let (message, _) = shown(error, &request.csrf.words)?;
    proof_page(
        state,
        request,
        StatusCode::UNAUTHORIZED,
        Some(&message),
        false,
    )
    .await
}

/// `POST /oauth/link/code`: mails the account a code that proves it.
pub async fn link_send_code(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let Some((_, pending, user)) = pending_of(&state, &request).await? else {
        return failure_page(&request, Failure::Expired, None, "/sign-in");
    };
    let name = request
        .active
        .config
        .provider_name(&pending.provider)
        .to_owned();
    match proof::send_code(&request.ctx(&state), &user, &name).await {
        Ok(()) => Ok(see_other("/oauth/link?sent=1", &[])),
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            proof_page(&state, &request, status, Some(&message), true).await
        }
    }
}

/// `POST /oauth/link/verify`: the mailed code proves the account.
pub async fn link_verify_code(
    State(state): State<AppState>,
    request: PageRequest,
    Form(form): Form<ProofForm>,
) -> Result<Response, PageError> {
    let Some((id_hash, _, user)) = pending_of(&state, &request).await? else {
        return failure_page(&request, Failure::Expired, None, "/sign-in");
    };
    match proof::check_code(&request.ctx(&state), &user, &form.code).await {
        Ok(()) => complete_link(&state, &request, &id_hash, &user, Factor::Email).await,
        Err(e) => {
            let (message, status) = shown(e, &request.csrf.words)?;
            proof_page(&state, &request, status, Some(&message), true).await
        }
    }
}

/// The account is proven: the pending link is used up (of two submissions racing, one links),
/// the identity linked, a notice mailed, and the account signed in by what proved it.
async fn complete_link(
    state: &AppState,
    request: &PageRequest,
    id_hash: &str,
    user: &User,
    proof: Factor,
) -> Result<Response, PageError> {
    let ctx = request.ctx(state);
    if crate::auth::mfa::usable_factors(&ctx, user).await?.1.any() {
        // The account has a second factor: it comes first, and the identity is linked only
        // once it was shown (`/oauth/link/finish`), so a password alone links nothing.
        return request.sign_in(state, user, &[proof], LINK_FINISH).await;
    }
    let (pending, identity) = match link_pending(state, request, id_hash, user, "/sign-in").await? {
        Ok(linked) => linked,
        Err(page) => return Ok(page),
    };
    request
        .sign_in_federated(
            state,
            user,
            &identity.id,
            &[proof],
            &pending.return_to,
            &[cookies::clear(cookies::PENDING_LINK)],
        )
        .await
}

/// Uses up the pending link `id_hash` (of two requests racing, one links), links its identity to
/// `user`, mails the notice and counts it: the link and its identity, or the failure page
/// (going back to `back`).
async fn link_pending(
    state: &AppState,
    request: &PageRequest,
    id_hash: &str,
    user: &User,
    back: &str,
) -> Result<Result<(PendingLink, crate::store::Identity), Response>, PageError> {
    let ctx = request.ctx(state);
    let store = &state.auth.store;
    let Some(pending) = store.take_pending_link(id_hash, ctx.now).await? else {
        return failure_page(request, Failure::Expired, None, back).map(Err);
    };
    let Some(provider) = ctx.active.config.provider(&pending.provider) else {
        return failure_page(request, Failure::Disabled, None, back).map(Err);
    };
    let identity = match store
        .link_identity(&NewIdentity {
            user_id: user.id.clone(),
            provider: pending.provider.clone(),
            subject: pending.subject.clone(),
            email: pending.email.clone(),
            email_verified: pending.email_verified,
            now: ctx.now,
        })
        .await
    {
        Ok(identity) => identity,
        Err(crate::store::StoreError::IdentityTaken) => {
            return failure_page(request, Failure::IdentityTaken, Some(provider), back).map(Err);
        }
        Err(e) => return Err(e.into()),
    };
    notify(&ctx, &user.email, &provider.display_name, true).await;
    state
        .auth
        .metrics
        .provider_sign_in(&provider.slug, "linked");
    Ok(Ok((pending, identity)))
}

/// Where a link proven by an account with a second factor completes, after that factor.
const LINK_FINISH: &str = "/oauth/link/finish";

/// `GET /oauth/link/finish`: links the pending identity to the signed-in account once its
/// session showed a second factor (the account's own pending link only), then goes on.
pub async fn link_finish(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
) -> Result<Response, PageError> {
    let Some((id_hash, pending, user)) = pending_of(&state, &request).await? else {
        return failure_page(&request, Failure::Expired, None, "/account");
    };
    let shown_second = who
        .factors()
        .iter()
        .any(|f| f.is_second() || *f == Factor::RememberedDevice);
    if user.id != who.user.id || !shown_second {
        return failure_page(&request, Failure::Expired, None, "/account");
    }
    if let Err(page) = link_pending(&state, &request, &id_hash, &user, "/account").await? {
        return Ok(page);
    }
    let target = crate::auth::redirect::resolve(&request.active, Some(&pending.return_to));
    Ok(see_other(&target, &[cookies::clear(cookies::PENDING_LINK)]))
}

/// The link and unlink forms on `/account`.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    identity_id: String,
}

/// `POST /account/identities/link`: a signed-in user links another provider (the flow comes
/// back to `/account`).
pub async fn link_from_account(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<IdentityForm>,
) -> Result<Response, PageError> {
    begin(
        &state,
        &request,
        &form.provider,
        "/account",
        Some(&who.user.id),
        "/account",
    )
    .await
}

/// `POST /account/identities/unlink`: removes one identity, unless it is the account's last way
/// to sign in (no password and no other identity).
pub async fn unlink(
    State(state): State<AppState>,
    Authenticated { page: request, who }: Authenticated,
    Form(form): Form<IdentityForm>,
) -> Result<Response, PageError> {
    let store = &state.auth.store;
    let identities = store.identities_of_user(&who.user.id).await?;
    let Some(target) = identities.iter().find(|i| i.id == form.identity_id) else {
        return Err(PageError::NotFound);
    };
    let other_ways = identities.len() - 1 + usize::from(who.user.password_hash.is_some());
    if other_ways == 0 {
        return Ok(see_other("/account?notice=last-identity", &[]));
    }
    if store.unlink_identity(&who.user.id, &target.id).await? {
        let name = request.active.config.provider_name(&target.provider);
        notify(&request.ctx(&state), &who.user.email, name, false).await;
    }
    Ok(see_other("/account?notice=identity-unlinked", &[]))
}

/// The provider buttons of the sign-in and sign-up pages.
pub fn buttons(
    active: &Active,
    return_to: &str,
    organization: Option<&str>,
) -> Vec<minijinja::Value> {
    // An organization's own sign-in page offers only its providers.
    let only = organization
        .and_then(|slug| active.config.organizations.declared_by_slug(slug))
        .map(|o| &o.allowed_providers)
        .filter(|allowed| !allowed.is_empty());
    active
        .config
        .providers
        .iter()
        .filter(|p| only.is_none_or(|allowed| allowed.contains(&p.slug)))
        .map(|p| {
            context! {
                slug => &p.slug,
                name => &p.display_name,
                icon => &p.icon_url,
                initial => p.display_name.chars().next().map(|c| c.to_uppercase().to_string()),
                kind => format!("{:?}", p.provider_type).to_lowercase(),
                href => format!("/oauth/{}/start{}", p.slug, super::redirect_query(return_to)),
            }
        })
        .collect()
}
