//! `GET /.well-known/openid-configuration` (OIDC Discovery 1.0): what this provider serves, and
//! only that. `issuer` is exactly the configured issuer.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::state::AppState;

/// The discovery document.
pub async fn discovery(State(state): State<AppState>, request: HeaderMap) -> Response {
    let active = state.live.load();
    let issuer = active.config.issuer.trim_end_matches('/').to_owned();
    let endpoint = |path: &str| format!("{issuer}{path}");
    let alg = crate::crypto::keys::alg_name(match active.config.signing_keys.algorithm {
        crate::config::runtime::SigningAlgorithm::ES256 => {
            crate::crypto::keys::SigningAlgorithm::ES256
        }
        crate::config::runtime::SigningAlgorithm::RS256 => {
            crate::crypto::keys::SigningAlgorithm::RS256
        }
        crate::config::runtime::SigningAlgorithm::EdDSA => {
            crate::crypto::keys::SigningAlgorithm::EdDSA
        }
    });
    let mut scopes: Vec<&str> = active
        .config
        .applications
        .iter()
        .flat_map(|a| a.scopes.iter().map(String::as_str))
        .chain(["openid"])
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    let document = json!({
        "issuer": active.config.issuer,
        "authorization_endpoint": endpoint("/oauth2/authorize"),
        "token_endpoint": endpoint("/oauth2/token"),
        "userinfo_endpoint": endpoint("/oauth2/userinfo"),
        "revocation_endpoint": endpoint("/oauth2/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": endpoint("/oauth2/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "end_session_endpoint": endpoint("/oauth2/end-session"),
        "jwks_uri": endpoint("/.well-known/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["aal1", "aal2"],
        "claims_supported": ["sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "acr", "at_hash", "email", "email_verified", "name", "picture"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    let mut response = Json(document).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    super::cors::apply(&active, &request, &mut response);
    response
}
