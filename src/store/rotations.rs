//! Group commit of refresh-token rotations.
//!
//! A rotation is two writes (mark the presented token used, store its successor) whose commit
//! waits for the disk. Committed one by one, SQLite's single writer and its `fsync` make
//! rotations queue behind each other's commits. One task owns the writes instead: it takes
//! every rotation waiting when it is free, and commits all of them in one transaction: one
//! conditional `UPDATE ... RETURNING` and one multi-row `INSERT`, sent to SQLite as a single
//! multi-statement query (one trip to its thread), to PostgreSQL as statements. Under load the
//! batches grow and the commits stay few; alone, a rotation is a batch of one and waits for
//! nothing.
//!
//! Each caller hears back only after the commit that holds its rotation, so an answered
//! rotation is as durable as before. The conditional `UPDATE` still decides races, across
//! replicas too: a token whose hash it did not return was rotated by someone else, and the
//! caller treats the presentation as a replay. When a batch fails before its commit, its
//! rotations are retried one at a time, so one bad rotation cannot fail the others.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe, Connection, Executor, Row};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, StoreError, wal};

/// Most rotations in one transaction (bounded so a statement stays well under both databases'
/// limits on bound values: five per rotation).
const MAX_BATCH: usize = 64;
/// Rotations waiting for the writer before callers wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;
/// Longest a batch may take, from taking a connection to `COMMIT`: beyond it the database is
/// stuck (a half-open connection, a lock held elsewhere) and the callers get an error rather
/// than a hang. SQLite's own wait for its write lock is 5 s.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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

/// The writer's database: a connection it keeps, taken from the pool when first needed and
/// again after a failure (so, while it works, it never queues for one behind the requests
/// whose rotations it holds).
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
    /// rather than returned, since it does not checkpoint by itself). A kept connection the
    /// server closed meanwhile (a restart, an idle timeout in between) fails before anything
    /// is written: that is tried once more on a fresh one. A commit that takes longer than
    /// [`COMMIT_TIMEOUT`] is abandoned with its connection, as one that may have landed.
    async fn commit(&mut self, batch: &[Rotation]) -> Result<Vec<bool>, Failure> {
        let kept = self.connection.is_some();
        let result = self.commit_once(batch).await;
        match result {
            Err(Failure::Before(sqlx::Error::Io(_))) if kept => self.commit_once(batch).await,
            result => result,
        }
    }

    async fn commit_once(&mut self, batch: &[Rotation]) -> Result<Vec<bool>, Failure> {
        let backend = self.backend;
        let attempt = async {
            match self.connection().await {
                Ok(conn) => commit(conn, backend, batch).await,
                Err(error) => Err(Failure::Before(error)),
            }
        };
        let result = match tokio::time::timeout(COMMIT_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Failure::AtCommit(sqlx::Error::Protocol(format!(
                "refresh-token batch not committed within {COMMIT_TIMEOUT:?}"
            )))),
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
        // A caller that has gone (its request was cancelled, its client timed out) is not
        // rotated: it never sees the new token, and its retry with the old one must not look
        // like a replay.
        batch.retain(|rotation| !rotation.done.is_closed());
        if batch.is_empty() {
            continue;
        }
        match writer.commit(&batch).await {
            Ok(rotated) => {
                for (rotation, rotated) in batch.drain(..).zip(rotated) {
                    // A caller gone during the commit cannot be helped: the rotation stands.
                    let _ = rotation.done.send(Ok(rotated));
                }
            }
            // The database refused a statement and nothing was committed: each rotation alone,
            // so one bad one cannot fail the rest. (A database that cannot be reached would
            // fail each of them in turn: they hear of the error at once instead.)
            Err(Failure::Before(error))
                if batch.len() > 1 && error.as_database_error().is_some() =>
            {
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
            // Otherwise every caller hears of the error: the commit may have happened
            // (retrying would find the tokens used and take them for replays), the database
            // cannot be reached, or the batch was one rotation.
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
///
/// Only the first presentation of a hash in the batch takes part; any later one lost the race,
/// as did every rotation whose token the `UPDATE` did not mark.
async fn commit(
    conn: &mut PoolConnection<Any>,
    backend: Backend,
    batch: &[Rotation],
) -> Result<Vec<bool>, Failure> {
    let mut seen = HashSet::new();
    let taking_part: Vec<&Rotation> = batch
        .iter()
        .filter(|rotation| seen.insert(rotation.old_hash.as_str()))
        .collect();
    let marked: HashSet<String> = match backend {
        Backend::Sqlite => commit_sqlite(conn, &taking_part).await?,
        Backend::Postgres => commit_postgres(conn, &taking_part).await?,
    };
    let mut first = HashSet::new();
    Ok(batch
        .iter()
        .map(|rotation| {
            first.insert(rotation.old_hash.as_str()) && marked.contains(&rotation.old_hash)
        })
        .collect())
}

/// SQLite: the whole transaction as one multi-statement query, so the writer hands it to
/// SQLite's thread once. Under the write lock, inserting the successors of the tokens still
/// unused and then marking those used is exact; the `UPDATE` returns the hashes it marked.
async fn commit_sqlite(
    conn: &mut PoolConnection<Any>,
    rotations: &[&Rotation],
) -> Result<HashSet<String>, Failure> {
    let n = rotations.len();
    let sql = format!(
        "BEGIN IMMEDIATE; {}; {}; COMMIT",
        insert_unused_sql(n),
        mark_used_sql(n, |i| (4 * i + 4, 4 * i + 3))
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for rotation in rotations {
        query = query
            .bind(&rotation.new_hash)
            .bind(&rotation.grant_id)
            .bind(rotation.now)
            .bind(&rotation.old_hash);
    }
    match query.fetch_all(&mut **conn).await {
        Ok(rows) => rows
            .iter()
            .map(|row| row.try_get("token_hash"))
            .collect::<Result<_, _>>()
            // Rows come back only once every statement ran, COMMIT included.
            .map_err(Failure::AtCommit),
        // A transaction still open was not committed. Without one, the failure may have been
        // the COMMIT's (or a `BEGIN IMMEDIATE` that timed out: then nothing was written, but
        // telling the callers of an error is safe either way, and retrying is not).
        Err(error) => match conn.execute("ROLLBACK").await {
            Ok(_) => Err(Failure::Before(error)),
            Err(_) => Err(Failure::AtCommit(error)),
        },
    }
}

/// PostgreSQL: replicas may race on one token, so the `UPDATE` decides first (its row lock makes
/// the second wait and then find the token used) and only the winners' successors are stored.
async fn commit_postgres(
    conn: &mut PoolConnection<Any>,
    rotations: &[&Rotation],
) -> Result<HashSet<String>, Failure> {
    let mut tx = conn.begin().await.map_err(Failure::Before)?;
    let mut query = sqlx::query(AssertSqlSafe(mark_used_sql(rotations.len(), |i| {
        (2 * i + 1, 2 * i + 2)
    })));
    for rotation in rotations {
        query = query.bind(&rotation.old_hash).bind(rotation.now);
    }
    let marked: HashSet<String> = query
        .fetch_all(&mut *tx)
        .await
        .map_err(Failure::Before)?
        .iter()
        .map(|row| row.try_get("token_hash"))
        .collect::<Result<_, _>>()
        .map_err(Failure::Before)?;
    let winners: Vec<&&Rotation> = rotations
        .iter()
        .filter(|rotation| marked.contains(&rotation.old_hash))
        .collect();
    if !winners.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(insert_sql(winners.len())));
        for rotation in winners {
            query = query
                .bind(&rotation.new_hash)
                .bind(&rotation.grant_id)
                .bind(rotation.now);
        }
        query.execute(&mut *tx).await.map_err(Failure::Before)?;
    }
    tx.commit().await.map_err(Failure::AtCommit)?;
    Ok(marked)
}

/// `UPDATE` marking `n` tokens used, each at its own time, returning those it marked (the ones
/// not used before); `values(i)` numbers rotation `i`'s hash and time.
fn mark_used_sql(n: usize, values: impl Fn(usize) -> (usize, usize)) -> String {
    let mut cases = String::new();
    let mut hashes = Vec::with_capacity(n);
    for i in 0..n {
        let (hash, now) = values(i);
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

/// `INSERT` of the successors of those of `n` tokens that are still unused. Rotation `i` binds
/// `$4i+1` (new hash), `$4i+2` (grant), `$4i+3` (time) and `$4i+4` (old hash).
fn insert_unused_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "(${}, ${}, ${}, ${})",
                4 * i + 1,
                4 * i + 2,
                4 * i + 3,
                4 * i + 4
            )
        })
        .collect();
    format!(
        "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) \
         SELECT v.column1, v.column2, v.column3 FROM (VALUES {}) AS v \
         JOIN oauth_refresh_tokens t ON t.token_hash = v.column4 AND t.used_at IS NULL",
        rows.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_their_values_in_order() {
        assert_eq!(
            mark_used_sql(2, |i| (2 * i + 1, 2 * i + 2)),
            "UPDATE oauth_refresh_tokens SET used_at = CASE token_hash WHEN $1 THEN $2 WHEN $3 THEN $4 END \
             WHERE used_at IS NULL AND token_hash IN ($1, $3) RETURNING token_hash"
        );
        assert_eq!(
            insert_unused_sql(2),
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) \
             SELECT v.column1, v.column2, v.column3 FROM (VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)) AS v \
             JOIN oauth_refresh_tokens t ON t.token_hash = v.column4 AND t.used_at IS NULL"
        );
        assert_eq!(
            insert_sql(2),
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }
}
