//! SQLite's write-ahead log, checkpointed off the writers' path.
//!
//! Left to SQLite, the commit that grows the WAL past 1,000 frames copies every frame back into
//! the database file and `fsync`s it while holding the write lock, so the writer, and every
//! request waiting on it, stalls for the whole copy (about 12 ms at a few thousand refreshes a
//! second here). Instead:
//! - a background task runs a `PASSIVE` checkpoint every 100 ms on a pool connection; it takes
//!   no write lock, so commits go on while it copies the bulk of the WAL;
//! - once the WAL has grown long enough, it asks the refresh-token writer to finish the job: a
//!   `RESTART` checkpoint between two batches copies what was committed meanwhile (a few
//!   milliseconds' worth) and lets the next commit start the WAL file again from its beginning.
//!   That still `fsync`s the database file with the writer held (8 to 14 ms here), so it
//!   happens at most every 2 s: under 1 % of requests wait for it, and the WAL file stays
//!   below what 2 s of writes fill (about 200 MB at 7,000 refreshes a second).
//!
//! The writer's own connection never checkpoints by itself; every other connection still does
//! after [`AUTOCHECKPOINT`] frames, in case the background task falls far behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::{AnyConnection, AnyPool, Executor, Row};

/// WAL frames after which a committing connection (other than the refresh-token writer)
/// checkpoints by itself: only when the background checkpoints have fallen this far behind
/// (about 40 MiB of 4 KiB pages).
pub(super) const AUTOCHECKPOINT: u32 = 10_000;

/// How often the background task copies the WAL into the database file.
const EVERY: Duration = Duration::from_millis(100);

/// WAL length (frames) from which the writer is asked to restart the WAL.
const RESTART_AFTER_FRAMES: i64 = 2_000;

/// Least time between two restarts.
const RESTART_AT_MOST_EVERY: Duration = Duration::from_secs(2);

/// How long a restart waits for readers still on the old WAL before giving up until the next
/// time (it holds the writer, so never long).
const RESTART_WAIT_MS: u32 = 10;

/// Checkpoints every [`EVERY`] until the store is gone; sets `restart_due` when the WAL has
/// grown past [`RESTART_AFTER_FRAMES`] (at most every [`RESTART_AT_MOST_EVERY`]).
pub(super) async fn checkpoint_periodically(
    pool: AnyPool,
    store: Weak<()>,
    restart_due: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_restart = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        if store.strong_count() == 0 || pool.is_closed() {
            return;
        }
        // One row: (busy, frames in the WAL, frames copied).
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(1))
        {
            Ok(frames)
                if frames >= RESTART_AFTER_FRAMES
                    && last_restart.elapsed() >= RESTART_AT_MOST_EVERY =>
            {
                last_restart = tokio::time::Instant::now();
                restart_due.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "WAL checkpoint failed; the next one retries"),
        }
    }
}

/// Prepares the refresh-token writer's connection: it checkpoints only through [`restart`].
pub(super) async fn writer_connection(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
    Ok(())
}

/// Copies what the last background checkpoint left and restarts the WAL, on the writer's
/// connection between two batches. Readers still on the old WAL make it give up quickly; the
/// next request tries again.
pub(super) async fn restart(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    super::set_busy_timeout(conn, RESTART_WAIT_MS).await?;
    let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(&mut *conn)
        .await;
    super::set_busy_timeout(conn, super::SQLITE_BUSY_TIMEOUT_MS).await?;
    restarted?;
    Ok(())
}
