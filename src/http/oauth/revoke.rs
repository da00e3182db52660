//! `POST /oauth2/revoke` (RFC 7009): a client revokes one of its own tokens. A refresh token or
//! an access token revokes the grant behind it (the whole refresh family and every access token
//! issued from it). Unknown tokens, and tokens of another client, change nothing and still get
//! 200, so the endpoint tells nobody whether a token exists.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Caller, OAuthError};
use crate::crypto::{self, jws};
use crate::http::state::AppState;

/// `POST /oauth2/revoke`; answers carry CORS headers for listed origins.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let request = caller.headers.clone();
    let result = revoke_inner(state.clone(), caller, form).await;
    super::with_cors(&state, &request, result)
}

async fn revoke_inner(
    state: AppState,
    caller: Caller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, OAuthError> {
    let params = super::form_params(form)?;
    let active = state.live.load();
    let (app, token) = super::client_and_token(&active, &caller.headers, &params)?;
    let now = state.auth.clock.now();
    let store = &state.auth.store;
    let internal = |e: crate::store::StoreError| OAuthError::Internal(e.to_string());
    // A refresh token (opaque), else an access token (a JWT naming its grant).
    let grant = match store
        .grant_of_refresh_token(&crypto::refresh_token_key(token))
        .await
        .map_err(internal)?
    {
        Some((grant, client)) => Some((grant, client)),
        None => match active
            .keys
            .as_ref()
            .and_then(|keys| jws::verify(keys, token, now).ok())
            .and_then(|v| {
                v.claims
                    .get("gid")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }) {
            Some(grant) => store
                .client_of_grant(&grant)
                .await
                .map_err(internal)?
                .map(|client| (grant, client)),
            None => None,
        },
    };
    if let Some((grant, client)) = grant
        && client == app.client_id
    {
        let revoked = store
            .revoke_grant(&grant, "revoked", now)
            .await
            .map_err(internal)?;
        if revoked {
            tracing::info!(client_id = %app.client_id, grant = %grant, "grant revoked by its client");
        }
    }
    Ok(StatusCode::OK.into_response())
}
