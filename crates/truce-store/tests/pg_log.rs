//! The Merkle log in PostgreSQL: a log appended through `truce_log::Log`
//! over a `PgTileStore` holds byte for byte what the same appends leave in a
//! `MemoryTileStore`; the sequencer lease has one holder at a time, and a
//! former holder's writes are refused once another took over; a crash
//! between staging and publishing a checkpoint leaves the previous one
//! published and the log reopenable. The journal table is fenced like the
//! tiles, and the blob table keeps bodies by hash, checked on the way back.
//!
//! Each test runs on a fresh database (see `common::pg`) and is skipped,
//! with a notice, when no server is configured. The stores block on the
//! runtime, so the log's calls run on `spawn_blocking` threads of a
//! multi-thread runtime.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pg::TestDb;
use tokio::runtime::Handle;
use truce_log::{
    BlobError, BlobStore, Log, LogError, MemoryTileStore, TileKey, TilePath, TileStore, TileWrite,
};
use truce_note::{KeyName, NoteSigner};
use truce_store::{PgBlobs, PgLog, PgLogError, SequencerLease};

const ORIGIN: &str = "example.org/truce-pg-log";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[7; 32])
}

/// splitmix64, for entry lengths.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `len` entries of batch `tag` from index `first`: different bytes for
/// every tag, so a log holding another batch's entries shows.
fn entries(tag: &str, first: u64, len: u64) -> Vec<Vec<u8>> {
    (first..first + len)
        .map(|index| {
            let mut bytes = format!("{tag} {index} ").into_bytes();
            let len = bytes.len() + (mix(index) % 40) as usize;
            bytes.resize(len, b'a' + (index % 26) as u8);
            bytes
        })
        .collect()
}

/// Runs `work` on a blocking thread, where the stores may block.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

/// A lease for `holder` that must be granted.
async fn take_lease(log: &PgLog, holder: &str, ttl: Duration) -> SequencerLease {
    SequencerLease::acquire(log, holder, ttl)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{holder} did not get the lease"))
}

/// Every tile and bundle in the database, by path.
async fn stored_tiles(db: &TestDb) -> BTreeMap<String, Vec<u8>> {
    let mut conn = db.connection().await;
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT path, data FROM log_tiles")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// The published and staged checkpoints in the database.
async fn stored_checkpoints(db: &TestDb) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut conn = db.connection().await;
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT kind, note FROM log_checkpoints")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut published = None;
    let mut staged = None;
    for (kind, note) in rows {
        match kind.as_str() {
            "published" => published = Some(note),
            "staged" => staged = Some(note),
            other => panic!("unexpected checkpoint row {other:?}"),
        }
    }
    (published, staged)
}

/// The tiles of a memory store, by path.
fn memory_tiles(store: &MemoryTileStore) -> BTreeMap<String, Vec<u8>> {
    store
        .tiles
        .iter()
        .map(|(path, data)| (path.to_string(), data.clone()))
        .collect()
}

/// Asserts that the database holds exactly what `reference` holds: the same
/// tiles, the same published checkpoint, nothing staged.
async fn assert_same_as(db: &TestDb, reference: &MemoryTileStore, context: &str) {
    let tiles = stored_tiles(db).await;
    let expected = memory_tiles(reference);
    assert_eq!(
        tiles.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{context}: tile paths differ"
    );
    assert!(tiles == expected, "{context}: tile bytes differ");
    let (published, staged) = stored_checkpoints(db).await;
    assert_eq!(published, reference.checkpoint, "{context}: checkpoint");
    assert_eq!(staged, None, "{context}: a checkpoint is left staged");
}

/// The reference: the same batches appended over memory.
fn reference(batches: &[Vec<Vec<u8>>]) -> Log<MemoryTileStore> {
    let mut log = Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap();
    for batch in batches {
        log.append_batch(batch).unwrap();
    }
    log
}

/// The `PgLogError` inside a log's store error, if that is what it is.
fn pg_error(error: &LogError) -> Option<&PgLogError> {
    match error {
        LogError::Store { source, .. } => source.downcast_ref::<PgLogError>().or_else(|| {
            match source.downcast_ref::<CrashError>() {
                Some(CrashError::Store(inner)) => inner.downcast_ref::<PgLogError>(),
                _ => None,
            }
        }),
        _ => None,
    }
}

fn is_fenced<T: std::fmt::Debug>(result: Result<T, PgLogError>) -> bool {
    matches!(result, Err(PgLogError::Fenced { .. }))
}

// ---------------------------------------------------------------- byte for byte

/// Batch sizes that make partial tiles grow, become full at 256 entries
/// (level 0) and at 65,536 entries (level 1), and start again.
const SIZES: [u64; 10] = [1, 4, 251, 1, 300, 254, 1000, 63_725, 5, 300];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_over_postgres_holds_what_a_log_in_memory_holds() {
    let Some(db) = TestDb::create("pg_log_identical").await else {
        return;
    };
    let log_db = PgLog::from_store(&db.store);
    let lease = take_lease(&log_db, "instance-a", Duration::from_secs(600)).await;
    let store = lease.tile_store(Handle::current());
    let (mut pg, mut memory) = blocking(move || {
        (
            Log::with_store(store, signer(), ORIGIN).unwrap(),
            Log::with_store(MemoryTileStore::new(), signer(), ORIGIN).unwrap(),
        )
    })
    .await;
    assert_same_as(&db, memory.store(), "empty log").await;

    let mut all = Vec::new();
    for (number, size) in SIZES.into_iter().enumerate() {
        let batch = entries(&format!("batch{number}"), pg.size(), size);
        all.extend(batch.iter().cloned());
        (pg, memory) = blocking(move || {
            let at_pg = pg.append_batch(&batch).unwrap();
            let at_memory = memory.append_batch(&batch).unwrap();
            assert_eq!(at_pg, at_memory);
            (pg, memory)
        })
        .await;
        assert_eq!(pg.root(), memory.root());
        assert_eq!(
            pg.checkpoint_note().to_bytes(),
            memory.checkpoint_note().to_bytes()
        );
        assert_same_as(&db, memory.store(), &format!("after batch {number}")).await;
    }
    let total: u64 = SIZES.iter().sum();
    assert_eq!(pg.size(), total);

    // Another handle, with connections of its own, reopens the log (the
    // holder's live lease is renewed, not a new term) and goes on.
    drop(pg);
    let other = PgLog::connect(db.url()).await.unwrap();
    let again = take_lease(&other, "instance-a", Duration::from_secs(600)).await;
    assert_eq!(again.token(), lease.token());
    let store = again.tile_store(Handle::current());
    let expected = all.clone();
    let (pg, memory) = blocking(move || {
        let mut pg = Log::with_store(store, signer(), ORIGIN).unwrap();
        assert_eq!(pg.size(), total);
        assert_eq!(pg.root(), memory.root());
        assert_eq!(pg.entries(0, total).unwrap(), expected);
        let batch = entries("reopened", total, 300);
        pg.append_batch(&batch).unwrap();
        let mut memory = memory;
        memory.append_batch(&batch).unwrap();
        (pg, memory)
    })
    .await;
    assert_eq!(pg.root(), memory.root());
    assert_same_as(&db, memory.store(), "after reopening").await;

    // A reader without a lease opens the same log and reads the same
    // entries and proofs, and may not write.
    let size = pg.size();
    let mut reader = other.reader(Handle::current());
    let (reader, ok) = blocking(move || {
        let read = Log::with_store(reader.clone(), signer(), ORIGIN).unwrap();
        let ok = read.size() == size
            && read.root() == pg.root()
            && read.entries(size - 300, size).unwrap() == pg.entries(size - 300, size).unwrap()
            && read.inclusion_proof(12_345, size).unwrap()
                == pg.inclusion_proof(12_345, size).unwrap();
        let write = reader.write_tiles(&[TileWrite {
            path: TilePath::full(TileKey::Entries { index: 999 }),
            data: b"x".to_vec(),
        }]);
        assert!(
            matches!(write, Err(PgLogError::ReadOnly { .. })),
            "{write:?}"
        );
        assert!(matches!(
            reader.publish_checkpoint(),
            Err(PgLogError::ReadOnly { .. })
        ));
        assert!(matches!(
            reader.stage_checkpoint(b"note"),
            Err(PgLogError::ReadOnly { .. })
        ));
        (reader, ok)
    })
    .await;
    assert!(ok, "the reader's log differs from the writer's");
    assert_eq!(reader.token(), None);
    assert_same_as(&db, memory.store(), "after the reader").await;
    other.close().await;
}

// ---------------------------------------------------------------- fencing

/// Where [`Crashing`] stops, as a process dying there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrashAt {
    /// After the tiles are written, before the checkpoint is staged.
    Stage,
    /// After the checkpoint is staged, before it is published.
    Publish,
}

#[derive(Debug, thiserror::Error)]
enum CrashError {
    #[error(transparent)]
    Store(Box<dyn std::error::Error + Send + Sync>),
    #[error("simulated crash before {0:?}")]
    Crashed(CrashAt),
}

/// A tile store that fails, writing nothing, at one step of the commit.
#[derive(Debug)]
struct Crashing<S> {
    inner: S,
    at: CrashAt,
}

fn inner<T, E: std::error::Error + Send + Sync + 'static>(
    result: Result<T, E>,
) -> Result<T, CrashError> {
    result.map_err(|error| CrashError::Store(Box::new(error)))
}

impl<S: TileStore> TileStore for Crashing<S> {
    type Error = CrashError;

    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        inner(self.inner.read_tile(path))
    }

    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error> {
        inner(self.inner.write_tiles(tiles))
    }

    fn delete_partials(
        &mut self,
        key: TileKey,
        widths: std::ops::Range<u16>,
    ) -> Result<(), Self::Error> {
        inner(self.inner.delete_partials(key, widths))
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        inner(self.inner.has_no_tiles())
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        inner(self.inner.read_checkpoint())
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        inner(self.inner.read_staged_checkpoint())
    }

    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error> {
        if self.at == CrashAt::Stage {
            return Err(CrashError::Crashed(CrashAt::Stage));
        }
        inner(self.inner.stage_checkpoint(note))
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        if self.at == CrashAt::Publish {
            return Err(CrashError::Crashed(CrashAt::Publish));
        }
        inner(self.inner.publish_checkpoint())
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        inner(self.inner.discard_staged_checkpoint())
    }
}

/// Appends `batch` to a log over `store` that crashes at `at`, and gives
/// the store back as the crash left it.
fn append_and_crash<S: TileStore>(store: S, batch: &[Vec<u8>], at: CrashAt) -> S {
    let mut log = Log::with_store(Crashing { inner: store, at }, signer(), ORIGIN).unwrap();
    let error = log.append_batch(batch).unwrap_err();
    assert!(
        matches!(
            &error,
            LogError::Store { source, .. }
                if matches!(source.downcast_ref::<CrashError>(), Some(CrashError::Crashed(step)) if *step == at)
        ),
        "{error}"
    );
    log.into_store().inner
}

/// A leader pauses between staging and publishing, its lease expires and
/// another instance takes over: the former leader's every write is refused
/// from then on, even with its checkpoint still staged, and the log holds
/// exactly what the new leader made of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_former_leader_is_fenced() {
    let Some(db) = TestDb::create("pg_log_fenced").await else {
        return;
    };
    let log_a = PgLog::from_store(&db.store);
    let log_b = PgLog::connect(db.url()).await.unwrap();
    let short = Duration::from_millis(400);
    let mut lease_a = take_lease(&log_a, "instance-a", short).await;
    assert!(
        SequencerLease::acquire(&log_b, "instance-b", short)
            .await
            .unwrap()
            .is_none(),
        "two holders at once"
    );
    let state = log_b.sequencer().await.unwrap();
    assert_eq!(state.holder.as_deref(), Some("instance-a"));
    assert_eq!(state.token, lease_a.token());
    assert!(state.is_held());

    // A appends a batch, then a second one and stops after staging its
    // checkpoint: it is paused there.
    let first = entries("a-first", 0, 300);
    let paused = entries("a-paused", 300, 20);
    let store_a = lease_a.tile_store(Handle::current());
    let (first_c, paused_c) = (first.clone(), paused.clone());
    let mut raw_a = blocking(move || {
        let mut log = Log::with_store(store_a, signer(), ORIGIN).unwrap();
        log.append_batch(&first_c).unwrap();
        append_and_crash(log.into_store(), &paused_c, CrashAt::Publish)
    })
    .await;
    let with_paused = reference(&[first.clone(), paused.clone()]);
    let (published, staged) = stored_checkpoints(&db).await;
    assert_eq!(
        published,
        reference(std::slice::from_ref(&first)).store().checkpoint
    );
    assert_eq!(staged, with_paused.store().checkpoint);

    // A's lease runs out; B takes over with a larger token.
    tokio::time::sleep(short + Duration::from_millis(300)).await;
    assert!(!log_b.sequencer().await.unwrap().is_held());
    let lease_b = take_lease(&log_b, "instance-b", Duration::from_secs(600)).await;
    assert!(lease_b.token() > lease_a.token());

    // A wakes up: publishing its staged checkpoint, writing tiles, staging,
    // discarding and deleting are all refused, and nothing changes.
    let tiles_before = stored_tiles(&db).await;
    let checkpoints_before = stored_checkpoints(&db).await;
    let stray = TilePath::full(TileKey::Entries { index: 77 });
    let raw_a = blocking(move || {
        assert!(is_fenced(raw_a.publish_checkpoint()));
        let written = raw_a.write_tiles(&[TileWrite {
            path: stray,
            data: b"stale".to_vec(),
        }]);
        match &written {
            Err(PgLogError::Fenced {
                holder,
                current_holder,
                ..
            }) => {
                assert_eq!(holder, "instance-a");
                assert_eq!(current_holder.as_deref(), Some("instance-b"));
            }
            other => panic!("write by the former leader: {other:?}"),
        }
        assert!(written.unwrap_err().to_string().starts_with("fenced:"));
        assert!(is_fenced(raw_a.stage_checkpoint(b"stale note")));
        assert!(is_fenced(raw_a.discard_staged_checkpoint()));
        assert!(is_fenced(
            raw_a.delete_partials(TileKey::Entries { index: 1 }, 1..256)
        ));
        raw_a
    })
    .await;
    assert_eq!(stored_tiles(&db).await, tiles_before);
    assert_eq!(stored_checkpoints(&db).await, checkpoints_before);
    assert!(matches!(
        lease_a.renew().await,
        Err(PgLogError::Fenced { .. })
    ));

    // B opens the log after taking the lease: its recovery publishes A's
    // staged checkpoint (its tiles were durable before it was staged, and
    // it may have been seen). B appends; A, opening the log again and
    // appending, is refused.
    let store_b = lease_b.tile_store(Handle::current());
    let second = entries("b-second", 320, 500);
    let second_c = second.clone();
    let (log_b_view, refused) = blocking(move || {
        let mut log = Log::with_store(store_b, signer(), ORIGIN).unwrap();
        assert_eq!(log.size(), 320);
        log.append_batch(&second_c).unwrap();
        let refused = match Log::with_store(raw_a, signer(), ORIGIN) {
            Ok(mut stale) => stale.append_batch(&entries("a-late", 820, 3)).unwrap_err(),
            Err(error) => error,
        };
        (log, refused)
    })
    .await;
    assert!(
        matches!(pg_error(&refused), Some(PgLogError::Fenced { .. })),
        "{refused}"
    );
    let expected = reference(&[first, paused, second]);
    assert_eq!(log_b_view.root(), expected.root());
    assert_same_as(&db, expected.store(), "after the takeover").await;
    assert!(!lease_a.release().await.unwrap(), "A released B's lease");
    log_b.close().await;
}

// ---------------------------------------------------------------- lease rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_terms_and_tokens() {
    let Some(db) = TestDb::create("pg_log_lease").await else {
        return;
    };
    let log = PgLog::from_store(&db.store);
    let fresh = log.sequencer().await.unwrap();
    assert_eq!((fresh.holder, fresh.token), (None, 0));
    assert!(matches!(
        SequencerLease::acquire(&log, "", Duration::from_secs(1)).await,
        Err(PgLogError::EmptyHolder)
    ));
    for ttl in [Duration::ZERO, Duration::from_secs(25 * 3600)] {
        assert!(matches!(
            SequencerLease::acquire(&log, "x", ttl).await,
            Err(PgLogError::InvalidTtl { .. })
        ));
    }
    let long = Duration::from_secs(600);

    // Acquiring one's own live lease again is a renewal: same term.
    let mut first = take_lease(&log, "a", long).await;
    assert_eq!(first.token(), 1);
    assert_eq!(take_lease(&log, "a", long).await.token(), 1);
    first.renew().await.unwrap();
    let state = log.sequencer().await.unwrap();
    assert!(state.remaining > Duration::from_secs(590), "{state:?}");
    assert!(first.valid_until() > Instant::now());

    // Released: anyone takes it at once, in a new term, and the released
    // term's store may not write.
    let store = first.tile_store(Handle::current());
    assert!(first.release().await.unwrap());
    assert_eq!(log.sequencer().await.unwrap().holder, None);
    let second = take_lease(&log, "b", long).await;
    assert_eq!(second.token(), 2);
    let mut store = store;
    let store = blocking(move || {
        assert!(is_fenced(store.stage_checkpoint(b"note")));
        store
    })
    .await;
    assert_eq!(store.token(), Some(1));

    // Expired: the same holder acquiring again starts a new term too.
    assert!(second.release().await.unwrap());
    let short = take_lease(&log, "c", Duration::from_millis(100)).await;
    assert_eq!(short.token(), 3);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = take_lease(&log, "c", long).await;
    assert_eq!(again.token(), 4);
    // The expired lease object is of the old term and is fenced.
    let mut short = short;
    assert!(matches!(
        short.renew().await,
        Err(PgLogError::Fenced {
            current_token: 4,
            ..
        })
    ));
    assert!(
        SequencerLease::acquire(&log, "d", long)
            .await
            .unwrap()
            .is_none()
    );
    // An expired lease nobody took is still its term's: renewing keeps it.
    let mut lapsed = take_lease(&log, "c", Duration::from_millis(100)).await;
    assert_eq!(lapsed.token(), 4);
    tokio::time::sleep(Duration::from_millis(250)).await;
    lapsed.renew().await.unwrap();
    assert_eq!(log.sequencer().await.unwrap().token, 4);
}

// ---------------------------------------------------------------- concurrency

/// Instances on connections of their own race for a free lease, round after
/// round: exactly one wins each round, with the next token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_instances_get_one_lease() {
    let Some(db) = TestDb::create("pg_log_race").await else {
        return;
    };
    const INSTANCES: usize = 6;
    let mut handles = Vec::new();
    for _ in 0..INSTANCES {
        handles.push(PgLog::connect(db.url()).await.unwrap());
    }
    for round in 1..=10u64 {
        let barrier = Arc::new(tokio::sync::Barrier::new(INSTANCES));
        let tasks: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(who, log)| {
                let log = log.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    SequencerLease::acquire(&log, &format!("i{who}"), Duration::from_secs(600))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            if let Some(won) = task.await.unwrap() {
                winners.push(won);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let winner = winners.pop().unwrap();
        assert_eq!(winner.token(), round);
        let state = handles[0].sequencer().await.unwrap();
        assert_eq!(state.holder.as_deref(), Some(winner.holder()));
        assert!(winner.release().await.unwrap());
    }
    for log in &handles {
        log.close().await;
    }
}

/// A leader writes in a loop while another instance takes the lease over:
/// every write that was acknowledged is in the database, none that came
/// after the takeover is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_racing_a_takeover_stop_at_it() {
    let Some(db) = TestDb::create("pg_log_race_writes").await else {
        return;
    };
    let log_a = PgLog::from_store(&db.store);
    let log_b = PgLog::connect(db.url()).await.unwrap();
    let lease_a = take_lease(&log_a, "a", Duration::from_millis(300)).await;
    let mut store = lease_a.tile_store(Handle::current());
    let path = TilePath::full(TileKey::Entries { index: 0 });
    let writer = tokio::task::spawn_blocking(move || {
        let mut acknowledged = 0u64;
        let give_up = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < give_up, "never fenced");
            let n = acknowledged + 1;
            let written = store.write_tiles(&[TileWrite {
                path,
                data: n.to_be_bytes().to_vec(),
            }]);
            match written {
                Ok(()) => acknowledged = n,
                Err(PgLogError::Fenced { .. }) => return acknowledged,
                Err(other) => panic!("{other}"),
            }
        }
    });
    let lease_b = loop {
        if let Some(lease) = SequencerLease::acquire(&log_b, "b", Duration::from_secs(600))
            .await
            .unwrap()
        {
            break lease;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let acknowledged = writer.await.unwrap();
    assert!(acknowledged > 0, "the leader never wrote");
    let tiles = stored_tiles(&db).await;
    assert_eq!(
        tiles.get(&path.to_string()),
        Some(&acknowledged.to_be_bytes().to_vec())
    );
    assert!(lease_b.token() > lease_a.token());
    log_b.close().await;
}

// ---------------------------------------------------------------- crashes

/// Appends `before`, then `crashed` with a crash at `at`; the store as the
/// crash left it.
fn until_crash<S: TileStore>(store: S, before: &[Vec<u8>], crashed: &[Vec<u8>], at: CrashAt) -> S {
    let mut log = Log::with_store(store, signer(), ORIGIN).unwrap();
    log.append_batch(before).unwrap();
    append_and_crash(log.into_store(), crashed, at)
}

/// Reopens the log over `store`, checks its size, appends `later`.
fn reopen_and_append<S: TileStore>(store: S, size: u64, later: &[Vec<Vec<u8>>]) -> Log<S> {
    let mut log = Log::with_store(store, signer(), ORIGIN).unwrap();
    assert_eq!(log.size(), size);
    for batch in later {
        log.append_batch(batch).unwrap();
    }
    log
}

/// A crash between staging and publishing: the staged checkpoint is not the
/// published one, the previous checkpoint stays published, and reopening
/// finishes the commit (its tiles were durable before it was staged). The
/// same crash over memory is the reference, since a crash leaves the
/// partial tiles of tiles it made full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_stage_and_publish_keeps_the_previous_checkpoint() {
    let Some(db) = TestDb::create("pg_log_crash_publish").await else {
        return;
    };
    let log_db = PgLog::from_store(&db.store);
    let lease = take_lease(&log_db, "a", Duration::from_secs(600)).await;
    let before = entries("before", 0, 200);
    let crashed = entries("crashed", 200, 100);
    let store = lease.tile_store(Handle::current());
    let (before_c, crashed_c) = (before.clone(), crashed.clone());
    let memory = blocking(move || {
        // Dropped at the end: the process is gone.
        until_crash(store, &before_c, &crashed_c, CrashAt::Publish);
        until_crash(
            MemoryTileStore::new(),
            &before_c,
            &crashed_c,
            CrashAt::Publish,
        )
    })
    .await;

    let published_before = reference(std::slice::from_ref(&before));
    let with_crashed = reference(&[before.clone(), crashed.clone()]);
    assert_eq!(memory.checkpoint, published_before.store().checkpoint);
    let (published, staged) = stored_checkpoints(&db).await;
    assert_eq!(published, published_before.store().checkpoint);
    assert_eq!(staged, with_crashed.store().checkpoint);
    assert_eq!(stored_tiles(&db).await, memory_tiles(&memory));
    // Another instance reading the log sees the previous checkpoint only.
    let other = PgLog::connect(db.url()).await.unwrap();
    let reader = other.reader(Handle::current());
    let (seen, seen_staged) = blocking(move || {
        (
            reader.read_checkpoint().unwrap(),
            reader.read_staged_checkpoint().unwrap(),
        )
    })
    .await;
    assert_eq!(seen, published_before.store().checkpoint);
    assert_eq!(seen_staged, with_crashed.store().checkpoint);

    // Reopened, the log publishes the staged checkpoint and goes on.
    let store = lease.tile_store(Handle::current());
    let later = vec![entries("after", 300, 100)];
    let (log, memory) = blocking(move || {
        (
            reopen_and_append(store, 300, &later),
            reopen_and_append(memory, 300, &later),
        )
    })
    .await;
    assert_eq!(
        memory.root(),
        reference(&[before, crashed, entries("after", 300, 100)]).root()
    );
    assert_eq!(log.root(), memory.root());
    assert_same_as(&db, memory.store(), "after recovery").await;
    other.close().await;
}

/// A crash after the tiles were written but before the checkpoint was
/// staged: the previous checkpoint is the log's, the stray tiles are
/// ignored and later overwritten or deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_staging_leaves_the_log_as_it_was() {
    let Some(db) = TestDb::create("pg_log_crash_stage").await else {
        return;
    };
    let log_db = PgLog::from_store(&db.store);
    let lease = take_lease(&log_db, "a", Duration::from_secs(600)).await;
    let before = entries("before", 0, 100);
    let store = lease.tile_store(Handle::current());
    let before_c = before.clone();
    let memory = blocking(move || {
        let lost = entries("lost", 100, 50);
        until_crash(store, &before_c, &lost, CrashAt::Stage);
        until_crash(MemoryTileStore::new(), &before_c, &lost, CrashAt::Stage)
    })
    .await;
    let previous = reference(std::slice::from_ref(&before));
    assert_eq!(
        stored_checkpoints(&db).await,
        (previous.store().checkpoint.clone(), None)
    );
    let tiles = stored_tiles(&db).await;
    assert!(tiles.contains_key("tile/entries/000.p/150"));
    assert_eq!(tiles, memory_tiles(&memory));

    // Reopened: the size before the crash; the next batches go over the
    // stray tiles and leave what a log that never saw them holds.
    let store = lease.tile_store(Handle::current());
    let later = vec![entries("later", 100, 10), entries("later", 110, 400)];
    let later_c = later.clone();
    let (log, memory) = blocking(move || {
        (
            reopen_and_append(store, 100, &later_c),
            reopen_and_append(memory, 100, &later_c),
        )
    })
    .await;
    let mut batches = vec![before];
    batches.extend(later);
    let expected = reference(&batches);
    assert_eq!(log.root(), expected.root());
    assert_eq!(memory_tiles(memory.store()), memory_tiles(expected.store()));
    assert_same_as(&db, expected.store(), "after recovery").await;
}

// ---------------------------------------------------------------- journal and bodies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_lines_are_fenced_and_read_back_in_order() {
    let Some(db) = TestDb::create("pg_log_journal").await else {
        return;
    };
    let log = PgLog::from_store(&db.store);
    let reader = log.journal_reader();
    assert!(matches!(
        reader.append(&[(0, "x".into())]).await,
        Err(PgLogError::ReadOnly { .. })
    ));
    let first = take_lease(&log, "a", Duration::from_millis(300)).await;
    let journal = first.journal();
    journal
        .append(&[(0, "zero".into()), (1, "one".into()), (2, "two".into())])
        .await
        .unwrap();
    // A retried append at the same indexes: its lines come after the first ones.
    journal
        .append(&[(2, "two again".into()), (1, "one again".into())])
        .await
        .unwrap();
    journal.append(&[]).await.unwrap();
    let text = |lines: Vec<(u64, String)>| {
        lines
            .into_iter()
            .map(|(index, line)| format!("{index}:{line}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(reader.since(0).await.unwrap()),
        ["0:zero", "1:one", "1:one again", "2:two", "2:two again"]
    );
    assert_eq!(
        text(reader.since(2).await.unwrap()),
        ["2:two", "2:two again"]
    );
    assert!(reader.since(3).await.unwrap().is_empty());

    // Once another instance holds the lease, the former holder adds nothing.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = take_lease(&log, "b", Duration::from_secs(600)).await;
    assert!(is_fenced(journal.append(&[(3, "late".into())]).await));
    second
        .journal()
        .append(&[(3, "three".into())])
        .await
        .unwrap();
    assert_eq!(text(reader.since(3).await.unwrap()), ["3:three"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_kept_by_hash_and_checked_when_read() {
    let Some(db) = TestDb::create("pg_log_blobs").await else {
        return;
    };
    let backend = Arc::new(PgBlobs::connect(db.url()).await.unwrap());
    let blobs = BlobStore::with_backend(backend);
    // The store is called from asynchronous code too (no runtime is blocked).
    let hashes = blobs
        .put_many(&[b"first text".as_slice(), b"second", b"first text"])
        .unwrap();
    assert_eq!(hashes[0], hashes[2]);
    assert_eq!(blobs.get(&hashes[1]).unwrap().unwrap(), b"second");
    assert_eq!(blobs.get(&[0; 32]).unwrap(), None);
    let many: Vec<Vec<u8>> = (0..600).map(|n| format!("body {n}").into_bytes()).collect();
    let from_thread = blobs.clone();
    let stored = blocking(move || from_thread.put_many(&many).unwrap()).await;
    assert_eq!(stored.len(), 600);
    // Another handle (another instance) reads them.
    let other = BlobStore::with_backend(Arc::new(PgBlobs::connect(db.url()).await.unwrap()));
    assert_eq!(other.get(&stored[599]).unwrap().unwrap(), b"body 599");
    assert_eq!(other.verify().unwrap(), 602);

    // A body changed in the database is an error, never data.
    let mut conn = db.connection().await;
    sqlx::query("UPDATE log_blobs SET body = 'forged' WHERE hash = $1")
        .bind(hashes[1].as_slice())
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(matches!(
        other.get(&hashes[1]),
        Err(BlobError::BackendDamaged { .. })
    ));
    assert!(other.verify().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_advertises_its_address_for_its_term_only() {
    let Some(db) = TestDb::create("pg_log_address").await else {
        return;
    };
    let log = PgLog::from_store(&db.store);
    assert_eq!(log.sequencer().await.unwrap().address, None);
    let short = Duration::from_millis(300);
    let lease_a = take_lease(&log, "a", short).await;
    lease_a
        .advertise(Some("http://10.0.0.1:8080"))
        .await
        .unwrap();
    let state = log.sequencer().await.unwrap();
    assert_eq!(state.address.as_deref(), Some("http://10.0.0.1:8080"));
    // Renewing a live lease keeps the address.
    let again = take_lease(&log, "a", short).await;
    assert_eq!(again.token(), lease_a.token());
    assert_eq!(
        log.sequencer().await.unwrap().address.as_deref(),
        Some("http://10.0.0.1:8080")
    );
    // A new term starts without one: the old address is not the new holder's.
    tokio::time::sleep(short + Duration::from_millis(100)).await;
    let lease_b = take_lease(&log, "b", short).await;
    let state = log.sequencer().await.unwrap();
    assert_eq!((state.holder.as_deref(), state.address), (Some("b"), None));
    // The former holder can no longer advertise.
    assert!(matches!(
        lease_a.advertise(Some("http://10.0.0.1:8080")).await,
        Err(PgLogError::Fenced { .. })
    ));
    lease_b
        .advertise(Some("http://10.0.0.2:8080"))
        .await
        .unwrap();
    assert!(lease_b.release().await.unwrap());
    let state = log.sequencer().await.unwrap();
    assert_eq!((state.holder, state.address), (None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_reads_what_the_sequencer_publishes_and_writes_nothing() {
    let Some(db) = TestDb::create("pg_log_follow").await else {
        return;
    };
    let log = PgLog::from_store(&db.store);
    let lease = take_lease(&log, "leader", Duration::from_secs(600)).await;
    let store = lease.tile_store(Handle::current());
    let reader = log.reader(Handle::current());
    let first = entries("f", 0, 200);
    let rest = entries("f", 200, 300);
    let (first_c, rest_c) = (first.clone(), rest.clone());
    let (follower_size, grew, all) = blocking(move || {
        let mut leader = Log::with_store(store, signer(), ORIGIN).unwrap();
        leader.append_batch(&first_c).unwrap();
        let mut follower = Log::follow(reader, signer(), ORIGIN).unwrap();
        let size = follower.size();
        leader.append_batch(&rest_c).unwrap();
        // Still at 200, after the first tile was completed and its partial
        // files deleted.
        assert_eq!(follower.entries(0, 200).unwrap(), first_c);
        assert!(matches!(
            follower.append_batch(&[b"no".to_vec()]),
            Err(LogError::Following)
        ));
        let grew = follower.refresh().unwrap();
        assert_eq!(follower.root(), leader.root());
        (size, grew, follower.entries(0, 500).unwrap())
    })
    .await;
    assert_eq!(follower_size, 200);
    assert!(grew);
    let mut expected = first;
    expected.extend(rest);
    assert_eq!(all, expected);
}
