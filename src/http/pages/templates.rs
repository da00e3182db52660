//! Rendering hosted pages: one minijinja environment with the built-in templates, and the context
//! every page shares (title, CSRF token, theme logo, return address).

use std::sync::{Arc, LazyLock};

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use minijinja::value::{Kwargs, Object, from_args};
use minijinja::{Environment, State, Value, context};

use super::error::PageError;
use crate::i18n::Translator;
use crate::runtime::Active;

/// Templates by name; part names (`data-part`) inside them are public, versioned contract.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../../templates/layout.html"),
    ),
    (
        "macros.html",
        include_str!("../../../templates/macros.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../../templates/sign_in.html"),
    ),
    (
        "sign_up.html",
        include_str!("../../../templates/sign_up.html"),
    ),
    (
        "verify_email.html",
        include_str!("../../../templates/verify_email.html"),
    ),
    (
        "confirm_link.html",
        include_str!("../../../templates/confirm_link.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../../../templates/forgot_password.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../../templates/reset_password.html"),
    ),
    (
        "account.html",
        include_str!("../../../templates/account.html"),
    ),
    (
        "notice.html",
        include_str!("../../../templates/notice.html"),
    ),
    (
        "sign_out.html",
        include_str!("../../../templates/sign_out.html"),
    ),
    (
        "consent.html",
        include_str!("../../../templates/consent.html"),
    ),
    (
        "link_identity.html",
        include_str!("../../../templates/link_identity.html"),
    ),
    (
        "mfa_challenge.html",
        include_str!("../../../templates/mfa_challenge.html"),
    ),
    (
        "mfa_enrol.html",
        include_str!("../../../templates/mfa_enrol.html"),
    ),
    (
        "mfa_backup_codes.html",
        include_str!("../../../templates/mfa_backup_codes.html"),
    ),
    (
        "mailbox.html",
        include_str!("../../../templates/mailbox.html"),
    ),
];

static ENV: LazyLock<Result<Environment<'static>, minijinja::Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
});

/// What every page needs besides its own fields.
pub struct PageContext<'a> {
    /// The active config (theme, product name).
    pub active: &'a Active,
    /// The CSRF token to embed in forms.
    pub csrf_token: &'a str,
    /// The words of the request's locale.
    pub words: &'a Translator,
}

/// The templates' `t(key, name=value, ...)`: a catalog message in the request's locale. The
/// result is plain text, so the template escapes it like any other value.
#[derive(Debug)]
struct Words(Translator);

impl Object for Words {
    fn call(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        args: &[Value],
    ) -> Result<Value, minijinja::Error> {
        let (key, kwargs): (String, Kwargs) = from_args(args)?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for name in kwargs.args() {
            let value: Value = kwargs.get(name)?;
            pairs.push((name.to_owned(), value.to_string()));
        }
        Ok(Value::from(self.0.get(&key, &pairs)))
    }
}

/// Renders `template` with the shared context plus `page`.
pub fn render(
    template: &str,
    shared: &PageContext<'_>,
    title: &str,
    page: Value,
) -> Result<Response, PageError> {
    let env = ENV
        .as_ref()
        .map_err(|e| PageError::Internal(format!("templates: {e:#}")))?;
    let active = shared.active;
    let words = shared.words;
    // Titles are catalog keys on the pages that use the catalog, plain text on the rest.
    let title = words.lookup(title).unwrap_or_else(|| title.to_owned());
    let base = context! {
        lang => words.locale(),
        dir => words.dir().as_str(),
        t => Value::from_object(Words(words.clone())),
        locales => active.locales.tags().map(str::to_owned).collect::<Vec<_>>(),
        show_footer_branding => active.config.theme.show_footer_branding,
        title => title,
        page => template.trim_end_matches(".html"),
        product => active.product_name(),
        logo => active.config.theme.logo.as_ref().map(|l| context! { url => &l.url, alt => &l.alt }),
        css_version => active.config.hash.get(7..19).unwrap_or_default(),
        csrf_token => shared.csrf_token,
    };
    let html = env
        .get_template(template)?
        .render(context! { ..page, ..base })?;
    let mut response = Html(html).into_response();
    // Pages carry CSRF tokens and account data: never cache them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_templates_use_is_in_the_catalog() {
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
    fn every_template_parses() {
        let env = ENV.as_ref().expect("templates parse");
        for (name, _) in TEMPLATES {
            env.get_template(name).expect(name);
        }
    }
}
