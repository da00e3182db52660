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

/// Reads the key set, plans it, and writes it back when it changed. Returns the set to ship.
pub async fn ensure_keys(
    client: &Client,
    vestibule: &Vestibule,
    config: &RuntimeConfig,
    now_ms: i64,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<KeySet, Error> {
    let namespace = namespace_of(vestibule);
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let name = secret_name(vestibule);
    let current = match api.get_opt(&name).await? {
        Some(secret) => match secret.data.as_ref().and_then(|d| d.get(KEYS_FILE)) {
            Some(bytes) => KeySet::from_json(&bytes.0).map_err(|e| Error::Keys(e.to_string()))?,
            None => KeySet::default(),
        },
        None => KeySet::default(),
    };
    let force = vestibule.annotations().contains_key(ROTATE_ANNOTATION);
    let planned =
        plan(&current, &policy(config), now_ms, force).map_err(|e| Error::Keys(e.to_string()))?;
    if planned != current {
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
            data: Some(BTreeMap::from([(KEYS_FILE.to_owned(), ByteString(json))])),
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
    Ok(planned)
}
