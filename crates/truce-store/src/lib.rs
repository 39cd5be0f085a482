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
//! the embedded default; [`PgStore`] keeps the store in a PostgreSQL database
//! with PostGIS, which several service instances may share. [`AnyStore`]
//! holds either, chosen by a database URL ([`AnyStore::open`]: none or
//! `sqlite:` for SQLite in the data directory, `postgres://…` for
//! PostgreSQL). Cursor encoding and filter checks ([`encode_cursor`],
//! [`ReportFilter::validate`], [`PageRequest::resolve`]) and the checks on a
//! batch's items are shared, so every backend pages the same way and refuses
//! the same batches with the same errors; the conformance suite in `tests/`
//! runs every behaviour against both.
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
//! | `reports` | reports: log index, report id, agreement, source name and kind, submitter's party, accused actor, action, target, time span, point, radius, submission time | `log_index` (the row id); (agreement, report id) unique; (agreement, log index), (party, log index), (actor, log index), (source kind, log index), start time; (span class, start, end), where `span_class` is a virtual generated column (see below) |
//! | `report_zones` | the zones each report falls in, with their position in the report's list | (log index, position); (log index, zone) unique; (zone, log index); deleted with their report |
//! | `report_points` | R*Tree of each report's point, for bounding boxes; 32-bit bounds rounded outwards, so queries recheck the exact coordinates in `reports` | R*Tree on lon, lat |
//! | `annotations` | reviews, contests, coverage records and retractions, one row per subject: log index, kind, subject, author, body as JSON, submission time | (log index, subject); (subject, log index) |
//! | `receipts` | bookkeeping: the submission (key, nonce) that produced the entry at a log index, written in the batch that projects that entry | (key, nonce) |
//! | `nonces` | bookkeeping: request nonces seen, with their timestamps, for replay protection across restarts | (key, nonce); timestamp |
//!
//! A listing with a time window first walks the log order for a few entries
//! per row it wants (a wide window fills its page there). When the page is
//! not full, it counts the reports overlapping the window on the span index,
//! up to 50,000: below that it reads them from there and sorts them into log
//! order, at or above it it walks on. The span class of a report is a
//! function of its duration (class `c` holds reports shorter than
//! 2^(10+2c) ms, class 16 the rest), so a report of class `c` overlapping a
//! window starts at most that long before it, and the reports overlapping a
//! window are one range of the index per class. Pages are the same whichever
//! way they were found.
//!
//! Writes go through one connection (so they are serialised) and take the
//! write lock at the start of their transaction; reads go through a few
//! read-only connections and see the last committed batch. A backup is
//! `VACUUM INTO` on a reader: one read transaction, so a consistent snapshot
//! taken while batches are applied.
//!
//! # PostgreSQL schema
//!
//! One database named by the URL, with the PostGIS extension (the first
//! migration creates it if the role may; otherwise an administrator runs
//! `CREATE EXTENSION postgis` first). Migrations live in
//! `migrations/postgres/` and are applied on connect under sqlx's advisory
//! lock, so instances starting together migrate once; their history is
//! `_sqlx_migrations`. Log indexes and times are `BIGINT`, coordinates
//! `DOUBLE PRECISION`. The tables and their meaning are those of SQLite, with
//! these differences:
//!
//! | table | differs from SQLite in | keys and indexes |
//! | --- | --- | --- |
//! | `store_state` | every batch takes its row with `SELECT … FOR UPDATE` first, so batches from any number of handles on the database are serialised, and of two for the same range one is refused ([`StoreError::BatchOutOfOrder`]) | `id = 1` |
//! | `sources`, `agreements`, `receipts` | nothing | as in SQLite |
//! | `reports` | the zones are a `TEXT[]` column `zone_ids` in the report's order (no `report_zones` table); `point` is a `geometry(Point, 4326)` generated from `lon`/`lat` (no `report_points` table) | as in SQLite, plus GIN on `zone_ids` (the zone filter is `zone_ids @> ARRAY[zone]`) and GiST on `point` (the bounding-box filter is `point && ST_MakeEnvelope(…)`, then the exact `lon`/`lat` check, as the GiST bounds are 32-bit floats rounded outwards); `span_class` is a stored generated column, and its index (span class, start, end, log index) also serves to count a window's reports from the index alone |
//! | `annotations` | `body_json` is `TEXT`, not `jsonb`, so it reads back byte for byte | (log index, subject); (subject, log index); (kind, log index) |
//! | `nonces` | `key` and `nonce_hex` use the `"C"` collation, so they are listed in byte order as in SQLite, whatever the database's locale | (key, nonce); timestamp |
//!
//! Reads are single statements on a pool of connections and see the batches
//! committed when they start. Inserts use `ON CONFLICT DO NOTHING` and name a
//! duplicate from the row count, since a unique violation would abort the
//! batch's transaction. A batch whose connection is cut before it commits
//! leaves nothing ([`Store::apply`] is one transaction). [`Store::backup`] is
//! refused with [`StoreError::BackupUnsupported`]: back up a PostgreSQL store
//! with `pg_dump` or the server's base backups, which are consistent while it
//! serves; a store can also always be rebuilt by replaying the log.
//!
//! The same database may also hold the service's record, which is not part
//! of the store: the log's tiles and checkpoints under the sequencer lease
//! (`log_sequencer`, `log_tiles`, `log_checkpoints`: [`PgLog`],
//! [`PgTileStore`], [`SequencerLease`]), the entry journal (`log_journal`:
//! [`PgJournal`], fenced by the lease) and the bodies the log commits to
//! (`log_blobs`: [`PgBlobs`]). Deleting the store's tables and replaying
//! leaves these as they are.

mod any;
mod batch;
mod db;
mod error;
mod postgres;
mod query;
mod record;
mod sqlite;
mod store;

pub use any::AnyStore;

pub use error::StoreError;
pub use postgres::{
    PgBlobs, PgJournal, PgLog, PgLogError, PgStore, PgTileStore, SequencerLease, SequencerState,
};
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
