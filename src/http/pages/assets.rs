//! `GET /assets/vestibule.css`: the stylesheet built from the theme when the config loaded, and
//! `GET /assets/webauthn.js`: the passkey ceremonies' script.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;

/// `?organization=` of the stylesheet URL.
#[derive(Debug, serde::Deserialize)]
pub struct StylesheetQuery {
    organization: Option<String>,
}

/// `GET /assets/vestibule.css`, `?organization=slug` for an Organization's own theme.
pub async fn stylesheet(
    State(state): State<AppState>,
    Query(query): Query<StylesheetQuery>,
) -> Response {
    let css = state
        .live
        .load()
        .look(query.organization.as_deref())
        .stylesheet
        .clone();
    let mut response = css.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The script, built in.
const WEBAUTHN_JS: &str = include_str!("../../../assets/webauthn.js");

/// `GET /assets/webauthn.js`
pub async fn webauthn_script() -> Response {
    let mut response = WEBAUTHN_JS.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
