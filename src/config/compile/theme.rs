//! Theme checks and `extends` resolution.
//!
//! Token values end up inside CSS custom properties, so they are checked against strict grammars:
//! a color or length can never smuggle a `;` or `}` into the stylesheet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use kube::ResourceExt;
use regex::Regex;

use super::Compiler;
use crate::config::bundle::id_of;
use crate::config::diagnostic::{Diagnostic, ResourceId, join_path};
use crate::config::runtime::{
    ColorScheme, LayoutVariant, LogoConfig, SocialButtonsPlacement, ThemeConfig,
};
use crate::config::uri;
use crate::i18n::catalog;
use crate::resources::Theme;
use crate::resources::theme::{self as resource, ThemeColors};

impl From<resource::LayoutVariant> for LayoutVariant {
    fn from(variant: resource::LayoutVariant) -> Self {
        match variant {
            resource::LayoutVariant::Centered => Self::Centered,
            resource::LayoutVariant::Split => Self::Split,
        }
    }
}

impl From<resource::SocialButtonsPlacement> for SocialButtonsPlacement {
    fn from(placement: resource::SocialButtonsPlacement) -> Self {
        match placement {
            resource::SocialButtonsPlacement::Top => Self::Top,
            resource::SocialButtonsPlacement::Bottom => Self::Bottom,
        }
    }
}

impl Compiler<'_> {
    /// Checks the values of every Theme in the bundle, referenced or not.
    pub(super) fn check_themes(&mut self) {
        for t in &self.bundle.themes {
            check(t, &mut self.diagnostics);
        }
    }

    /// The theme `name` with its `extends` chain resolved (none: the built-in theme).
    pub(super) fn theme_for(
        &mut self,
        name: Option<&str>,
        referrer: &ResourceId,
        path: &str,
    ) -> ThemeConfig {
        match name {
            None => default_theme(),
            Some(name) => resolve(name, &self.themes, referrer, path, &mut self.diagnostics)
                .unwrap_or_default(),
        }
    }
}

/// Built-in light tokens; every theme starts from these.
const DEFAULT_TOKENS: &[(&str, &str)] = &[
    ("background", "#f8fafc"),
    ("border", "#e2e8f0"),
    ("danger", "#dc2626"),
    ("focus-ring", "#6366f1"),
    (
        "font-family",
        "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    ),
    ("font-size", "16px"),
    ("foreground", "#0f172a"),
    (
        "heading-font-family",
        "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    ),
    ("muted", "#64748b"),
    ("primary", "#4f46e5"),
    ("primary-foreground", "#ffffff"),
    ("radius", "8px"),
    ("shadow", "0 1px 3px rgb(15 23 42 / 0.08)"),
    ("spacing", "4px"),
    ("success", "#16a34a"),
    ("surface", "#ffffff"),
];

/// Built-in dark colors.
const DEFAULT_DARK: &[(&str, &str)] = &[
    ("background", "#0b1120"),
    ("border", "#1e293b"),
    ("foreground", "#e2e8f0"),
    ("muted", "#94a3b8"),
    ("surface", "#111827"),
];

static COLOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|(rgb|rgba|hsl|hsla|oklch)\([0-9.,%/ a-z-]+\)|transparent|currentColor)$",
    )
    .expect("static regex")
});
static SHADOW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(none|[a-z0-9#.,()%/ -]{1,200})$").expect("static regex"));
static LENGTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(0|[0-9]+(\.[0-9]+)?(px|rem|em|%))$").expect("static regex"));
static FONT_FAMILY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^[A-Za-z0-9 ,'"_-]{1,200}$"#).expect("static regex"));
static LOCALE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z]{2,3}(-([A-Z]{2}|[A-Z][a-z]{3}|[0-9]{3}))?$").expect("static regex")
});
static STRING_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*)*$").expect("static regex")
});

fn color_fields(colors: &ThemeColors) -> [(&'static str, &'static str, &Option<String>); 10] {
    [
        ("primary", "primary", &colors.primary),
        (
            "primary-foreground",
            "primaryForeground",
            &colors.primary_foreground,
        ),
        ("background", "background", &colors.background),
        ("foreground", "foreground", &colors.foreground),
        ("surface", "surface", &colors.surface),
        ("muted", "muted", &colors.muted),
        ("border", "border", &colors.border),
        ("danger", "danger", &colors.danger),
        ("success", "success", &colors.success),
        ("focus-ring", "focusRing", &colors.focus_ring),
    ]
}

/// Checks the values of one Theme (not its `extends` target).
pub fn check(theme: &Theme, out: &mut Vec<Diagnostic>) {
    let id = id_of(theme);
    let spec = &theme.spec;
    let mut bad = |path: String, message: String| out.push(Diagnostic::new(&id, path, message));

    let color_sets = [
        ("spec.tokens.colors", Some(&spec.tokens.colors)),
        ("spec.dark", spec.dark.as_ref()),
    ];
    for (prefix, colors) in color_sets {
        for (_, field, value) in colors.map(color_fields).into_iter().flatten() {
            if let Some(v) = value.as_deref().filter(|v| !COLOR.is_match(v)) {
                bad(
                    format!("{prefix}.{field}"),
                    format!("{v:?} is not a color; use #rgb, #rrggbb, rgb(), hsl() or oklch()"),
                );
            }
        }
    }
    let t = &spec.tokens;
    if let Some(v) = t
        .shadow
        .as_deref()
        .filter(|v| !SHADOW.is_match(v) || v.contains("url") || v.contains("expression"))
    {
        bad(
            "spec.tokens.shadow".into(),
            format!(
                "{:?} is not a box-shadow such as 0 10px 30px -12px rgb(15 23 42 / 0.3)",
                truncate(v)
            ),
        );
    }
    if let Some(url) = &t.font_url
        && let Err(problem) = font_files_origin(url)
    {
        bad("spec.tokens.fontUrl".into(), problem);
    }
    for (field, value) in [
        ("radius", &t.radius),
        ("fontSize", &t.font_size),
        ("spacing", &t.spacing),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !LENGTH.is_match(v)) {
            bad(
                format!("spec.tokens.{field}"),
                format!("{v:?} is not a CSS length such as 8px, 0.5rem or 1em"),
            );
        }
    }
    for (field, value) in [
        ("fontFamily", &t.font_family),
        ("headingFontFamily", &t.heading_font_family),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !FONT_FAMILY.is_match(v)) {
            bad(
                format!("spec.tokens.{field}"),
                format!("{v:?} is not a font list; use names, quotes, commas and hyphens only"),
            );
        }
    }
    if let Some(logo) = &spec.logo {
        for (field, value) in [
            ("url", Some(&logo.url)),
            ("darkUrl", logo.dark_url.as_ref()),
        ] {
            if let Some(v) = value.filter(|v| !is_image_url(v)) {
                bad(
                    format!("spec.logo.{field}"),
                    format!(
                        "{:?} must be an https URL or a data:image/... URI",
                        truncate(v)
                    ),
                );
            }
        }
        if let Some(href) = &logo.href {
            // `/\host` is `//host` to a browser.
            let local = href.starts_with('/') && !href.starts_with("//") && !href.contains('\\');
            if !local && uri::check_endpoint(href).is_err() {
                bad(
                    "spec.logo.href".into(),
                    format!(
                        "{:?} must be an https URL or a path on this server",
                        truncate(href)
                    ),
                );
            }
        }
    }
    for (locale, strings) in &spec.strings {
        if !LOCALE.is_match(locale) {
            bad(
                join_path("spec.strings", locale),
                format!("{locale:?} is not a locale such as en, de or pt-BR"),
            );
        }
        for (key, text) in strings {
            let path = join_path(&join_path("spec.strings", locale), key);
            if !STRING_ID.is_match(key) {
                bad(
                    path,
                    format!("{key:?} is not a string id such as signIn.title"),
                );
                continue;
            }
            let Some(allowed) = catalog::allowed_placeholders(key) else {
                bad(
                    path,
                    format!(
                        "unknown string key {key:?}: the keys are those of the English \
                         catalog, locales/en.yaml in the repository"
                    ),
                );
                continue;
            };
            match catalog::placeholders(text) {
                Err(problem) => bad(path, problem),
                Ok(used) => {
                    for name in used.difference(&allowed) {
                        let known = if allowed.is_empty() {
                            "it has none".to_owned()
                        } else {
                            let names: Vec<String> =
                                allowed.iter().map(|n| format!("{{{n}}}")).collect();
                            format!("it has {}", names.join(", "))
                        };
                        bad(
                            path.clone(),
                            format!("placeholder {{{name}}} does not exist for {key}; {known}"),
                        );
                    }
                }
            }
        }
    }
    if let Some(locale) = &spec.default_locale {
        let shipped = catalog::SHIPPED.iter().any(|(tag, _)| tag == locale);
        if !LOCALE.is_match(locale) {
            bad(
                "spec.defaultLocale".into(),
                format!("{locale:?} is not a locale such as en, de or pt-BR"),
            );
        } else if !shipped && !spec.strings.contains_key(locale) {
            let tags: Vec<&str> = catalog::SHIPPED.iter().map(|(tag, _)| *tag).collect();
            bad(
                "spec.defaultLocale".into(),
                format!(
                    "{locale:?} is neither a shipped locale ({}) nor one this theme gives strings",
                    tags.join(", ")
                ),
            );
        }
    }
    if let Some(css) = &spec.css {
        for (line, problem) in css_problems(css) {
            out.push(
                Diagnostic::new(&id, "spec.css", format!("line {line}: {problem}")).within(line),
            );
        }
    }
    // Whole-component templates: each must parse, stay in the sandbox, render in every state of
    // its component and keep what the page protects; one that fails never reaches a page.
    for problem in crate::ui::check_overrides(&spec.templates) {
        let path = join_path("spec.templates", &problem.component);
        let message = format!("{}: {problem}", problem.component);
        let diagnostic = Diagnostic::new(&id, path, message);
        out.push(match problem.line {
            Some(line) => diagnostic.within(line),
            None => diagnostic,
        });
    }
}

/// What `css` must not do, with the 1-based line inside it: load anything from elsewhere
/// (`@import`, a `url()` that is not a data image or a path on this server), run script-like
/// features of old browsers (`expression()`, `behavior:`, `-moz-binding`), or end the style
/// element. Comments are looked through, and escapes are refused outright: `@\69mport` is
/// `@import` to a browser.
fn css_problems(css: &str) -> Vec<(usize, String)> {
    // Comments become spaces (newlines kept, so line numbers stay right).
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("*/").map_or(after.len(), |e| e + 2);
        text.extend(
            after[..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        text.push_str("  ");
        rest = &after[end..];
    }
    text.push_str(rest);
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let lower = line.to_ascii_lowercase();
        let mut say = |what: &str| problems.push((number, what.to_owned()));
        if lower.contains('\\') {
            say("CSS escapes (\\) are not allowed");
        }
        if lower.contains("@import") {
            say("@import is not allowed: styles load only from this server");
        }
        if lower.contains("</style") {
            say("must not contain </style");
        }
        if lower.contains("expression(") {
            say("expression() is not allowed");
        }
        if lower.contains("behavior:")
            || lower.contains("behavior :")
            || lower.contains("-moz-binding")
        {
            say("behavior and -moz-binding are not allowed");
        }
        let mut search = lower.as_str();
        while let Some(at) = search.find("url(") {
            let argument = search[at + 4..]
                .trim_start()
                .trim_start_matches(['"', '\''])
                .trim_start();
            let local = argument.starts_with("data:image/")
                || (argument.starts_with('/') && !argument.starts_with("//"));
            if !local {
                say("url() may only name a data:image/... URI or a path on this server");
            }
            search = &search[at + 4..];
        }
    }
    problems
}

/// The web-font services a theme may load from: the stylesheet's host, and where that
/// stylesheet loads the font files from (the CSP admits both).
pub const FONT_HOSTS: &[(&str, &str)] = &[
    ("fonts.googleapis.com", "https://fonts.gstatic.com"),
    ("fonts.bunny.net", "https://fonts.bunny.net"),
];

/// Where the fonts of the web-font stylesheet `url` come from, or why `url` is refused.
pub fn font_files_origin(url: &str) -> Result<&'static str, String> {
    let hosts: Vec<&str> = FONT_HOSTS.iter().map(|(h, _)| *h).collect();
    let parsed = url::Url::parse(url).map_err(|_| format!("{:?} is not a URL", truncate(url)))?;
    let host = parsed.host_str().unwrap_or_default();
    match FONT_HOSTS.iter().find(|(h, _)| *h == host) {
        Some((_, files)) if parsed.scheme() == "https" && parsed.port().is_none() => Ok(files),
        _ => Err(format!(
            "{:?} is not a web-font stylesheet from an allowed host; use https on {}",
            truncate(url),
            hosts.join(" or ")
        )),
    }
}

/// One design token, for the reference: its field under `spec.tokens`, its CSS custom property,
/// its built-in light value and dark value (colors only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDoc {
    /// Field path under `spec.tokens` (`colors.primary`, `radius`).
    pub field: String,
    /// CSS custom property (`--vst-color-primary`).
    pub property: String,
    /// Built-in light value.
    pub light: String,
    /// Built-in dark value, for colors (`spec.dark.<name>` overrides it).
    pub dark: Option<String>,
}

/// Every design token with its defaults, colors first.
pub fn token_reference() -> Vec<TokenDoc> {
    let defaults = default_theme();
    let none = ThemeColors::default();
    let colors = color_fields(&none);
    let mut docs: Vec<TokenDoc> = colors
        .iter()
        .map(|(key, field, _)| TokenDoc {
            field: format!("colors.{field}"),
            property: format!("--vst-color-{key}"),
            light: defaults.tokens.get(*key).cloned().unwrap_or_default(),
            dark: Some(
                defaults
                    .dark
                    .get(*key)
                    .or_else(|| defaults.tokens.get(*key))
                    .cloned()
                    .unwrap_or_default(),
            ),
        })
        .collect();
    for (key, field) in [
        ("radius", "radius"),
        ("font-family", "fontFamily"),
        ("heading-font-family", "headingFontFamily"),
        ("font-size", "fontSize"),
        ("spacing", "spacing"),
        ("shadow", "shadow"),
    ] {
        docs.push(TokenDoc {
            field: field.to_owned(),
            property: format!("--vst-{key}"),
            light: defaults.tokens.get(key).cloned().unwrap_or_default(),
            dark: None,
        });
    }
    docs
}

/// The WCAG 2.2 AA minimum for body text and the primary button's label.
pub const MIN_CONTRAST: f64 = 4.5;

/// The pairs of a resolved theme whose contrast is below [`MIN_CONTRAST`], light and dark, as
/// (field path, message). Colors other than `#hex` and `rgb()` are not measured.
pub fn contrast_warnings(theme: &ThemeConfig) -> Vec<(String, String)> {
    let mut warnings = Vec::new();
    let mut dark = theme.tokens.clone();
    dark.extend(theme.dark.clone());
    for (appearance, prefix, tokens) in [
        ("light", "spec.tokens.colors", &theme.tokens),
        ("dark", "spec.dark", &dark),
    ] {
        for (text, field, back) in [
            ("primary-foreground", "primaryForeground", "primary"),
            ("foreground", "foreground", "background"),
            ("foreground", "foreground", "surface"),
        ] {
            let (Some(a), Some(b)) = (tokens.get(text), tokens.get(back)) else {
                continue;
            };
            let (Some(la), Some(lb)) = (luminance(a), luminance(b)) else {
                continue;
            };
            let ratio = (la.max(lb) + 0.05) / (la.min(lb) + 0.05);
            if ratio < MIN_CONTRAST {
                warnings.push((
                    format!("{prefix}.{field}"),
                    format!(
                        "{text} {a} on {back} {b} has a contrast of {ratio:.2}:1 in the {appearance} \
                         appearance; WCAG 2.2 AA asks for {MIN_CONTRAST}:1"
                    ),
                ));
            }
        }
    }
    warnings
}

/// WCAG relative luminance of `#rgb`, `#rrggbb` (alpha ignored) or `rgb(r, g, b)`.
fn luminance(color: &str) -> Option<f64> {
    let channels: Vec<f64> = if let Some(hex) = color.strip_prefix('#') {
        let digits: String = match hex.len() {
            3 | 4 => hex.chars().take(3).flat_map(|c| [c, c]).collect(),
            6 | 8 => hex.chars().take(6).collect(),
            _ => return None,
        };
        (0..3)
            .map(|i| u8::from_str_radix(&digits[i * 2..i * 2 + 2], 16).map(f64::from))
            .collect::<Result<_, _>>()
            .ok()?
    } else {
        let inner = color
            .strip_prefix("rgb(")
            .or_else(|| color.strip_prefix("rgba("))?
            .strip_suffix(')')?;
        inner
            .split(|c: char| c == ',' || c == '/' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .take(3)
            .map(|p| p.parse::<f64>().ok())
            .collect::<Option<_>>()?
    };
    if channels.len() != 3 {
        return None;
    }
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * linear(channels[0]) + 0.7152 * linear(channels[1]) + 0.0722 * linear(channels[2]))
}

fn is_image_url(text: &str) -> bool {
    text.starts_with("data:image/") || uri::check_endpoint(text).is_ok()
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}

/// Follows `extends` from `name` and merges the chain onto the built-in defaults.
///
/// A missing theme is reported at `referrer_path` of `referrer`; a missing `extends` target or a
/// cycle is reported on the theme that holds the bad `extends`.
pub fn resolve(
    name: &str,
    themes: &BTreeMap<String, &Theme>,
    referrer: &ResourceId,
    referrer_path: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<ThemeConfig> {
    let mut chain: Vec<&Theme> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut current = name.to_owned();
    loop {
        let Some(theme) = themes.get(&current) else {
            let diagnostic = match chain.last() {
                None => Diagnostic::new(
                    referrer,
                    referrer_path,
                    format!("Theme \"{current}\" not found"),
                ),
                Some(child) => Diagnostic::new(
                    &id_of(*child),
                    "spec.extends.name",
                    format!("Theme \"{current}\" not found"),
                ),
            };
            out.push(diagnostic);
            return None;
        };
        seen.insert(current.clone());
        chain.push(theme);
        let Some(parent) = &theme.spec.extends else {
            break;
        };
        if seen.contains(&parent.name) {
            let mut cycle: Vec<String> = chain.iter().map(|t| t.name_any()).collect();
            cycle.push(parent.name.clone());
            out.push(Diagnostic::new(
                &id_of(*theme),
                "spec.extends.name",
                format!("extends cycle: {}", cycle.join(" → ")),
            ));
            return None;
        }
        current = parent.name.clone();
    }
    chain.reverse();
    Some(merge(&chain))
}

/// The built-in theme.
pub fn default_theme() -> ThemeConfig {
    merge(&[])
}

fn merge(chain: &[&Theme]) -> ThemeConfig {
    let mut config = ThemeConfig {
        tokens: DEFAULT_TOKENS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        dark: DEFAULT_DARK
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        default_locale: crate::i18n::FALLBACK.to_owned(),
        ..ThemeConfig::default()
    };
    for theme in chain {
        let spec = &theme.spec;
        config.sources.push(theme.name_any());
        let t = &spec.tokens;
        let set = |map: &mut BTreeMap<String, String>, key: &str, value: &Option<String>| {
            if let Some(v) = value {
                map.insert(key.to_owned(), v.clone());
            }
        };
        for (key, _, value) in color_fields(&t.colors) {
            set(&mut config.tokens, key, value);
        }
        set(&mut config.tokens, "radius", &t.radius);
        set(&mut config.tokens, "font-family", &t.font_family);
        set(
            &mut config.tokens,
            "heading-font-family",
            &t.heading_font_family,
        );
        set(&mut config.tokens, "font-size", &t.font_size);
        set(&mut config.tokens, "spacing", &t.spacing);
        set(&mut config.tokens, "shadow", &t.shadow);
        if let Some(url) = &t.font_url {
            config.font_url = Some(url.clone());
        }
        if let Some(dark) = &spec.dark {
            for (key, _, value) in color_fields(dark) {
                set(&mut config.dark, key, value);
            }
        }
        if let Some(logo) = &spec.logo {
            config.logo = Some(LogoConfig {
                url: logo.url.clone(),
                dark_url: logo.dark_url.clone(),
                alt: logo.alt.clone(),
                href: logo.href.clone(),
            });
        }
        if let Some(scheme) = spec.color_scheme {
            config.color_scheme = match scheme {
                resource::ColorScheme::Light => ColorScheme::Light,
                resource::ColorScheme::Dark => ColorScheme::Dark,
                resource::ColorScheme::Auto => ColorScheme::Auto,
            };
        }
        if let Some(layout) = &spec.layout {
            config.layout = layout.variant.into();
            config.social_buttons = layout.social_buttons.into();
            config.show_footer_branding = layout.show_footer_branding;
        }
        for (locale, strings) in &spec.strings {
            config
                .strings
                .entry(locale.clone())
                .or_default()
                .extend(strings.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        config.css.extend(spec.css.iter().cloned());
        if let Some(locale) = &spec.default_locale {
            config.default_locale.clone_from(locale);
        }
        config
            .templates
            .extend(spec.templates.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        has_diagnostic, manifest, maps_to_same_json, run_part, with_base,
    };
    use super::*;

    fn theme(name: &str, spec: &str) -> String {
        manifest("Theme", name, spec)
    }

    fn vestibule_id() -> ResourceId {
        ResourceId::new("Vestibule", "default", "test")
    }

    #[test]
    fn no_theme_is_the_built_in_theme() {
        let b = with_base(&[]);
        let (config, diagnostics) = run_part(&b, |c| c.theme_for(None, &vestibule_id(), "x"));
        assert!(diagnostics.is_empty());
        assert!(config.sources.is_empty());
        assert_eq!(config.tokens["primary"], "#4f46e5");
        assert_eq!(config.dark["background"], "#0b1120");
        assert_eq!(config.layout, LayoutVariant::Centered);
    }

    #[test]
    fn a_theme_is_merged_onto_its_parents() {
        let base = theme(
            "base",
            "tokens: {colors: {primary: \"#111111\"}, radius: 2px}
strings: {en: {signIn.title: Hello, signUp.title: Join}}
css: \".a {}\"",
        );
        let child = theme(
            "child",
            "extends: {name: base}
tokens: {colors: {primary: \"#222222\"}}
dark: {primary: \"#333333\"}
layout: {variant: split, socialButtons: bottom, showFooterBranding: true}
strings: {en: {signIn.title: Welcome}}
defaultLocale: de
css: \".b {}\"
templates: {verify.form: \"{% include \\\"sign-up.form\\\" %}\"}",
        );
        let b = with_base(&[&child, &base]);
        let (config, diagnostics) = run_part(&b, |c| {
            c.theme_for(Some("child"), &vestibule_id(), "spec.themeRef.name")
        });
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(config.sources, ["base", "child"], "base first");
        assert_eq!(config.tokens["primary"], "#222222", "the child overrides");
        assert_eq!(
            config.tokens["radius"], "2px",
            "the parent's values are inherited"
        );
        assert_eq!(
            config.tokens["spacing"], "4px",
            "the defaults fill the rest"
        );
        assert_eq!(config.dark["primary"], "#333333");
        assert_eq!(config.strings["en"]["signIn.title"], "Welcome");
        assert_eq!(config.default_locale, "de");
        assert_eq!(config.strings["en"]["signUp.title"], "Join");
        assert_eq!(config.css, [".a {}", ".b {}"]);
        assert!(config.templates["verify.form"].contains("sign-up.form"));
        assert_eq!(config.layout, LayoutVariant::Split);
        assert_eq!(config.social_buttons, SocialButtonsPlacement::Bottom);
        assert!(config.show_footer_branding);
    }

    #[test]
    fn missing_themes_and_cycles_are_reported_where_they_are() {
        let orphan = theme("orphan", "extends: {name: gone}");
        let a = theme("a", "extends: {name: b}");
        let b_theme = theme("b", "extends: {name: a}");
        let b = with_base(&[&orphan, &a, &b_theme]);
        let (resolved, diagnostics) = run_part(&b, |c| {
            ["nope", "orphan", "a"]
                .map(|name| c.theme_for(Some(name), &vestibule_id(), "spec.themeRef.name"))
        });
        assert!(resolved.iter().all(|t| *t == ThemeConfig::default()));
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.themeRef.name",
            "Theme \"nope\" not found",
        );
        has_diagnostic(
            &diagnostics,
            ("Theme", "orphan"),
            "spec.extends.name",
            "Theme \"gone\" not found",
        );
        has_diagnostic(
            &diagnostics,
            ("Theme", "b"),
            "spec.extends.name",
            "extends cycle: a → b → a",
        );
        assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    }

    #[test]
    fn the_color_scheme_is_inherited_and_overridable() {
        let b = with_base(&[
            &theme("base", "colorScheme: dark"),
            &theme("child", "extends: {name: base}"),
            &theme("light", "extends: {name: base}\ncolorScheme: light"),
        ]);
        let (schemes, diagnostics) = run_part(&b, |c| {
            ["base", "child", "light"].map(|name| {
                c.theme_for(Some(name), &vestibule_id(), "spec.themeRef.name")
                    .color_scheme
            })
        });
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(
            schemes,
            [ColorScheme::Dark, ColorScheme::Dark, ColorScheme::Light]
        );
        assert_eq!(default_theme().color_scheme, ColorScheme::Auto);
    }

    #[test]
    fn css_that_loads_from_elsewhere_or_runs_script_is_rejected_with_its_line() {
        let css = "[data-part=\"card\"] { color: red; }
@import url(\"https://fonts.example/x.css\");
.a { background: url( 'https://tracker.example/p.png' ); }
.b { background: url(/assets/ok.png), url(data:image/png;base64,AAAA); }
.c { width: expression(alert(1)); }
.d { behavior: url(x.htc); }
@im/* hidden */port \"x.css\";
.e { background: url(//cdn.example/x.png) }
.f { content: \"\\40 import\" }";
        let problems = css_problems(css);
        let lines: Vec<usize> = problems.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 2, 3, 5, 6, 6, 8, 9], "{problems:#?}");
        assert!(problems[0].1.contains("@import"));
        assert!(problems[1].1.contains("url()"));
        assert!(problems[3].1.contains("expression()"));
        assert!(problems[4].1.contains("behavior"));
        assert!(problems[7].1.contains("escapes"));
        // `@im/**/port` is no @import once the comment goes (it is not valid CSS either).
        assert!(css_problems("@im/* x */port \"y\";").is_empty());
        assert!(css_problems(".ok { color: var(--vestibule-primary); }").is_empty());
    }

    #[test]
    fn low_contrast_is_a_warning_and_the_default_theme_passes_aa() {
        assert_eq!(contrast_warnings(&default_theme()), Vec::new());
        let mut theme = default_theme();
        theme.tokens.insert("primary".into(), "#a5b4fc".into());
        theme
            .dark
            .insert("background".into(), "rgb(200, 200, 200)".into());
        let warnings = contrast_warnings(&theme);
        let paths: Vec<&str> = warnings.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.tokens.colors.primaryForeground",
                "spec.dark.primaryForeground",
                "spec.dark.foreground"
            ],
            "{warnings:#?}"
        );
        assert!(
            warnings[0].1.contains("contrast of 1.99:1"),
            "{warnings:#?}"
        );
    }

    #[test]
    fn values_that_could_escape_their_css_are_rejected() {
        let bad = theme(
            "bad",
            "tokens:
  colors: {primary: \"red;}\"}
  radius: \"8\"
  fontFamily: \"Inter; x\"
  shadow: \"0 0 0 red;}body{x:y\"
  fontUrl: \"https://evil.example/font.css\"
dark: {surface: \"url(x)\"}
logo: {url: \"http://cdn.example.com/logo.png\", href: \"/\\\\evil.example\"}
strings: {english: {ok: x}, en: {\"not ok\": x, signIn.nope: x, signIn.continueWith: \"Go {provider} {who}\"}}
css: \"</STYLE><script>\"
defaultLocale: ja
templates: {nav: x, sign-in.form: \"<p>\\n{{ email|safe }}\"}",
        );
        let b = with_base(&[&bad]);
        let (_, diagnostics) = run_part(&b, |c| c.check_themes());
        let on = ("Theme", "bad");
        for (path, message) in [
            ("spec.tokens.colors.primary", "is not a color"),
            ("spec.dark.surface", "is not a color"),
            ("spec.tokens.radius", "is not a CSS length"),
            ("spec.tokens.fontFamily", "is not a font list"),
            ("spec.tokens.shadow", "is not a box-shadow"),
            (
                "spec.tokens.fontUrl",
                "is not a web-font stylesheet from an allowed host; use https on fonts.googleapis.com or fonts.bunny.net",
            ),
            ("spec.logo.url", "must be an https URL or a data:image/"),
            (
                "spec.logo.href",
                "must be an https URL or a path on this server",
            ),
            ("spec.strings.english", "is not a locale"),
            ("spec.strings.en.not ok", "is not a string id"),
            ("spec.strings.english.ok", "unknown string key \"ok\""),
            (
                "spec.strings.en[\"signIn.nope\"]",
                "unknown string key \"signIn.nope\"",
            ),
            (
                "spec.strings.en[\"signIn.continueWith\"]",
                "placeholder {who} does not exist for signIn.continueWith; it has {provider}",
            ),
            ("spec.css", "line 1: must not contain </style"),
            (
                "spec.defaultLocale",
                "\"ja\" is neither a shipped locale (en, de, fr)",
            ),
            ("spec.templates.nav", "nav: no component is called \"nav\""),
            (
                "spec.templates[\"sign-in.form\"]",
                "sign-in.form: line 2: `safe` is refused",
            ),
        ] {
            has_diagnostic(&diagnostics, on, path, message);
        }
        assert_eq!(diagnostics.len(), 17, "{diagnostics:#?}");
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::{LayoutVariant as L, SocialButtonsPlacement as S};
        maps_to_same_json::<_, LayoutVariant>(&[L::Centered, L::Split]);
        maps_to_same_json::<_, SocialButtonsPlacement>(&[S::Top, S::Bottom]);
    }
}
