//! Clients for the clusters regions live in: the operator's own, or a remote cluster reached
//! through a kubeconfig Secret. One cached client per kubeconfig; a region whose cluster cannot
//! be reached fails alone.

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use sha2::{Digest, Sha256};

use crate::resources::common::SecretKeyRef;

/// Which kubeconfig a cached client was built from: namespace, Secret, key, content hash.
type KubeconfigId = (String, String, String, [u8; 32]);

/// A client for a region's cluster, and which cluster that is.
#[derive(Clone)]
pub struct ClusterClient {
    /// The client.
    pub client: Client,
    /// `local`, or the kubeconfig it was built from (`namespace/secret/key#digest`): a rotated
    /// kubeconfig is another cluster as far as watches go.
    pub id: String,
}

/// Cached clients for remote clusters.
#[derive(Default)]
pub struct Clusters {
    /// By namespace, Secret name, key and a hash of the kubeconfig, so a rotated kubeconfig
    /// gets a new client.
    cache: Mutex<BTreeMap<KubeconfigId, ClusterClient>>,
    /// Clients given directly, by kubeconfig Secret name (tests, and embedding).
    fixed: BTreeMap<String, Client>,
}

impl Clusters {
    /// Uses `client` for every region whose kubeconfig Secret is named `secret_name`.
    pub fn with_fixed(mut self, secret_name: &str, client: Client) -> Self {
        self.fixed.insert(secret_name.to_owned(), client);
        self
    }

    /// The client for a region's cluster: `local` when it has no kubeconfig Secret.
    pub async fn client_for(
        &self,
        local: &Client,
        namespace: &str,
        kubeconfig: Option<&SecretKeyRef>,
    ) -> Result<ClusterClient, String> {
        let Some(reference) = kubeconfig else {
            return Ok(ClusterClient {
                client: local.clone(),
                id: "local".to_owned(),
            });
        };
        if let Some(client) = self.fixed.get(&reference.name) {
            return Ok(ClusterClient {
                client: client.clone(),
                id: format!("{namespace}/{}", reference.name),
            });
        }
        let secrets: Api<Secret> = Api::namespaced(local.clone(), namespace);
        let secret = secrets
            .get_opt(&reference.name)
            .await
            .map_err(|e| format!("reading Secret {:?}: {e}", reference.name))?
            .ok_or_else(|| format!("Secret {:?} not found", reference.name))?;
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .map(|b| b.0.clone())
            .ok_or_else(|| format!("Secret {:?} has no key {:?}", reference.name, reference.key))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let key = (
            namespace.to_owned(),
            reference.name.clone(),
            reference.key.clone(),
            digest,
        );
        if let Some(client) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(client);
        }
        let text =
            String::from_utf8(bytes).map_err(|_| "the kubeconfig is not UTF-8".to_owned())?;
        let kubeconfig =
            Kubeconfig::from_yaml(&text).map_err(|e| format!("invalid kubeconfig: {e}"))?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| format!("invalid kubeconfig: {e}"))?;
        let client = Client::try_from(config).map_err(|e| format!("cannot build a client: {e}"))?;
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let client = ClusterClient {
            client,
            id: format!("{namespace}/{}/{}#{hex}", reference.name, reference.key),
        };
        if let Ok(mut cache) = self.cache.lock() {
            // Old clients of the same Secret (an earlier kubeconfig) are dropped.
            cache.retain(|(ns, name, k, _), _| {
                !(ns == namespace && *name == reference.name && *k == reference.key)
            });
            cache.insert(key, client.clone());
        }
        Ok(client)
    }
}
