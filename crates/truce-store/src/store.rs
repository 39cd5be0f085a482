//! The storage trait every backend implements.

use std::future::Future;
use std::ops::Range;
use std::path::Path;

use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, Projected, ReportFilter,
    ReportRecord, SeenNonce, SourceRecord, StoreError,
};

/// The service's store: a projection of the log's entries plus the service's
/// bookkeeping (nonces and receipts).
///
/// Every future is `Send`, so a server can hold an `Arc<S>` with `S: Store`
/// and call it from any task.
pub trait Store: Send + Sync {
    /// How many log entries the store reflects: entries `0 .. applied_size`.
    fn applied_size(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Writes the projection of the log entries `entries` (a range of log
    /// indexes) in one transaction and advances the applied size to
    /// `entries.end` in that same transaction: all of it or nothing.
    ///
    /// Refused when `entries.start` is not the applied size, when an item
    /// names a log index outside `entries`, or when an item is already
    /// stored. Entries of the range that project to nothing (a published
    /// assessment, say) simply have no item. Items may come in any order;
    /// a batch may be empty, which just advances the applied size.
    fn apply(
        &self,
        entries: Range<u64>,
        batch: &[Projected],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The source named `name`, revoked or not.
    fn source(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<SourceRecord>, StoreError>> + Send;

    /// Every source, in registration order.
    fn sources(&self) -> impl Future<Output = Result<Vec<SourceRecord>, StoreError>> + Send;

    /// Every agreement version and interpretation, in log order.
    fn agreements(&self) -> impl Future<Output = Result<Vec<AgreementRecord>, StoreError>> + Send;

    /// The interpretations of agreement `id` at `version` (the highest
    /// version when `None`), in log order; empty when there are none.
    fn agreement(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> impl Future<Output = Result<Vec<AgreementRecord>, StoreError>> + Send;

    /// The report at `log_index`.
    fn report(
        &self,
        log_index: u64,
    ) -> impl Future<Output = Result<Option<ReportRecord>, StoreError>> + Send;

    /// The report `report_id` of agreement `agreement_id`.
    fn report_by_id(
        &self,
        agreement_id: &str,
        report_id: &str,
    ) -> impl Future<Output = Result<Option<ReportRecord>, StoreError>> + Send;

    /// One page of the reports matching `filter`, in ascending log index
    /// order.
    fn reports(
        &self,
        filter: &ReportFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<ReportRecord>, StoreError>> + Send;

    /// The annotations about `subject`, in log order.
    fn annotations(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<AnnotationRecord>, StoreError>> + Send;

    /// The log indexes in `range` of every annotation entry of these kinds,
    /// ascending and distinct (an entry about several subjects is listed
    /// once). `0..u64::MAX` lists them all.
    fn annotation_indexes(
        &self,
        kinds: &[AnnotationKind],
        range: std::ops::Range<u64>,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// The log index of the entry that the submission signed by `key` with
    /// `nonce` produced, if it was recorded (see [`Projected::Receipt`]).
    fn submission(
        &self,
        key: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// A page of the (key, nonce) pairs that have a receipt (see [`Projected::Receipt`]),
    /// in (key, nonce) order, starting after `after`: for keeping in memory which
    /// submissions have a receipt, so that a new one needs no [`Store::submission`] lookup.
    fn receipt_keys(
        &self,
        after: Option<(String, String)>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// Remembers request nonces, all or none; refused if one is already
    /// remembered for its key.
    fn remember_nonces(
        &self,
        nonces: &[SeenNonce],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The nonces with a timestamp at or after `since_ms`, ordered by
    /// timestamp, key and nonce.
    fn load_nonces(
        &self,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<SeenNonce>, StoreError>> + Send;

    /// Forgets the nonces with a timestamp before `before_ms`; returns how
    /// many were forgotten.
    fn forget_nonces(&self, before_ms: i64)
    -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Writes a consistent snapshot of the store to `dest` while it keeps
    /// serving; refuses to overwrite an existing file.
    fn backup(&self, dest: &Path) -> impl Future<Output = Result<(), StoreError>> + Send;
}
