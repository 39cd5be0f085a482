//! What every backend shares about its tables: log indexes as the
//! databases' signed 64-bit integers, and the rows of the tables whose
//! columns have the same types everywhere.

use crate::{AgreementRecord, AnnotationKind, AnnotationRecord, SourceRecord, StoreError};

/// A log index as the database's signed integer.
pub(crate) fn to_db(field: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::IndexTooLarge { field, value })
}

/// A log index as a bound of a query's range: indexes past the largest the
/// database holds (`i64::MAX`) stand for "no bound".
pub(crate) fn index_bound(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// A stored signed integer back as a log index.
pub(crate) fn from_db(field: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        field,
        value: value.to_string(),
    })
}

/// A row of `sources`.
#[derive(sqlx::FromRow)]
pub(crate) struct SourceRow {
    pub(crate) name: String,
    pub(crate) vkey: String,
    pub(crate) kind: String,
    pub(crate) party: Option<String>,
    pub(crate) role: String,
    pub(crate) registered_at_index: i64,
    pub(crate) revoked_at_index: Option<i64>,
    pub(crate) revoked_at_ms: Option<i64>,
}

impl TryFrom<SourceRow> for SourceRecord {
    type Error = StoreError;

    fn try_from(row: SourceRow) -> Result<Self, StoreError> {
        Ok(SourceRecord {
            name: row.name,
            vkey: row.vkey,
            kind: row.kind,
            party: row.party,
            role: row.role,
            registered_at_index: from_db("sources.registered_at_index", row.registered_at_index)?,
            revoked_at_index: row
                .revoked_at_index
                .map(|index| from_db("sources.revoked_at_index", index))
                .transpose()?,
            revoked_at_ms: row.revoked_at_ms,
        })
    }
}

/// A row of `agreements`.
#[derive(sqlx::FromRow)]
pub(crate) struct AgreementRow {
    pub(crate) id: String,
    pub(crate) version: i64,
    pub(crate) interpretation: String,
    pub(crate) log_index: i64,
    pub(crate) content_sha256: String,
    pub(crate) title: String,
    pub(crate) registered_at_ms: i64,
}

impl TryFrom<AgreementRow> for AgreementRecord {
    type Error = StoreError;

    fn try_from(row: AgreementRow) -> Result<Self, StoreError> {
        let version = u32::try_from(row.version).map_err(|_| StoreError::Corrupt {
            field: "agreements.version",
            value: row.version.to_string(),
        })?;
        Ok(AgreementRecord {
            id: row.id,
            version,
            interpretation: row.interpretation,
            log_index: from_db("agreements.log_index", row.log_index)?,
            content_sha256: row.content_sha256,
            title: row.title,
            registered_at_ms: row.registered_at_ms,
        })
    }
}

/// A row of `annotations`.
#[derive(sqlx::FromRow)]
pub(crate) struct AnnotationRow {
    pub(crate) log_index: i64,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) author: String,
    pub(crate) body_json: String,
    pub(crate) submitted_at_ms: i64,
}

impl TryFrom<AnnotationRow> for AnnotationRecord {
    type Error = StoreError;

    fn try_from(row: AnnotationRow) -> Result<Self, StoreError> {
        let kind: AnnotationKind = row.kind.parse().map_err(|_| StoreError::Corrupt {
            field: "annotations.kind",
            value: row.kind.clone(),
        })?;
        Ok(AnnotationRecord {
            log_index: from_db("annotations.log_index", row.log_index)?,
            kind,
            subject: row.subject,
            author: row.author,
            body_json: row.body_json,
            submitted_at_ms: row.submitted_at_ms,
        })
    }
}

/// Maps every row, stopping at the first that does not convert.
pub(crate) fn convert<R, T: TryFrom<R, Error = StoreError>>(
    rows: Vec<R>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}
