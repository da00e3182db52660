//! Extractors for page handlers: everything a page needs about its request in one value, and the
//! signed-in variant that sends anonymous visitors to sign in.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::see_other;
use crate::auth::mfa::{self, Next};
use crate::auth::sessions::{self, IssuedSession};
use crate::auth::{ClientInfo, Ctx, Factor, SignedIn};
use crate::http::client::client_info;
use crate::http::cookies;
use crate::http::state::AppState;
use crate::runtime::Active;

/// A page request: the config it is served with, who is asking, its CSRF token, its headers.
pub struct PageRequest {
    /// The config for this whole request (a swap mid-request does not mix two configs).
    pub active: Arc<Active>,
    /// Address and User-Agent.
    pub client: ClientInfo,
    /// The token forms on this page carry.
    pub csrf: CsrfToken,
    /// Request headers (cookies).
    pub headers: axum::http::HeaderMap,
}

/// The `Set-Cookie` that hands a new session to the browser.
pub fn session_cookie(issued: &IssuedSession) -> HeaderValue {
    cookies::set(
        cookies::SESSION,
        &issued.token,
        Some(issued.max_age_seconds),
    )
}

impl PageRequest {
    /// The flow context for this request.
    pub fn ctx<'a>(&'a self, state: &'a AppState) -> Ctx<'a> {
        Ctx::new(&state.auth, &self.active, &self.client)
    }

    /// Signs `user` in after a first factor: on to the second-factor step when the MFA policy
    /// asks for one (no session yet), else a new session at once (any session this browser
    /// already had is ended, SECURITY 34), and the browser goes to `redirect_url` if allowed.
    pub async fn sign_in(
        &self,
        state: &AppState,
        user: &crate::store::User,
        factors: &[Factor],
        redirect_url: &str,
    ) -> Result<Response, PageError> {
        self.after_first_factor(state, user, None, factors, redirect_url, &[])
            .await
    }

    /// Signs `user` in through the provider identity `identity_id` (as [`Self::sign_in`]),
    /// also setting `extra` cookies (clearing the flow's).
    pub async fn sign_in_federated(
        &self,
        state: &AppState,
        user: &crate::store::User,
        identity_id: &str,
        factors: &[Factor],
        redirect_url: &str,
        extra: &[HeaderValue],
    ) -> Result<Response, PageError> {
        self.after_first_factor(state, user, Some(identity_id), factors, redirect_url, extra)
            .await
    }

    async fn after_first_factor(
        &self,
        state: &AppState,
        user: &crate::store::User,
        identity_id: Option<&str>,
        factors: &[Factor],
        redirect_url: &str,
        extra: &[HeaderValue],
    ) -> Result<Response, PageError> {
        let ctx = self.ctx(state);
        let remembered = cookies::get(&self.headers, cookies::REMEMBERED_DEVICE);
        let next =
            mfa::after_first_factor(&ctx, user, factors, identity_id, redirect_url, remembered)
                .await?;
        let (token, page) = match next {
            Next::Session(factors) => {
                return self
                    .start_session(state, user, identity_id, &factors, redirect_url, extra)
                    .await;
            }
            Next::Challenge(token) => (token, "/sign-in/factor"),
            Next::Enrol { token, .. } => (token, "/sign-in/enrol"),
        };
        let mut set = vec![cookies::set(
            cookies::MFA_PENDING,
            &token.0,
            Some(u64::try_from(mfa::PENDING_TTL_MS / 1000).unwrap_or(600)),
        )];
        set.extend_from_slice(extra);
        Ok(see_other(page, &set))
    }

    /// Starts the session once every factor the policy asks for was shown: any session this
    /// browser already had is ended first, so no token survives sign-in (fixation).
    pub async fn start_session(
        &self,
        state: &AppState,
        user: &crate::store::User,
        identity_id: Option<&str>,
        factors: &[Factor],
        redirect_url: &str,
        extra: &[HeaderValue],
    ) -> Result<Response, PageError> {
        let previous = self.session(state).await?;
        let ctx = self.ctx(state);
        let issued = match identity_id {
            Some(identity) => {
                sessions::start_federated(&ctx, user, identity, factors, previous.as_ref()).await?
            }
            None => sessions::start(&ctx, user, factors, previous.as_ref()).await?,
        };
        let target = crate::auth::redirect::resolve(&self.active, Some(redirect_url));
        let mut cookies = vec![session_cookie(&issued)];
        cookies.extend_from_slice(extra);
        Ok(see_other(&target, &cookies))
    }

    /// A new session for `user` after a privilege change that already ended every old one
    /// (password or email change): the browser's token changes with the privilege.
    pub async fn renew_session(
        &self,
        state: &AppState,
        user: &crate::store::User,
        factors: &[Factor],
    ) -> Result<HeaderValue, PageError> {
        let issued = sessions::start(&self.ctx(state), user, factors, None).await?;
        Ok(session_cookie(&issued))
    }

    /// The live session of this request, if any.
    pub async fn session(&self, state: &AppState) -> Result<Option<SignedIn>, PageError> {
        let token = cookies::get(&self.headers, cookies::SESSION);
        Ok(sessions::current(&self.ctx(state), token).await?)
    }
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        // The CSRF layer runs on every page route, so the token is always there.
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| PageError::Internal("CSRF layer missing".into()))?;
        let active = state.live.load();
        let mut client = client_info(&parts.headers, peer, &active.trusted_proxies);
        // Mail a flow sends for this request speaks the page's language.
        client.words = Some(csrf.words.clone());
        Ok(Self {
            active,
            client,
            csrf,
            headers: parts.headers.clone(),
        })
    }
}

/// A page request with a live session; anonymous visitors are sent to sign in and back.
pub struct Authenticated {
    /// The request.
    pub page: PageRequest,
    /// The session and its user.
    pub who: SignedIn,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let page = PageRequest::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match page.session(state).await {
            Ok(Some(who)) => Ok(Self { page, who }),
            Ok(None) => {
                let back: String =
                    url::form_urlencoded::byte_serialize(parts.uri.path().as_bytes()).collect();
                let target = if parts.method == axum::http::Method::GET {
                    back
                } else {
                    "%2Faccount".into()
                };
                Err(see_other(&format!("/sign-in?redirect_url={target}"), &[]))
            }
            Err(e) => Err(e.into_response()),
        }
    }
}
