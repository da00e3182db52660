//! `vestibule server`: the auth server as it runs in a pod.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::live::{ActivateError, Active, LiveConfig};
use super::source::{ConfigSource, FileSource, follow};
use super::state::AppState;
use crate::config::runtime::DatabaseConfig;
use crate::store::{Store, StoreError};

/// Options of `vestibule server`.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Runtime config file (JSON).
    pub config: PathBuf,
    /// Mounted Secret directory.
    pub secrets: Option<PathBuf>,
    /// Listen address.
    pub listen: SocketAddr,
    /// Database URL override.
    pub database_url: Option<String>,
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
    let mut source = FileSource::new(
        options.config.clone(),
        options.secrets.clone(),
        Duration::from_secs(2),
    );
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
        DatabaseConfig::Sqlite {} => 4,
    };
    let store = Store::connect(&url, max_connections).await?;
    let live = Arc::new(LiveConfig::new(active));
    let state = AppState::new(store, live.clone(), None);
    tokio::spawn(follow(source, live, state.metrics.clone(), None));
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    tracing::info!(listen = %options.listen, "vestibule server listening");
    super::serve(listener, state, shutdown_signal()).await?;
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
