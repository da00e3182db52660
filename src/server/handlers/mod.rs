//! Request handlers: extract, call a flow, map the outcome to a page or a redirect.

pub mod account;
pub mod auth;
pub mod ops;
pub mod recovery;
pub mod verify;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Value;

use super::csrf::CsrfToken;
use super::error::HttpError;
use super::live::Active;
use super::pages::{PageContext, render};
use crate::flows::FlowError;

/// `303 See Other` to `location`, setting `cookies`.
pub fn see_other(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for cookie in cookies {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// Renders a page with a status code.
pub fn page(
    status: StatusCode,
    template: &str,
    active: &Active,
    csrf: &CsrfToken,
    title: &str,
    values: Value,
) -> Result<Response, HttpError> {
    let shared = PageContext {
        active,
        csrf_token: &csrf.0,
    };
    let mut response = render(template, &shared, title, values)?;
    *response.status_mut() = status;
    Ok(response)
}

/// A flow error the page can show (`Some(message, status)`), or the HTTP error to return.
pub fn shown(error: FlowError) -> Result<(String, StatusCode), HttpError> {
    match error {
        FlowError::Invalid(message) => Ok((message, StatusCode::UNPROCESSABLE_ENTITY)),
        FlowError::Throttled(retry) => Err(HttpError::TooManyRequests(retry)),
        FlowError::Busy => Err(HttpError::Busy),
        FlowError::Store(e) => Err(e.into()),
        FlowError::Internal(e) => Err(HttpError::Internal(e)),
    }
}

/// `?redirect_url=...` to carry a return address across pages.
pub fn redirect_query(redirect_url: &str) -> String {
    if redirect_url.is_empty() {
        String::new()
    } else {
        let encoded: String =
            url::form_urlencoded::byte_serialize(redirect_url.as_bytes()).collect();
        format!("?redirect_url={encoded}")
    }
}
