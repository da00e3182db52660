//! Group commit of refresh-token rotations.
//!
//! A rotation is two writes (mark the presented token used, store its successor) whose commit
//! waits for the disk. Committed one by one, SQLite's single writer and its `fsync` make
//! rotations queue behind each other's commits. One task owns the writes instead: it takes
//! every rotation waiting when it is free, and commits all of them in one transaction of four
//! statements (`BEGIN`, one conditional `UPDATE ... RETURNING`, one multi-row `INSERT`,
//! `COMMIT`). Under load the batches grow and the commits stay few; alone, a rotation is a
//! batch of one and waits for nothing.
//!
//! Each caller hears back only after the commit that holds its rotation, so an answered
//! rotation is as durable as before. The conditional `UPDATE` still decides races, across
//! replicas too: a token whose hash it did not return was rotated by someone else, and the
//! caller treats the presentation as a replay. When a batch fails, its rotations are retried
//! one at a time, so one bad rotation cannot fail the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, StoreError, wal};

/// Most rotations in one transaction (bounded so a statement stays well under both databases'
/// limits on bound values: five per rotation).
const MAX_BATCH: usize = 64;
/// Rotations waiting for the writer before callers wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;

/// One rotation to commit.
struct Rotation {
    old_hash: String,
    new_hash: String,
    grant_id: String,
    now: i64,
    /// `true`: this call marked the old token used and stored the new one; `false`: the old
    /// token had been used already (a replay).
    done: oneshot::Sender<Result<bool, StoreError>>,
}

/// The sending side of the rotation writer; the writer task ends when every clone is dropped.
#[derive(Debug, Clone)]
pub(super) struct Rotations {
    queue: mpsc::Sender<Rotation>,
}

impl Rotations {
    /// Starts the writer task for `pool` (on the current tokio runtime). On SQLite,
    /// `restart_due` is set when the writer should restart the WAL between two batches
    /// (`wal.rs`).
    pub(super) fn start(
        pool: AnyPool,
        backend: Backend,
        restart_due: Option<Arc<AtomicBool>>,
    ) -> Rotations {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(
            Writer {
                pool,
                backend,
                connection: None,
            },
            restart_due,
            receiver,
        ));
        Rotations { queue }
    }

    /// Marks `old_hash` used and adds `new_hash` to grant `grant_id`'s family, once the
    /// transaction holding it has committed. `Ok(false)`: `old_hash` was used already.
    pub(super) async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        grant_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (done, answer) = oneshot::channel();
        let rotation = Rotation {
            old_hash: old_hash.to_owned(),
            new_hash: new_hash.to_owned(),
            grant_id: grant_id.to_owned(),
            now,
            done,
        };
        self.queue
            .send(rotation)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// The writer's database: its own connection, taken from the pool when first needed and again
/// after a failure (so it never queues for one behind the requests whose rotations it holds).
struct Writer {
    pool: AnyPool,
    backend: Backend,
    connection: Option<PoolConnection<Any>>,
}

impl Writer {
    async fn connection(&mut self) -> Result<&mut PoolConnection<Any>, sqlx::Error> {
        let conn = match self.connection.take() {
            Some(conn) => conn,
            None => {
                let mut conn = self.pool.acquire().await?;
                if self.backend == Backend::Sqlite {
                    wal::writer_connection(&mut conn).await?;
                }
                conn
            }
        };
        Ok(self.connection.insert(conn))
    }

    /// Commits `batch`, dropping the connection if that failed (it may be what failed; closed
    /// rather than returned, since it does not checkpoint by itself).
    async fn commit(&mut self, batch: &[Rotation]) -> Result<Vec<bool>, Failure> {
        let backend = self.backend;
        let result = match self.connection().await {
            Ok(conn) => commit(conn, backend, batch).await,
            Err(error) => Err(Failure::Before(error)),
        };
        if result.is_err() {
            self.discard();
        }
        result
    }

    fn discard(&mut self) {
        if let Some(conn) = self.connection.take() {
            drop(conn.detach());
        }
    }
}

/// The writer task: one transaction per batch of waiting rotations.
async fn write_batches(
    mut writer: Writer,
    restart_due: Option<Arc<AtomicBool>>,
    mut receiver: mpsc::Receiver<Rotation>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match writer.commit(&batch).await {
            Ok(rotated) => {
                for (rotation, rotated) in batch.drain(..).zip(rotated) {
                    // The caller may have gone (its request was cancelled); the rotation stands.
                    let _ = rotation.done.send(Ok(rotated));
                }
            }
            // Nothing was committed: each rotation alone, so one bad one cannot fail the rest.
            Err(Failure::Before(error)) if batch.len() > 1 => {
                tracing::warn!(%error, rotations = batch.len(), "refresh-token batch failed; retrying one at a time");
                for rotation in batch.drain(..) {
                    let result = writer
                        .commit(std::slice::from_ref(&rotation))
                        .await
                        .map(|rotated| rotated.first().copied().unwrap_or(false))
                        .map_err(|failure| StoreError::Database(failure.into_error()));
                    let _ = rotation.done.send(result);
                }
            }
            // The commit may have happened: retrying would find the tokens used and take them
            // for replays, so every caller hears of the error instead (as a single commit
            // failing would tell its one caller).
            Err(failure) => {
                let message = failure.into_error().to_string();
                for rotation in batch.drain(..) {
                    let error = sqlx::Error::Protocol(message.clone());
                    let _ = rotation.done.send(Err(StoreError::Database(error)));
                }
            }
        }
        // After the answers, so no caller waits for it; the next batch does, briefly.
        if restart_due
            .as_ref()
            .is_some_and(|due| due.swap(false, Ordering::Relaxed))
            && let Some(conn) = writer.connection.as_mut()
            && let Err(error) = wal::restart(conn).await
        {
            tracing::debug!(%error, "restarting the WAL failed; the next checkpoint tries again");
            writer.discard();
        }
    }
}

/// How committing a batch failed.
enum Failure {
    /// Before `COMMIT` was sent: nothing was written.
    Before(sqlx::Error),
    /// At `COMMIT`: it may or may not have been applied.
    AtCommit(sqlx::Error),
}

impl Failure {
    fn into_error(self) -> sqlx::Error {
        match self {
            Failure::Before(error) | Failure::AtCommit(error) => error,
        }
    }
}

/// Commits `batch` in one transaction; says for each rotation whether it won.
async fn commit(
    conn: &mut PoolConnection<Any>,
    backend: Backend,
    batch: &[Rotation],
) -> Result<Vec<bool>, Failure> {
    let (tx, won) = write_batch(conn, backend, batch)
        .await
        .map_err(Failure::Before)?;
    tx.commit().await.map_err(Failure::AtCommit)?;
    Ok(won)
}

/// The statements of [`commit`], in a transaction left open for it.
async fn write_batch<'c>(
    conn: &'c mut PoolConnection<Any>,
    backend: Backend,
    batch: &[Rotation],
) -> Result<(sqlx::Transaction<'c, Any>, Vec<bool>), sqlx::Error> {
    // As `Store::begin_write`: SQLite takes its write lock up front.
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    let mark = mark_used_sql(batch.len());
    let mut query = sqlx::query(AssertSqlSafe(mark));
    for rotation in batch {
        query = query.bind(&rotation.old_hash).bind(rotation.now);
    }
    let marked: Vec<String> = query
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("token_hash"))
        .collect::<Result<_, _>>()?;
    // The first rotation presenting a hash the UPDATE marked won; any other presenting the same
    // hash in this batch lost the race, as did every rotation whose hash was not marked.
    let mut unclaimed = marked;
    let won: Vec<bool> = batch
        .iter()
        .map(
            |rotation| match unclaimed.iter().position(|hash| *hash == rotation.old_hash) {
                Some(i) => {
                    unclaimed.swap_remove(i);
                    true
                }
                None => false,
            },
        )
        .collect();
    let winners: Vec<&Rotation> = batch
        .iter()
        .zip(&won)
        .filter_map(|(rotation, won)| won.then_some(rotation))
        .collect();
    if !winners.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(insert_sql(winners.len())));
        for rotation in &winners {
            query = query
                .bind(&rotation.new_hash)
                .bind(&rotation.grant_id)
                .bind(rotation.now);
        }
        query.execute(&mut *tx).await?;
    }
    Ok((tx, won))
}

/// `UPDATE` marking every listed token used at its own time, returning those it marked (the
/// ones not used before). Rotation `i` binds `$2i+1` (hash) and `$2i+2` (time).
fn mark_used_sql(n: usize) -> String {
    let mut cases = String::new();
    let mut hashes = Vec::with_capacity(n);
    for i in 0..n {
        let (hash, now) = (2 * i + 1, 2 * i + 2);
        cases.push_str(&format!(" WHEN ${hash} THEN ${now}"));
        hashes.push(format!("${hash}"));
    }
    format!(
        "UPDATE oauth_refresh_tokens SET used_at = CASE token_hash{cases} END \
         WHERE used_at IS NULL AND token_hash IN ({}) RETURNING token_hash",
        hashes.join(", ")
    )
}

/// Multi-row `INSERT` of `n` new tokens, three values each.
fn insert_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    format!(
        "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) VALUES {}",
        rows.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_their_values_in_order() {
        assert_eq!(
            mark_used_sql(2),
            "UPDATE oauth_refresh_tokens SET used_at = CASE token_hash WHEN $1 THEN $2 WHEN $3 THEN $4 END \
             WHERE used_at IS NULL AND token_hash IN ($1, $3) RETURNING token_hash"
        );
        assert_eq!(
            insert_sql(2),
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }
}
