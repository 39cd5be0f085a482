//! Fault injection over the `TileStore`: at every mutating step of the commit
//! order (each tile file, staging the checkpoint, publishing it, each
//! garbage collection), a write that fails without persisting and one that
//! fails after persisting. After each: the same log recovers in place for the
//! next append (itself possibly failing at its first recovery step), then the
//! directory is reopened and checked: every acknowledged entry is present,
//! `verify_dir` passes, and no two roots were ever exposed for one size.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use truce_log::{FsTileStore, Log, TileKey, TileStore, TileWrite, verify_dir};
use truce_merkle::Hash;
use truce_note::{Checkpoint, KeyName, Note, NoteSigner};

const ORIGIN: &str = "example.org/faults";

/// A scratch directory, on tmpfs when there is one: these tests check the
/// order of operations and recovery, not the disk's fsync, and shared disks
/// can take milliseconds per fsync.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[11; 32])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Fail without persisting anything.
    Before,
    /// Persist, then report failure.
    After,
}

#[derive(Debug, Default)]
struct Control {
    /// Mutating steps seen since the last `arm`.
    steps: usize,
    /// Fail at this step, once.
    fault: Option<(usize, Mode)>,
    /// Whether the armed fault fired.
    fired: bool,
    /// Every checkpoint that reached the store (staged and persisted), by
    /// size: the roots that may have been seen by anyone.
    exposed: BTreeMap<u64, Vec<Hash>>,
}

impl Control {
    fn arm(&mut self, fault: Option<(usize, Mode)>) {
        self.steps = 0;
        self.fault = fault;
        self.fired = false;
    }
}

#[derive(Debug, thiserror::Error)]
enum FaultError {
    #[error("injected fault at step {0}")]
    Injected(usize),
    #[error(transparent)]
    Inner(#[from] truce_log::FsStoreError),
}

#[derive(Debug)]
struct FaultyStore {
    inner: FsTileStore,
    control: Arc<Mutex<Control>>,
}

impl FaultyStore {
    /// Runs one mutating step: `persist` is called unless the fault says
    /// otherwise, and the fault's error is returned after it if it fires.
    fn step(
        &mut self,
        persist: impl FnOnce(&mut FsTileStore) -> Result<(), truce_log::FsStoreError>,
    ) -> Result<(), FaultError> {
        let fault = {
            let mut control = self.control.lock().unwrap();
            let step = control.steps;
            control.steps += 1;
            match control.fault {
                Some((at, mode)) if at == step => {
                    control.fault = None;
                    control.fired = true;
                    Some((step, mode))
                }
                _ => None,
            }
        };
        match fault {
            Some((step, Mode::Before)) => Err(FaultError::Injected(step)),
            Some((step, Mode::After)) => {
                persist(&mut self.inner)?;
                Err(FaultError::Injected(step))
            }
            None => Ok(persist(&mut self.inner)?),
        }
    }
}

impl TileStore for FaultyStore {
    type Error = FaultError;

    fn read_tile(&self, path: &truce_log::TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.inner.read_tile(path)?)
    }

    fn write_tiles(&mut self, tiles: &[TileWrite]) -> Result<(), Self::Error> {
        // One step per file, so a failure can leave any prefix written.
        for tile in tiles {
            self.step(|inner| inner.write_tiles(std::slice::from_ref(tile)))?;
        }
        Ok(())
    }

    fn delete_partials(
        &mut self,
        key: TileKey,
        widths: std::ops::Range<u16>,
    ) -> Result<(), Self::Error> {
        self.step(|inner| inner.delete_partials(key, widths))
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        Ok(self.inner.has_no_tiles()?)
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.inner.read_checkpoint()?)
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.inner.read_staged_checkpoint()?)
    }

    fn stage_checkpoint(&mut self, note: &[u8]) -> Result<(), Self::Error> {
        let control = Arc::clone(&self.control);
        self.step(|inner| {
            inner.stage_checkpoint(note)?;
            let checkpoint = Checkpoint::from_text(Note::parse(note).unwrap().text()).unwrap();
            control
                .lock()
                .unwrap()
                .exposed
                .entry(checkpoint.size())
                .or_default()
                .push(checkpoint.root());
            Ok(())
        })
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.step(FsTileStore::publish_checkpoint)
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.step(FsTileStore::discard_staged_checkpoint)
    }
}

/// The entries of batch `batch`, different for every batch (so a retried
/// size gets a different root unless the log is careful).
fn batch(batch: u64, first: u64, len: u64) -> Vec<Vec<u8>> {
    (first..first + len)
        .map(|index| {
            format!(
                "batch {batch} entry {index} {}",
                "x".repeat((index % 40) as usize)
            )
            .into_bytes()
        })
        .collect()
}

fn assert_one_root_per_size(control: &Mutex<Control>, context: &str) {
    let control = control.lock().unwrap();
    for (size, roots) in &control.exposed {
        assert!(
            roots.iter().all(|root| root == &roots[0]),
            "{context}: two roots exposed for size {size}: {roots:?}"
        );
    }
}

/// Every checkpoint that reached the store is a prefix of the log: its size
/// is at most the log's and the log has its root at that size. (This implies
/// one root per size, and catches a log that drops a staged checkpoint and
/// grows past its size with other entries.)
fn assert_exposed_are_prefixes<S: TileStore>(
    log: &Log<S>,
    control: &Mutex<Control>,
    context: &str,
) {
    let control = control.lock().unwrap();
    for (size, roots) in &control.exposed {
        assert!(
            *size <= log.size(),
            "{context}: exposed size {size} beyond the log's {}",
            log.size()
        );
        let root = if *size == 0 {
            truce_merkle::EMPTY_ROOT
        } else {
            log.root_at(*size).unwrap()
        };
        for exposed in roots {
            assert_eq!(
                exposed, &root,
                "{context}: exposed root at size {size} is not the log's"
            );
        }
    }
}

struct Case {
    fault: Option<(usize, Mode)>,
    recovery_fault: Option<Mode>,
}

/// Returns the number of mutating steps the faulted append took.
fn run(case: &Case) -> usize {
    let context = format!(
        "fault {:?}, recovery fault {:?}",
        case.fault, case.recovery_fault
    );
    let dir = scratch_dir();
    let control = Arc::new(Mutex::new(Control::default()));
    let open = |control: &Arc<Mutex<Control>>| {
        let store = FaultyStore {
            inner: FsTileStore::open(dir.path()).unwrap(),
            control: Arc::clone(control),
        };
        Log::with_store(store, signer(), ORIGIN).unwrap()
    };
    // Acknowledged entries: index → bytes.
    let mut acked: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut log = open(&control);
    let mut batch_number = 0;
    let mut append = |log: &mut Log<FaultyStore>, len: u64, acked: &mut BTreeMap<u64, Vec<u8>>| {
        batch_number += 1;
        let entries = batch(batch_number, log.size(), len);
        match log.append_batch(&entries) {
            Ok(indices) => {
                for (index, entry) in indices.into_iter().zip(entries) {
                    acked.insert(index, entry);
                }
                true
            }
            Err(_) => false,
        }
    };
    // 250 entries: a partial level-0 tile and bundle.
    assert!(append(&mut log, 250, &mut acked));

    // The faulted batch completes two tiles: full tiles and bundles, new
    // partial tiles at levels 0 and 1, garbage collection.
    control.lock().unwrap().arm(case.fault);
    let committed = append(&mut log, 300, &mut acked);
    let (steps, fired) = {
        let control = control.lock().unwrap();
        (control.steps, control.fired)
    };
    if !fired {
        assert!(
            committed,
            "{context}: no fault fired, the batch must commit"
        );
    }

    // The same log goes on: it recovers in place before the next append; that
    // recovery's first mutating step may fail too.
    control
        .lock()
        .unwrap()
        .arm(case.recovery_fault.map(|mode| (0, mode)));
    append(&mut log, 40, &mut acked);
    control.lock().unwrap().arm(None);
    assert_one_root_per_size(&control, &context);
    drop(log);

    // Reopen (recovery from the files alone) and check.
    let mut log = open(&control);
    for (index, entry) in &acked {
        assert_eq!(
            &log.entry(*index).unwrap(),
            entry,
            "{context}: acknowledged entry {index}"
        );
    }
    assert!(log.size() >= acked.len() as u64, "{context}");
    assert_exposed_are_prefixes(&log, &control, &context);
    let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), None)
        .unwrap_or_else(|err| panic!("{context}: {err}"));
    assert_eq!(report.entries, log.size());
    assert!(
        report.pending.is_none(),
        "{context}: recovery publishes a pending checkpoint"
    );

    // More appends with new entries never re-sign an exposed size differently.
    let before = log.checkpoint().clone();
    assert!(append(&mut log, 70, &mut acked));
    assert!(append(&mut log, 300, &mut acked));
    assert_one_root_per_size(&control, &context);
    assert_exposed_are_prefixes(&log, &control, &context);
    let report = verify_dir(dir.path(), ORIGIN, &signer().verifier(), Some(&before))
        .unwrap_or_else(|err| panic!("{context}: {err}"));
    assert_eq!(report.entries, log.size());
    for (index, entry) in &acked {
        assert_eq!(
            &log.entry(*index).unwrap(),
            entry,
            "{context}: acknowledged entry {index}"
        );
    }
    steps
}

#[test]
fn every_step_of_the_commit_order() {
    let steps = run(&Case {
        fault: None,
        recovery_fault: None,
    });
    // 250 → 550 entries: 7 files (bundles 0 and 1 and level-0 tiles 0 and 1
    // become full; a partial bundle, partial tiles at levels 0 and 1), each
    // preceded by the deletion of leftovers at the widths it skips; stage,
    // publish, 4 garbage collections (one per completed tile or bundle).
    assert_eq!(steps, 7 + 7 + 2 + 4);
    let mut cases = 0;
    for step in 0..steps {
        for mode in [Mode::Before, Mode::After] {
            for recovery_fault in [None, Some(Mode::Before), Some(Mode::After)] {
                run(&Case {
                    fault: Some((step, mode)),
                    recovery_fault,
                });
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 120);
}

/// A staged checkpoint whose publication failed is published on recovery,
/// even when the next append brings different entries: the staged root may
/// have been seen, so its size keeps that root.
#[test]
fn a_staged_checkpoint_survives_a_failed_publication() {
    let dir = scratch_dir();
    let control = Arc::new(Mutex::new(Control::default()));
    let store = FaultyStore {
        inner: FsTileStore::open(dir.path()).unwrap(),
        control: Arc::clone(&control),
    };
    let mut log = Log::with_store(store, signer(), ORIGIN).unwrap();
    log.append_batch(&batch(1, 0, 10)).unwrap();
    // Steps of a 5-entry batch: two leftover deletions, partial bundle,
    // partial tile, stage, publish.
    control.lock().unwrap().arm(Some((5, Mode::Before)));
    let staged_entries = batch(2, 10, 5);
    assert!(log.append_batch(&staged_entries).is_err());
    assert_eq!(log.size(), 10);
    control.lock().unwrap().arm(None);
    let indices = log.append_batch(&batch(3, 15, 5)).unwrap();
    // The staged batch was published first; the new one follows it.
    assert_eq!(indices, (15..20).collect::<Vec<_>>());
    assert_eq!(log.entry(12).unwrap(), staged_entries[2]);
    assert_one_root_per_size(&control, "staged");
    assert_exposed_are_prefixes(&log, &control, "staged");
}
