//! The truce service's store: an index of the log's entries plus the
//! service's own bookkeeping, behind the [`Store`] trait.
//!
//! **The store is rebuildable from the log; it never holds anything the log
//! does not, except nonces and receipts bookkeeping.** The log is the source
//! of truth: the service appends an entry, then hands the store its
//! projection ([`Projected`] items) with the range of log indexes it
//! reflects. [`Store::apply`] writes a batch in one transaction together
//! with the new applied size, so after a crash the store is exactly the
//! projection of the log prefix `0 .. applied_size`, and replaying the log
//! from there catches it up. Deleting the database and replaying the whole
//! log gives the same store, less the bookkeeping.
//!
//! The trait takes and returns the plain records of this crate, so it knows
//! nothing of the log's entry codec nor of any database. [`SqliteStore`] is
//! the embedded default; a PostgreSQL backend is to implement the same trait.
//! Cursor encoding and filter checks ([`encode_cursor`],
//! [`ReportFilter::validate`], [`PageRequest::resolve`]) are shared, so every
//! backend pages the same way.
//!
//! # SQLite schema
//!
//! One file, `truce.sqlite3`, in the data directory, in WAL mode with
//! `synchronous=FULL` (a batch that was acknowledged survives a power cut)
//! and foreign keys on. Its `application_id` is `0x74726365` (`trce`).
//! Migrations live in `migrations/sqlite/` and are applied on open; their
//! history is sqlx's `_sqlx_migrations` table. Log indexes are `INTEGER`
//! (so at most 2⁶³−1), times are Unix epoch milliseconds. Every table is
//! `STRICT`.
//!
//! | table | holds | keys and indexes |
//! | --- | --- | --- |
//! | `store_state` | one row: `applied_size`, how many log entries are reflected | `id = 1` |
//! | `sources` | registered sources: name, key text, kind, party, role, the index of the registration, and the index and time of a revocation | name; `registered_at_index` unique |
//! | `agreements` | agreement versions: id, version, interpretation, log index, SHA-256 of the text (hex), title, registration time | (id, version, interpretation); `log_index` unique |
//! | `reports` | reports: log index, report id, agreement, source name and kind, submitter's party, accused actor, action, target, time span, point, radius, submission time | `log_index` (the row id); (agreement, report id) unique; (agreement, log index), (party, log index), (actor, log index), (source kind, log index), start time |
//! | `report_zones` | the zones each report falls in, with their position in the report's list | (log index, position); (log index, zone) unique; (zone, log index); deleted with their report |
//! | `report_points` | R*Tree of each report's point, for bounding boxes; 32-bit bounds rounded outwards, so queries recheck the exact coordinates in `reports` | R*Tree on lon, lat |
//! | `annotations` | reviews, contests, coverage records and retractions, one row per subject: log index, kind, subject, author, body as JSON, submission time | (log index, subject); (subject, log index) |
//! | `receipts` | bookkeeping: the submission (key, nonce) that produced the entry at a log index, written in the batch that projects that entry | (key, nonce) |
//! | `nonces` | bookkeeping: request nonces seen, with their timestamps, for replay protection across restarts | (key, nonce); timestamp |
//!
//! Writes go through one connection (so they are serialised) and take the
//! write lock at the start of their transaction; reads go through a few
//! read-only connections and see the last committed batch. A backup is
//! `VACUUM INTO` on a reader: one read transaction, so a consistent snapshot
//! taken while batches are applied.

mod error;
mod query;
mod record;
mod sqlite;
mod store;

pub use error::StoreError;
pub use query::{
    BoundingBox, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, PageRequest, ReportFilter, TimeWindow,
    decode_cursor, encode_cursor,
};
pub use record::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Projected, ReportRecord, SeenNonce,
    SourceRecord, UnknownAnnotationKind,
};
pub use sqlite::{APPLICATION_ID, DATABASE_FILE, SqliteStore};
pub use store::Store;
