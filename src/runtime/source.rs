//! Where the runtime config comes from, and the one loop that applies new versions.
//!
//! A source yields candidates; `follow` validates each (`Active::build`) before swapping it in,
//! and keeps the last good config when a candidate fails. Files now; the Kubernetes
//! ConfigMap/Secret watch implements the same trait.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::live::{Active, LiveConfig, SecretValues};
use super::metrics::ConfigMetrics;
use crate::config::RuntimeConfig;
use crate::email::Outbox;

/// A new version of the config, or why the newest version cannot be read.
pub type Candidate = Result<(RuntimeConfig, SecretValues), String>;

/// Something that produces config versions.
pub trait ConfigSource: Send + 'static {
    /// Waits for the next version. `None` ends the source.
    fn next(&mut self) -> impl Future<Output = Option<Candidate>> + Send;
}

/// Applies every candidate from `source` to `live`, keeping the last good config on failure;
/// `applied` hears of each config swapped in (to sync what the database keeps of it).
pub async fn follow<S: ConfigSource>(
    mut source: S,
    live: Arc<LiveConfig>,
    metrics: ConfigMetrics,
    outbox: Option<Outbox>,
    applied: impl Fn(Arc<Active>) + Send + 'static,
) {
    while let Some(candidate) = source.next().await {
        let activated = candidate.and_then(|(config, secrets)| {
            let hash = config.hash.clone();
            Active::build(config, secrets, outbox.clone())
                .map(|a| (a, hash))
                .map_err(|e| e.to_string())
        });
        match activated {
            Ok((active, hash)) => {
                // The hash covers the config, not secret values: a rotated password or
                // database URL alone is a change too.
                let current = live.load();
                if current.config.hash == hash && current.secrets == active.secrets {
                    continue;
                }
                live.swap(active);
                applied(live.load());
                metrics.config_reload(true);
                tracing::info!(config_hash = %hash, "config applied");
            }
            Err(reason) => {
                tracing::error!(%reason, "new config rejected; still serving the previous one");
                live.reject(reason);
                metrics.config_reload(false);
            }
        }
    }
}

/// A runtime config file (JSON, as the operator writes it into the ConfigMap) and a directory
/// with one file per Secret key (as Kubernetes mounts a Secret), polled for changes.
pub struct FileSource {
    config: PathBuf,
    secrets: Option<PathBuf>,
    interval: Duration,
    last: Option<[u8; 32]>,
}

impl FileSource {
    /// Watches `config` and `secrets` every `interval`.
    pub fn new(config: PathBuf, secrets: Option<PathBuf>, interval: Duration) -> Self {
        Self {
            config,
            secrets,
            interval,
            last: None,
        }
    }

    fn read(&self) -> Result<(RuntimeConfig, SecretValues, [u8; 32]), String> {
        let text =
            std::fs::read(&self.config).map_err(|e| format!("{}: {e}", self.config.display()))?;
        let mut digest = Sha256::new();
        digest.update(&text);
        let config: RuntimeConfig =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", self.config.display()))?;
        let secrets = match &self.secrets {
            Some(dir) => read_secret_dir(dir, &mut digest)?,
            None => SecretValues::default(),
        };
        Ok((config, secrets, digest.finalize().into()))
    }
}

/// Reads a mounted Secret: one file per key (Kubernetes' `..data` symlink entries are skipped).
fn read_secret_dir(dir: &Path, digest: &mut Sha256) -> Result<SecretValues, String> {
    let mut values = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let value =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        digest.update(name.as_bytes());
        digest.update(value.as_bytes());
        values.insert(name.to_owned(), value);
    }
    Ok(SecretValues::new(values))
}

impl ConfigSource for FileSource {
    async fn next(&mut self) -> Option<Candidate> {
        loop {
            if self.last.is_some() {
                tokio::time::sleep(self.interval).await;
            }
            match self.read() {
                Ok((config, secrets, fingerprint)) => {
                    if self.last == Some(fingerprint) {
                        continue;
                    }
                    self.last = Some(fingerprint);
                    return Some(Ok((config, secrets)));
                }
                Err(e) => {
                    // Report a broken file once per distinct content, not every poll.
                    let fingerprint: [u8; 32] = Sha256::digest(e.as_bytes()).into();
                    if self.last == Some(fingerprint) {
                        continue;
                    }
                    self.last = Some(fingerprint);
                    return Some(Err(e));
                }
            }
        }
    }
}
