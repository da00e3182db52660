//! Rendering hosted pages with the theme's templates, and the context every page shares (title, CSRF token, theme logo, return address).

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use minijinja::{Value, context};

use super::error::PageError;
use crate::config::runtime::{ColorScheme, LayoutVariant, SocialButtonsPlacement};
use crate::i18n::Translator;
use crate::runtime::Active;
use crate::ui::Words;

/// What every page needs besides its own fields.
pub struct PageContext<'a> {
    /// The active config (theme, product name).
    pub active: &'a Active,
    /// The CSRF token to embed in forms.
    pub csrf_token: &'a str,
    /// The words of the request's locale.
    pub words: &'a Translator,
    /// The Organization whose theme applies, if the request names one with its own.
    pub organization: Option<&'a str>,
    /// The visitor's appearance choice (`light`, `dark`), if any.
    pub appearance: Option<&'a str>,
}

/// Renders `template` with the shared context plus `page`.
pub fn render(
    template: &str,
    shared: &PageContext<'_>,
    title: &str,
    page: Value,
) -> Result<Response, PageError> {
    let active = shared.active;
    let words = shared.words;
    let look = active.look(shared.organization);
    let theme = &look.theme;
    let stylesheet_url = match shared
        .organization
        .filter(|_| !std::ptr::eq(look, &active.look))
    {
        Some(slug) => format!(
            "/assets/vestibule.css?v={}&organization={slug}",
            look.version
        ),
        None => format!("/assets/vestibule.css?v={}", look.version),
    };
    // Titles are catalog keys on the pages that use the catalog, plain text on the rest.
    let title = words.lookup(title).unwrap_or_else(|| title.to_owned());
    let base = context! {
        lang => words.locale(),
        dir => words.dir().as_str(),
        t => Words::value(words),
        locales => look.locales.tags().map(str::to_owned).collect::<Vec<_>>(),
        appearance => shared.appearance.filter(|_| look.follows_visitor()),
        appearance_picker => look.follows_visitor(),
        show_footer_branding => theme.show_footer_branding,
        font_url => theme.font_url.as_deref(),
        layout => match theme.layout {
            LayoutVariant::Centered => "centered",
            LayoutVariant::Split => "split",
        },
        social_below => theme.social_buttons == SocialButtonsPlacement::Bottom,
        title => title,
        page => template.trim_end_matches(".html"),
        product => active.product_name(),
        // A theme that is always dark shows the dark logo; an `auto` one lets the browser pick.
        logo => theme.logo.as_ref().map(|l| context! {
            url => match theme.color_scheme {
                ColorScheme::Dark => l.dark_url.as_ref().unwrap_or(&l.url),
                _ => &l.url,
            },
            dark_url => (theme.color_scheme == ColorScheme::Auto).then_some(l.dark_url.as_ref()).flatten(),
            alt => &l.alt,
            href => &l.href,
        }),
        stylesheet_url => stylesheet_url,
        csrf_token => shared.csrf_token,
    };
    let html = look
        .templates
        .render(template, context! { ..page, ..base })
        .map_err(|e| PageError::Internal(format!("{template}: {e}")))?;
    let mut response = Html(html).into_response();
    // Pages carry CSRF tokens and account data: never cache them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_the_templates_use_is_in_the_catalog() {
        use crate::ui::TEMPLATES;
        let en = crate::i18n::catalog::reference().expect("catalog");
        for (name, source) in TEMPLATES {
            for piece in source.split("t(\"").skip(1) {
                let key = &piece[..piece.find('"').unwrap_or(0)];
                assert!(
                    en.contains_key(key),
                    "{name}: t(\"{key}\") is not in locales/en.yaml"
                );
            }
        }
        // Keys passed as arguments (provider button verbs).
        for key in ["signIn.continueWith", "signUp.signUpWith"] {
            assert!(en.contains_key(key), "{key}");
        }
    }

    #[test]
    fn every_key_the_page_handlers_pass_is_in_the_catalog() {
        // Titles, subtitles, notices and errors are passed as catalog keys: a string literal
        // shaped like a key (`page.thing`) in a handler must be one.
        let en = crate::i18n::catalog::reference().expect("catalog");
        let sources = [
            ("account.rs", include_str!("account.rs")),
            ("consent.rs", include_str!("consent.rs")),
            ("csrf.rs", include_str!("csrf.rs")),
            ("error.rs", include_str!("error.rs")),
            ("federation.rs", include_str!("federation.rs")),
            ("mailbox.rs", include_str!("mailbox.rs")),
            ("messages.rs", include_str!("messages.rs")),
            ("mfa.rs", include_str!("mfa.rs")),
            ("passkeys.rs", include_str!("passkeys.rs")),
            ("recovery.rs", include_str!("recovery.rs")),
            ("sign_in.rs", include_str!("sign_in.rs")),
            ("verify.rs", include_str!("verify.rs")),
            ("oauth/authorize.rs", include_str!("../oauth/authorize.rs")),
            (
                "oauth/end_session.rs",
                include_str!("../oauth/end_session.rs"),
            ),
        ];
        let key_like = |s: &str| {
            s.split('.').count() > 1
                && s.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphabetic()))
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && !["html", "rs"]
                    .iter()
                    .any(|ext| s.ends_with(&format!(".{ext}")))
        };
        for (name, source) in sources {
            for literal in source.split('"').skip(1).step_by(2) {
                if key_like(literal) {
                    assert!(
                        en.contains_key(literal),
                        "{name}: \"{literal}\" is not in locales/en.yaml"
                    );
                }
            }
        }
    }

    #[test]
    fn every_template_parses() {
        crate::ui::Templates::builtin().expect("templates parse");
    }
}
