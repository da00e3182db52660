//! The config source of `vestibule dev`: a directory of resource YAML, compiled through exactly
//! the `validate` pipeline, polled for changes. An edit that does not compile is reported
//! (`file:line`) and the previous config keeps serving.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use kube::ResourceExt;

use super::live::SecretValues;
use super::source::{Candidate, ConfigSource};
use crate::config::bundle::namespace_of;
use crate::manifest::secrets::{region_secret_values, secret_documents};
use crate::manifest::validate::{collect_files, validate_paths};

/// What the dev source reads and how it serves it.
#[derive(Clone, Debug)]
pub struct DevSourceOptions {
    /// Directory of resource YAML.
    pub dir: PathBuf,
    /// Port on localhost: the issuer becomes `http://localhost:PORT`.
    pub port: u16,
    /// Which Vestibule to serve when DIR holds several.
    pub vestibule: Option<String>,
    /// How often DIR is checked for changes.
    pub poll_interval: Duration,
    /// The token-signing key set (`dev` keeps it in its data directory), served as the region
    /// Secret's `signing-keys.json` would be.
    pub keys_file: Option<PathBuf>,
    /// The MFA key (`dev` generates it into its data directory), served as the region Secret's
    /// `mfa-key` would be.
    pub mfa_key_file: Option<PathBuf>,
    /// Where client secrets are generated for confidential Applications whose `secretName`
    /// Secret is not in DIR (one file per client id).
    pub client_secrets_dir: Option<PathBuf>,
}

/// Compiles DIR into the config `dev` serves, with secrets from the Secret documents in DIR.
pub struct DevSource {
    options: DevSourceOptions,
    fingerprint: Option<Vec<(PathBuf, SystemTime, u64)>>,
}

impl DevSource {
    /// A source for these options.
    pub fn new(options: DevSourceOptions) -> Self {
        Self {
            options,
            fingerprint: None,
        }
    }

    fn fingerprint(&self) -> Vec<(PathBuf, SystemTime, u64)> {
        collect_files(std::slice::from_ref(&self.options.dir))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok()?;
                Some((p, meta.modified().ok()?, meta.len()))
            })
            .collect()
    }

    /// One compile of DIR. Findings go to stderr as `file:line: ...`.
    pub fn load(&self) -> Candidate {
        let dir = &self.options.dir;
        let report = validate_paths(std::slice::from_ref(dir), &[]).map_err(|e| e.to_string())?;
        if report.has_errors() {
            let lines: Vec<String> = report.errors().map(ToString::to_string).collect();
            return Err(lines.join("\n"));
        }
        for warning in report
            .findings
            .iter()
            .filter(|f| f.severity == crate::manifest::validate::Severity::Warning)
        {
            eprintln!("{warning}");
        }
        let mut configs = report.configs;
        let (id, mut config) = match &self.options.vestibule {
            Some(name) => configs
                .into_iter()
                .find(|(id, _)| &id.name == name)
                .ok_or_else(|| format!("no Vestibule named {name:?} in {}", dir.display()))?,
            None if configs.len() == 1 => configs.remove(0),
            None if configs.is_empty() => {
                return Err(format!("{} holds no Vestibule resource", dir.display()));
            }
            None => {
                let names: Vec<String> = configs.iter().map(|(id, _)| id.name.clone()).collect();
                return Err(format!(
                    "{} holds several Vestibules ({}); pick one with --vestibule",
                    dir.display(),
                    names.join(", ")
                ));
            }
        };
        // Served on localhost: the issuer (and so every link and origin check) follows the port.
        let local = format!("http://localhost:{}", self.options.port);
        if config.issuer != local {
            config.issuer = local;
            config = config.seal();
        }
        let namespace = report
            .accepted
            .vestibules
            .iter()
            .find(|v| v.name_any() == id.name && namespace_of(*v) == id.namespace)
            .map(namespace_of)
            .unwrap_or_else(|| id.namespace.clone());
        let mut secrets = SecretValues::new(region_secret_values(
            std::slice::from_ref(dir),
            &namespace,
            &config,
        )?);
        // Confidential clients: the secret from their `secretName` Secret in DIR (key
        // `client_secret`), else one generated once into the data directory. The server gets
        // its hash, as the operator ships it.
        let documents = secret_documents(std::slice::from_ref(dir), &namespace)?;
        for app in &config.applications {
            let Some(hash_key) = &app.client_secret_hash else {
                continue;
            };
            let secret_name = report
                .accepted
                .applications
                .iter()
                .find(|a| a.spec.client_id == app.client_id && namespace_of(*a) == namespace)
                .and_then(|a| a.spec.secret_name.clone());
            let from_dir = secret_name
                .and_then(|name| documents.get(&(name, "client_secret".to_owned())).cloned());
            let secret = match (from_dir, &self.options.client_secrets_dir) {
                (Some(secret), _) => secret,
                (None, Some(dir)) => generated_client_secret(dir, &app.client_id)?,
                (None, None) => continue,
            };
            secrets = secrets.with(
                &hash_key.secret_key,
                crate::crypto::sha256_hex(secret.as_bytes()),
            );
        }
        if let Some(path) = &self.options.keys_file
            && let Ok(json) = std::fs::read_to_string(path)
        {
            secrets = secrets.with(crate::config::files::REGION_KEYS_FILE, json);
        }
        if let Some(path) = &self.options.mfa_key_file
            && let Ok(key) = std::fs::read_to_string(path)
        {
            secrets = secrets.with(crate::config::files::REGION_MFA_KEY_FILE, key);
        }
        Ok((config, secrets))
    }
}

impl ConfigSource for DevSource {
    async fn next(&mut self) -> Option<Candidate> {
        loop {
            if self.fingerprint.is_some() {
                tokio::time::sleep(self.options.poll_interval).await;
            }
            let now = self.fingerprint();
            if self.fingerprint.as_ref() == Some(&now) {
                continue;
            }
            let first = self.fingerprint.is_none();
            self.fingerprint = Some(now);
            let candidate = self.load();
            match &candidate {
                Ok((config, _)) if !first => {
                    eprintln!("vestibule dev: reloaded, config {}", config.hash)
                }
                Err(findings) if !first => {
                    eprintln!(
                        "{findings}\nvestibule dev: this edit does not compile; still serving the previous config"
                    );
                }
                _ => {}
            }
            return Some(candidate);
        }
    }
}

/// The client secret generated for `client_id` in `dir`, created (0600) on first use.
pub fn generated_client_secret(dir: &std::path::Path, client_id: &str) -> Result<String, String> {
    let path = client_secret_path(dir, client_id);
    match std::fs::read_to_string(&path) {
        Ok(secret) => return Ok(secret.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let secret = crate::crypto::random_token();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(secret)
}

/// Where `dev` keeps the generated secret of `client_id` (client ids are DNS-label-like, but
/// anything outside `[A-Za-z0-9._-]` is replaced so the name stays one path segment).
pub fn client_secret_path(dir: &std::path::Path, client_id: &str) -> PathBuf {
    let name: String = client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(name)
}
