//! The named components a theme may replace, what each receives, and what any replacement must
//! keep. The samples are the states every override is rendered in when its theme compiles.

use serde_json::{Value, json};

/// A component of the hosted pages that a theme's `templates` may replace.
#[derive(Debug)]
pub struct Component {
    /// Its name in `spec.templates` (and the `data-component` of its root element).
    pub name: &'static str,
    /// What it is.
    pub summary: &'static str,
    /// The variables it receives besides the shared ones, with what they hold.
    pub context: &'static [(&'static str, &'static str)],
    /// The page rendered to check it; `None`: the component alone.
    pub(crate) checked_on: Option<&'static str>,
    /// The states it is rendered in, with what each must contain.
    pub(crate) states: fn() -> Vec<SampleState>,
}

/// The variables every template receives.
pub const SHARED_CONTEXT: &[(&str, &str)] = &[
    (
        "t(key, name=value)",
        "a message of the catalog in the page's locale, placeholders filled",
    ),
    (
        "csrf_token",
        "the CSRF token every form posts as `csrf_token`",
    ),
    ("lang, dir", "the page's locale tag and text direction"),
    ("title", "the page title, translated"),
    ("product", "the product name"),
    ("logo", "`{url, alt}` when the theme has a logo"),
    (
        "error, notice, subtitle",
        "catalog keys of the page's messages",
    ),
];

/// One state a component is checked in.
#[derive(Debug)]
pub(crate) struct SampleState {
    /// `empty`, `with errors`, `with values`, ...
    pub name: &'static str,
    /// The component's variables in that state.
    pub values: Value,
    /// The forms the output must contain.
    pub forms: Vec<FormRule>,
    /// What else it must show (an email's code and link).
    pub shows: Vec<Shown>,
}

/// Something an email override must still show.
#[derive(Debug, Clone)]
pub(crate) enum Shown {
    /// This text, somewhere (a one-time code).
    Text(&'static str),
    /// A link to exactly this address.
    Link(&'static str),
}

/// A form an override must keep: where it posts, the inputs a browser and a password manager
/// need, and the hidden fields the server reads back.
#[derive(Debug, Clone)]
pub(crate) struct FormRule {
    pub action: String,
    pub inputs: Vec<InputRule>,
    pub hidden: Vec<(&'static str, String)>,
}

/// A visible input that must stay as it is.
#[derive(Debug, Clone)]
pub(crate) struct InputRule {
    pub name: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
}

fn input(name: &'static str, kind: &'static str, autocomplete: &'static str) -> InputRule {
    InputRule {
        name,
        kind,
        autocomplete,
    }
}

/// The value every sample renders as the CSRF token, so a check can find it in the output.
pub(crate) const SAMPLE_CSRF: &str = "sample-csrf-token";
const SAMPLE_RETURN: &str = "/oauth2/authorize?client_id=sample&state=xyz";

fn form(action: &str, inputs: Vec<InputRule>, hidden: Vec<(&'static str, String)>) -> FormRule {
    FormRule {
        action: action.to_owned(),
        inputs,
        hidden,
    }
}

fn with_return(values: &Value) -> Vec<(&'static str, String)> {
    match values.get("redirect_url").and_then(Value::as_str) {
        Some(url) if !url.is_empty() => vec![("redirect_url", url.to_owned())],
        _ => Vec::new(),
    }
}

/// The states of a form page: nothing typed, a failed attempt, and values carried over with a
/// return address (the OIDC flow).
fn form_states(base: Value, filled: Value, rule: impl Fn(&Value) -> FormRule) -> Vec<SampleState> {
    let merge = |extra: Value| {
        let mut values = base.clone();
        if let (Some(target), Some(extra)) = (values.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        values
    };
    let empty = merge(json!({}));
    let errors = merge(json!({"error": "form.or"}));
    let values = merge(filled);
    [
        ("empty", empty),
        ("with errors", errors),
        ("with values", values),
    ]
    .into_iter()
    .map(|(name, values)| SampleState {
        name,
        forms: vec![rule(&values)],
        shows: Vec::new(),
        values,
    })
    .collect()
}

fn sign_in_states() -> Vec<SampleState> {
    form_states(
        json!({"email": "", "redirect_url": "", "passwordless": false, "providers": []}),
        json!({"email": "ada@example.com", "redirect_url": SAMPLE_RETURN, "passwordless": true}),
        |v| {
            let username = if v["passwordless"] == true {
                "username webauthn"
            } else {
                "username"
            };
            form(
                "/sign-in",
                vec![
                    input("email", "email", username),
                    input("password", "password", "current-password"),
                ],
                with_return(v),
            )
        },
    )
}

fn sign_up_states() -> Vec<SampleState> {
    form_states(
        json!({"email": "", "redirect_url": "", "min_length": 8, "sign_up_open": true, "providers": []}),
        json!({"email": "ada@example.com", "redirect_url": SAMPLE_RETURN}),
        |v| {
            form(
                "/sign-up",
                vec![
                    input("email", "email", "email"),
                    input("password", "password", "new-password"),
                ],
                with_return(v),
            )
        },
    )
}

fn verify_states() -> Vec<SampleState> {
    form_states(
        json!({"email": "ada@example.com", "action": "/sign-up/verify", "redirect_url": "", "resend_action": "/sign-up/resend"}),
        json!({"redirect_url": SAMPLE_RETURN}),
        |v| {
            let mut hidden = vec![("email", "ada@example.com".to_owned())];
            hidden.extend(with_return(v));
            form(
                "/sign-up/verify",
                vec![input("code", "text", "one-time-code")],
                hidden,
            )
        },
    )
}

fn forgot_password_states() -> Vec<SampleState> {
    form_states(
        json!({"email": ""}),
        json!({"email": "ada@example.com"}),
        |_| {
            form(
                "/forgot-password",
                vec![input("email", "email", "username")],
                Vec::new(),
            )
        },
    )
}

fn reset_password_states() -> Vec<SampleState> {
    form_states(json!({"token": "sample-reset-token"}), json!({}), |_| {
        form(
            "/reset-password",
            vec![input("new_password", "password", "new-password")],
            vec![("token", "sample-reset-token".to_owned())],
        )
    })
}

fn account_sessions_states() -> Vec<SampleState> {
    let current = json!({"id": "s1", "device": "Firefox on Linux", "ip": "192.0.2.1", "last_seen": "2026-12-01 10:00", "current": true});
    let other = json!({"id": "s2", "device": "Safari on iOS", "ip": null, "last_seen": "2026-11-30 08:00", "current": false});
    let revoke = |id: &str| {
        form(
            "/account/sessions/revoke",
            Vec::new(),
            vec![("session_id", id.to_owned())],
        )
    };
    vec![
        SampleState {
            name: "only this device",
            values: json!({"email": "ada@example.com", "sessions": [current]}),
            forms: Vec::new(),
            shows: Vec::new(),
        },
        SampleState {
            name: "with other sessions",
            values: json!({"email": "ada@example.com", "sessions": [current, other]}),
            forms: vec![revoke("s2")],
            shows: Vec::new(),
        },
    ]
}

fn account_password_states() -> Vec<SampleState> {
    vec![SampleState {
        name: "signed in",
        values: json!({"email": "ada@example.com"}),
        forms: vec![form(
            "/account/password",
            vec![
                input("current_password", "password", "current-password"),
                input("new_password", "password", "new-password"),
            ],
            Vec::new(),
        )],
        shows: Vec::new(),
    }]
}

fn account_email_states() -> Vec<SampleState> {
    vec![SampleState {
        name: "signed in",
        values: json!({"email": "ada@example.com"}),
        forms: vec![form(
            "/account/email",
            vec![
                input("email", "email", "email"),
                input("current_password", "password", "current-password"),
            ],
            Vec::new(),
        )],
        shows: Vec::new(),
    }]
}

fn totp_states() -> Vec<SampleState> {
    form_states(
        json!({"action": "/sign-in/second-factor", "redirect_url": "", "remember_days": 0, "has_totp": true}),
        json!({"redirect_url": SAMPLE_RETURN, "remember_days": 30}),
        |v| {
            let mut hidden = vec![("kind", "totp".to_owned())];
            hidden.extend(with_return(v));
            form(
                "/sign-in/second-factor",
                vec![input("code", "text", "one-time-code")],
                hidden,
            )
        },
    )
}

/// A sample code and link, as a verification email carries them.
const SAMPLE_CODE: &str = "246810";
const SAMPLE_LINK: &str = "https://auth.example.com/verify-email?token=sample-link-token";
const SAMPLE_TEXT: &str = "If you did not ask for this, ignore this message.";

fn email_states() -> Vec<SampleState> {
    let tokens = json!({
        "background": "#f8fafc", "foreground": "#0f172a", "surface": "#ffffff",
        "border": "#e2e8f0", "primary": "#4f46e5", "muted": "#64748b", "radius": "8px",
        "font-family": "system-ui, sans-serif", "heading-font-family": "system-ui, sans-serif",
        "font-size": "16px",
    });
    vec![
        SampleState {
            name: "with a code and a link",
            values: json!({
                "subject": "Verify your email address for Vestibule",
                "tokens": tokens,
                "blocks": [
                    {"kind": "text", "text": "Your verification code:"},
                    {"kind": "code", "text": SAMPLE_CODE},
                    {"kind": "link", "text": "Or open this link:", "url": SAMPLE_LINK},
                    {"kind": "text", "text": SAMPLE_TEXT},
                ],
            }),
            forms: Vec::new(),
            shows: vec![
                Shown::Text(SAMPLE_CODE),
                Shown::Link(SAMPLE_LINK),
                Shown::Text(SAMPLE_TEXT),
            ],
        },
        SampleState {
            name: "a notice",
            values: json!({
                "subject": "Your password was changed",
                "tokens": tokens,
                "logo": {"url": "https://example.com/logo.png", "alt": "Example"},
                "blocks": [{"kind": "text", "text": SAMPLE_TEXT}],
            }),
            forms: Vec::new(),
            shows: vec![Shown::Text(SAMPLE_TEXT)],
        },
    ]
}

/// What an email template receives.
const EMAIL_CONTEXT: &[(&str, &str)] = &[
    ("subject", "the subject line"),
    (
        "blocks",
        "the paragraphs, each `{kind, text, url}`: `kind` is `text`, `code` (a one-time code) \
         or `link` (`text` before the link to `url`)",
    ),
    (
        "tokens",
        "the theme's tokens by name (`tokens.primary`, `tokens['font-family']`): inline styles \
         only, mail clients ignore `<style>` and custom properties",
    ),
    ("logo", "`{url, alt}` when the theme has a logo"),
    ("product, lang, dir", "as on pages"),
];

/// Every component a theme may replace, by name.
pub const COMPONENTS: &[Component] = &[
    Component {
        name: "layout",
        summary: "The page frame: `<html>`, head, card, heading, messages and footer. Must \
                  keep `{% block content %}{% endblock %}`, where each page puts its body.",
        context: &[
            ("locales", "the locale tags of the picker"),
            ("show_footer_branding", "whether to show the footer line"),
            (
                "stylesheet_url",
                "the theme's stylesheet (versioned, per organization)",
            ),
            (
                "appearance",
                "`light` or `dark` when the visitor chose one (themes on `auto`)",
            ),
            ("page", "the page's name (`sign_in`, `account`, ...)"),
            ("webauthn", "whether the page needs the passkey script"),
        ],
        checked_on: Some("sign_in.html"),
        states: sign_in_states,
    },
    Component {
        name: "sign-in.form",
        summary: "The email and password form of `/sign-in`.",
        context: &[
            ("email", "the address typed before, or empty"),
            (
                "redirect_url",
                "where the flow returns afterwards (hidden field), or empty",
            ),
            (
                "passwordless",
                "whether passkeys are offered (autocomplete `username webauthn`)",
            ),
        ],
        checked_on: None,
        states: sign_in_states,
    },
    Component {
        name: "sign-up.form",
        summary: "The email and password form of `/sign-up`.",
        context: &[
            ("email", "the address typed before, or empty"),
            (
                "redirect_url",
                "where the flow returns afterwards (hidden field), or empty",
            ),
            ("min_length", "the shortest password accepted"),
        ],
        checked_on: None,
        states: sign_up_states,
    },
    Component {
        name: "verify.form",
        summary: "The code form of email verification (sign-up, email change).",
        context: &[
            ("email", "the address being verified (hidden field)"),
            ("action", "where the form posts"),
            (
                "redirect_url",
                "where the flow returns afterwards (hidden field), or empty",
            ),
        ],
        checked_on: None,
        states: verify_states,
    },
    Component {
        name: "forgot-password.form",
        summary: "The form of `/forgot-password` that sends a reset link.",
        context: &[("email", "the address typed before, or empty")],
        checked_on: None,
        states: forgot_password_states,
    },
    Component {
        name: "reset-password.form",
        summary: "The new-password form a reset link opens.",
        context: &[("token", "the reset token (hidden field)")],
        checked_on: None,
        states: reset_password_states,
    },
    Component {
        name: "account.sessions",
        summary: "The sessions section of `/account`, with a revoke form per other session.",
        context: &[(
            "sessions",
            "list of `{id, device, ip, last_seen, current}`; `current` is this browser",
        )],
        checked_on: None,
        states: account_sessions_states,
    },
    Component {
        name: "account.password",
        summary: "The change-password section of `/account`.",
        context: &[],
        checked_on: None,
        states: account_password_states,
    },
    Component {
        name: "account.email",
        summary: "The change-email section of `/account`.",
        context: &[],
        checked_on: None,
        states: account_email_states,
    },
    Component {
        name: "mfa.totp-form",
        summary: "The authenticator-code form of the second-factor challenge.",
        context: &[
            ("action", "where the form posts"),
            (
                "redirect_url",
                "where the flow returns afterwards (hidden field), or empty",
            ),
            (
                "remember_days",
                "days a device may be remembered (a checkbox `remember`), or 0",
            ),
        ],
        checked_on: None,
        states: totp_states,
    },
    Component {
        name: "email.layout",
        summary: "The HTML part of every email (the plain-text part is always the catalog's text).",
        context: EMAIL_CONTEXT,
        checked_on: None,
        states: email_states,
    },
    Component {
        name: "email.verify-code",
        summary: "The email-verification message: a code and a link. Default: the `email.layout` frame.",
        context: EMAIL_CONTEXT,
        checked_on: None,
        states: email_states,
    },
    Component {
        name: "email.password-reset",
        summary: "The password-reset message: a link. Default: the `email.layout` frame.",
        context: EMAIL_CONTEXT,
        checked_on: None,
        states: email_states,
    },
    Component {
        name: "email.security-notice",
        summary: "Security notices (password, email, sign-in methods, two-step verification, new sign-in). Default: the `email.layout` frame.",
        context: EMAIL_CONTEXT,
        checked_on: None,
        states: email_states,
    },
    Component {
        name: "email.message",
        summary: "Every other email (linking codes, email-change codes, account exists). Default: the `email.layout` frame.",
        context: EMAIL_CONTEXT,
        checked_on: None,
        states: email_states,
    },
];

impl Component {
    /// What any replacement must keep, in words: the union over the component's states.
    pub fn requirements(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |line: String| {
            if !out.contains(&line) {
                out.push(line);
            }
        };
        if self.name == "layout" {
            push("`{% block content %}{% endblock %}`, where each page puts its body".into());
        }
        for state in (self.states)() {
            for form in &state.forms {
                push(format!(
                    "a `<form method=\"post\" action=\"{}\">` with the CSRF field \
                     `{{{{ csrf(csrf_token) }}}}`",
                    form.action
                ));
                for input in &form.inputs {
                    push(format!(
                        "`<input name=\"{}\" type=\"{}\" autocomplete=\"{}\">`",
                        input.name, input.kind, input.autocomplete
                    ));
                }
                for (name, _) in &form.hidden {
                    push(format!(
                        "the hidden `{name}` field, when the context has one"
                    ));
                }
            }
        }
        out
    }

    /// The built-in template of the component.
    pub fn builtin(&self) -> &'static str {
        super::TEMPLATES
            .iter()
            .find(|(n, _)| *n == self.name)
            .map_or("", |(_, s)| *s)
    }
}

/// The component called `name`.
pub fn find(name: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.name == name)
}
