//! Durable state of the auth server: users, their sign-in identities and devices, second factors,
//! sessions, single-use tokens and throttle counters.
//!
//! One code path serves SQLite (embedded, single replica) and PostgreSQL (many replicas) through
//! sqlx's `Any` driver, so every query here is written in the SQL both understand: `$N`
//! placeholders, text and 64-bit integer columns, `ON CONFLICT`, `RETURNING`.
//!
//! Rules every method follows:
//! - Times are Unix milliseconds passed in by the caller; the store never reads the clock, so
//!   tests control time and replicas agree on it.
//! - A change that touches more than one row or table runs in one transaction: a crash never
//!   leaves half a change behind.
//! - Rows owned by a user are always reached through that user's id (`WHERE user_id = ...`), so
//!   one user can never act on another's rows, and an organization id can later join the same
//!   `WHERE` clauses.
//! - Only hashes of secrets (session tokens, codes, links) reach the database.

mod devices;
mod federation;
mod grants;
mod identities;
mod mfa;
mod org_sync;
mod organizations;
mod passkeys;
mod retention;
mod rotations;
mod sessions;
mod throttle;
mod tokens;
mod users;
mod wal;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};

pub use federation::{Flow, NewFlow, PendingLink};
pub use grants::{Consent, Grant, GrantRefusal, NewGrant, Presenter, RedeemedCode};
pub use identities::{Identity, NewIdentity};
pub use mfa::{Factors, MfaPending, PendingPurpose, TotpFactor};
pub use org_sync::{DeclaredOrganization, SyncOutcome};
pub use organizations::{
    Invitation, MemberChange, Membership, NewInvitation, NewOrganization, Organization,
};
pub use passkeys::{Ceremony, CeremonyPurpose, StoredPasskey};
pub use retention::Swept;
pub use sessions::{NewSession, Session};
pub use throttle::ThrottleState;
pub use tokens::{CodeOutcome, NewToken, Token, TokenPurpose};
pub use users::User;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Handle to the database. Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The writer committing refresh-token rotations in batches.
    rotations: rotations::Rotations,
    /// Held by every clone; background tasks stop once the last one is gone.
    _alive: std::sync::Arc<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("email address is already registered")]
    EmailTaken,
    /// The organization slug is in use.
    #[error("this organization slug is already taken")]
    SlugTaken,
    /// The provider's subject is already linked to an account (this one or another).
    #[error("this sign-in identity is already linked to an account")]
    IdentityTaken,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The task committing refresh-token rotations has stopped (the runtime is shutting down).
    #[error("the refresh-token writer has stopped")]
    WriterStopped,
    /// Holds the URL's scheme only (`"mysql:…"`): the rest may carry a password.
    #[error("unsupported database URL {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
}

impl Backend {
    fn of_url(url: &str) -> Option<Backend> {
        let (scheme, _) = url.split_once(':')?;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

impl Store {
    /// Connects to `sqlite:///abs/path/db.sqlite` (created if missing; WAL; foreign keys on;
    /// busy timeout) or `postgres://...`, then runs the embedded migrations for that backend.
    ///
    /// sqlx's migrator holds a database-wide lock (a PostgreSQL advisory lock) while it works,
    /// so several servers starting at once apply each migration exactly once.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let backend =
            Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl(scheme_of(url)))?;
        install_default_drivers();

        // One connection is the rotation writer's (`rotations.rs`): it needs at least one more.
        let pool_options = AnyPoolOptions::new().max_connections(max_connections.max(2));
        let pool = match backend {
            Backend::Sqlite => {
                let options = AnyConnectOptions::from_str(&sqlite_url_creating_file(url))?;
                let pool = pool_options
                    .after_connect(configure_sqlite_connection)
                    .connect_with(options)
                    .await?;
                // Persistent in the database file, so setting it once is enough. WAL lets readers
                // (session lookups) proceed while a writer commits.
                pool.execute("PRAGMA journal_mode = WAL").await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                pool
            }
            Backend::Postgres => {
                let pool = pool_options
                    .connect_with(AnyConnectOptions::from_str(url)?)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                pool
            }
        };
        let alive = std::sync::Arc::new(());
        let restart_due = (backend == Backend::Sqlite).then(|| {
            let due = std::sync::Arc::default();
            tokio::spawn(wal::checkpoint_periodically(
                pool.clone(),
                std::sync::Arc::downgrade(&alive),
                std::sync::Arc::clone(&due),
            ));
            due
        });
        let rotations = rotations::Rotations::start(pool.clone(), backend, restart_due);
        Ok(Store {
            pool,
            backend,
            rotations,
            _alive: alive,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Succeeds when the database answers a query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction that is allowed to write.
    ///
    /// SQLite starts transactions as readers; a reader that later writes after another connection
    /// committed fails at once with SQLITE_BUSY instead of waiting. `BEGIN IMMEDIATE` takes the
    /// write lock up front, where the busy timeout applies. PostgreSQL locks rows as it goes.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

/// Sets how long a SQLite connection waits for another writer before failing with SQLITE_BUSY.
async fn set_busy_timeout(conn: &mut AnyConnection, ms: u32) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {ms}")))
        .await?;
    Ok(())
}

/// How long a SQLite connection waits for another writer before failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Connections for a SQLite database: four for requests, one the refresh-token writer keeps.
pub const SQLITE_CONNECTIONS: u32 = 5;

/// A fresh 128-bit random identifier, as 32 lower-case hex digits.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Maps a unique-constraint violation to `EmailTaken`, for statements whose only unique value
/// that can collide is the email (ids are random).
fn email_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::EmailTaken,
        _ => StoreError::Database(error),
    }
}

fn scheme_of(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _)) => format!("{scheme}:…"),
        // Without a scheme there is no user-info part, so nothing secret to hide.
        None => url.to_owned(),
    }
}

/// sqlx opens SQLite files read-write but does not create them unless `mode=rwc` is given.
fn sqlite_url_creating_file(url: &str) -> String {
    match url.split_once('?') {
        None => format!("{url}?mode=rwc"),
        Some((_, query)) if query.split('&').any(|pair| pair.starts_with("mode=")) => {
            url.to_owned()
        }
        Some(_) => format!("{url}&mode=rwc"),
    }
}

/// Per-connection SQLite settings (not persistent in the file). sqlx's defaults already match;
/// setting them here keeps them true if those defaults change.
fn configure_sqlite_connection<'c>(
    conn: &'c mut AnyConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        conn.execute("PRAGMA foreign_keys = ON").await?;
        // How long to wait for another writer before failing with SQLITE_BUSY.
        set_busy_timeout(conn, SQLITE_BUSY_TIMEOUT_MS).await?;
        // Statement journals and temporary tables in memory: a multi-row statement inside a
        // transaction (the rotation writer's) otherwise journals to a temporary file.
        conn.execute("PRAGMA temp_store = MEMORY").await?;
        conn.execute(sqlx::AssertSqlSafe(format!(
            "PRAGMA wal_autocheckpoint = {}",
            wal::AUTOCHECKPOINT
        )))
        .await?;
        Ok(())
    })
}
