//! Checking a theme's overrides before they are accepted: each must parse, stay inside the
//! sandbox, render in every state of its component, and keep what the page protects (the CSRF
//! field, where and how the form posts, the inputs the server and password managers rely on).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use minijinja::{ErrorKind, Value, context};
use regex::Regex;

use super::components::{self, COMPONENTS, FormRule, SAMPLE_CSRF, Shown};
use super::html::{self, Tag};
use super::{FUEL, OUTPUT_LIMIT, RenderError, Words, environment, render};

/// Largest override source accepted.
pub const SOURCE_LIMIT: usize = 64 * 1024;

/// Why an override is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The component the override replaces.
    pub component: String,
    /// 1-based line inside the override, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, in words a theme author can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

static SAFE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\|\s*safe\b|\{%[-+]?\s*filter\s+safe\b").expect("static regex"));
static AUTOESCAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%[-+]?\s*autoescape\b").expect("static regex"));
// A load statement: its keyword, then the rest of the tag.
static LOADS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%[-+]?\s*(include|import|from|extends)\b((?:[^%]|%[^}])*)%\}")
        .expect("static regex")
});
// What a load may say after its keyword: one quoted name, then only the fixed clauses.
static LOAD_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?:"([^"]*)"|'([^']*)')\s*(?:ignore missing|with context|without context|as \w+|import [\w\s,]+)?\s*[-+]?$"#,
    )
    .expect("static regex")
});

fn line_at(source: &str, offset: usize) -> usize {
    source[..offset].matches('\n').count() + 1
}

/// The problems of `overrides` (component name → template source); empty when all are fine.
pub fn check_overrides(overrides: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, source) in overrides {
        let mut problem = |line: Option<usize>, message: String| {
            problems.push(Problem {
                component: name.clone(),
                line,
                message,
            });
        };
        if components::find(name).is_none() {
            let known: Vec<&str> = COMPONENTS.iter().map(|c| c.name).collect();
            problem(
                None,
                format!("no component is called {name:?}; the components are {known:?}"),
            );
            continue;
        }
        if source.len() > SOURCE_LIMIT {
            problem(
                None,
                format!("the template is larger than {SOURCE_LIMIT} bytes"),
            );
            continue;
        }
        for m in SAFE.find_iter(source) {
            problem(
                Some(line_at(source, m.start())),
                "`safe` is refused: an override's output is always escaped".into(),
            );
        }
        for m in AUTOESCAPE.find_iter(source) {
            problem(
                Some(line_at(source, m.start())),
                "`autoescape` blocks are refused: an override's output is always escaped".into(),
            );
        }
        for c in LOADS.captures_iter(source) {
            let line = Some(line_at(source, c.get(0).map_or(0, |m| m.start())));
            let rest = c.get(2).map_or("", |m| m.as_str());
            let target = LOAD_TARGET
                .captures(rest)
                .and_then(|t| t.get(1).or_else(|| t.get(2)))
                .map(|m| m.as_str());
            let Some(target) = target else {
                problem(
                    line,
                    "include, import, from and extends take one quoted template name".into(),
                );
                continue;
            };
            let allowed =
                target == "macros.html" || (target != name && components::find(target).is_some());
            if !allowed {
                problem(
                    line,
                    format!(
                        "{target:?} cannot be loaded here: an override may load \"macros.html\" \
                         and the other components only"
                    ),
                );
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    let (env, parse_errors) = environment(overrides);
    let mut broken = Vec::new();
    for (name, e) in parse_errors {
        problems.push(Problem {
            line: e.line(),
            message: format!("does not parse: {}", describe(&e)),
            component: name.clone(),
        });
        broken.push(name);
    }
    let english = crate::i18n::Locales::build(&BTreeMap::new(), crate::i18n::FALLBACK);
    let words = english.default_translator();
    // A fresh token each check, so an override cannot single out the sample.
    let csrf = format!("sample-{:032x}", rand::random::<u128>());
    for name in overrides.keys().filter(|n| !broken.contains(n)) {
        let Some(component) = components::find(name) else {
            continue;
        };
        let target = component.checked_on.unwrap_or(component.name);
        let mut seen: Vec<String> = Vec::new();
        for state in (component.states)() {
            let mut add = |line: Option<usize>, message: String| {
                if !seen.contains(&message) {
                    seen.push(message.clone());
                    problems.push(Problem {
                        component: name.clone(),
                        line,
                        message,
                    });
                }
            };
            let context = context_with(&state.values, words, &csrf);
            match render(&env, target, context) {
                Err(RenderError::TooLarge) => add(
                    None,
                    format!(
                        "renders more than {OUTPUT_LIMIT} bytes in state {:?}",
                        state.name
                    ),
                ),
                Err(RenderError::Template(e)) => {
                    let line = (e.name() == Some(name.as_str()))
                        .then(|| e.line())
                        .flatten();
                    let message = if e.kind() == ErrorKind::OutOfFuel {
                        format!(
                            "does not finish within {FUEL} steps in state {:?} (a loop that \
                             never ends?)",
                            state.name
                        )
                    } else {
                        format!(
                            "fails to render in state {:?}: {}",
                            state.name,
                            describe(&e)
                        )
                    };
                    add(line, message);
                }
                Ok(output) => {
                    for message in output_problems(&output, &state.forms, component.name, &csrf) {
                        add(None, message);
                    }
                    for message in missing(&output, &state.shows) {
                        add(None, message);
                    }
                }
            }
        }
    }
    problems
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// What every page receives, with a sample CSRF token, plus `values` (a component state's
/// variables): what the checks, the `/dev/theme` preview and the render benchmark use.
pub fn sample_context(values: &serde_json::Value, words: &crate::i18n::Translator) -> Value {
    context_with(values, words, SAMPLE_CSRF)
}

fn context_with(values: &serde_json::Value, words: &crate::i18n::Translator, csrf: &str) -> Value {
    let base = context! {
        lang => words.locale(),
        dir => words.dir().as_str(),
        t => Words::value(words),
        locales => vec!["en", "de"],
        show_footer_branding => true,
        title => "Sign in",
        page => "sign_in",
        product => "Vestibule",
        stylesheet_url => "/assets/vestibule.css?v=sample",
        csrf_token => csrf,
    };
    context! { ..Value::from(minijinja::value::Serde(values)), ..base }
}

/// What `output` lacks of `forms`, or does that no component may.
fn output_problems(output: &str, forms: &[FormRule], component: &str, csrf: &str) -> Vec<String> {
    let tags = html::tags(output);
    let mut problems = Vec::new();
    let mut open_form = false;
    for tag in &tags {
        if tag.name == "form" {
            if !tag.end && open_form {
                problems.push(
                    "a <form> inside a <form> is refused: browsers drop the inner one".into(),
                );
            }
            open_form = !tag.end;
        }
        if tag.end {
            continue;
        }
        match tag.name.as_str() {
            "base" => {
                problems.push("a <base> element is refused: it would move where forms post".into())
            }
            "template" | "noscript" | "textarea" | "iframe" | "object" | "embed" => problems.push(
                format!("a <{}> element is refused in an override", tag.name),
            ),
            "meta" if tag.attribute("http-equiv").is_some() => {
                problems.push("<meta http-equiv> is refused: it could redirect the page".into());
            }
            "script" if component != "layout" => {
                problems.push("a <script> element is refused outside the layout".into())
            }
            _ => {}
        }
        for (name, _) in &tag.attributes {
            if name.starts_with("form") && name.len() > 4 || name == "form" {
                problems.push(format!(
                    "a {name} attribute on <{}> is refused: it would change where or how a form \
                     posts",
                    tag.name
                ));
            }
        }
    }
    let allowed: Vec<&str> = forms.iter().map(|f| f.action.as_str()).collect();
    if component != "layout" {
        for (form, _) in forms_in(&tags) {
            let action = form.attribute("action").unwrap_or_default();
            if !allowed.contains(&action) {
                problems.push(format!(
                    "a form posting to {action:?} is refused: {component}'s forms post to {allowed:?}"
                ));
            }
        }
    }
    for rule in forms {
        let found = forms_in(&tags)
            .into_iter()
            .find(|(form, _)| form.attribute("action") == Some(rule.action.as_str()));
        let Some((form, inputs)) = found else {
            problems.push(format!(
                "no form posts to {} any more: {component} must keep <form method=\"post\" \
                 action=\"{}\">",
                rule.action, rule.action
            ));
            continue;
        };
        let action = &rule.action;
        if !form
            .attribute("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"))
        {
            problems.push(format!(
                "the form posting to {action} must keep method=\"post\""
            ));
        }
        let input = |name: &str| inputs.iter().find(|i| i.attribute("name") == Some(name));
        let hidden_is = |name: &str, value: &str| {
            input(name).is_some_and(|i| {
                i.attribute("type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("hidden"))
                    && i.attribute("value") == Some(value)
            })
        };
        if !hidden_is("csrf_token", csrf) {
            problems.push(format!(
                "the form posting to {action} lost its CSRF field: keep \
                 <input type=\"hidden\" name=\"csrf_token\" value=\"{{{{ csrf_token }}}}\">"
            ));
        }
        for (name, value) in &rule.hidden {
            if !hidden_is(name, value) {
                problems.push(format!(
                    "the form posting to {action} lost its hidden {name} field (the value of \
                     `{name}`)"
                ));
            }
        }
        for wanted in &rule.inputs {
            let Some(found) = input(wanted.name) else {
                problems.push(format!(
                    "the form posting to {action} lost its required input name=\"{}\"",
                    wanted.name
                ));
                continue;
            };
            let kind = found.attribute("type").unwrap_or("text");
            if !kind.eq_ignore_ascii_case(wanted.kind) {
                problems.push(format!(
                    "input {} must keep type=\"{}\" (it has type=\"{kind}\")",
                    wanted.name, wanted.kind
                ));
            }
            let tokens: Vec<&str> = found
                .attribute("autocomplete")
                .unwrap_or_default()
                .split_ascii_whitespace()
                .collect();
            if !wanted
                .autocomplete
                .split_ascii_whitespace()
                .all(|t| tokens.contains(&t))
            {
                problems.push(format!(
                    "input {} must keep autocomplete=\"{}\" (password managers and passkeys \
                     rely on it)",
                    wanted.name, wanted.autocomplete
                ));
            }
        }
    }
    problems
}

/// What an email's output does not show of `shows`.
fn missing(output: &str, shows: &[Shown]) -> Vec<String> {
    let tags = html::tags(output);
    let mut problems = Vec::new();
    for shown in shows {
        match shown {
            Shown::Text(text) if !output.contains(text) => problems.push(format!(
                "the block text {text:?} is missing: an email must show every block"
            )),
            Shown::Link(url)
                if !tags
                    .iter()
                    .any(|t| t.name == "a" && !t.end && t.attribute("href") == Some(url)) =>
            {
                problems.push(format!(
                    "no link to {url} any more: an email must link every `link` block's url"
                ));
            }
            _ => {}
        }
    }
    problems
}

/// Each form with the inputs inside it.
fn forms_in(tags: &[Tag]) -> Vec<(&Tag, Vec<&Tag>)> {
    let mut forms = Vec::new();
    let mut i = 0;
    while i < tags.len() {
        if tags[i].name == "form" && !tags[i].end {
            let form = &tags[i];
            let mut inputs = Vec::new();
            i += 1;
            while i < tags.len() && tags[i].name != "form" {
                if tags[i].name == "input" && !tags[i].end {
                    inputs.push(&tags[i]);
                }
                i += 1;
            }
            forms.push((form, inputs));
        } else {
            i += 1;
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(component: &str, source: &str) -> Vec<String> {
        let overrides = BTreeMap::from([(component.to_owned(), source.to_owned())]);
        check_overrides(&overrides)
            .into_iter()
            .map(|p| {
                assert_eq!(p.component, component);
                p.to_string()
            })
            .collect()
    }

    fn sign_in_form(replace: &str, with: &str) -> String {
        let builtin = super::super::TEMPLATES
            .iter()
            .find(|(n, _)| *n == "sign-in.form")
            .map(|(_, s)| *s)
            .expect("built-in sign-in.form");
        assert!(builtin.contains(replace), "{replace}");
        builtin.replace(replace, with)
    }

    fn assert_refused(found: &[String], wanted: &str) {
        assert!(
            found.iter().any(|p| p.contains(wanted)),
            "wanted {wanted:?} in {found:#?}"
        );
    }

    #[test]
    fn every_builtin_component_passes_its_own_checks() {
        for (name, source) in super::super::TEMPLATES {
            if components::find(name).is_some() {
                assert_eq!(problems(name, source), Vec::<String>::new(), "{name}");
            }
        }
    }

    #[test]
    fn a_restyled_form_that_keeps_its_pieces_passes() {
        let source = r#"<div class="brand">{% from "macros.html" import csrf, redirect %}
<form method="POST" action="/sign-in" data-part="form">{{ csrf(csrf_token) }}{{ redirect(redirect_url) }}
<label>Work email <input name="email" type="email" autocomplete="username{% if passwordless %} webauthn{% endif %}" value="{{ email }}"></label>
<label>{{ t("field.password") }} <input name="password" type="password" autocomplete="current-password"></label>
<button>{{ t("signIn.submit") }}</button></form></div>"#;
        assert_eq!(problems("sign-in.form", source), Vec::<String>::new());
    }

    #[test]
    fn overrides_that_weaken_the_form_are_refused() {
        let cases = [
            (
                sign_in_form("{{ csrf(csrf_token) }}", ""),
                "lost its CSRF field",
            ),
            (
                sign_in_form("action=\"/sign-in\"", "action=\"https://evil.example/\""),
                "no form posts to /sign-in",
            ),
            (
                sign_in_form("method=\"post\"", "method=\"get\""),
                "must keep method=\"post\"",
            ),
            (
                sign_in_form("field(\"password\"", "field(\"pass\""),
                "lost its required input name=\"password\"",
            ),
            (
                sign_in_form(
                    "t(\"field.email\"), \"email\"",
                    "t(\"field.email\"), \"text\"",
                ),
                "input email must keep type=\"email\"",
            ),
            (
                sign_in_form("\"current-password\"", "\"off\""),
                "must keep autocomplete=\"current-password\"",
            ),
            (
                sign_in_form("{{ redirect(redirect_url) }}", ""),
                "lost its hidden redirect_url field",
            ),
            (
                sign_in_form("<button", "<button formaction=\"https://evil.example/\""),
                "formaction",
            ),
            (
                sign_in_form("<button", "<button formmethod=\"get\""),
                "formmethod",
            ),
            (
                format!(
                    "<form method=\"get\" action=\"/sign-in\">{}",
                    sign_in_form("", "")
                ),
                "a <form> inside a <form>",
            ),
            (
                sign_in_form(
                    "</form>",
                    "</form><form method=\"post\" action=\"https://evil.example/\"></form>",
                ),
                "a form posting to \"https://evil.example/\" is refused",
            ),
            (
                sign_in_form(
                    "</form>",
                    "</form><meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
                ),
                "<meta http-equiv> is refused",
            ),
            (
                sign_in_form(
                    "</form>",
                    "</form><template><form method=post action=/sign-in></form></template>",
                ),
                "a <template> element is refused",
            ),
        ];
        for (source, wanted) in cases {
            assert_refused(&problems("sign-in.form", &source), wanted);
        }
    }

    #[test]
    fn sandbox_escapes_are_refused_with_their_line() {
        assert_refused(
            &problems("sign-in.form", "<p>\n{{ email|safe }}</p>"),
            "line 2: `safe` is refused",
        );
        assert_refused(
            &problems(
                "sign-in.form",
                "{% autoescape false %}{{ email }}{% endautoescape %}",
            ),
            "line 1: `autoescape` blocks are refused",
        );
        assert_refused(
            &problems("sign-in.form", "\n\n{% include \"account.html\" %}"),
            "line 3: \"account.html\" cannot be loaded",
        );
        assert_refused(
            &problems("sign-in.form", "{% include name %}"),
            "take one quoted template name",
        );
        assert_refused(
            &problems(
                "sign-in.form",
                "{%+ autoescape false %}{{ email }}{% endautoescape %}",
            ),
            "`autoescape` blocks are refused",
        );
        assert_refused(
            &problems("sign-in.form", "{% include\"account.html\" %}"),
            "\"account.html\" cannot be loaded",
        );
        assert_refused(
            &problems(
                "sign-in.form",
                "{% include \"macros.html\" if email else \"account.html\" %}",
            ),
            "take one quoted template name",
        );
        // Escaped input stays escaped: `replace` yields text, not markup.
        let unescape = "{% set lt %}<{% endset %}{% set e %}{{ email }}{% endset %}{{ e|replace(\"&lt;\", lt) }}";
        let overrides = BTreeMap::from([("sign-in.form".to_owned(), unescape.to_owned())]);
        let (env, _) = environment(&overrides);
        let out = render(
            &env,
            "sign-in.form",
            context! { email => "<script>", t => Words::value(crate::i18n::english()) },
        )
        .expect("renders");
        assert!(!out.contains("<script>"), "{out}");
        assert_refused(
            &problems("sign-in.form", "<form>\n{% if %}\n</form>"),
            "line 2: does not parse",
        );
        assert_refused(
            &problems(
                "sign-in.form",
                "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            ),
            "does not finish within",
        );
        assert_refused(
            &problems("sign-in.form", "{{ nope() }}"),
            "fails to render in state \"empty\"",
        );
        assert_refused(&problems("sign-in.frm", "x"), "no component is called");
    }

    #[test]
    fn a_layout_must_keep_the_page_content() {
        assert_refused(
            &problems("layout", "<!doctype html><html><body>Hello</body></html>"),
            "no form posts to /sign-in",
        );
        let kept = "<!doctype html><html lang=\"{{ lang }}\"><body class=brand>{% block content %}{% endblock %}</body></html>";
        assert_eq!(problems("layout", kept), Vec::<String>::new());
    }

    #[test]
    fn an_email_override_keeps_the_code_and_the_link() {
        let kept = "<html><body>{% for b in blocks %}{% if b.kind == 'link' %}<a href=\"{{ b.url }}\">{{ b.text }}</a>{% else %}<p>{{ b.text }}</p>{% endif %}{% endfor %}</body></html>";
        assert_eq!(problems("email.verify-code", kept), Vec::<String>::new());
        let no_link = "{% for b in blocks %}<p>{{ b.text }}</p>{% endfor %}";
        assert_refused(
            &problems("email.layout", no_link),
            "no link to https://auth.example.com/verify-email",
        );
        let no_code = "{% for b in blocks if b.kind != 'code' %}<p>{{ b.text }}</p>{% endfor %}";
        assert_refused(
            &problems("email.verify-code", no_code),
            "\"246810\" is missing",
        );
    }

    #[test]
    fn a_sessions_override_keeps_the_revoke_forms() {
        let source = "<ul>{% for s in sessions %}<li>{{ s.device }}</li>{% endfor %}</ul>";
        assert_refused(
            &problems("account.sessions", source),
            "no form posts to /account/sessions/revoke",
        );
    }
}
