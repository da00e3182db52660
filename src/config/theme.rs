//! Theme checks and `extends` resolution.
//!
//! Token values end up inside CSS custom properties, so they are checked against strict grammars:
//! a color or length can never smuggle a `;` or `}` into the stylesheet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use kube::ResourceExt;
use regex::Regex;

use super::bundle::id_of;
use super::diagnostic::{Diagnostic, ResourceId, join_path};
use super::runtime::{LogoConfig, ThemeConfig};
use crate::resources::Theme;
use crate::resources::theme::ThemeColors;

/// Components a theme may replace with a template. Stable public names.
pub const COMPONENTS: &[&str] = &[
    "account-page",
    "email-layout",
    "footer",
    "forgot-password-form",
    "header",
    "reset-password-form",
    "sign-in-form",
    "sign-up-form",
    "social-buttons",
    "verify-email-form",
];

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
    }
    for (locale, strings) in &spec.strings {
        if !LOCALE.is_match(locale) {
            bad(
                join_path("spec.strings", locale),
                format!("{locale:?} is not a locale such as en, de or pt-BR"),
            );
        }
        for key in strings.keys().filter(|k| !STRING_ID.is_match(k)) {
            bad(
                join_path(&join_path("spec.strings", locale), key),
                format!("{key:?} is not a string id such as signIn.title"),
            );
        }
    }
    if let Some(css) = &spec.css
        && css.to_ascii_lowercase().contains("</style")
    {
        bad("spec.css".into(), "must not contain </style".into());
    }
    for (component, template) in &spec.templates {
        let path = join_path("spec.templates", component);
        if !COMPONENTS.contains(&component.as_str()) {
            bad(
                path,
                format!(
                    "unknown component {component:?}; known components: {}",
                    COMPONENTS.join(", ")
                ),
            );
        } else if template.trim().is_empty() {
            bad(path, "template is empty".into());
        }
    }
}

fn is_image_url(text: &str) -> bool {
    text.starts_with("data:image/") || super::uri::check_endpoint(text).is_ok()
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
        if let Some(layout) = &spec.layout {
            config.layout = layout.variant;
            config.social_buttons = layout.social_buttons;
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
        config
            .templates
            .extend(spec.templates.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    config
}
