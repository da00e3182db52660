//! Message catalogs: one YAML file per shipped locale (`locales/en.yaml`, ...), flat keys
//! (`signIn.title`) to a text, or to its plural forms by CLDR category (`one`, `few`, `other`).
//! `{name}` in a text is a placeholder; English defines which placeholders a key has.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use yaml_rust2::{Yaml, YamlLoader};

/// The shipped locales, English first: the reference every other catalog and override is
/// checked against.
pub const SHIPPED: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en.yaml")),
    ("de", include_str!("../../locales/de.yaml")),
    ("fr", include_str!("../../locales/fr.yaml")),
];

/// One message: a text, or a text per plural category (chosen by the `count` argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// The same text for every count.
    Text(String),
    /// Texts by CLDR plural category; `other` is always there.
    Plural(BTreeMap<String, String>),
}

impl Message {
    /// Every text of the message.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Message::Text(t) => vec![t.as_str()],
            Message::Plural(forms) => forms.values().map(String::as_str).collect(),
        }
    }
}

/// A parsed catalog: key to message.
pub type Catalog = BTreeMap<String, Message>;

/// Why a catalog file does not load.
#[derive(Debug, thiserror::Error)]
#[error("locales/{locale}.yaml: {reason}")]
pub struct CatalogError {
    /// The locale of the file.
    pub locale: String,
    /// What is wrong.
    pub reason: String,
}

const CATEGORIES: &[&str] = &["zero", "one", "two", "few", "many", "other"];

/// Parses one catalog file.
pub fn parse(locale: &str, source: &str) -> Result<Catalog, CatalogError> {
    let error = |reason: String| CatalogError {
        locale: locale.to_owned(),
        reason,
    };
    let docs = YamlLoader::load_from_str(source).map_err(|e| error(e.to_string()))?;
    let Some(Yaml::Hash(map)) = docs.into_iter().next() else {
        return Err(error("expected a mapping of keys to texts".into()));
    };
    let mut catalog = Catalog::new();
    for (key, value) in map {
        let Yaml::String(key) = key else {
            return Err(error(format!("key {key:?} is not a string")));
        };
        let message = match value {
            Yaml::String(text) => Message::Text(text),
            Yaml::Hash(forms) => {
                let mut out = BTreeMap::new();
                for (category, text) in forms {
                    match (category, text) {
                        (Yaml::String(c), Yaml::String(t)) if CATEGORIES.contains(&c.as_str()) => {
                            out.insert(c, t);
                        }
                        (c, _) => {
                            return Err(error(format!(
                                "{key}: {c:?} is not a plural category with a text"
                            )));
                        }
                    }
                }
                if !out.contains_key("other") {
                    return Err(error(format!("{key}: plural forms need `other`")));
                }
                Message::Plural(out)
            }
            other => return Err(error(format!("{key}: {other:?} is not a text"))),
        };
        for text in message.texts() {
            placeholders(text).map_err(|e| error(format!("{key}: {e}")))?;
        }
        catalog.insert(key, message);
    }
    Ok(catalog)
}

/// The placeholder names in `text` (`{name}`), or why its braces do not parse.
pub fn placeholders(text: &str) -> Result<BTreeSet<&str>, String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!("a `}}` without `{{` in {text:?}"));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("a `{{` without `}}` in {text:?}"));
        };
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{{{name}}}` is not a placeholder name"));
        }
        names.insert(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Fills the placeholders of `text` from `args` (a missing one stays as written).
pub fn fill(text: &str, args: &[(String, String)]) -> String {
    if !text.contains('{') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The shipped catalogs by locale, parsed once.
pub fn shipped() -> Result<&'static BTreeMap<&'static str, Catalog>, &'static CatalogError> {
    static SHIPPED_CATALOGS: LazyLock<Result<BTreeMap<&'static str, Catalog>, CatalogError>> =
        LazyLock::new(|| {
            SHIPPED
                .iter()
                .map(|(locale, source)| Ok((*locale, parse(locale, source)?)))
                .collect()
        });
    SHIPPED_CATALOGS.as_ref()
}

/// The English catalog: the keys that exist and the placeholders each may use.
pub fn reference() -> Option<&'static Catalog> {
    shipped().ok().and_then(|c| c.get("en"))
}

/// The placeholders key `key` may use (the union over its English forms), or `None` when the
/// key does not exist.
pub fn allowed_placeholders(key: &str) -> Option<BTreeSet<&'static str>> {
    let message = reference()?.get(key)?;
    let mut names = BTreeSet::new();
    for text in message.texts() {
        names.extend(placeholders(text).unwrap_or_default());
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogs_parse() {
        let catalogs = shipped().expect("catalogs parse");
        assert!(catalogs.len() >= 3);
    }

    #[test]
    fn every_shipped_catalog_has_exactly_the_english_keys_and_placeholders() {
        let catalogs = shipped().expect("catalogs parse");
        let en = &catalogs["en"];
        for (locale, catalog) in catalogs {
            let missing: Vec<_> = en.keys().filter(|k| !catalog.contains_key(*k)).collect();
            let extra: Vec<_> = catalog.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{locale} lacks {missing:?}");
            assert!(extra.is_empty(), "{locale} has unknown {extra:?}");
            for (key, message) in catalog {
                let allowed = allowed_placeholders(key).expect("key exists");
                for text in message.texts() {
                    let used = placeholders(text).expect("parses");
                    assert!(
                        used.is_subset(&allowed),
                        "{locale} {key}: {used:?} not within {allowed:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn placeholders_and_filling() {
        assert_eq!(
            placeholders("Hi {name}, {count} left").expect("parses"),
            BTreeSet::from(["count", "name"])
        );
        assert!(placeholders("a { b").is_err());
        assert!(placeholders("a } b").is_err());
        assert!(placeholders("{not a name}").is_err());
        let args = [("name".to_owned(), "Ada".to_owned())];
        assert_eq!(fill("Hi {name}, {other}", &args), "Hi Ada, {other}");
    }

    #[test]
    fn plural_forms_need_other() {
        assert!(parse("xx", "a:\n  one: x\n").is_err());
        assert!(parse("xx", "a:\n  one: x\n  other: y\n").is_ok());
        assert!(parse("xx", "a:\n  lots: x\n  other: y\n").is_err());
    }
}
