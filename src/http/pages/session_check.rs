//! `GET /session`: who is signed in, for a reverse proxy's forward-auth check.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::error::PageError;
use super::extract::PageRequest;
use crate::http::state::AppState;

/// `GET /session`: who is signed in, as JSON, or 401. Cheap enough to call on every request, so
/// a reverse proxy can use it as a forward-auth check (nginx `auth-url`); the user id and email
/// also come back as `X-Vestibule-User-Id` / `X-Vestibule-Email` headers for the proxy to pass on.
pub async fn session(
    State(state): State<AppState>,
    request: PageRequest,
) -> Result<Response, PageError> {
    let Some(signed_in) = request.session(&state).await? else {
        // Not cacheable either: a cached 401 would outlive the sign-in that follows.
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(json!({ "signedIn": false })),
        )
            .into_response());
    };
    let (session, user) = (signed_in.session, signed_in.user);
    // Read from the membership now: a role changed a moment ago shows here (SECURITY 61).
    let organization = crate::auth::organizations::claims(
        &request.ctx(&state),
        &user.id,
        session.organization_id.as_deref(),
    )
    .await?;
    let mut response = Json(json!({
        "signedIn": true,
        "userId": user.id,
        "email": user.email,
        "emailVerified": user.email_verified_at.is_some(),
        "sessionId": session.id,
        "factors": session.factors,
        "expiresAt": session.expires_at,
        "orgId": organization.as_ref().map(|o| &o.id),
        "orgSlug": organization.as_ref().map(|o| &o.slug),
        "orgRole": organization.as_ref().map(|o| &o.role),
        "orgPermissions": organization.as_ref().map(|o| &o.permissions),
    }))
    .into_response();
    let h = response.headers_mut();
    if let Some(organization) = &organization {
        for (name, value) in [
            ("x-vestibule-org-id", &organization.id),
            ("x-vestibule-org-slug", &organization.slug),
            ("x-vestibule-org-role", &organization.role),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&user.id) {
        h.insert("x-vestibule-user-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&user.email) {
        h.insert("x-vestibule-email", v);
    }
    Ok(response)
}
