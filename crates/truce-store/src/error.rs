//! What can go wrong in a store.

use std::path::PathBuf;

/// A failure of a store operation. Each message names the value and the field
/// or operation concerned; database and file-system causes are kept as the
/// error's source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A batch does not continue where the store left off.
    #[error("batch starts at {start} but the store has applied {applied}")]
    BatchOutOfOrder {
        /// The first log index the batch reflects.
        start: u64,
        /// The store's applied size.
        applied: u64,
    },

    /// A batch's log index range ends before it starts.
    #[error("batch range {start}..{end} ends before it starts")]
    ReversedRange {
        /// The range's start.
        start: u64,
        /// The range's end.
        end: u64,
    },

    /// A projected item names a log index outside its batch's range.
    #[error("{what} at index {index} lies outside the batch's range {start}..{end}")]
    OutsideBatch {
        /// The item, e.g. `report "r-1"`.
        what: String,
        /// The index it names.
        index: u64,
        /// The batch's range start.
        start: u64,
        /// The batch's range end.
        end: u64,
    },

    /// A log index too large for the store's integer columns.
    #[error("{field} {value} exceeds the largest log index the store can hold")]
    IndexTooLarge {
        /// The field, e.g. `log_index`.
        field: &'static str,
        /// The value.
        value: u64,
    },

    /// A record the store already holds.
    #[error("{what} already stored")]
    AlreadyStored {
        /// The record, e.g. `report 17` or `source "monitor-1"`.
        what: String,
    },

    /// A revocation of a source that was never registered.
    #[error("source {name:?} is not registered")]
    UnknownSource {
        /// The source's name.
        name: String,
    },

    /// A revocation of a source that is already revoked.
    #[error("source {name:?} was already revoked at index {at_index}")]
    AlreadyRevoked {
        /// The source's name.
        name: String,
        /// Where it was revoked.
        at_index: u64,
    },

    /// A source revoked at or before the index that registered it, or a
    /// source record whose revocation fields are half set.
    #[error(
        "source {name:?} registered at index {registered_at_index} cannot be revoked at {revoked}"
    )]
    InvalidRevocation {
        /// The source's name.
        name: String,
        /// Where it was registered.
        registered_at_index: u64,
        /// The revocation as given (index and time, or what is missing).
        revoked: String,
    },

    /// A report whose time span ends before it starts.
    #[error("report {log_index} has start_ms {start_ms} after end_ms {end_ms}")]
    ReversedTimeSpan {
        /// The report's log index.
        log_index: u64,
        /// Its start.
        start_ms: i64,
        /// Its end.
        end_ms: i64,
    },

    /// A report coordinate or radius that is not a finite number.
    #[error("report {log_index} field {field} is not a finite number: {value}")]
    NotFinite {
        /// The report's log index.
        log_index: u64,
        /// The field: `lon`, `lat` or `radius_m`.
        field: &'static str,
        /// The value.
        value: f64,
    },

    /// A zone listed twice for one report.
    #[error("report {log_index} lists zone {zone_id:?} twice in zone_ids")]
    DuplicateZone {
        /// The report's log index.
        log_index: u64,
        /// The zone.
        zone_id: String,
    },

    /// A nonce the store already remembers for this key.
    #[error("nonce {nonce_hex:?} of key {key:?} already remembered")]
    NonceSeen {
        /// The key.
        key: String,
        /// The nonce.
        nonce_hex: String,
    },

    /// A page cursor that this store did not hand out.
    #[error("invalid cursor {cursor:?}")]
    InvalidCursor {
        /// The cursor as given.
        cursor: String,
    },

    /// A page limit outside `1..=1000`.
    #[error("page limit {limit} is outside 1..={max}")]
    InvalidLimit {
        /// The limit as given.
        limit: u32,
        /// The largest limit.
        max: u32,
    },

    /// A report filter's time window that ends before it starts.
    #[error("time window {start_ms}..={end_ms} ends before it starts")]
    InvalidTimeWindow {
        /// The window's start.
        start_ms: i64,
        /// The window's end.
        end_ms: i64,
    },

    /// A report filter's bounding box with a minimum above its maximum or a
    /// value that is not finite.
    #[error(
        "bounding box [{min_lon}, {min_lat}, {max_lon}, {max_lat}] needs finite values with each minimum at most its maximum"
    )]
    InvalidBoundingBox {
        /// West.
        min_lon: f64,
        /// South.
        min_lat: f64,
        /// East.
        max_lon: f64,
        /// North.
        max_lat: f64,
    },

    /// A value read back from the database that does not fit its field.
    #[error("stored {field} value {value} is invalid")]
    Corrupt {
        /// The field, e.g. `reports.log_index`.
        field: &'static str,
        /// The value as read.
        value: String,
    },

    /// A backup destination that already exists.
    #[error("backup destination {} already exists", path.display())]
    BackupExists {
        /// The destination.
        path: PathBuf,
    },

    /// A path the database cannot be handed (not UTF-8, or no file name).
    #[error("path {} cannot be used: {reason}", path.display())]
    UnusablePath {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },

    /// A file offered to restore that is not a snapshot of a truce store.
    #[error("{} is not a truce store snapshot: {reason}", path.display())]
    NotATruceStore {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },

    /// A backend that cannot write a snapshot to a file.
    #[error("a {backend} store cannot be backed up to {}: {advice}", path.display())]
    BackupUnsupported {
        /// The destination asked for.
        path: PathBuf,
        /// The backend, e.g. `PostgreSQL`.
        backend: &'static str,
        /// What to do instead.
        advice: &'static str,
    },

    /// A database URL whose scheme names no backend of this build.
    #[error("database URL scheme {scheme:?} is not supported: {reason}")]
    UnsupportedDatabase {
        /// The scheme, the text before the first `:` (never the rest of the
        /// URL, which may hold a password).
        scheme: String,
        /// Why, and what is supported.
        reason: &'static str,
    },

    /// A database setting that is not a URL at all.
    #[error("the database setting is not a URL: give `sqlite:` or `postgres://…`")]
    NotADatabaseUrl,

    /// A file-system operation failed.
    #[error("cannot {operation} {}", path.display())]
    Io {
        /// What was being done, e.g. `create the data directory`.
        operation: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// Bringing the schema up to date failed.
    #[error("cannot bring the store's schema up to date")]
    Migrate {
        /// The cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A database operation failed.
    #[error("database error while {operation}")]
    Database {
        /// What was being done, e.g. `applying a batch`.
        operation: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    /// A [`StoreError::Database`] for `operation`, for use with `map_err`.
    pub(crate) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| StoreError::Database { operation, source }
    }
}
