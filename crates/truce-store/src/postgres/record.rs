//! The rest of a service's record beside the log, in the same database: the entry journal
//! ([`PgJournal`], table `log_journal`) and the bodies the log commits to by hash
//! ([`PgBlobs`], table `log_blobs`), so that an instance keeps nothing of its record in its
//! data directory. Migration `0004_record.sql` makes the tables.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::mpsc;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use truce_log::{BlobBackend, BlobCheck, BlobError, BlobHash};

use super::log::{Fence, PgLogError, check_fence};

/// The entry journal's lines in the database: per log index, the text the service wrote
/// for it (this crate does not look inside), in the order written.
///
/// Made by [`SequencerLease::journal`](crate::SequencerLease::journal) for the sequencer,
/// whose appends are fenced by its lease exactly as its tile writes are (a former leader
/// cannot add a line once another instance holds the lease), or by
/// [`PgLog::journal_reader`](crate::PgLog::journal_reader) for reading only. Clones share
/// the connections.
#[derive(Debug, Clone)]
pub struct PgJournal {
    pool: PgPool,
    fence: Option<Fence>,
}

impl PgJournal {
    pub(super) fn new(pool: PgPool, fence: Option<Fence>) -> Self {
        PgJournal { pool, fence }
    }

    /// Appends `lines` (log index, text) in one transaction, durable when it returns `Ok`.
    /// Fails with [`PgLogError::Fenced`] (nothing written) once the lease this journal was
    /// made under is lost, and with [`PgLogError::ReadOnly`] for a reader.
    pub async fn append(&self, lines: &[(u64, String)]) -> Result<(), PgLogError> {
        let fence = self.fence.as_ref().ok_or(PgLogError::ReadOnly {
            operation: "append to the journal",
        })?;
        if lines.is_empty() {
            return Ok(());
        }
        let mut indexes = Vec::with_capacity(lines.len());
        for (index, _) in lines {
            indexes.push(i64::try_from(*index).map_err(|_| PgLogError::Corrupt {
                field: "log_journal.log_index",
                value: index.to_string(),
            })?);
        }
        let texts: Vec<&str> = lines.iter().map(|(_, text)| text.as_str()).collect();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(PgLogError::database("starting a journal append"))?;
        check_fence(&mut tx, fence).await?;
        // WITH ORDINALITY keeps the lines' order in their sequence numbers.
        sqlx::query(
            "INSERT INTO log_journal (log_index, line) \
             SELECT log_index, line FROM UNNEST($1::bigint[], $2::text[]) \
                 WITH ORDINALITY AS lines (log_index, line, position) \
             ORDER BY position",
        )
        .bind(&indexes)
        .bind(&texts)
        .execute(&mut *tx)
        .await
        .map_err(PgLogError::database("appending to the journal"))?;
        tx.commit()
            .await
            .map_err(PgLogError::database("committing journal lines"))
    }

    /// The lines for log indexes `from` and later, by index and then in the order written.
    pub async fn since(&self, from: u64) -> Result<Vec<(u64, String)>, PgLogError> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT log_index, line FROM log_journal WHERE log_index >= $1 \
             ORDER BY log_index, seq",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await
        .map_err(PgLogError::database("reading the journal"))?;
        rows.into_iter()
            .map(|(index, line)| {
                let index = u64::try_from(index).map_err(|_| PgLogError::Corrupt {
                    field: "log_journal.log_index",
                    value: index.to_string(),
                })?;
                Ok((index, line))
            })
            .collect()
    }
}

/// How many bodies [`PgBlobs`] reads at a time when it checks them all.
const VERIFY_PAGE: i64 = 256;

/// Stored bodies with their hashes.
type Bodies = Vec<(BlobHash, Vec<u8>)>;

/// What the connection thread of [`PgBlobs`] is asked to do.
enum Request {
    Put {
        bodies: Bodies,
        reply: mpsc::SyncSender<Result<(), PgLogError>>,
    },
    Get {
        hash: BlobHash,
        reply: mpsc::SyncSender<Result<Option<Vec<u8>>, PgLogError>>,
    },
    /// Bodies in hash order after `after`, a page at a time.
    Page {
        after: Option<BlobHash>,
        reply: mpsc::SyncSender<Result<Bodies, PgLogError>>,
    },
}

/// A [`BlobBackend`] over the `log_blobs` table: report texts, agreement files and reasons
/// kept in the database (wrap it with `truce_log::BlobStore::with_backend`). A body is
/// stored once under its hash; a store of bodies is one durable transaction.
///
/// The blob store's interface is synchronous and is also called from asynchronous code, so
/// the connections live on a thread of their own with a runtime of its own, and each call
/// waits for that thread's answer: no call ever blocks a runtime from inside. The thread
/// ends when the last handle is dropped.
#[derive(Debug)]
pub struct PgBlobs {
    requests: mpsc::Sender<Request>,
}

impl PgBlobs {
    /// Connects to the database at `url` (whose schema is already up to date, e.g. by
    /// [`PgStore::connect`](crate::PgStore::connect)) on a thread of its own.
    pub async fn connect(url: &str) -> Result<PgBlobs, PgLogError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(PgLogError::database("reading the PostgreSQL URL"))?;
        let (requests, queue) = mpsc::channel::<Request>();
        let (ready, started) = mpsc::sync_channel::<Result<(), PgLogError>>(1);
        std::thread::Builder::new()
            .name("truce-pg-blobs".into())
            .spawn(move || serve(options, queue, ready))
            .map_err(|error| PgLogError::Thread(error.to_string()))?;
        let started = tokio::task::spawn_blocking(move || started.recv())
            .await
            .map_err(|error| PgLogError::Thread(error.to_string()))?;
        match started {
            Ok(Ok(())) => Ok(PgBlobs { requests }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(PgLogError::Thread(
                "the blob connection thread ended while starting".into(),
            )),
        }
    }

    /// Sends a request and waits for its answer.
    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::SyncSender<Result<T, PgLogError>>) -> Request,
    ) -> Result<T, BlobError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let gone = || {
            self.error(PgLogError::Thread(
                "the blob connection thread ended".into(),
            ))
        };
        self.requests.send(make(reply)).map_err(|_| gone())?;
        answer
            .recv()
            .map_err(|_| gone())?
            .map_err(|error| self.error(error))
    }

    fn error(&self, error: PgLogError) -> BlobError {
        BlobError::Backend {
            backend: self.describe(),
            source: Box::new(error),
        }
    }
}

/// The connection thread: a runtime of its own, a small pool, one request at a time.
fn serve(
    options: PgConnectOptions,
    queue: mpsc::Receiver<Request>,
    ready: mpsc::SyncSender<Result<(), PgLogError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(PgLogError::Thread(error.to_string())));
            return;
        }
    };
    let pool = runtime.block_on(
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options),
    );
    let pool = match pool {
        Ok(pool) => pool,
        Err(error) => {
            let _ = ready.send(Err(PgLogError::Database {
                operation: "connecting for the blob store",
                source: error,
            }));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        runtime.block_on(pool.close());
        return;
    }
    for request in queue {
        // A caller that went away needs no answer.
        match request {
            Request::Put { bodies, reply } => {
                let _ = reply.send(runtime.block_on(put(&pool, bodies)));
            }
            Request::Get { hash, reply } => {
                let _ = reply.send(runtime.block_on(get(&pool, &hash)));
            }
            Request::Page { after, reply } => {
                let _ = reply.send(runtime.block_on(page(&pool, after)));
            }
        }
    }
    runtime.block_on(pool.close());
}

async fn put(pool: &PgPool, bodies: Bodies) -> Result<(), PgLogError> {
    // One row per hash (a statement may not meet its own row twice).
    let unique: BTreeMap<BlobHash, Vec<u8>> = bodies.into_iter().collect();
    let (hashes, bodies): (Vec<Vec<u8>>, Vec<Vec<u8>>) = unique
        .into_iter()
        .map(|(hash, body)| (hash.to_vec(), body))
        .unzip();
    let mut tx = pool
        .begin()
        .await
        .map_err(PgLogError::database("starting to store bodies"))?;
    sqlx::query("SET LOCAL synchronous_commit TO on")
        .execute(&mut *tx)
        .await
        .map_err(PgLogError::database("asking for a durable commit"))?;
    sqlx::query(
        "INSERT INTO log_blobs (hash, body) \
         SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) \
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&hashes)
    .bind(&bodies)
    .execute(&mut *tx)
    .await
    .map_err(PgLogError::database("storing bodies"))?;
    tx.commit()
        .await
        .map_err(PgLogError::database("committing bodies"))
}

async fn get(pool: &PgPool, hash: &BlobHash) -> Result<Option<Vec<u8>>, PgLogError> {
    sqlx::query_scalar("SELECT body FROM log_blobs WHERE hash = $1")
        .bind(hash.as_slice())
        .fetch_optional(pool)
        .await
        .map_err(PgLogError::database("reading a body"))
}

async fn page(pool: &PgPool, after: Option<BlobHash>) -> Result<Bodies, PgLogError> {
    let after = after.map_or_else(Vec::new, |hash| hash.to_vec());
    let rows: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT hash, body FROM log_blobs WHERE hash > $1 ORDER BY hash LIMIT $2")
            .bind(&after)
            .bind(VERIFY_PAGE)
            .fetch_all(pool)
            .await
            .map_err(PgLogError::database("reading bodies"))?;
    rows.into_iter()
        .map(|(hash, body)| {
            let hash = BlobHash::try_from(hash.as_slice()).map_err(|_| PgLogError::Corrupt {
                field: "log_blobs.hash",
                value: format!("{} bytes", hash.len()),
            })?;
            Ok((hash, body))
        })
        .collect()
}

impl BlobBackend for PgBlobs {
    fn describe(&self) -> String {
        "PostgreSQL table log_blobs".into()
    }

    fn put_many(&self, bodies: &[(BlobHash, &[u8])]) -> Result<(), BlobError> {
        let bodies = bodies
            .iter()
            .map(|(hash, body)| (*hash, body.to_vec()))
            .collect();
        self.ask(|reply| Request::Put { bodies, reply })
    }

    fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let hash = *hash;
        self.ask(|reply| Request::Get { hash, reply })
    }

    fn for_each(&self, check: &mut BlobCheck<'_>) -> Result<u64, BlobError> {
        let mut after = None;
        let mut count = 0;
        loop {
            let rows = self.ask(|reply| Request::Page { after, reply })?;
            let Some((last, _)) = rows.last() else {
                return Ok(count);
            };
            after = Some(*last);
            for (hash, body) in &rows {
                check(hash, body)?;
                count += 1;
            }
        }
    }
}
