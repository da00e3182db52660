//! Fresh databases on every backend this machine offers, so one test body runs against SQLite and
//! PostgreSQL alike.
//!
//! SQLite: a new file under `CARGO_TARGET_TMPDIR`. PostgreSQL: a new database
//! `vestibule_test_<random>` on the server at `VESTIBULE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). If that server is unreachable the tests run on
//! SQLite alone, with a notice, unless `VESTIBULE_STRICT=1` (CI), where that is a failure.
//!
//! Databases are removed when their `TestDatabase` is dropped, except after a failed test, when
//! they are kept for inspection and their location is printed.

#![allow(dead_code)] // each test module uses a different part of this

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use vestibule::store::{Backend, Store};

const POSTGRES_URL_VAR: &str = "VESTIBULE_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const STRICT_VAR: &str = "VESTIBULE_STRICT";

/// Pool size of the stores handed to tests: small, but enough for concurrency tests to overlap.
pub const TEST_POOL_SIZE: u32 = 5;

/// An empty database that no migration has touched yet.
pub struct TestDatabase {
    pub backend: Backend,
    /// The URL to give `Store::connect` (or a server's configuration).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

/// A store connected to its own fresh, migrated database.
pub struct TestStore {
    // Declared first so the pool is dropped before the database goes away.
    pub store: Store,
    pub database: TestDatabase,
}

/// A fresh database on each available backend: SQLite always, PostgreSQL when reachable.
pub async fn fresh_databases() -> Vec<TestDatabase> {
    let mut databases = vec![fresh_sqlite_database()];
    databases.extend(fresh_postgres_database().await);
    databases
}

/// A new SQLite file path (the file does not exist yet).
pub fn fresh_sqlite_database() -> TestDatabase {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("vestibule-test-db")
        .join(format!("{:016x}", rand::random::<u64>()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create test directory {}: {e}", dir.display());
    }
    TestDatabase {
        backend: Backend::Sqlite,
        url: format!("sqlite://{}", dir.join("vestibule.sqlite").display()),
        cleanup: Cleanup::SqliteDir(dir),
    }
}

/// A new, empty PostgreSQL database, or `None` (after a notice) if the server is unreachable and
/// `VESTIBULE_STRICT` is not `1`.
pub async fn fresh_postgres_database() -> Option<TestDatabase> {
    let admin_url =
        std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut admin =
        match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return postgres_unavailable(&e.to_string()),
            Err(_) => return postgres_unavailable("no answer within 5 s"),
        };
    let name = format!("vestibule_test_{:016x}", rand::random::<u64>());
    if let Err(e) = admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
    {
        panic!("cannot create test database {name}: {e}");
    }
    let _ = admin.close().await;
    let mut url = match url::Url::parse(&admin_url) {
        Ok(url) => url,
        Err(e) => panic!("{POSTGRES_URL_VAR} is not a URL: {e}"),
    };
    url.set_path(&format!("/{name}"));
    Some(TestDatabase {
        backend: Backend::Postgres,
        url: url.into(),
        cleanup: Cleanup::PostgresDatabase { admin_url, name },
    })
}

fn postgres_unavailable(reason: &str) -> Option<TestDatabase> {
    if std::env::var(STRICT_VAR).as_deref() == Ok("1") {
        panic!(
            "PostgreSQL is required ({STRICT_VAR}=1) but unreachable at {POSTGRES_URL_VAR} \
             (default {DEFAULT_POSTGRES_URL}): {reason}"
        );
    }
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        // Written to the process's stderr directly, past the test harness's capture, so the
        // reduced coverage is visible in a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "notice: PostgreSQL unreachable ({reason}); storage tests run on SQLite only. \
             Set {POSTGRES_URL_VAR}, or {STRICT_VAR}=1 to make this a failure."
        );
    });
    None
}

/// A connected store on each available backend, each on its own fresh database.
pub async fn stores() -> Vec<TestStore> {
    let mut stores = vec![connect(fresh_sqlite_database()).await];
    if let Some(database) = fresh_postgres_database().await {
        stores.push(connect(database).await);
    }
    stores
}

/// Connects (and so migrates) a store on `database`.
pub async fn connect(database: TestDatabase) -> TestStore {
    match Store::connect(&database.url, TEST_POOL_SIZE).await {
        Ok(store) => TestStore { store, database },
        Err(e) => panic!("cannot connect a {:?} store: {e}", database.backend),
    }
}

/// Runs `test` once per backend, each time on a fresh store. The backend's name is printed first,
/// so a failure's captured output says which backend failed.
pub async fn each_backend(test: impl AsyncFn(Store)) {
    // One backend at a time: a failure on SQLite leaves no untouched PostgreSQL database behind.
    run_on(connect(fresh_sqlite_database()).await, &test).await;
    if let Some(database) = fresh_postgres_database().await {
        run_on(connect(database).await, &test).await;
    }
}

async fn run_on(TestStore { store, database }: TestStore, test: &impl AsyncFn(Store)) {
    eprintln!("--- backend: {:?}", database.backend);
    test(store).await;
    drop(database);
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "keeping the {:?} test database for inspection: {}",
                self.backend, self.url
            );
            return;
        }
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                drop_postgres_database(admin_url.clone(), name.clone());
            }
        }
    }
}

/// Drops the database from a thread of its own: `Drop` cannot await, and the test's runtime may
/// be the single-threaded one.
fn drop_postgres_database(admin_url: String, name: String) {
    let dropper = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut admin = PgConnection::connect(&admin_url).await?;
            // FORCE: the test's pool may still hold idle connections.
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await?;
            admin.close().await
        })?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    });
    match dropper.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop a test database: {e}"),
        Err(_) => eprintln!("could not drop a test database: the dropping thread panicked"),
    }
}
