//! Which locale a request gets: the OpenID `ui_locales` of the flow it belongs to, then the
//! visitor's own choice, then `Accept-Language`, then the theme's default.

use super::{Locales, Translator};

/// What a request says about the locale it wants.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wanted<'a> {
    /// `ui_locales` of an OpenID authorize request: space-separated tags, best first.
    pub ui_locales: Option<&'a str>,
    /// The visitor's choice (the locale picker's cookie).
    pub choice: Option<&'a str>,
    /// The `Accept-Language` header.
    pub accept_language: Option<&'a str>,
}

/// The tags of an `Accept-Language` header by preference (q descending, header order among
/// equals); `q=0` means "not this one".
pub fn accept_language(header: &str) -> Vec<&str> {
    let mut ranked: Vec<(u16, usize, &str)> = header
        .split(',')
        .take(32)
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })?;
            (!tag.is_empty() && q > 0).then_some((q, i, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, _, tag)| tag).collect()
}

/// The translator for a request.
pub fn choose<'l>(locales: &'l Locales, wanted: Wanted<'_>) -> &'l Translator {
    let from_ui = wanted
        .ui_locales
        .into_iter()
        .flat_map(|v| v.split_ascii_whitespace().take(8));
    let from_choice = wanted.choice.into_iter();
    let from_header = wanted
        .accept_language
        .map(accept_language)
        .unwrap_or_default();
    from_ui
        .chain(from_choice)
        .chain(from_header)
        .find_map(|tag| locales.best(tag))
        .unwrap_or_else(|| locales.default_translator())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn accept_language_orders_by_quality() {
        assert_eq!(
            accept_language("fr;q=0.5, de-CH, en;q=0.8, ja;q=0"),
            vec!["de-CH", "en", "fr"]
        );
        assert_eq!(accept_language("*"), vec!["*"]);
        assert!(accept_language(";;,").is_empty());
    }

    #[test]
    fn ui_locales_beat_the_choice_which_beats_the_header() {
        let locales = Locales::build(&BTreeMap::new(), "en");
        let pick = |w: Wanted<'_>| choose(&locales, w).locale().to_owned();
        let header = Some("de");
        assert_eq!(
            pick(Wanted {
                accept_language: header,
                ..Wanted::default()
            }),
            "de"
        );
        assert_eq!(
            pick(Wanted {
                choice: Some("fr"),
                accept_language: header,
                ..Wanted::default()
            }),
            "fr"
        );
        assert_eq!(
            pick(Wanted {
                ui_locales: Some("ja en"),
                choice: Some("fr"),
                accept_language: header,
            }),
            "en"
        );
        // Nothing offered matches: the theme's default.
        assert_eq!(
            pick(Wanted {
                accept_language: Some("ja"),
                ..Wanted::default()
            }),
            "en"
        );
        let german_default = Locales::build(&BTreeMap::new(), "de");
        assert_eq!(choose(&german_default, Wanted::default()).locale(), "de");
    }
}
