//! The hosted pages' stylesheet: theme tokens as CSS custom properties, base styles on the stable
//! part names (`[data-part="card"]`, ...), then the theme's own CSS.
//!
//! Token values were checked by `compile` against strict grammars, so they cannot break out of a
//! declaration.

use crate::config::runtime::{ColorScheme, ThemeConfig};

/// Base styles. Only custom properties carry the theme; these rules stay the same for every theme.
const BASE: &str = r#"*,*::before,*::after{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;background:var(--vst-color-background);color:var(--vst-color-foreground);font-family:var(--vst-font-family);font-size:var(--vst-font-size);line-height:1.5}
[data-part="card"]{width:100%;max-width:26rem;margin:calc(var(--vst-spacing)*6);padding:calc(var(--vst-spacing)*8);background:var(--vst-color-surface);border:1px solid var(--vst-color-border);border-radius:var(--vst-radius);box-shadow:var(--vst-shadow)}
[data-part="heading"]{margin:0 0 calc(var(--vst-spacing)*2);font-family:var(--vst-heading-font-family);font-size:1.5em}
[data-part="subheading"]{margin:0 0 calc(var(--vst-spacing)*6);color:var(--vst-color-muted)}
[data-part="form"]{display:flex;flex-direction:column;gap:calc(var(--vst-spacing)*4)}
[data-part="field"]{display:flex;flex-direction:column;gap:var(--vst-spacing)}
[data-part="label"]{font-weight:600;font-size:.9em}
[data-part="input"]{padding:calc(var(--vst-spacing)*2.5) calc(var(--vst-spacing)*3);border:1px solid var(--vst-color-border);border-radius:calc(var(--vst-radius)*.75);background:var(--vst-color-background);color:var(--vst-color-foreground);font:inherit}
[data-part="input"]:focus{outline:2px solid var(--vst-color-focus-ring);outline-offset:1px}
[data-part="button"]{padding:calc(var(--vst-spacing)*2.5);border:0;border-radius:calc(var(--vst-radius)*.75);background:var(--vst-color-primary);color:var(--vst-color-primary-foreground);font:inherit;font-weight:600;cursor:pointer}
[data-part="button"][data-variant="secondary"]{background:transparent;color:var(--vst-color-foreground);border:1px solid var(--vst-color-border)}
[data-part="button"]:focus-visible{outline:2px solid var(--vst-color-focus-ring);outline-offset:2px}
[data-part="error"]{padding:calc(var(--vst-spacing)*3);border-radius:calc(var(--vst-radius)*.75);background:color-mix(in srgb,var(--vst-color-danger) 12%,transparent);color:var(--vst-color-danger)}
[data-part="notice"]{padding:calc(var(--vst-spacing)*3);border-radius:calc(var(--vst-radius)*.75);background:color-mix(in srgb,var(--vst-color-success) 12%,transparent)}
[data-part="footer"]{margin-top:calc(var(--vst-spacing)*6);color:var(--vst-color-muted);font-size:.9em}
[data-part="link"]{color:var(--vst-color-link)}
[data-part="social-buttons"]{display:flex;flex-direction:column;gap:calc(var(--vst-spacing)*2)}
[data-part="button.social"]{display:flex;align-items:center;justify-content:center;gap:calc(var(--vst-spacing)*2);width:100%;padding:calc(var(--vst-spacing)*2.5);border:1px solid var(--vst-color-border);border-radius:calc(var(--vst-radius)*.75);background:var(--vst-color-surface);color:var(--vst-color-foreground);font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
[data-part="button.social-icon"]{display:inline-flex;align-items:center;justify-content:center;width:20px;height:20px;flex:none}
span[data-part="button.social-icon"]{border-radius:50%;border:1px solid var(--vst-color-border);font-size:.75em;line-height:1}
[data-part="button.social"]:focus-visible,[data-part="link"]:focus-visible,[data-part="locale"]:focus-visible{outline:2px solid var(--vst-color-focus-ring);outline-offset:2px}
[data-part="divider"]{display:flex;align-items:center;gap:calc(var(--vst-spacing)*3);margin:calc(var(--vst-spacing)*5) 0;color:var(--vst-color-muted);font-size:.85em}
[data-part="divider"]::before,[data-part="divider"]::after{content:"";flex:1;border-top:1px solid var(--vst-color-border)}
[data-part="section"] form+form{margin-top:calc(var(--vst-spacing)*2)}
[data-part="logo"]{max-height:2.5rem;margin-bottom:calc(var(--vst-spacing)*4)}
[data-part="session-list"]{list-style:none;padding:0;display:flex;flex-direction:column;gap:calc(var(--vst-spacing)*3)}
[data-part="session"]{display:flex;justify-content:space-between;align-items:center;gap:calc(var(--vst-spacing)*3);padding:calc(var(--vst-spacing)*3);border:1px solid var(--vst-color-border);border-radius:calc(var(--vst-radius)*.75)}
[data-part="section"]{margin-top:calc(var(--vst-spacing)*8)}
[data-part="page-footer"]{display:flex;flex-direction:column;align-items:center;gap:var(--vst-spacing);color:var(--vst-color-muted);font-size:.85em}
[data-part="page-footer"] p{margin:0}
[data-part="locale-picker"],[data-part="appearance-picker"]{display:flex;gap:calc(var(--vst-spacing)*2)}
[data-part="locale"],[data-part="appearance"]{color:inherit}
[data-part="locale"][aria-current="true"],[data-part="appearance"][aria-current="true"]{font-weight:600;color:var(--vst-color-foreground)}
body[data-layout="split"]{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,34rem);align-items:center;justify-items:center}
body[data-layout="split"]::before{content:"";grid-row:1/span 2;align-self:stretch;justify-self:stretch;background:linear-gradient(160deg,var(--vst-color-primary),color-mix(in srgb,var(--vst-color-primary) 55%,var(--vst-color-background)))}
body[data-layout="split"]>*{grid-column:2}
@media (max-width:48rem){body[data-layout="split"]{display:flex}body[data-layout="split"]::before{display:none}}
[data-part="preview"]{width:100%;max-width:72rem;padding:calc(var(--vst-spacing)*6)}
[data-part="preview.item"]{display:grid;grid-template-columns:1fr 1fr;gap:calc(var(--vst-spacing)*4);margin-bottom:calc(var(--vst-spacing)*8)}
[data-part="preview.item"]>h2{grid-column:1/-1;margin:0;font-size:1em;color:var(--vst-color-muted)}
[data-part="preview.frame"]{padding:calc(var(--vst-spacing)*6);background:var(--vst-color-background);color:var(--vst-color-foreground);border:1px solid var(--vst-color-border);border-radius:var(--vst-radius)}
"#;

fn declarations(tokens: &std::collections::BTreeMap<String, String>) -> String {
    tokens
        .iter()
        .map(|(name, value)| {
            let prefix = if is_color(name) { "color-" } else { "" };
            format!("--vst-{prefix}{name}:{value};")
        })
        .collect()
}

fn is_color(token: &str) -> bool {
    !matches!(
        token,
        "radius" | "font-family" | "heading-font-family" | "font-size" | "spacing" | "shadow"
    )
}

/// Links are the primary color on light surfaces; on dark ones, a brand primary is often too dark
/// to read, so links mix it with the foreground (AA on the default dark surface).
const LIGHT_LINK: &str = "--vst-color-link:var(--vst-color-primary);";
const DARK_LINK: &str =
    "--vst-color-link:color-mix(in srgb,var(--vst-color-primary) 55%,var(--vst-color-foreground));";

/// The full stylesheet for a theme.
pub fn stylesheet(theme: &ThemeConfig) -> String {
    let mut css = match theme.color_scheme {
        ColorScheme::Light => format!(
            ":root{{color-scheme:light;{}{LIGHT_LINK}}}\n",
            declarations(&theme.tokens)
        ),
        // The dark colors over the light tokens, always.
        ColorScheme::Dark => {
            let mut tokens = theme.tokens.clone();
            tokens.extend(theme.dark.clone());
            format!(
                ":root{{color-scheme:dark;{}{DARK_LINK}}}\n",
                declarations(&tokens)
            )
        }
        ColorScheme::Auto => {
            let mut css = format!(
                ":root{{color-scheme:light dark;{}{LIGHT_LINK}}}\n",
                declarations(&theme.tokens)
            );
            css.push_str(&format!(
                "@media (prefers-color-scheme: dark){{:root{{{}{DARK_LINK}}}}}\n",
                declarations(&theme.dark)
            ));
            css
        }
    };
    // With `auto`, scoped appearances: the visitor's explicit choice (`<html data-appearance>`)
    // over the system setting, and the light and dark samples side by side on `/dev/theme`.
    let mut dark = theme.tokens.clone();
    dark.extend(theme.dark.clone());
    if theme.color_scheme == ColorScheme::Auto {
        css.push_str(&format!(
        "[data-appearance=\"light\"]{{color-scheme:light;{}{LIGHT_LINK}}}\n[data-appearance=\"dark\"]{{color-scheme:dark;{}{DARK_LINK}}}\n",
        declarations(&theme.tokens),
        declarations(&dark)
    ));
    }
    css.push_str(BASE);
    for extra in &theme.css {
        css.push_str(extra);
        css.push('\n');
    }
    css
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(scheme: ColorScheme) -> ThemeConfig {
        ThemeConfig {
            tokens: [("background".to_owned(), "#ffffff".to_owned())].into(),
            dark: [("background".to_owned(), "#000000".to_owned())].into(),
            color_scheme: scheme,
            ..ThemeConfig::default()
        }
    }

    #[test]
    fn the_color_scheme_decides_which_colors_apply() {
        let auto = stylesheet(&theme(ColorScheme::Auto));
        assert!(auto.starts_with(&format!(
            ":root{{color-scheme:light dark;--vst-color-background:#ffffff;{LIGHT_LINK}}}"
        )));
        assert!(auto.contains(&format!(
            "@media (prefers-color-scheme: dark){{:root{{--vst-color-background:#000000;{DARK_LINK}}}}}"
        )));
        assert!(auto.contains(
            "[data-appearance=\"dark\"]{color-scheme:dark;--vst-color-background:#000000;"
        ));
        let light = stylesheet(&theme(ColorScheme::Light));
        assert!(light.starts_with(&format!(
            ":root{{color-scheme:light;--vst-color-background:#ffffff;{LIGHT_LINK}}}"
        )));
        assert!(!light.contains("#000000") && !light.contains("prefers-color-scheme"));
        let dark = stylesheet(&theme(ColorScheme::Dark));
        assert!(dark.starts_with(&format!(
            ":root{{color-scheme:dark;--vst-color-background:#000000;{DARK_LINK}}}"
        )));
        assert!(!dark.contains("prefers-color-scheme"));
    }
}
