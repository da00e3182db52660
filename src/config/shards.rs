//! Declared organizations in shards, so a Vestibule can declare far more of them than one
//! ConfigMap holds (1 MiB, about 2,000 organizations).
//!
//! A region's main ConfigMap carries the config without `organizations.declared` and lists the
//! shards instead (`organizations.shards`: each one's ConfigMap name and the SHA-256 of its
//! text); each shard ConfigMap holds the declared organizations whose slug hashes to it, as a
//! compact JSON array under [`SHARD_KEY`]. An organization's shard depends only on its slug and
//! the shard count, so editing one organization rewrites its shard and the main ConfigMap, not
//! the others. The count is a power of two sized to keep every shard under [`SHARD_TARGET`];
//! it changes (and every shard with it) only when the declarations grow or shrink past a
//! power of two.
//!
//! The config's `hash` covers the joined form (declared inline, no shard list), so the server
//! checks what it assembled against what the operator compiled.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RuntimeConfig;
use super::runtime::OrganizationConfig;

/// Key of a shard ConfigMap that holds its organizations (a JSON array).
pub const SHARD_KEY: &str = "organizations.json";

/// Size a shard aims to stay under; well below the ConfigMap limit, so an uneven spread of
/// slugs still fits.
pub const SHARD_TARGET: usize = 384 * 1024;

/// One shard, as the main config lists it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardRef {
    /// Its ConfigMap's name (same namespace as the main one).
    pub name: String,
    /// `sha256:` of its [`SHARD_KEY`] text.
    pub hash: String,
}

/// A shard ConfigMap's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Its ConfigMap's name.
    pub name: String,
    /// The JSON array of its organizations.
    pub text: String,
}

/// Why shards do not join into the config.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardError {
    /// A listed shard was not given.
    #[error("shard {0} is missing")]
    Missing(String),
    /// A shard's text is not the one the main config lists (not written yet, or edited).
    #[error("shard {0} does not match the hash the config lists")]
    Stale(String),
    /// A shard does not parse.
    #[error("shard {0}: {1}")]
    Invalid(String, String),
}

/// `sha256:` of a shard's text, as [`ShardRef::hash`] records it.
pub fn text_hash(text: &str) -> String {
    sha256(text)
}

fn sha256(text: &str) -> String {
    let mut out = String::from("sha256:");
    for b in Sha256::digest(text.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The shard of `slug` among `count` (a power of two).
fn shard_of(slug: &str, count: usize) -> usize {
    let digest = Sha256::digest(slug.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // `count` is a power of two, so the low bits are a uniform pick.
    (u64::from_le_bytes(first) as usize) & (count - 1)
}

/// The name of shard `index` of the ConfigMap `main`.
pub fn shard_name(main: &str, index: usize) -> String {
    format!("{main}-orgs-{index}")
}

/// Splits `config`'s declared organizations into shards named after the ConfigMap `main`:
/// the main config (declared emptied, shards listed) and the shards. No declared
/// organizations: the config as it is and no shards.
pub fn split(config: &RuntimeConfig, main: &str) -> (RuntimeConfig, Vec<Shard>) {
    let declared = &config.organizations.declared;
    if declared.is_empty() {
        return (config.clone(), Vec::new());
    }
    let sizes: Vec<usize> = declared
        .iter()
        .map(|o| serde_json::to_vec(o).map_or(0, |v| v.len() + 1))
        .collect();
    let total: usize = sizes.iter().sum();
    let mut count = total.div_ceil(SHARD_TARGET).max(1).next_power_of_two();
    // An unlucky spread can overfill one shard: double until none is over the target (every
    // organization fits alone: compile bounds its size).
    let groups = loop {
        let mut groups: Vec<Vec<&OrganizationConfig>> = vec![Vec::new(); count];
        let mut filled = vec![0usize; count];
        for (org, size) in declared.iter().zip(&sizes) {
            let i = shard_of(&org.slug, count);
            groups[i].push(org);
            filled[i] += size;
        }
        if filled.iter().all(|f| *f <= SHARD_TARGET) || count >= 1 << 12 {
            break groups;
        }
        count *= 2;
    };
    let shards: Vec<Shard> = groups
        .into_iter()
        .enumerate()
        .map(|(i, orgs)| Shard {
            name: shard_name(main, i),
            // Serialization of these types cannot fail: every map key is a string.
            text: serde_json::to_string(&orgs).unwrap_or_default(),
        })
        .collect();
    let mut main_config = config.clone();
    main_config.organizations.declared = Vec::new();
    main_config.organizations.shards = shards
        .iter()
        .map(|s| ShardRef {
            name: s.name.clone(),
            hash: sha256(&s.text),
        })
        .collect();
    (main_config, shards)
}

/// Joins `main` (as [`split`] made it) and the texts of its shards (by name) back into the
/// config the operator compiled. A config without shards is returned as it is.
pub fn join<'a>(
    mut main: RuntimeConfig,
    text_of: impl Fn(&str) -> Option<&'a str>,
) -> Result<RuntimeConfig, ShardError> {
    let shards = std::mem::take(&mut main.organizations.shards);
    for shard in &shards {
        let text = text_of(&shard.name).ok_or_else(|| ShardError::Missing(shard.name.clone()))?;
        if sha256(text) != shard.hash {
            return Err(ShardError::Stale(shard.name.clone()));
        }
        let orgs: Vec<OrganizationConfig> = serde_json::from_str(text)
            .map_err(|e| ShardError::Invalid(shard.name.clone(), e.to_string()))?;
        main.organizations.declared.extend(orgs);
    }
    main.organizations
        .declared
        .sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(main)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::compile::minimal_runtime_config;

    fn org(i: usize, members: usize) -> OrganizationConfig {
        OrganizationConfig {
            slug: format!("org-{i:05}"),
            display_name: format!("Organization {i}"),
            domains: BTreeMap::new(),
            roles: BTreeMap::new(),
            members: (0..members)
                .map(|m| {
                    (
                        format!("member-{m}@org-{i:05}.example"),
                        "member".to_owned(),
                    )
                })
                .collect(),
            theme: None,
            mfa: None,
            allowed_providers: Vec::new(),
            password_sign_in: true,
            delete_when_undeclared: false,
        }
    }

    fn config(orgs: usize) -> RuntimeConfig {
        let mut config = minimal_runtime_config();
        config.organizations.enabled = true;
        config.organizations.declared = (0..orgs).map(|i| org(i, 10)).collect();
        config.seal()
    }

    fn joined(main: &RuntimeConfig, shards: &[Shard]) -> RuntimeConfig {
        join(main.clone(), |name| {
            shards
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.text.as_str())
        })
        .expect("joins")
    }

    #[test]
    fn no_declared_organizations_no_shards() {
        let c = config(0);
        let (main, shards) = split(&c, "v-config");
        assert!(shards.is_empty());
        assert_eq!(main, c);
    }

    #[test]
    fn ten_thousand_organizations_split_under_the_limit_and_join_back_exactly() {
        let c = config(10_000);
        let (main, shards) = split(&c, "v-config");
        assert!(
            shards.len() >= 16 && shards.len().is_power_of_two(),
            "{}",
            shards.len()
        );
        for s in &shards {
            assert!(
                s.text.len() <= SHARD_TARGET,
                "{} is {} bytes",
                s.name,
                s.text.len()
            );
        }
        assert!(main.organizations.declared.is_empty());
        assert!(
            main.to_config_map_text().len() < 64 * 1024,
            "the main config stays small"
        );
        let back = joined(&main, &shards);
        assert_eq!(back, c);
        assert!(back.hash_is_valid(), "the hash covers the joined form");
    }

    #[test]
    fn one_organization_edited_rewrites_only_its_shard() {
        let before = config(5_000);
        let mut edited = before.clone();
        edited.organizations.declared[1234]
            .members
            .insert("new@org-01234.example".into(), "admin".into());
        let edited = edited.seal();
        let (_, a) = split(&before, "v-config");
        let (_, b) = split(&edited, "v-config");
        assert_eq!(a.len(), b.len());
        let changed: Vec<&str> = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x.text != y.text)
            .map(|(x, _)| x.name.as_str())
            .collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
    }

    #[test]
    fn a_missing_or_stale_shard_is_refused() {
        let c = config(3);
        let (main, shards) = split(&c, "v-config");
        let name = shards[0].name.clone();
        assert_eq!(
            join(main.clone(), |_| None),
            Err(ShardError::Missing(name.clone()))
        );
        assert_eq!(
            join(main, |_| Some("[]")),
            Err(ShardError::Stale(name)),
            "an old shard with a new main config"
        );
    }
}
