//! The dev mailbox (`vestibule dev` only): the mail that would have been sent.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use minijinja::context;

use super::csrf::CsrfToken;
use super::error::PageError;
use super::page;
use crate::http::state::AppState;

/// `GET /dev/mailbox.json`
pub async fn mailbox_json(State(state): State<AppState>) -> Result<Response, PageError> {
    let outbox = state.outbox.as_ref().ok_or(PageError::NotFound)?;
    Ok(Json(outbox.entries()).into_response())
}

/// `GET /dev/mailbox`
pub async fn mailbox_html(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    let outbox = state.outbox.as_ref().ok_or(PageError::NotFound)?;
    let mut messages = outbox.entries();
    messages.reverse();
    let active = state.live.load();
    page(
        StatusCode::OK,
        "mailbox.html",
        &active,
        &csrf,
        "mailbox.title",
        context! { messages => minijinja::Value::from(minijinja::value::Serde(&messages)) },
    )
}
