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

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, StoreError};

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
    /// Starts the writer task for `pool` (on the current tokio runtime).
    pub(super) fn start(pool: AnyPool, backend: Backend) -> Rotations {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, backend, receiver));
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

/// The writer: one transaction per batch of waiting rotations, on a connection of its own (so
/// it never queues for one behind the requests whose rotations it is holding).
async fn write_batches(pool: AnyPool, backend: Backend, mut receiver: mpsc::Receiver<Rotation>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut connection: Option<PoolConnection<Any>> = None;
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = match writer_connection(&pool, &mut connection).await {
            Ok(conn) => commit(conn, backend, &batch).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(rotated) => {
                for (rotation, rotated) in batch.drain(..).zip(rotated) {
                    // The caller may have gone (its request was cancelled); the rotation stands.
                    let _ = rotation.done.send(Ok(rotated));
                }
            }
            Err(error) => {
                // The connection may be what failed: the retries take a fresh one.
                connection = None;
                if batch.len() > 1 {
                    tracing::warn!(%error, rotations = batch.len(), "refresh-token batch failed; retrying one at a time");
                }
                for rotation in batch.drain(..) {
                    let result = match writer_connection(&pool, &mut connection).await {
                        Ok(conn) => commit(conn, backend, std::slice::from_ref(&rotation)).await,
                        Err(error) => Err(error),
                    };
                    if result.is_err() {
                        connection = None;
                    }
                    let result = result
                        .map(|rotated| rotated.first().copied().unwrap_or(false))
                        .map_err(StoreError::Database);
                    let _ = rotation.done.send(result);
                }
            }
        }
    }
}

/// The writer's connection, taken from the pool the first time and after a failure.
async fn writer_connection<'c>(
    pool: &AnyPool,
    connection: &'c mut Option<PoolConnection<Any>>,
) -> Result<&'c mut PoolConnection<Any>, sqlx::Error> {
    if connection.is_none() {
        *connection = Some(pool.acquire().await?);
    }
    connection
        .as_mut()
        .ok_or_else(|| sqlx::Error::Protocol("no writer connection".into()))
}

/// Commits `batch` in one transaction; says for each rotation whether it won.
async fn commit(
    conn: &mut PoolConnection<Any>,
    backend: Backend,
    batch: &[Rotation],
) -> Result<Vec<bool>, sqlx::Error> {
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
    tx.commit().await?;
    Ok(won)
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
