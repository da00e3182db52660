//! CSRF protection for every state-changing page request, as a middleware: the request must come from
//! our own origin (`Sec-Fetch-Site` / `Origin`) and carry the `csrf_token` form field equal to the
//! `__Host-` CSRF cookie (double submit). GET requests get a token to embed in their forms.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::error::PageError;
use crate::crypto;
use crate::http::cookies;
use crate::http::state::AppState;
use crate::i18n::negotiate::{self, Wanted};
use crate::i18n::{Locales, Translator};
use crate::runtime::Active;

/// Forms are small; anything bigger is not ours.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What this layer decides for every page request: the CSRF token for its forms (from the
/// cookie, or freshly minted) and the locale its pages and emails use.
#[derive(Clone, Debug)]
pub struct CsrfToken {
    /// The token forms carry.
    pub token: String,
    /// The words of the negotiated locale.
    pub words: Translator,
    /// The declared Organization whose own theme the pages use, if the request names one.
    pub organization: Option<String>,
    /// The visitor's own appearance choice (`light` or `dark`), for themes that follow it.
    pub appearance: Option<&'static str>,
}

/// The locale picker's cookie: the visitor's own choice of language.
pub const LOCALE_COOKIE: &str = "__Host-vestibule_locale";

fn query_field(query: &[u8], name: &str) -> Option<String> {
    form_field(query, name).map(std::borrow::Cow::into_owned)
}

/// The organization choice's cookie (for the browser session): the Organization whose theme
/// the pages use after `?organization=slug`.
pub const ORGANIZATION_COOKIE: &str = "__Host-vestibule_organization";

/// The appearance choice's cookie: `light`, `dark` (or gone: the system setting).
pub const APPEARANCE_COOKIE: &str = "__Host-vestibule_appearance";

/// A parameter of the OpenID authorize request a page returns to (`ui_locales`,
/// `organization`): the hosted pages carry it in `redirect_url` (the query on a GET, a form
/// field on a POST).
fn flow_param(request: &Request, form: Option<&[u8]>, name: &str) -> Option<String> {
    let redirect = match form {
        Some(body) => query_field(body, "redirect_url"),
        None => query_field(request.uri().query()?.as_bytes(), "redirect_url"),
    }?;
    let query = redirect.split_once('?')?.1;
    query_field(query.as_bytes(), name)
}

fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .uri()
        .query()
        .and_then(|q| query_field(q.as_bytes(), name))
}

/// The Organization whose theme a page uses: `?organization=slug` (remembered for the browser
/// session; empty forgets it), else the OpenID request's `organization`, else the declared
/// Organization of the email domain a form posts, else the remembered one. Only Organizations
/// whose pages differ count: a theme of their own, or their own providers. The second value:
/// the cookie to set, if any.
fn organization(
    request: &Request,
    form: Option<&[u8]>,
    active: &Active,
) -> (Option<String>, Option<String>) {
    let themed = |slug: &str| {
        active.organization_looks.contains_key(slug)
            || active
                .config
                .organizations
                .declared_by_slug(slug)
                .is_some_and(|o| !o.allowed_providers.is_empty())
    };
    if let Some(slug) = query_param(request, "organization") {
        let known = themed(&slug).then_some(slug);
        return (known.clone(), Some(known.unwrap_or_default()));
    }
    if let Some(slug) = flow_param(request, form, "organization").filter(|s| themed(s)) {
        return (Some(slug), None);
    }
    let domain = form
        .and_then(|body| query_field(body, "email"))
        .and_then(|email| email.rsplit_once('@').map(|(_, d)| d.trim().to_lowercase()));
    if let Some(domain) = domain
        && let Some(org) = active
            .config
            .organizations
            .declared
            .iter()
            .find(|o| o.domains.contains_key(&domain) && themed(&o.slug))
    {
        return (Some(org.slug.clone()), None);
    }
    let remembered = cookies::get(request.headers(), ORGANIZATION_COOKIE)
        .filter(|s| themed(s))
        .map(str::to_owned);
    (remembered, None)
}

/// The visitor's appearance: `?appearance=light|dark|auto` (remembered; `auto` forgets), else
/// the remembered choice. The second value: the cookie to set, if any.
fn appearance(request: &Request) -> (Option<&'static str>, Option<&'static str>) {
    let parse = |v: &str| match v {
        "light" => Some("light"),
        "dark" => Some("dark"),
        _ => None,
    };
    if let Some(asked) = query_param(request, "appearance") {
        let choice = parse(&asked);
        return (choice, Some(choice.unwrap_or("")));
    }
    (
        cookies::get(request.headers(), APPEARANCE_COOKIE).and_then(parse),
        None,
    )
}

/// The locale for a request: `?locale=` (the picker, remembered in a cookie), then the
/// `ui_locales` of the OpenID flow it is part of, then the picker's cookie, then
/// `Accept-Language`, then the theme's default.
fn negotiate(
    request: &Request,
    form: Option<&[u8]>,
    locales: &Locales,
) -> (Translator, Option<String>) {
    let picked = request
        .uri()
        .query()
        .and_then(|q| query_field(q.as_bytes(), "locale"));
    let picked = picked.and_then(|tag| locales.best(&tag).cloned());
    if let Some(words) = picked {
        let tag = words.locale().to_owned();
        return (words, Some(tag));
    }
    let from_flow = flow_param(request, form, "ui_locales");
    (
        words_for(request.headers(), from_flow.as_deref(), locales).clone(),
        None,
    )
}

/// The locale for a request outside the pages layer (the OpenID endpoints' own pages): the
/// flow's `ui_locales`, then the picker's cookie, then `Accept-Language`, then the default.
pub fn words_for<'l>(
    headers: &HeaderMap,
    ui_locales: Option<&str>,
    locales: &'l Locales,
) -> &'l Translator {
    let wanted = Wanted {
        ui_locales,
        choice: cookies::get(headers, LOCALE_COOKIE),
        accept_language: headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    };
    negotiate::choose(locales, wanted)
}

fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    // Fetch metadata first: modern browsers send it on every request and it cannot be forged
    // by a page. `none` is a user-initiated navigation (typed URL, bookmark).
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) => o == origin,
        // Neither header: not a browser cross-site request (browsers send Origin on POST).
        None => true,
    }
}

fn form_field<'a>(body: &'a [u8], name: &str) -> Option<std::borrow::Cow<'a, str>> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `/oauth/{slug}/callback`.
fn is_provider_callback(path: &str) -> bool {
    path.strip_prefix("/oauth/")
        .and_then(|rest| rest.strip_suffix("/callback"))
        .is_some_and(|slug| !slug.is_empty() && !slug.contains('/'))
}

/// The CSRF middleware.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let existing = cookies::get(request.headers(), cookies::CSRF)
        .filter(|t| crypto::is_token(t))
        .map(str::to_owned);
    // A provider's `form_post` callback is a cross-site POST by design; what protects it is
    // the flow cookie and the `state` bound to it (RFC 6749 10.12), checked by the callback.
    let provider_callback =
        request.method() == Method::POST && is_provider_callback(request.uri().path());
    let unsafe_method = !provider_callback
        && !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );

    let mut form = None;
    let request = if unsafe_method {
        // Refusals are worded before the form is read: without the flow's `ui_locales`.
        let (words, same) = {
            let live = state.live.load();
            let words = negotiate(&request, None, &live.look.locales).0;
            (words, same_origin(request.headers(), &live.origin))
        };
        if !same {
            state.metrics.csrf_rejected();
            return PageError::Forbidden.render(&words);
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return PageError::BadRequest("error.formTooLarge".into()).render(&words);
        };
        let submitted = form_field(&bytes, "csrf_token");
        let valid = match (&existing, submitted) {
            (Some(cookie), Some(field)) => {
                crypto::constant_time_eq(cookie.as_bytes(), field.as_bytes())
            }
            _ => false,
        };
        if !valid {
            state.metrics.csrf_rejected();
            return PageError::Forbidden.render(&words);
        }
        form = Some(bytes.clone());
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };

    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (crypto::random_token(), true),
    };
    let (words, picked, organization, remember_organization) = {
        let active = state.live.load();
        let (organization, remember) = organization(&request, form.as_deref(), &active);
        let locales = &active.look(organization.as_deref()).locales;
        let (words, picked) = negotiate(&request, form.as_deref(), locales);
        (words, picked, organization, remember)
    };
    let (appearance, remember_appearance) = appearance(&request);
    let mut request = request;
    request.extensions_mut().insert(CsrfToken {
        token: token.clone(),
        words: words.clone(),
        organization,
        appearance,
    });
    // A handler's error page is worded in English; here it gets the request's locale.
    let mut response = super::error::localize(next.run(request).await, &words);
    if let Some(tag) = picked {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(LOCALE_COOKIE, &tag, Some(365 * 24 * 3600)),
        );
    }
    if let Some(slug) = remember_organization {
        let cookie = if slug.is_empty() {
            cookies::clear(ORGANIZATION_COOKIE)
        } else {
            cookies::set(ORGANIZATION_COOKIE, &slug, None)
        };
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if let Some(choice) = remember_appearance {
        let cookie = if choice.is_empty() {
            cookies::clear(APPEARANCE_COOKIE)
        } else {
            cookies::set(APPEARANCE_COOKIE, choice, Some(365 * 24 * 3600))
        };
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(cookies::CSRF, &token, None),
        );
    }
    response
}
