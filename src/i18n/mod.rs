//! Words on hosted pages and in emails: the shipped message catalogs, a theme's `strings`
//! overrides on top of them, and the choice of locale for a request.

pub mod catalog;
pub mod negotiate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use intl_pluralrules::{PluralRuleType, PluralRules};
use serde::Serialize;
use unic_langid::LanguageIdentifier;

pub use catalog::{Catalog, Message};

/// The locale every catalog falls back to.
pub const FALLBACK: &str = "en";

/// Text direction of a locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Left to right.
    Ltr,
    /// Right to left.
    Rtl,
}

impl Dir {
    /// `ltr` or `rtl`, for the `dir` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Ltr => "ltr",
            Dir::Rtl => "rtl",
        }
    }
}

fn dir_of(language: &str) -> Dir {
    match language {
        "ar" | "dv" | "fa" | "he" | "ku" | "ps" | "sd" | "ug" | "ur" | "yi" => Dir::Rtl,
        _ => Dir::Ltr,
    }
}

/// Every message of one locale, overrides applied, and its plural rules.
pub struct Table {
    tag: String,
    dir: Dir,
    messages: HashMap<String, Message>,
    plurals: Option<PluralRules>,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("tag", &self.tag)
            .field("messages", &self.messages.len())
            .finish()
    }
}

/// A locale's words, cheap to clone: what a page or email renders with.
#[derive(Clone, Debug)]
pub struct Translator(Arc<Table>);

impl Translator {
    /// The BCP 47 tag (`de`, `pt-BR`), for `<html lang>`.
    pub fn locale(&self) -> &str {
        &self.0.tag
    }

    /// The text direction, for `<html dir>`.
    pub fn dir(&self) -> Dir {
        self.0.dir
    }

    /// The text of `key` with `args` filled in; a `count` argument picks the plural form. An
    /// unknown key renders as itself (tests keep every key the code uses in the catalog).
    pub fn get(&self, key: &str, args: &[(String, String)]) -> String {
        let Some(message) = self.0.messages.get(key) else {
            tracing::debug!(key, "no such message");
            return key.to_owned();
        };
        let text: &str = match message {
            Message::Text(t) => t,
            Message::Plural(forms) => {
                let category = args
                    .iter()
                    .find(|(k, _)| k == "count")
                    .and_then(|(_, v)| v.parse::<f64>().ok())
                    .and_then(|n| self.0.plurals.as_ref()?.select(n).ok())
                    .map(category_name)
                    .unwrap_or("other");
                forms
                    .get(category)
                    .or_else(|| forms.get("other"))
                    .map(String::as_str)
                    .unwrap_or_default()
            }
        };
        catalog::fill(text, args)
    }

    /// The text of `key` if the catalog has it.
    pub fn lookup(&self, key: &str) -> Option<String> {
        self.0
            .messages
            .contains_key(key)
            .then(|| self.get(key, &[]))
    }
}

/// The shipped English catalog without a theme's overrides: the words for what answers outside
/// any page request (error pages rendered before or without a locale, mail sent by a
/// background job).
pub fn english() -> &'static Translator {
    static ENGLISH: std::sync::LazyLock<Translator> = std::sync::LazyLock::new(|| {
        Locales::build(&BTreeMap::new(), FALLBACK)
            .default_translator()
            .clone()
    });
    &ENGLISH
}

/// `(name, value)` arguments for [`Translator::get`].
pub fn args<const N: usize>(pairs: [(&str, &dyn fmt::Display); N]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_string()))
        .collect()
}

fn category_name(category: intl_pluralrules::PluralCategory) -> &'static str {
    use intl_pluralrules::PluralCategory as C;
    match category {
        C::ZERO => "zero",
        C::ONE => "one",
        C::TWO => "two",
        C::FEW => "few",
        C::MANY => "many",
        C::OTHER => "other",
    }
}

/// The locales a theme offers, each with its table, and the theme's default.
#[derive(Debug)]
pub struct Locales {
    tables: BTreeMap<String, Translator>,
    default: String,
}

/// The language part of a tag (`pt` of `pt-BR`).
pub fn language(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

impl Locales {
    /// The shipped locales plus every locale `strings` names (locale → key → text), with the
    /// overrides applied: a locale's own text, then its language's, then English.
    pub fn build(strings: &BTreeMap<String, BTreeMap<String, String>>, default: &str) -> Self {
        let shipped = catalog::shipped().ok();
        let mut tags: Vec<String> = catalog::SHIPPED
            .iter()
            .map(|(l, _)| (*l).to_owned())
            .collect();
        for locale in strings.keys() {
            if !tags.contains(locale) {
                tags.push(locale.clone());
            }
        }
        let layer = |messages: &mut HashMap<String, Message>, tag: &str| {
            if let Some(catalog) = shipped.and_then(|s| s.get(tag)) {
                messages.extend(catalog.iter().map(|(k, m)| (k.clone(), m.clone())));
            }
            if let Some(overrides) = strings.get(tag) {
                messages.extend(
                    overrides
                        .iter()
                        .map(|(k, t)| (k.clone(), Message::Text(t.clone()))),
                );
            }
        };
        let mut tables = BTreeMap::new();
        for tag in tags {
            let mut messages = HashMap::new();
            layer(&mut messages, FALLBACK);
            let lang = language(&tag);
            if lang != FALLBACK {
                layer(&mut messages, lang);
            }
            if lang != tag {
                layer(&mut messages, &tag);
            }
            let plurals = tag
                .parse::<LanguageIdentifier>()
                .ok()
                .and_then(|id| PluralRules::create(id, PluralRuleType::CARDINAL).ok());
            let table = Table {
                dir: dir_of(lang),
                tag: tag.clone(),
                messages,
                plurals,
            };
            tables.insert(tag, Translator(Arc::new(table)));
        }
        let default = if tables.contains_key(default) {
            default.to_owned()
        } else {
            FALLBACK.to_owned()
        };
        Self { tables, default }
    }

    /// The offered locale tags.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// The table for exactly `tag`, if offered.
    pub fn get(&self, tag: &str) -> Option<&Translator> {
        self.tables.get(tag)
    }

    /// The theme's default locale.
    pub fn default_translator(&self) -> &Translator {
        self.tables
            .get(&self.default)
            .or_else(|| self.tables.values().next())
            .expect("the shipped locales are always offered")
    }

    /// The offered locale that best matches `wanted`: the tag itself (any case), else the same
    /// language.
    pub fn best(&self, wanted: &str) -> Option<&Translator> {
        let wanted = wanted.trim();
        if wanted.is_empty() || wanted == "*" {
            return None;
        }
        if let Some((_, t)) = self
            .tables
            .iter()
            .find(|(tag, _)| tag.eq_ignore_ascii_case(wanted))
        {
            return Some(t);
        }
        let lang = language(wanted);
        self.tables
            .iter()
            .find(|(tag, _)| tag.eq_ignore_ascii_case(lang))
            .or_else(|| {
                self.tables
                    .iter()
                    .find(|(tag, _)| language(tag).eq_ignore_ascii_case(lang))
            })
            .map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(
        locale: &str,
        key: &str,
        text: &str,
    ) -> BTreeMap<String, BTreeMap<String, String>> {
        BTreeMap::from([(
            locale.to_owned(),
            BTreeMap::from([(key.to_owned(), text.to_owned())]),
        )])
    }

    #[test]
    fn an_override_wins_over_the_catalog_for_its_locale_only() {
        let locales = Locales::build(&overrides("en", "signIn.title", "Welcome back"), "en");
        let en = locales.get("en").expect("en");
        let de = locales.get("de").expect("de");
        assert_eq!(en.get("signIn.title", &[]), "Welcome back");
        assert_eq!(de.get("signIn.title", &[]), "Anmelden");
    }

    #[test]
    fn a_regional_locale_falls_back_to_its_language_then_english() {
        let locales = Locales::build(&overrides("de-AT", "signIn.submit", "Einloggen"), "en");
        let at = locales.get("de-AT").expect("de-AT");
        assert_eq!(at.get("signIn.submit", &[]), "Einloggen");
        assert_eq!(at.get("signIn.title", &[]), "Anmelden");
        let pt = Locales::build(&overrides("pt-BR", "signIn.submit", "Entrar"), "en");
        let pt = pt.get("pt-BR").expect("pt-BR");
        assert_eq!(pt.get("signIn.title", &[]), "Sign in");
        assert_eq!(pt.locale(), "pt-BR");
    }

    #[test]
    fn plural_forms_follow_the_locale_rules() {
        let locales = Locales::build(&BTreeMap::new(), "en");
        let count = |n: &str| [("count".to_owned(), n.to_owned())];
        let en = locales.get("en").expect("en");
        assert_eq!(
            en.get("backupCodes.left", &count("1")),
            "1 backup code left"
        );
        assert_eq!(
            en.get("backupCodes.left", &count("0")),
            "0 backup codes left"
        );
        // French counts 0 as singular, English does not.
        let fr = locales.get("fr").expect("fr");
        assert_eq!(
            fr.get("backupCodes.left", &count("0")),
            fr.get("backupCodes.left", &count("1")).replace('1', "0")
        );
        assert_ne!(
            fr.get("backupCodes.left", &count("2")),
            fr.get("backupCodes.left", &count("1")).replace('1', "2")
        );
    }

    #[test]
    fn best_match_prefers_the_tag_then_the_language() {
        let locales = Locales::build(&overrides("pt-BR", "signIn.submit", "Entrar"), "en");
        assert_eq!(locales.best("DE").map(Translator::locale), Some("de"));
        assert_eq!(locales.best("de-CH").map(Translator::locale), Some("de"));
        assert_eq!(locales.best("pt").map(Translator::locale), Some("pt-BR"));
        assert!(locales.best("ja").is_none());
        assert!(locales.best("*").is_none());
    }

    #[test]
    fn rtl_languages_say_so() {
        let locales = Locales::build(&overrides("ar", "signIn.submit", "دخول"), "en");
        assert_eq!(locales.get("ar").expect("ar").dir(), Dir::Rtl);
        assert_eq!(locales.get("de").expect("de").dir(), Dir::Ltr);
    }
}
