//! The Vestibule's token-signing keys in the cluster: planned by `keys::plan`, kept in a Secret
//! next to the Vestibule, and shipped to every region in its Secret, so a new key reaches every
//! region (and its JWKS) well before any region signs with it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};

use super::keys::{KeyPolicy, plan};
use super::{Error, FIELD_MANAGER};
use crate::config::RuntimeConfig;
use crate::config::bundle::namespace_of;
use crate::crypto::keys::{KeySet, SigningAlgorithm};
use crate::resources::Vestibule;

/// Key of the key set in the key Secret.
pub const KEYS_FILE: &str = "keys.json";
/// Key of the MFA key in the key Secret (generated once, kept; shipped to every region as
/// `mfa-key`, so every region opens the TOTP secrets the others sealed).
pub const MFA_KEY_FILE: &str = crate::config::files::REGION_MFA_KEY_FILE;
/// Key of the key set in each region's Secret (the server signs with it and publishes its JWKS).
pub use crate::config::files::REGION_KEYS_FILE;
/// Annotation asking for a rotation now (the value is ignored).
pub const ROTATE_ANNOTATION: &str = "vestibule.dev/rotate-keys";

/// Longest clock difference a relying party may allow when checking `exp`.
const SKEW_MS: i64 = 5 * 60 * 1000;
/// How long a new key is published before it signs, at most.
const PUBLISH_AHEAD_MS: i64 = 60 * 60 * 1000;

/// Name of the Secret holding a Vestibule's signing keys.
pub fn secret_name(vestibule: &Vestibule) -> String {
    format!("{}-signing-keys", vestibule.name_any())
}

/// The key policy a config implies: its algorithm and rotation interval, published an hour
/// ahead (half the interval when that is shorter), kept for the longest token plus skew.
pub fn policy(config: &RuntimeConfig) -> KeyPolicy {
    let rotation_interval_ms = i64::try_from(config.signing_keys.rotation_interval_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let longest_token_seconds = config
        .applications
        .iter()
        .map(|a| a.id_token_seconds.max(a.access_token_seconds))
        .max()
        .unwrap_or(3600);
    KeyPolicy {
        algorithm: algorithm(config.signing_keys.algorithm),
        rotation_interval_ms,
        publish_ahead_ms: PUBLISH_AHEAD_MS.min(rotation_interval_ms / 2).max(1),
        max_token_ttl_ms: i64::try_from(longest_token_seconds)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000)
            .saturating_add(SKEW_MS),
    }
}

/// The key algorithm for the config's `signingKeys.algorithm`.
fn algorithm(configured: crate::config::runtime::SigningAlgorithm) -> SigningAlgorithm {
    use crate::config::runtime::SigningAlgorithm as Configured;
    match configured {
        Configured::ES256 => SigningAlgorithm::ES256,
        Configured::RS256 => SigningAlgorithm::RS256,
        Configured::EdDSA => SigningAlgorithm::EdDSA,
    }
}

/// The Vestibule's keys as they are shipped to its regions.
#[derive(Debug)]
pub struct Keys {
    /// The token-signing key set.
    pub signing: KeySet,
    /// The MFA key, base64 (never logged).
    pub mfa: String,
}

/// Reads the key set, plans it, and writes it back when it changed (or the MFA key is
/// missing, which is then generated). Returns the keys to ship.
pub async fn ensure_keys(
    client: &Client,
    vestibule: &Vestibule,
    config: &RuntimeConfig,
    now_ms: i64,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<Keys, Error> {
    let namespace = namespace_of(vestibule);
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let name = secret_name(vestibule);
    let stored = api.get_opt(&name).await?;
    let data = stored.as_ref().and_then(|s| s.data.as_ref());
    let current = match data.and_then(|d| d.get(KEYS_FILE)) {
        Some(bytes) => KeySet::from_json(&bytes.0).map_err(|e| Error::Keys(e.to_string()))?,
        None => KeySet::default(),
    };
    let stored_mfa = data
        .and_then(|d| d.get(MFA_KEY_FILE))
        .and_then(|b| String::from_utf8(b.0.clone()).ok())
        .filter(|k| crate::crypto::sealing::MfaKey::from_encoded(k).is_ok());
    let mfa_missing = stored_mfa.is_none();
    let mfa = stored_mfa.unwrap_or_else(crate::crypto::sealing::generate_encoded);
    let force = vestibule.annotations().contains_key(ROTATE_ANNOTATION);
    let planned =
        plan(&current, &policy(config), now_ms, force).map_err(|e| Error::Keys(e.to_string()))?;
    if planned != current || mfa_missing {
        let json = planned.to_json().map_err(|e| Error::Keys(e.to_string()))?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                labels: Some(crate::render::instance_labels(vestibule)),
                owner_references: vestibule.controller_owner_ref(&()).map(|r| vec![r]),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            // Both keys in every apply: one field manager owns them, and a key left out of an
            // apply would be deleted.
            data: Some(BTreeMap::from([
                (KEYS_FILE.to_owned(), ByteString(json)),
                (
                    MFA_KEY_FILE.to_owned(),
                    ByteString(mfa.clone().into_bytes()),
                ),
            ])),
            ..Secret::default()
        };
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await?;
        metrics.write("apply", "Secret");
    }
    if force {
        // One rotation per request: a request left in place would rotate again and again.
        let vestibules: Api<Vestibule> = Api::namespaced(client.clone(), &namespace);
        let patch = serde_json::json!({"metadata": {"annotations": {ROTATE_ANNOTATION: null}}});
        vestibules
            .patch(
                &vestibule.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        metrics.write("patch", "Vestibule");
    }
    Ok(Keys {
        signing: planned,
        mfa,
    })
}
