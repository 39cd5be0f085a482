//! The backend a deployment chose, picked by a database URL.

use std::ops::Range;
use std::path::Path;

use crate::{
    AgreementRecord, AnnotationKind, AnnotationRecord, Page, PageRequest, PgStore, Projected,
    ReportFilter, ReportRecord, SeenNonce, SourceRecord, SqliteStore, Store, StoreError,
};

/// Either backend, behind the one [`Store`] trait: what `truce serve`
/// holds when its backend is chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded default, in the data directory.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, possibly shared by several instances.
    Postgres(PgStore),
}

/// The URL scheme of `database`: the text before its first `:`, if that is
/// a plausible scheme (letters, digits, `+`, `-`, `.`, starting with a
/// letter).
fn scheme(database: &str) -> Option<&str> {
    let (scheme, _) = database.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

impl AnyStore {
    /// Opens the store `database` names:
    ///
    /// - `None` or `sqlite:` — the SQLite store in `data_dir` (the default,
    ///   [`SqliteStore::open`]);
    /// - `postgres://…` or `postgresql://…` — a PostgreSQL database
    ///   ([`PgStore::connect`]).
    ///
    /// Anything else is refused with [`StoreError::UnsupportedDatabase`]
    /// (or [`StoreError::NotADatabaseUrl`]), which names the URL's scheme
    /// but never the rest of it, since it may hold a password.
    pub async fn open(database: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        let Some(database) = database else {
            return Ok(AnyStore::Sqlite(SqliteStore::open(data_dir).await?));
        };
        let Some(scheme) = scheme(database) else {
            return Err(StoreError::NotADatabaseUrl);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if database.len() == "sqlite:".len() => {
                Ok(AnyStore::Sqlite(SqliteStore::open(data_dir).await?))
            }
            "sqlite" => Err(StoreError::UnsupportedDatabase {
                scheme: scheme.to_owned(),
                reason: "the SQLite store always lives in the data directory; give `sqlite:` alone",
            }),
            "postgres" | "postgresql" => Ok(AnyStore::Postgres(PgStore::connect(database).await?)),
            _ => Err(StoreError::UnsupportedDatabase {
                scheme: scheme.to_owned(),
                reason: "the supported databases are `sqlite:` and `postgres://…`",
            }),
        }
    }

    /// Opens a read-only handle on the PostgreSQL database `database` names,
    /// a replica of the store's database ([`PgStore::open_read_only`]: no
    /// migrations, no writes, the schema checked).
    ///
    /// Only `postgres://…` and `postgresql://…` URLs are taken; anything else
    /// is refused as by [`AnyStore::open`], naming the scheme only.
    pub async fn open_read_only(database: &str) -> Result<Self, StoreError> {
        let Some(scheme) = scheme(database) else {
            return Err(StoreError::NotADatabaseUrl);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => {
                Ok(AnyStore::Postgres(PgStore::open_read_only(database).await?))
            }
            _ => Err(StoreError::UnsupportedDatabase {
                scheme: scheme.to_owned(),
                reason: "a read replica must be a PostgreSQL database (`postgres://…`)",
            }),
        }
    }

    /// Which backend this is: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(store) => store.close().await,
            AnyStore::Postgres(store) => store.close().await,
        }
    }
}

/// Calls the same method on whichever store `self` holds.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn applied_size(&self) -> Result<u64, StoreError> {
        delegate!(self, store => store.applied_size())
    }

    async fn apply(&self, entries: Range<u64>, batch: &[Projected]) -> Result<(), StoreError> {
        delegate!(self, store => store.apply(entries, batch))
    }

    async fn source(&self, name: &str) -> Result<Option<SourceRecord>, StoreError> {
        delegate!(self, store => store.source(name))
    }

    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        delegate!(self, store => store.sources())
    }

    async fn agreements(&self) -> Result<Vec<AgreementRecord>, StoreError> {
        delegate!(self, store => store.agreements())
    }

    async fn agreement(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Vec<AgreementRecord>, StoreError> {
        delegate!(self, store => store.agreement(id, version))
    }

    async fn report(&self, log_index: u64) -> Result<Option<ReportRecord>, StoreError> {
        delegate!(self, store => store.report(log_index))
    }

    async fn report_by_id(
        &self,
        agreement_id: &str,
        report_id: &str,
    ) -> Result<Option<ReportRecord>, StoreError> {
        delegate!(self, store => store.report_by_id(agreement_id, report_id))
    }

    async fn reports(
        &self,
        filter: &ReportFilter,
        page: PageRequest,
    ) -> Result<Page<ReportRecord>, StoreError> {
        delegate!(self, store => store.reports(filter, page))
    }

    async fn annotations(&self, subject: &str) -> Result<Vec<AnnotationRecord>, StoreError> {
        delegate!(self, store => store.annotations(subject))
    }

    async fn annotation_indexes(
        &self,
        kinds: &[AnnotationKind],
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        delegate!(self, store => store.annotation_indexes(kinds, range))
    }

    async fn submission(&self, key: &str, nonce: &str) -> Result<Option<u64>, StoreError> {
        delegate!(self, store => store.submission(key, nonce))
    }

    async fn receipt_keys(
        &self,
        after: Option<(String, String)>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        delegate!(self, store => store.receipt_keys(after, limit))
    }

    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<(), StoreError> {
        delegate!(self, store => store.remember_nonces(nonces))
    }

    async fn load_nonces(&self, since_ms: i64) -> Result<Vec<SeenNonce>, StoreError> {
        delegate!(self, store => store.load_nonces(since_ms))
    }

    async fn forget_nonces(&self, before_ms: i64) -> Result<u64, StoreError> {
        delegate!(self, store => store.forget_nonces(before_ms))
    }

    async fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        delegate!(self, store => store.backup(dest))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn schemes_are_read_from_the_front() {
        assert_eq!(scheme("postgres://u@h/db"), Some("postgres"));
        assert_eq!(scheme("sqlite:"), Some("sqlite"));
        assert_eq!(scheme("my-sql+tls:x"), Some("my-sql+tls"));
        assert_eq!(scheme("/var/lib/truce"), None);
        assert_eq!(scheme("://x"), None);
        assert_eq!(scheme("1x:y"), None);
        assert_eq!(scheme("C:\\data"), Some("C"));
    }

    #[tokio::test]
    async fn unknown_schemes_are_named_and_nothing_else() {
        let dir = std::env::temp_dir();
        let error = AnyStore::open(Some("mysql://root:secret@db/truce"), &dir)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert_eq!(
            text,
            "database URL scheme \"mysql\" is not supported: the supported databases are \
             `sqlite:` and `postgres://…`"
        );
        assert!(!text.contains("secret"));
        let error = AnyStore::open(Some("localhost/truce"), &dir)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the database setting is not a URL: give `sqlite:` or `postgres://…`"
        );
        let error = AnyStore::open(Some("sqlite:/elsewhere.db"), &dir)
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("database URL scheme \"sqlite\""),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_read_replica_must_be_postgres() {
        let error = AnyStore::open_read_only("sqlite:").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "database URL scheme \"sqlite\" is not supported: a read replica must be a \
             PostgreSQL database (`postgres://…`)"
        );
        let error = AnyStore::open_read_only("mysql://u:secret@h/db")
            .await
            .unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        let error = AnyStore::open_read_only("replica.example/truce")
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::NotADatabaseUrl), "{error}");
    }
}
