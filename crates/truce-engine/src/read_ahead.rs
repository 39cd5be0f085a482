//! Reading reports ahead of the work on them.
//!
//! Corroboration and judging visit reports in an order far from the slice's (grid order,
//! an incident's members), so nearly every report they touch is a cache miss. Worked one
//! at a time, each miss waits for the last: the work between two reports is long enough
//! that the processor cannot overlap them. [`read_ahead`] first reads one word of each of
//! the two cache lines of a block of reports in a tight loop, where the reads are
//! independent and the processor keeps many of them in flight; the work that follows finds
//! the block in the cache. A block is small ([`BLOCK`]) so that it is still there.

use truce_model::Report;

/// How many items (points, groups, incidents) are read ahead at a time.
pub(crate) const BLOCK: usize = 64;

/// Reads both cache lines of every report of `indices` (a [`Report`] is 128 bytes aligned
/// to 64). Indices past the end are skipped.
pub(crate) fn read_ahead(reports: &[Report], indices: impl IntoIterator<Item = u32>) {
    for index in indices {
        if let Some(report) = reports.get(index as usize) {
            touch(report);
        }
    }
}

/// Reads both cache lines of `report`: fields from all over the struct, so that both are
/// read whatever layout the compiler chose.
pub(crate) fn touch(report: &Report) {
    std::hint::black_box((
        report.time.start_ms,
        report.location.lat,
        report.id.len(),
        report.action,
    ));
}

/// The block of `items` that starts at `index` when `index` begins one (a multiple of
/// [`BLOCK`]), for parallel loops that read a block ahead as they reach its first item.
pub(crate) fn block_at<T>(items: &[T], index: usize) -> Option<&[T]> {
    index
        .is_multiple_of(BLOCK)
        .then(|| &items[index.min(items.len())..(index + BLOCK).min(items.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_at_multiples_of_the_block_size() {
        let items: Vec<u32> = (0..150).collect();
        assert_eq!(block_at(&items, 0).map(<[u32]>::len), Some(BLOCK));
        assert_eq!(block_at(&items, 1), None);
        assert_eq!(block_at(&items, 2 * BLOCK), Some(&items[128..150]));
        assert_eq!(block_at(&items, 0).and_then(|b| b.first()), Some(&0));
    }
}
