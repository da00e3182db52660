//! `vestibule server`: the auth server as it runs in a pod.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::process::ExitCode;

use anyhow::Context;

use crate::config::runtime::DatabaseConfig;
use crate::http::state::AppState;
use crate::runtime::kube_source::KubeSource;
use crate::runtime::{ActivateError, Active, ConfigSource, FileSource, LiveConfig, follow};
use crate::store::{Store, StoreError};

/// Run the auth server as it runs in a pod: a runtime config file (JSON) and a directory of
/// secret values (one file per key), both watched for changes.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// The runtime config (JSON), as rendered into the region's ConfigMap.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "kubernetes",
        conflicts_with = "kubernetes"
    )]
    pub config: Option<PathBuf>,
    /// The region's Secret, mounted as a directory.
    #[arg(long, value_name = "DIR", conflicts_with = "kubernetes")]
    pub secrets: Option<PathBuf>,
    /// Watch the region's ConfigMap and Secret through the Kubernetes API instead of files
    /// (namespace from `POD_NAMESPACE`).
    #[arg(long)]
    pub kubernetes: bool,
    /// ConfigMap to watch (with `--kubernetes`).
    #[arg(long, value_name = "NAME", requires = "kubernetes")]
    pub config_map: Option<String>,
    /// Secret to watch (with `--kubernetes`).
    #[arg(long, value_name = "NAME", requires = "kubernetes")]
    pub secret: Option<String>,
    /// ConfigMap to report the declared-Organization sync's slug conflicts in (with
    /// `--kubernetes`; the operator reads it back).
    #[arg(long, value_name = "NAME", requires = "kubernetes")]
    pub sync_status: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: std::net::SocketAddr,
    /// Database URL (`sqlite:///path` or `postgres://...`). Default: the config's database
    /// (PostgreSQL URL from the secret `database.url`) or SQLite in /var/lib/vestibule.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// `vestibule server`.
pub fn command(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let source = if args.kubernetes {
        let namespace = std::env::var("POD_NAMESPACE")
            .context("--kubernetes needs POD_NAMESPACE (set it from the downward API)")?;
        ConfigFrom::Kubernetes {
            namespace,
            config_map: args.config_map.context("--kubernetes needs --config-map")?,
            secret: args.secret.context("--kubernetes needs --secret")?,
            sync_status: args.sync_status,
        }
    } else {
        ConfigFrom::Files {
            config: args
                .config
                .context("--config is required without --kubernetes")?,
            secrets: args.secrets,
        }
    };
    let options = ServerOptions {
        source,
        listen: args.listen,
        database_url: args.database_url,
    };
    super::tokio_runtime()?.block_on(run(options))?;
    Ok(ExitCode::SUCCESS)
}

/// Options of `vestibule server`.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Where the runtime config and secret values come from.
    pub source: ConfigFrom,
    /// Listen address.
    pub listen: SocketAddr,
    /// Database URL override.
    pub database_url: Option<String>,
}

/// Where `vestibule server` reads its config.
#[derive(Clone, Debug)]
pub enum ConfigFrom {
    /// A JSON file and a directory of secret files, polled.
    Files {
        /// Runtime config file (JSON).
        config: PathBuf,
        /// Mounted Secret directory.
        secrets: Option<PathBuf>,
    },
    /// The region's ConfigMap and Secret, watched through the Kubernetes API (a change applies
    /// in seconds, without a rollout).
    Kubernetes {
        /// The pod's namespace.
        namespace: String,
        /// ConfigMap holding `config.json`.
        config_map: String,
        /// Secret holding the secret values.
        secret: String,
        /// ConfigMap the sync reports its slug conflicts in, if any.
        sync_status: Option<String>,
    },
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The first config could not be read or activated.
    #[error("config: {0}")]
    Config(String),
    /// The config cannot be served.
    #[error(transparent)]
    Activate(#[from] ActivateError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sockets.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs until SIGTERM/Ctrl-C.
pub async fn run(options: ServerOptions) -> Result<(), ServeError> {
    match options.source.clone() {
        ConfigFrom::Files { config, secrets } => {
            serve_from(
                FileSource::new(config, secrets, Duration::from_secs(2)),
                None,
                options,
            )
            .await
        }
        ConfigFrom::Kubernetes {
            namespace,
            config_map,
            secret,
            sync_status,
        } => {
            let client = kube::Client::try_default()
                .await
                .map_err(|e| ServeError::Config(format!("kubernetes client: {e}")))?;
            let status = sync_status.map(|name| {
                Arc::new(crate::runtime::kube_source::SyncStatusWriter::new(
                    client.clone(),
                    &namespace,
                    name,
                ))
            });
            serve_from(
                KubeSource::new(client, namespace, config_map, secret),
                status,
                options,
            )
            .await
        }
    }
}

async fn serve_from<S: ConfigSource>(
    mut source: S,
    status: Option<Arc<crate::runtime::kube_source::SyncStatusWriter>>,
    options: ServerOptions,
) -> Result<(), ServeError> {
    let (config, secrets) = match source.next().await {
        Some(Ok(first)) => first,
        Some(Err(e)) => return Err(ServeError::Config(e)),
        None => return Err(ServeError::Config("no config".into())),
    };
    let active = Active::build(config, secrets, None)?;
    let url = match (&options.database_url, &active.config.database) {
        (Some(url), _) => url.clone(),
        (None, DatabaseConfig::Postgres { url, .. }) => active
            .secrets
            .get(&url.secret_key)
            .map(str::to_owned)
            .ok_or_else(|| {
                ServeError::Config(format!("secret key {:?} is missing", url.secret_key))
            })?,
        (None, DatabaseConfig::Sqlite {}) => {
            "sqlite:///var/lib/vestibule/vestibule.sqlite".to_owned()
        }
    };
    let max_connections = match &active.config.database {
        DatabaseConfig::Postgres {
            max_connections, ..
        } => *max_connections,
        DatabaseConfig::Sqlite {} => crate::store::SQLITE_CONNECTIONS,
    };
    let store = Store::connect(&url, max_connections).await?;
    let live = Arc::new(LiveConfig::new(active));
    let state = AppState::new(store, live.clone(), None);
    let sync = super::dev::sync_on_apply(&state, status);
    sync(live.load());
    tokio::spawn(follow(
        source,
        live,
        state.metrics.config.clone(),
        None,
        sync,
    ));
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    tracing::info!(listen = %options.listen, "vestibule server listening");
    crate::http::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
