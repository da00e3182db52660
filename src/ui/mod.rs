//! The hosted UI's templates: the built-in pages, the named components they are built from, a
//! theme's whole-component overrides (sandboxed, and checked before they are accepted), and
//! rendering them.
//!
//! One environment holds everything a page may use, so an override can include or import only
//! the component set: there is no loader, hence no file system and no network. Every template
//! runs with autoescaping on and without `|safe`, with bounded fuel, recursion and output.

mod check;
mod components;
mod html;
mod words;

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, LazyLock};

use minijinja::{AutoEscape, Environment, Value};

pub use self::check::{Problem, check_overrides, sample_context};
pub use self::components::{COMPONENTS, Component, SHARED_CONTEXT};
pub use self::words::Words;

/// Every built-in template by name: the pages, the macros and the components (by component
/// name). Part names (`data-part`) inside them are public, versioned contract.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("layout", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    (
        "sign-in.form",
        include_str!("../../templates/components/sign-in.form.html"),
    ),
    (
        "sign-up.form",
        include_str!("../../templates/components/sign-up.form.html"),
    ),
    (
        "verify.form",
        include_str!("../../templates/components/verify.form.html"),
    ),
    (
        "forgot-password.form",
        include_str!("../../templates/components/forgot-password.form.html"),
    ),
    (
        "reset-password.form",
        include_str!("../../templates/components/reset-password.form.html"),
    ),
    (
        "account.sessions",
        include_str!("../../templates/components/account.sessions.html"),
    ),
    (
        "account.password",
        include_str!("../../templates/components/account.password.html"),
    ),
    (
        "account.email",
        include_str!("../../templates/components/account.email.html"),
    ),
    (
        "mfa.totp-form",
        include_str!("../../templates/components/mfa.totp-form.html"),
    ),
    (
        "email.layout",
        include_str!("../../templates/email/layout.html"),
    ),
    (
        "email.verify-code",
        include_str!("../../templates/email/verify-code.html"),
    ),
    (
        "email.password-reset",
        include_str!("../../templates/email/password-reset.html"),
    ),
    (
        "email.security-notice",
        include_str!("../../templates/email/security-notice.html"),
    ),
    (
        "email.message",
        include_str!("../../templates/email/message.html"),
    ),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("sign_up.html", include_str!("../../templates/sign_up.html")),
    (
        "verify_email.html",
        include_str!("../../templates/verify_email.html"),
    ),
    (
        "confirm_link.html",
        include_str!("../../templates/confirm_link.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../../templates/forgot_password.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../templates/reset_password.html"),
    ),
    ("account.html", include_str!("../../templates/account.html")),
    ("notice.html", include_str!("../../templates/notice.html")),
    (
        "sign_out.html",
        include_str!("../../templates/sign_out.html"),
    ),
    ("consent.html", include_str!("../../templates/consent.html")),
    (
        "link_identity.html",
        include_str!("../../templates/link_identity.html"),
    ),
    (
        "mfa_challenge.html",
        include_str!("../../templates/mfa_challenge.html"),
    ),
    (
        "mfa_enrol.html",
        include_str!("../../templates/mfa_enrol.html"),
    ),
    (
        "mfa_backup_codes.html",
        include_str!("../../templates/mfa_backup_codes.html"),
    ),
    (
        "organizations.html",
        include_str!("../../templates/organizations.html"),
    ),
    (
        "organization.html",
        include_str!("../../templates/organization.html"),
    ),
    (
        "invitation.html",
        include_str!("../../templates/invitation.html"),
    ),
    ("mailbox.html", include_str!("../../templates/mailbox.html")),
    (
        "dev_theme.html",
        include_str!("../../templates/dev_theme.html"),
    ),
];

/// Steps one render may take. A page with a hundred sessions takes a few thousand; an override
/// that loops (nested ranges, recursion through macros) runs out instead of holding a worker.
pub const FUEL: u64 = 500_000;

/// Largest page a render may produce.
pub const OUTPUT_LIMIT: usize = 512 * 1024;

/// Deepest nesting of includes, macro calls and blocks.
const RECURSION_LIMIT: usize = 32;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template failed (a bug in a built-in one, or out of fuel).
    #[error("{0:#}")]
    Template(#[from] minijinja::Error),
    /// The output passed [`OUTPUT_LIMIT`].
    #[error("the page would be larger than {OUTPUT_LIMIT} bytes")]
    TooLarge,
}

/// A component in one of its states, rendered.
#[derive(Debug)]
pub struct Sample {
    /// The component.
    pub component: &'static str,
    /// The state (`empty`, `with errors`, ...).
    pub state: &'static str,
    /// Its HTML, or why it failed.
    pub html: Result<String, RenderError>,
}

/// The templates of one theme: the built-in ones with the theme's overrides in place.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

static BUILTIN: LazyLock<Result<Templates, String>> = LazyLock::new(|| {
    let (env, problems) = environment(&BTreeMap::new());
    match problems.first() {
        Some((name, e)) => Err(format!("{name}: {e:#}")),
        None => Ok(Templates { env: Arc::new(env) }),
    }
});

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Result<Self, String> {
        BUILTIN.clone()
    }

    /// The built-in templates with `overrides` (component name → source) in place, each checked
    /// first: the problems of the ones that fail, if any do.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, Vec<Problem>> {
        if overrides.is_empty() {
            return Self::builtin().map_err(|message| {
                vec![Problem {
                    component: "layout".into(),
                    line: None,
                    message,
                }]
            });
        }
        let problems = check_overrides(overrides);
        if !problems.is_empty() {
            return Err(problems);
        }
        let (env, _) = environment(overrides);
        Ok(Self { env: Arc::new(env) })
    }

    /// Every component but the page frame in every state, rendered in `words`' locale with
    /// sample values: the theme preview of `vestibule dev`.
    pub fn samples(&self, words: &crate::i18n::Translator) -> Vec<Sample> {
        let mut samples = Vec::new();
        for component in COMPONENTS.iter().filter(|c| c.checked_on.is_none()) {
            for state in (component.states)() {
                let context = check::sample_context(&state.values, words);
                samples.push(Sample {
                    component: component.name,
                    state: state.name,
                    html: self.render(component.name, context),
                });
            }
        }
        samples
    }

    /// Renders the template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, RenderError> {
        render(&self.env, name, context)
    }
}

/// The sandboxed environment with `overrides` in place of the built-in components; the
/// overrides that fail to parse are left out and returned with their errors.
fn environment(
    overrides: &BTreeMap<String, String>,
) -> (Environment<'static>, Vec<(String, minijinja::Error)>) {
    let mut env = Environment::new();
    // Component names have no `.html`; escape everything regardless of the name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.remove_filter("safe");
    // The built-in `replace` marks its result safe when the replacement is (a `{% set %}` block
    // is): `{{ e|replace("&lt;", lt) }}` would turn escaped input back into markup. This one
    // returns plain text, escaped on output like any other.
    env.add_filter("replace", |value: String, from: String, to: String| {
        value.replace(&from, &to)
    });
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    let mut problems = Vec::new();
    for (name, source) in TEMPLATES {
        let added = match overrides.get(*name) {
            Some(custom) => env.add_template_owned(name.to_string(), custom.clone()),
            None => env.add_template(name, source),
        };
        if let Err(e) = added {
            problems.push((name.to_string(), e));
            if overrides.contains_key(*name) {
                // Keep the page renderable for the checks of the other overrides.
                let _ = env.add_template(name, source);
            }
        }
    }
    (env, problems)
}

fn render(env: &Environment<'_>, name: &str, context: Value) -> Result<String, RenderError> {
    let mut out = Capped(Vec::new());
    let template = env.get_template(name)?;
    match template.render_captured_to(context, &mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == minijinja::ErrorKind::WriteFailure => {
            return Err(RenderError::TooLarge);
        }
        Err(e) => return Err(e.into()),
    }
    // Escaped output of valid strings is valid UTF-8.
    String::from_utf8(out.0).map_err(|_| RenderError::TooLarge)
}

/// A writer that refuses to grow past [`OUTPUT_LIMIT`].
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > OUTPUT_LIMIT {
            return Err(io::Error::other("output limit"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
