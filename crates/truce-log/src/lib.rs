//! The truce log on disk: a transparency log in the c2sp.org/tlog-tiles
//! layout, appended in durable batches, with offline-verifiable receipts and
//! a verifier for whole directories. `docs/log-format.md` describes the
//! layout, the commit order and why it is crash safe.
//!
//! * [`layout`]: tile and entry-bundle paths (`tile/<L>/<N>[.p/<W>]`,
//!   `tile/entries/<N>[.p/<W>]`), widths per tree size, the bundle encoding.
//! * [`integrate`](integrate()): a pure function from the tree's right
//!   [`Edge`] and a batch of entries to the files to write and the new root.
//! * [`TileStore`]: the small storage interface, with [`FsTileStore`] (a
//!   directory any static web server can serve) and [`MemoryTileStore`].
//! * [`Log`]: [`Log::open`], [`Log::append_batch`] (tiles, then a durably
//!   staged signed checkpoint, then publication: the commit point), recovery
//!   on open, [`Log::entry`], [`Log::inclusion_proof`],
//!   [`Log::consistency_proof`], and [`Log::append_batch_with_receipts`].
//! * [`TileReader`]: a `truce_merkle::HashReader` over tiles.
//! * [`Receipt`]: c2sp.org/tlog-proof@v1, [`verify_receipt`].
//! * [`verify_dir`]: re-derives the root from every bundle and tile and names
//!   the place of any damage.
//! * [`entry`]: the canonical, versioned binary encoding of truce's entries
//!   (agreement versions, sources, reports, reviews, retractions, coverage,
//!   contests, published assessments).
//!
//! The log holds the signer of its checkpoints and sees no other key; a store
//! never sees a key. The storage code treats entries as opaque bytes: only
//! [`entry`] knows what a report is, and nothing else here depends on it.
//!
//! ```
//! use truce_log::{Log, verify_dir, verify_receipt};
//! use truce_note::{KeyName, NoteSigner, Policy};
//!
//! let dir = tempfile::tempdir()?;
//! let origin = "example.org/truce-log";
//! let signer = NoteSigner::from_seed(KeyName::new(origin)?, &[1; 32]);
//! let verifier = signer.verifier();
//! let mut log = Log::open(dir.path(), signer, origin)?;
//! let receipts = log.append_batch_with_receipts(&[b"first".as_slice(), b"second"])?;
//! assert_eq!(log.size(), 2);
//!
//! let policy = Policy::new(origin, verifier.clone(), vec![])?;
//! let verified = verify_receipt(&receipts[1].to_bytes(), b"second", &policy)?;
//! assert_eq!(verified.index, 1);
//!
//! let report = verify_dir(dir.path(), origin, &verifier, None)?;
//! assert_eq!(report.entries, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod blob;
pub mod entry;
mod integrate;
pub mod layout;
mod log;
mod reader;
mod receipt;
mod store;
mod verify;

pub use blob::{BlobBackend, BlobCheck, BlobError, BlobHash, BlobStore};
pub use integrate::{Edge, EdgeError, IntegrateError, Integration, TileWrite, integrate};
pub use layout::{MAX_ENTRY_LEN, TileKey, TilePath};
pub use log::{Log, LogError, Refresh};
pub use reader::{ReadError, TileReader};
pub use receipt::{
    MAX_PROOF_HASHES, Receipt, ReceiptError, ReceiptVerifyError, TLOG_PROOF_HEADER,
    VerifiedReceipt, verify_receipt, verify_receipt_with_log_key,
};
pub use store::{
    CHECKPOINT_FILE, FsStoreError, FsTileStore, MemoryTileStore, NothingStaged,
    STAGED_CHECKPOINT_FILE, TileStore,
};
pub use verify::{
    Damage, Damages, DirReport, MAX_DAMAGES, Place, Problem, VerifyDirError, verify_dir,
};
