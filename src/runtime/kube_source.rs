//! The runtime config straight from the Kubernetes API: the region's ConfigMap (key
//! `config.json`) and Secret, followed by name, so a change applies in seconds without a rollout.
//! Declared organizations come from the shard ConfigMaps the main one lists (see
//! [`crate::config::shards`]): read with a GET when the main config names a shard hash not
//! read yet (every shard change changes the main ConfigMap, so only that one is watched).
//!
//! The server's Role grants only `get` and `watch` on those two names, so each object is read
//! with a GET and then followed with a WATCH (field selector `metadata.name=<name>`) from the
//! resourceVersion the GET returned. kube's `watcher` would start with a LIST, which that Role
//! forbids. A watch the API server ends (its timeout) is resumed from the last resourceVersion
//! seen; one whose version expired (410 Gone) starts over with a GET. API errors are retried with
//! backoff: before the first candidate they are yielded (so a server that cannot read its config
//! says why and exits), afterwards they are only logged, because the config being served is
//! still good.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, WatchEvent, WatchParams};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::live::SecretValues;
use super::source::{Candidate, ConfigSource};
use crate::config::RuntimeConfig;
use crate::config::files::CONFIG_FILE;

/// Longest wait between retries after API errors.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The region's ConfigMap and Secret, watched through the API. Yields a candidate whenever
/// either changes once both have been read: `Ok` when the ConfigMap's `config.json` parses and
/// every Secret value is UTF-8, `Err(reason)` otherwise (including when either object is missing).
pub struct KubeSource {
    /// `ConfigMap <namespace>/<name>`, for messages.
    config_map: String,
    /// `Secret <namespace>/<name>`, for messages.
    secret: String,
    updates: BoxStream<'static, Update>,
    current: Inputs,
    /// What the last candidate was built from; unchanged inputs yield nothing.
    last: Option<Inputs>,
    /// Reads the organization shards.
    config_maps: Api<ConfigMap>,
    /// Shards read so far: name → (hash, text).
    shards: BTreeMap<String, (String, String)>,
}

/// What a candidate is built from.
#[derive(Clone, PartialEq)]
struct Inputs {
    /// The ConfigMap's `config.json` (`None`: the key is missing).
    config: Seen<Option<String>>,
    /// The Secret's data.
    secrets: Seen<BTreeMap<String, ByteString>>,
}

impl KubeSource {
    /// Follows ConfigMap `config_map` and Secret `secret` in `namespace`. Nothing is requested
    /// until the first `next()`.
    pub fn new(
        client: Client,
        namespace: impl Into<String>,
        config_map: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        let namespace = namespace.into();
        let config_map = config_map.into();
        let secret = secret.into();
        let shard_api = Api::<ConfigMap>::namespaced(client.clone(), &namespace);
        let config_maps = follow_object(
            Api::<ConfigMap>::namespaced(client.clone(), &namespace),
            config_map.clone(),
            format!("ConfigMap {namespace}/{config_map}"),
        )
        .map(Update::ConfigMap);
        let secrets = follow_object(
            Api::<Secret>::namespaced(client, &namespace),
            secret.clone(),
            format!("Secret {namespace}/{secret}"),
        )
        .map(Update::Secret);
        Self {
            config_map: format!("ConfigMap {namespace}/{config_map}"),
            secret: format!("Secret {namespace}/{secret}"),
            updates: stream::select(config_maps, secrets).boxed(),
            current: Inputs {
                config: Seen::Unknown,
                secrets: Seen::Unknown,
            },
            last: None,
            config_maps: shard_api,
            shards: BTreeMap::new(),
        }
    }

    /// `config` with its declared organizations read from the shards it lists (a GET for each
    /// shard whose hash is new; a shard not yet in step is read again a few times, since the
    /// operator writes shards just before the main ConfigMap).
    async fn with_shards(&mut self, config: RuntimeConfig) -> Result<RuntimeConfig, String> {
        use crate::config::shards::{self, SHARD_KEY};
        let listed = config.organizations.shards.clone();
        self.shards
            .retain(|name, _| listed.iter().any(|s| &s.name == name));
        for shard in &listed {
            let mut tries = 0;
            while self.shards.get(&shard.name).map(|(h, _)| h) != Some(&shard.hash) {
                tries += 1;
                let object = self
                    .config_maps
                    .get_opt(&shard.name)
                    .await
                    .map_err(|e| format!("ConfigMap {}: {e}", shard.name))?;
                let text = object
                    .and_then(|o| o.data)
                    .and_then(|mut d| d.remove(SHARD_KEY))
                    .ok_or_else(|| format!("ConfigMap {} has no key {SHARD_KEY:?}", shard.name))?;
                let hash = shards::text_hash(&text);
                self.shards.insert(shard.name.clone(), (hash, text));
                if self.shards.get(&shard.name).map(|(h, _)| h) != Some(&shard.hash) {
                    if tries >= 5 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let cache = &self.shards;
        shards::join(config, |name| {
            cache.get(name).map(|(_, text)| text.as_str())
        })
        .map_err(|e| format!("{}: {e}", self.config_map))
    }

    fn candidate(&self) -> Candidate {
        let text = match &self.current.config {
            Seen::Present(Some(text)) => text,
            Seen::Present(None) => {
                return Err(format!("{} has no key {CONFIG_FILE:?}", self.config_map));
            }
            Seen::Missing | Seen::Unknown => return Err(format!("{} not found", self.config_map)),
        };
        let data = match &self.current.secrets {
            Seen::Present(data) => data,
            Seen::Missing | Seen::Unknown => return Err(format!("{} not found", self.secret)),
        };
        let config: RuntimeConfig = serde_json::from_str(text)
            .map_err(|e| format!("{} key {CONFIG_FILE:?}: {e}", self.config_map))?;
        let mut values = BTreeMap::new();
        for (key, value) in data {
            // Never the value in the message.
            let value = String::from_utf8(value.0.clone())
                .map_err(|_| format!("{} key {key:?} is not UTF-8", self.secret))?;
            values.insert(key.clone(), value);
        }
        Ok((config, SecretValues::new(values)))
    }
}

impl ConfigSource for KubeSource {
    async fn next(&mut self) -> Option<Candidate> {
        while let Some(update) = self.updates.next().await {
            match update {
                Update::ConfigMap(Observed::Present(object)) => {
                    self.current.config =
                        Seen::Present(object.data.and_then(|mut d| d.remove(CONFIG_FILE)));
                }
                Update::ConfigMap(Observed::Missing) => self.current.config = Seen::Missing,
                Update::Secret(Observed::Present(object)) => {
                    self.current.secrets = Seen::Present(object.data.unwrap_or_default());
                }
                Update::Secret(Observed::Missing) => self.current.secrets = Seen::Missing,
                Update::ConfigMap(Observed::Failed(reason))
                | Update::Secret(Observed::Failed(reason)) => {
                    if self.last.is_none() {
                        return Some(Err(reason));
                    }
                    tracing::warn!(%reason, "watching the config failed; retrying");
                    continue;
                }
            }
            if self.current.config == Seen::Unknown || self.current.secrets == Seen::Unknown {
                continue;
            }
            if self.last.as_ref() == Some(&self.current) {
                continue;
            }
            let candidate = match self.candidate() {
                Ok((config, secrets)) if !config.organizations.shards.is_empty() => self
                    .with_shards(config)
                    .await
                    .map(|config| (config, secrets)),
                other => other,
            };
            self.last = Some(self.current.clone());
            return Some(candidate);
        }
        None
    }
}

/// What is known of one object.
#[derive(Clone, Debug, PartialEq)]
enum Seen<T> {
    /// Not read yet.
    Unknown,
    /// The API said it does not exist (or it was deleted).
    Missing,
    /// Its current content.
    Present(T),
}

enum Update {
    ConfigMap(Observed<ConfigMap>),
    Secret(Observed<Secret>),
}

/// One observation of a followed object.
enum Observed<K> {
    Present(K),
    Missing,
    Failed(String),
}

/// Where the follower of one object is.
enum Phase<K> {
    /// Read the object (first, and after a watch expired).
    Get,
    /// Start a watch from this resourceVersion (empty: from now, with the current state).
    Watch(String),
    /// Reading a watch; the resourceVersion is the last one seen.
    Streaming(String, BoxStream<'static, kube::Result<WatchEvent<K>>>),
}

struct Follower<K: Clone + DeserializeOwned + Debug> {
    api: Api<K>,
    name: String,
    what: String,
    phase: Phase<K>,
    failures: u32,
    backoff: bool,
}

/// GET, then WATCH `name` from the version read, forever: every state of the object, in order.
fn follow_object<K>(api: Api<K>, name: String, what: String) -> BoxStream<'static, Observed<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let follower = Follower {
        api,
        name,
        what,
        phase: Phase::Get,
        failures: 0,
        backoff: false,
    };
    stream::unfold(follower, |mut follower| async move {
        let observed = follower.step().await;
        Some((observed, follower))
    })
    .boxed()
}

fn is_gone(status: &kube::core::Status) -> bool {
    status.code == 410 || status.reason == "Expired" || status.reason == "Gone"
}

impl<K> Follower<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    async fn step(&mut self) -> Observed<K> {
        if self.backoff {
            self.backoff = false;
            let delay =
                Duration::from_secs(1 << self.failures.saturating_sub(1).min(5)).min(MAX_BACKOFF);
            tokio::time::sleep(delay).await;
        }
        loop {
            match std::mem::replace(&mut self.phase, Phase::Get) {
                Phase::Get => match self.api.get_opt(&self.name).await {
                    Ok(Some(object)) => {
                        self.failures = 0;
                        self.phase = Phase::Watch(object.resource_version().unwrap_or_default());
                        return Observed::Present(object);
                    }
                    Ok(None) => {
                        self.failures = 0;
                        self.phase = Phase::Watch(String::new());
                        return Observed::Missing;
                    }
                    Err(e) => return self.failed(Phase::Get, e.to_string()),
                },
                Phase::Watch(version) => {
                    let params =
                        WatchParams::default().fields(&format!("metadata.name={}", self.name));
                    match self.api.watch(&params, &version).await {
                        Ok(events) => self.phase = Phase::Streaming(version, events.boxed()),
                        Err(kube::Error::Api(status)) if is_gone(&status) => {}
                        Err(e) => return self.failed(Phase::Watch(version), e.to_string()),
                    }
                }
                Phase::Streaming(version, mut events) => match events.next().await {
                    // The API server ended the watch (its timeout): resume where it stopped.
                    None => self.phase = Phase::Watch(version),
                    Some(Ok(WatchEvent::Added(object) | WatchEvent::Modified(object))) => {
                        self.failures = 0;
                        let version = object.resource_version().unwrap_or(version);
                        self.phase = Phase::Streaming(version, events);
                        if object.name_any() == self.name {
                            return Observed::Present(object);
                        }
                    }
                    Some(Ok(WatchEvent::Deleted(object))) => {
                        self.failures = 0;
                        let version = object.resource_version().unwrap_or(version);
                        self.phase = Phase::Streaming(version, events);
                        if object.name_any() == self.name {
                            return Observed::Missing;
                        }
                    }
                    Some(Ok(WatchEvent::Bookmark(bookmark))) => {
                        self.phase = Phase::Streaming(bookmark.metadata.resource_version, events);
                    }
                    // Too old to resume: read the object again (phase is already `Get`).
                    Some(Ok(WatchEvent::Error(status))) | Some(Err(kube::Error::Api(status)))
                        if is_gone(&status) => {}
                    Some(Ok(WatchEvent::Error(status))) => {
                        return self.failed(Phase::Watch(version), status.message.clone());
                    }
                    Some(Err(e)) => return self.failed(Phase::Watch(version), e.to_string()),
                },
            }
        }
    }

    /// Records a failure: the next step waits (exponentially longer) and then resumes at `phase`.
    fn failed(&mut self, phase: Phase<K>, reason: String) -> Observed<K> {
        self.phase = phase;
        self.failures = self.failures.saturating_add(1);
        self.backoff = true;
        Observed::Failed(format!("{}: {reason}", self.what))
    }
}

/// Writes what the declared-Organization sync could not do (the slugs a runtime-created
/// organization holds) into the region's sync-status ConfigMap, the one object the server's
/// Role lets it patch, so the operator can show it on the Organizations. Writes only when the
/// list changed since the last write.
pub struct SyncStatusWriter {
    api: Api<ConfigMap>,
    name: String,
    last: tokio::sync::Mutex<Option<Vec<String>>>,
}

impl SyncStatusWriter {
    /// The writer of ConfigMap `name` in `namespace`.
    pub fn new(client: Client, namespace: &str, name: impl Into<String>) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Records `conflicts` (sorted); whether a write was made.
    pub async fn write(&self, conflicts: &[String]) -> Result<bool, kube::Error> {
        let mut sorted = conflicts.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut last = self.last.lock().await;
        if last.as_ref() == Some(&sorted) {
            return Ok(false);
        }
        let text = serde_json::to_string(&sorted).unwrap_or_else(|_| "[]".into());
        let patch = serde_json::json!({
            "data": { crate::config::files::SYNC_STATUS_CONFLICTS: text }
        });
        self.api
            .patch(
                &self.name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await?;
        *last = Some(sorted);
        Ok(true)
    }
}
