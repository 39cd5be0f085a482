//! Reordering a vector by a permutation, by gathering into a new vector.

use crate::read_ahead::BLOCK;

/// The items reordered so that position `k` holds the item that was at `order[k]`; moved,
/// not cloned. `order` must be a permutation of `0..items.len()`. The items are read in the
/// order the permutation gives and written front to back, a block at a time: `touch` first
/// reads each item of the block (see [`crate::read_ahead`]), in a loop tight enough that the
/// processor overlaps the cache misses, then the block is moved.
pub(crate) fn gather<T>(items: Vec<T>, order: &[u32], touch: impl Fn(&T)) -> Vec<T> {
    debug_assert_eq!(items.len(), order.len(), "a permutation of the items");
    // `Option<T>` has the size of `T` when `T` has a niche (a reference or an `Arc` inside),
    // and the conversion reuses the vector's allocation.
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    let mut gathered: Vec<T> = Vec::with_capacity(order.len());
    for block in order.chunks(BLOCK) {
        for &from in block {
            if let Some(Some(item)) = slots.get(from as usize) {
                touch(item);
            }
        }
        gathered.extend(block.iter().filter_map(|&from| slots[from as usize].take()));
    }
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
        let touched = std::cell::Cell::new(0);
        let gathered = gather(items, &order, |_| touched.set(touched.get() + 1));
        assert_eq!(gathered, expected);
        assert_eq!(touched.get(), 50, "each item is read ahead once");
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(expected, sorted, "the order sorts the items");
    }
}
