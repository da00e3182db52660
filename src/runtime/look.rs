//! What one theme needs at runtime, built once per config: its stylesheet, its templates with
//! the overrides in place, and its locales. The Vestibule has one; each declared Organization
//! whose theme differs has its own.

use crate::config::runtime::{ColorScheme, RuntimeConfig, ThemeConfig};
use crate::i18n::Locales;
use crate::ui::Templates;

/// A theme, ready to render pages.
#[derive(Debug)]
pub struct Look {
    /// The resolved theme.
    pub theme: ThemeConfig,
    /// The stylesheet built from it.
    pub stylesheet: String,
    /// Its templates: the built-in ones with its overrides in place.
    pub templates: Templates,
    /// Its locales: the shipped catalogs with its `strings` on top.
    pub locales: Locales,
    /// A short digest of the stylesheet, for cache-busting its URL.
    pub version: String,
}

impl Look {
    /// Builds the look of `theme`; the first problem of an override that fails its checks.
    pub fn build(theme: &ThemeConfig) -> Result<Self, String> {
        let templates = Templates::with_overrides(&theme.templates).map_err(|problems| {
            problems
                .first()
                .map_or_else(String::new, |p| format!("{}: {p}", p.component))
        })?;
        let stylesheet = super::stylesheet::stylesheet(theme);
        let digest = crate::crypto::sha256_hex(stylesheet.as_bytes());
        Ok(Self {
            theme: theme.clone(),
            locales: Locales::build(&theme.strings, &theme.default_locale),
            templates,
            version: digest.get(..12).unwrap_or_default().to_owned(),
            stylesheet,
        })
    }

    /// Whether the visitor's own light/dark choice applies (the theme follows the system).
    pub fn follows_visitor(&self) -> bool {
        self.theme.color_scheme == ColorScheme::Auto
    }
}

/// The looks of the declared Organizations whose theme differs from the Vestibule's, by slug.
pub fn organization_looks(
    config: &RuntimeConfig,
) -> Result<std::collections::BTreeMap<String, Look>, String> {
    let mut looks = std::collections::BTreeMap::new();
    for org in &config.organizations.declared {
        if let Some(theme) = &org.theme {
            let look = Look::build(theme).map_err(|e| format!("Organization {}: {e}", org.slug))?;
            looks.insert(org.slug.clone(), look);
        }
    }
    Ok(looks)
}
