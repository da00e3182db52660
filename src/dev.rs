//! `vestibule dev DIR`: the whole product on one machine.
//!
//! The resources in DIR go through exactly the `validate` pipeline; the compiled config is served
//! on SQLite with the dev mailbox; edits to DIR are recompiled and swapped in without a restart,
//! and an edit that does not compile is reported (`file:line`) while the previous config serves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kube::ResourceExt;

use crate::config::bundle::namespace_of;
use crate::email::Outbox;
use crate::manifest::secrets::region_secret_values;
use crate::manifest::validate::{collect_files, validate_paths};
use crate::server::live::{Active, LiveConfig, SecretValues};
use crate::server::source::{Candidate, ConfigSource, follow};
use crate::server::state::AppState;
use crate::store::Store;

/// Why `dev` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The directory's resources do not compile (the findings were printed).
    #[error("{0}")]
    Config(String),
    /// The config compiled but cannot be served.
    #[error("cannot serve this config: {0}")]
    Activate(#[from] crate::server::live::ActivateError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Files or sockets.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Options of `vestibule dev`.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// Directory of resource YAML.
    pub dir: PathBuf,
    /// Port on localhost.
    pub port: u16,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// Which Vestibule to serve when DIR holds several.
    pub vestibule: Option<String>,
    /// How often DIR is checked for changes.
    pub poll_interval: Duration,
    /// Turn rate limits and lockout off (load tests from one address).
    pub no_rate_limits: bool,
}

/// Compiles DIR into the config `dev` serves, with secrets from the Secret documents in DIR.
pub struct DevSource {
    options: DevOptions,
    fingerprint: Option<Vec<(PathBuf, SystemTime, u64)>>,
}

impl DevSource {
    /// A source for these options.
    pub fn new(options: DevOptions) -> Self {
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
        let secrets = SecretValues::new(region_secret_values(
            std::slice::from_ref(dir),
            &namespace,
            &config,
        )?);
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

/// Runs `vestibule dev` until Ctrl-C.
pub async fn run(options: DevOptions) -> Result<(), DevError> {
    let mut source = DevSource::new(options.clone());
    let (config, secrets) = match source.next().await {
        Some(Ok(first)) => first,
        Some(Err(findings)) => {
            eprintln!("{findings}");
            return Err(DevError::Config(format!(
                "{} does not compile",
                options.dir.display()
            )));
        }
        None => return Err(DevError::Config("no config".into())),
    };
    std::fs::create_dir_all(&options.data_dir)?;
    let data_dir = std::fs::canonicalize(&options.data_dir)?;
    let database = data_dir.join("vestibule.sqlite");
    let store = Store::connect(&format!("sqlite://{}", database.display()), 4).await?;

    let outbox = Outbox::default();
    let active = Active::build(config, secrets, Some(outbox.clone()))?;
    let hash = active.config.hash.clone();
    let live = Arc::new(LiveConfig::new(active));
    let mut state = AppState::new(store, live.clone(), Some(outbox.clone()));
    if options.no_rate_limits {
        eprintln!(
            "warning: rate limits and lockout are OFF (--no-rate-limits); use this only for load tests"
        );
        state.rate_limits = false;
    }
    tokio::spawn(follow(source, live, state.metrics.clone(), Some(outbox)));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    let base = format!("http://localhost:{}", options.port);
    println!("Vestibule dev server (config {hash})");
    println!("  sign in:      {base}/sign-in");
    println!("  sign up:      {base}/sign-up");
    println!("  dev mailbox:  {base}/dev/mailbox");
    println!("  database:     {}", database.display());
    println!(
        "Watching {} for changes. Ctrl-C to stop.",
        options.dir.display()
    );
    crate::server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
