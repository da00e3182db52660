//! The `Theme` kind: the look of hosted pages and emails.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, ObjectRef};

/// The look of hosted pages and emails: design tokens first, whole-component templates when tokens
/// are not enough.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "Theme",
    plural = "themes",
    shortname = "vtheme",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "CommonStatus",
    doc = "The look of hosted pages and emails: tokens, dark mode, strings, CSS and template overrides.",
    printcolumn(name = "Extends", type_ = "string", json_path = ".spec.extends.name"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ThemeSpec {
    /// Another Theme this one starts from; fields set here override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<ObjectRef>,
    /// Design tokens for the light appearance.
    #[serde(default)]
    pub tokens: ThemeTokens,
    /// Color overrides used when the user prefers a dark appearance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dark: Option<ThemeColors>,
    /// Logo shown on hosted pages and in emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<ThemeLogo>,
    /// Page layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<ThemeLayout>,
    /// Which appearance the pages use: `light`, `dark` (the `dark` colors always), or `auto`
    /// (the visitor's system setting). Inherited through `extends`; default `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_scheme: Option<ColorScheme>,
    /// Text overrides per locale (`en`, `de`, `pt-BR`), keyed by string id (`signIn.title`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub strings: BTreeMap<String, BTreeMap<String, String>>,
    /// Extra CSS rules, applied after the token styles. Target the documented part names.
    /// Refused: `@import`, `url()` other than `data:image/...` or a path on this server,
    /// `expression()`, `behavior:`, `-moz-binding`, CSS escapes and `</style`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub css: Option<String>,
    /// The locale pages use when neither `ui_locales`, the visitor's choice nor `Accept-Language`
    /// names one the theme offers: a shipped locale (`en`, `de`, `fr`) or one with `strings`.
    /// Inherited through `extends`; default `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// Whole-component overrides: component name (`layout`, `sign-in.form`, ...; see
    /// docs/theming.md) to a minijinja template that receives the component's context.
    /// Sandboxed and checked when the theme compiles: it must render in every state of its
    /// component and keep the CSRF field, the form's action and method and the required inputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
}

/// Design tokens.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeTokens {
    /// Colors, as CSS hex colors (`#4f46e5`) or `rgb()`/`hsl()` functions.
    #[serde(default)]
    pub colors: ThemeColors,
    /// Corner radius of cards, inputs and buttons, as a CSS length (`8px`, `0.5rem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<String>,
    /// Font stack for body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_family: Option<String>,
    /// Font stack for headings. Default: `fontFamily`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_font_family: Option<String>,
    /// Base font size, as a CSS length (`16px`, `1rem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<String>,
    /// Base spacing unit, as a CSS length (`4px`, `0.25rem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spacing: Option<String>,
    /// Shadow of the card, as a CSS `box-shadow` (`0 10px 30px -12px rgb(15 23 42 / 0.3)`) or
    /// `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
    /// A web-font stylesheet to load, from an allowed host only (Google Fonts
    /// `https://fonts.googleapis.com/css2?...` or Bunny Fonts `https://fonts.bunny.net/css?...`);
    /// the pages' Content-Security-Policy admits that host and its font files. Name the family
    /// in `fontFamily`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_url: Option<String>,
}

/// Color tokens. Unset colors come from the extended theme or the built-in default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeColors {
    /// Brand color of primary buttons and links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Text on primary buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_foreground: Option<String>,
    /// Page background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreground: Option<String>,
    /// Card and input background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<String>,
    /// Secondary text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
    /// Borders of cards and inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub border: Option<String>,
    /// Errors and destructive actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danger: Option<String>,
    /// Success messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<String>,
    /// Keyboard focus ring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus_ring: Option<String>,
}

/// A logo.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeLogo {
    /// `https` URL (or `data:image/...` URI) of the logo.
    #[schemars(length(min = 1, max = 65536))]
    pub url: String,
    /// Logo for the dark appearance. Default: `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dark_url: Option<String>,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// Link target when the logo is clicked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// Page layout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThemeLayout {
    /// Where the form card sits.
    #[serde(default)]
    pub variant: LayoutVariant,
    /// Whether social sign-in buttons come before or after the email form.
    #[serde(default)]
    pub social_buttons: SocialButtonsPlacement,
    /// Whether to show the "Secured by Vestibule" footer.
    #[serde(default)]
    pub show_footer_branding: bool,
}

/// Layout variants.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum LayoutVariant {
    /// A card in the middle of the page.
    #[default]
    Centered,
    /// The card on one side, a brand panel on the other.
    Split,
}

/// Placement of social sign-in buttons.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SocialButtonsPlacement {
    /// Before the email form.
    #[default]
    Top,
    /// After the email form.
    Bottom,
}

/// Which appearance the hosted pages use.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ColorScheme {
    /// Always the light colors.
    Light,
    /// Always the dark colors (`dark` over the tokens).
    Dark,
    /// Follow the visitor's `prefers-color-scheme`.
    Auto,
}
