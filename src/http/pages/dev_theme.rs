//! `GET /dev/theme` (`vestibule dev` only): every component in every state, light and dark side
//! by side, in the request's locale, with the theme as it is now; the page reloads itself when
//! the config changes.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};

use super::csrf::CsrfToken;
use super::error::PageError;
use super::page;
use crate::http::state::AppState;

/// `GET /dev/theme`
pub async fn preview(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    // The dev mailbox marks `vestibule dev`; a pod never serves this page.
    if state.outbox.is_none() {
        return Err(PageError::NotFound);
    }
    let active = state.live.load();
    let samples: Vec<Value> = active
        .look(csrf.organization.as_deref())
        .templates
        .samples(&csrf.words)
        .into_iter()
        .map(|s| match s.html {
            // Rendered by the sandboxed templates, escaped there.
            Ok(html) => context! {
                component => s.component,
                state => s.state,
                html => Value::from_safe_string(html),
            },
            Err(e) => {
                context! { component => s.component, state => s.state, error => e.to_string() }
            }
        })
        .collect();
    let components: Vec<&str> = crate::ui::COMPONENTS.iter().map(|c| c.name).collect();
    page(
        StatusCode::OK,
        "dev_theme.html",
        &active,
        &csrf,
        "Theme preview",
        context! { samples, components, dev_reload => true },
    )
}

/// The preview's reload script.
const DEV_RELOAD_JS: &str = include_str!("../../../assets/dev-reload.js");

/// `GET /assets/dev-reload.js` (`vestibule dev` only).
pub async fn reload_script(State(state): State<AppState>) -> Result<Response, PageError> {
    if state.outbox.is_none() {
        return Err(PageError::NotFound);
    }
    let mut response = DEV_RELOAD_JS.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    Ok(response)
}
