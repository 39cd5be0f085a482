//! Reordering a vector by a permutation, by gathering into a new vector.

/// The items reordered so that position `k` holds the item that was at `order[k]`; moved,
/// not cloned. `order` must be a permutation of `0..items.len()`. The items are read in the
/// order the permutation gives and written front to back; the reads do not depend on one
/// another, so the processor overlaps their cache misses.
pub(crate) fn gather<T>(items: Vec<T>, order: &[u32]) -> Vec<T> {
    debug_assert_eq!(items.len(), order.len(), "a permutation of the items");
    // `Option<T>` has the size of `T` when `T` has a niche (a reference or an `Arc` inside),
    // and the conversion reuses the vector's allocation.
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    let gathered: Vec<T> = order
        .iter()
        .filter_map(|&from| slots[from as usize].take())
        .collect();
    debug_assert_eq!(gathered.len(), slots.len(), "`order` repeats an index");
    gathered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permutation() -> (Vec<String>, Vec<u32>) {
        let items: Vec<String> = (0..50).map(|i| format!("item {}", i * 7 % 50)).collect();
        let mut order: Vec<u32> = (0..50).collect();
        order.sort_by_key(|&i| items[i as usize].clone());
        (items, order)
    }

    #[test]
    fn gathering_matches_indexing() {
        let (items, order) = permutation();
        let expected: Vec<String> = order.iter().map(|&i| items[i as usize].clone()).collect();
        assert_eq!(gather(items, &order), expected);
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(expected, sorted, "the order sorts the items");
    }
}
