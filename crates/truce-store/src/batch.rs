//! The checks every backend makes on a batch before it touches the
//! database, so that all of them refuse the same batches with the same
//! errors.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use crate::db::to_db;
use crate::{Projected, ReportRecord, SourceRecord, StoreError};

/// Checks that `entries` is a forward range the database can hold and that
/// every item of `batch` lies inside it; returns the range's end as the
/// database's integer.
pub(crate) fn check_range(entries: &Range<u64>, batch: &[Projected]) -> Result<i64, StoreError> {
    if entries.end < entries.start {
        return Err(StoreError::ReversedRange {
            start: entries.start,
            end: entries.end,
        });
    }
    for item in batch {
        for (_, index) in item.log_indexes() {
            if !entries.contains(&index) {
                return Err(StoreError::OutsideBatch {
                    what: item.describe(),
                    index,
                    start: entries.start,
                    end: entries.end,
                });
            }
        }
    }
    to_db("batch end", entries.end)
}

/// Refuses a source record whose revocation fields are half set or revoke
/// it at or before its registration.
pub(crate) fn check_source(source: &SourceRecord) -> Result<(), StoreError> {
    let problem = match (source.revoked_at_index, source.revoked_at_ms) {
        (None, None) => None,
        (Some(index), Some(_)) if index > source.registered_at_index => None,
        (Some(index), Some(_)) => Some(format!("index {index}")),
        (Some(index), None) => Some(format!("index {index} without revoked_at_ms")),
        (None, Some(at_ms)) => Some(format!("revoked_at_ms {at_ms} without revoked_at_index")),
    };
    match problem {
        None => Ok(()),
        Some(revoked) => Err(StoreError::InvalidRevocation {
            name: source.name.clone(),
            registered_at_index: source.registered_at_index,
            revoked,
        }),
    }
}

/// Refuses what a schema cannot hold faithfully (SQLite stores NaN as NULL,
/// PostGIS points need finite coordinates) or what would make the time or
/// zone filters meaningless.
pub(crate) fn check_report(report: &ReportRecord) -> Result<(), StoreError> {
    for (field, value) in [
        ("lon", report.lon),
        ("lat", report.lat),
        ("radius_m", report.radius_m),
    ] {
        if !value.is_finite() {
            return Err(StoreError::NotFinite {
                log_index: report.log_index,
                field,
                value,
            });
        }
    }
    if report.start_ms > report.end_ms {
        return Err(StoreError::ReversedTimeSpan {
            log_index: report.log_index,
            start_ms: report.start_ms,
            end_ms: report.end_ms,
        });
    }
    let mut zones = BTreeSet::new();
    for zone_id in &report.zone_ids {
        if !zones.insert(zone_id.as_str()) {
            return Err(StoreError::DuplicateZone {
                log_index: report.log_index,
                zone_id: zone_id.clone(),
            });
        }
    }
    Ok(())
}

/// Refuses a revocation at or before the index that registered the source.
pub(crate) fn check_revocation(
    name: &str,
    registered_at_index: u64,
    at_index: u64,
) -> Result<(), StoreError> {
    if at_index <= registered_at_index {
        return Err(StoreError::InvalidRevocation {
            name: name.to_owned(),
            registered_at_index,
            revoked: format!("index {at_index}"),
        });
    }
    Ok(())
}

/// Whether a revocation in `batch` comes before a registration of the same
/// name. Applied one item at a time, such a revocation would not find the
/// source, or would find a different one; a backend that writes each table's
/// rows together leaves such a batch to the item-by-item path.
pub(crate) fn revokes_before_registering(batch: &[Projected]) -> bool {
    let mut registered_last: HashMap<&str, usize> = HashMap::new();
    for (position, item) in batch.iter().enumerate() {
        if let Projected::Source(source) = item {
            registered_last.insert(source.name.as_str(), position);
        }
    }
    batch.iter().enumerate().any(|(position, item)| {
        matches!(item, Projected::SourceRevoked { name, .. }
            if registered_last.get(name.as_str()).is_some_and(|&registered| registered > position))
    })
}
