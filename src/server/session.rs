//! Sessions as the server sees them: the cookie, server-side idle and absolute timeouts, and
//! issuing a fresh session (new token) at sign-in and at every privilege change.

use axum::http::HeaderMap;

use super::cookies;
use super::error::HttpError;
use super::live::Active;
use super::state::AppState;
use crate::store::{NewSession, Session, User};

/// `last_seen_at` is written at most this often, so authenticated reads stay reads.
/// Idle timeouts are therefore exact to within a minute.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// A signed-in request.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// The session of this request, if it has a live one.
pub async fn current(
    state: &AppState,
    active: &Active,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, HttpError> {
    let Some(token) = cookies::get(headers, cookies::SESSION).filter(|t| cookies::is_token(t))
    else {
        return Ok(None);
    };
    let Some((session, user)) = state
        .store
        .session_by_token_hash(&cookies::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle_ms = i64::try_from(active.config.sessions.idle_timeout_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    if now >= session.expires_at || now.saturating_sub(session.last_seen_at) > idle_ms {
        // Expired sessions are dead server-side, whatever the cookie says.
        state
            .store
            .revoke_session(&session.user_id, &session.id, now)
            .await?;
        return Ok(None);
    }
    if now.saturating_sub(session.last_seen_at) > TOUCH_INTERVAL_MS {
        state.store.touch_session(&session.id, now).await?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// Creates a session for `user` and returns the cookie to set. Always a new token: callers
/// revoke the old session themselves when they replace one (fixation, SECURITY 34).
pub async fn start(
    state: &AppState,
    active: &Active,
    user: &User,
    factors: &[&str],
    client: &ClientInfo,
) -> Result<axum::http::HeaderValue, HttpError> {
    let token = cookies::random_token();
    let now = state.clock.now();
    let lifetime_ms = i64::try_from(active.config.sessions.lifetime_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    state
        .store
        .create_session(&NewSession {
            token_hash: cookies::token_hash(&token),
            user_id: user.id.clone(),
            factors: factors.iter().map(|f| f.to_string()).collect(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: now.saturating_add(lifetime_ms),
            now,
        })
        .await?;
    Ok(cookies::set(
        cookies::SESSION,
        &token,
        Some(active.config.sessions.lifetime_seconds),
    ))
}

/// Who is asking: recorded on sessions and used for per-IP limits.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// Remote address.
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// From the connection and headers.
    pub fn from_request(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> Self {
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Self {
            ip: peer.map(|p| p.ip().to_string()),
            user_agent,
        }
    }
}
