//! `vestibule dev DIR`: the whole product on one machine.
//!
//! The resources in DIR go through exactly the `validate` pipeline; the compiled config is served
//! on SQLite with the dev mailbox; edits to DIR are recompiled and swapped in without a restart,
//! and an edit that does not compile is reported (`file:line`) while the previous config serves.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::email::Outbox;
use crate::http::state::AppState;
use crate::runtime::dev_source::{DevSource, DevSourceOptions};
use crate::runtime::{Active, ConfigSource, LiveConfig, follow};
use crate::store::Store;

/// Run the whole product locally: compile DIR, serve it on SQLite with a dev mailbox, and
/// reload when files change.
#[derive(clap::Args, Clone, Debug)]
pub struct DevArgs {
    /// Directory of resource YAML (Vestibule, Theme, ..., Secrets).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Port on localhost.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Where the SQLite database (and the dev signing keys and client secrets) are kept.
    #[arg(long, default_value = ".vestibule", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Use this database instead of SQLite in the data directory (`postgres://...`, e.g. to
    /// try the PostgreSQL backend or measure it).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Which Vestibule to serve when DIR holds several.
    #[arg(long, value_name = "NAME")]
    pub vestibule: Option<String>,
    /// Turn rate limits and lockout off, for load tests where every request comes from one
    /// address. Never for anything exposed.
    #[arg(long)]
    pub no_rate_limits: bool,
}

/// Why `dev` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The directory's resources do not compile (the findings were printed).
    #[error("{0}")]
    Config(String),
    /// The config compiled but cannot be served.
    #[error("cannot serve this config: {0}")]
    Activate(#[from] crate::runtime::ActivateError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Files or sockets.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The signing key set in the data directory cannot be used.
    #[error("signing keys: {0}")]
    Keys(#[from] crate::crypto::keys::KeyError),
}

/// Client ids of the confidential Applications being served.
fn active_clients(live: &LiveConfig) -> Vec<String> {
    live.load()
        .config
        .applications
        .iter()
        .filter(|a| a.confidential)
        .map(|a| a.client_id.clone())
        .collect()
}

/// The key set in `path`, planned for `config` (created on first start, a new key when one is
/// due) and written back when it changed; returns its JSON.
fn ensure_keys(
    path: &std::path::Path,
    config: &crate::config::RuntimeConfig,
) -> Result<String, DevError> {
    use crate::crypto::keys::KeySet;
    let current = match std::fs::read(path) {
        Ok(bytes) => KeySet::from_json(&bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => KeySet::default(),
        Err(e) => return Err(e.into()),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let policy = crate::operator::signing::policy(config);
    let planned = crate::operator::keys::plan(&current, &policy, now, false)?;
    let json = planned.to_json()?;
    if planned != current {
        write_private(path, &json)?;
    }
    String::from_utf8(json).map_err(|e| DevError::Config(format!("signing keys: {e}")))
}

/// Writes a file only its owner can read (it holds private keys).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `vestibule dev`: exit 1 when DIR does not compile.
pub fn command(args: DevArgs) -> anyhow::Result<ExitCode> {
    match super::tokio_runtime()?.block_on(run(args)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(DevError::Config(message)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `vestibule dev` until Ctrl-C.
pub async fn run(options: DevArgs) -> Result<(), DevError> {
    std::fs::create_dir_all(&options.data_dir)?;
    let data_dir = std::fs::canonicalize(&options.data_dir)?;
    let keys_file = data_dir.join(crate::config::files::REGION_KEYS_FILE);
    // Generated on first start and kept: every sealed TOTP secret depends on it.
    let mfa_key_file = data_dir.join(crate::config::files::REGION_MFA_KEY_FILE);
    if !mfa_key_file.exists() {
        write_private(
            &mfa_key_file,
            crate::crypto::sealing::generate_encoded().as_bytes(),
        )?;
    }
    let mut source = DevSource::new(DevSourceOptions {
        dir: options.dir.clone(),
        port: options.port,
        vestibule: options.vestibule.clone(),
        poll_interval: Duration::from_millis(500),
        keys_file: Some(keys_file.clone()),
        mfa_key_file: Some(mfa_key_file),
        client_secrets_dir: Some(data_dir.join("client-secrets")),
    });
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
    // Generated on first start, planned again (rotated when due) on each start, and reused.
    let keys = ensure_keys(&keys_file, &config)?;
    let secrets = secrets.with(crate::config::files::REGION_KEYS_FILE, keys);
    let sqlite = data_dir.join("vestibule.sqlite");
    let (store, database) = match &options.database_url {
        // The URL may hold a password: only its kind is printed.
        Some(url) => (
            Store::connect(url, 16).await?,
            format!(
                "{} (--database-url)",
                url.split(':').next().unwrap_or("database")
            ),
        ),
        None => (
            Store::connect(
                &format!("sqlite://{}", sqlite.display()),
                crate::store::SQLITE_CONNECTIONS,
            )
            .await?,
            sqlite.display().to_string(),
        ),
    };

    let outbox = Outbox::default();
    let active = Active::build(config, secrets, Some(outbox.clone()))?;
    let hash = active.config.hash.clone();
    let live = Arc::new(LiveConfig::new(active));
    let mut state = AppState::new(store, live.clone(), Some(outbox.clone()));
    if options.no_rate_limits {
        eprintln!(
            "warning: rate limits and lockout are OFF (--no-rate-limits); use this only for load tests"
        );
        state.auth.rate_limits = false;
    }
    let clients = active_clients(&live);
    let sync = sync_on_apply(&state, None);
    sync(live.load());
    tokio::spawn(follow(
        source,
        live,
        state.metrics.config.clone(),
        Some(outbox),
        sync,
    ));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
    let base = format!("http://localhost:{}", options.port);
    println!("Vestibule dev server (config {hash})");
    println!("  sign in:      {base}/sign-in");
    println!("  sign up:      {base}/sign-up");
    println!("  dev mailbox:  {base}/dev/mailbox");
    println!("  database:     {database}");
    println!("  OpenID:       {base}/.well-known/openid-configuration");
    for app in clients {
        let path =
            crate::runtime::dev_source::client_secret_path(&data_dir.join("client-secrets"), &app);
        if path.exists() {
            println!("  client {app}: secret in {}", path.display());
        }
    }
    println!(
        "Watching {} for changes. Ctrl-C to stop.",
        options.dir.display()
    );
    crate::http::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Syncs the declared Organizations of every config applied (and of the first) into the
/// database, in the background.
pub(super) fn sync_on_apply(
    state: &AppState,
    status: Option<Arc<crate::runtime::kube_source::SyncStatusWriter>>,
) -> impl Fn(Arc<Active>) + Send + 'static {
    let services = state.auth.clone();
    move |active: Arc<Active>| {
        crate::auth::organizations::spawn_sync(services.clone(), active, status.clone())
    }
}
