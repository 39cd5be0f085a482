//! Reordering a slice by a permutation without a second copy of it.

/// Reorders `items` so that position `k` holds the item that was at `order[k]`, by following
/// the permutation's cycles with swaps. `order` is used up as the record of which positions
/// are done (no second array to read at random).
pub(crate) fn permute_in_place<T>(items: &mut [T], mut order: Vec<u32>) {
    const DONE: u32 = u32::MAX;
    for cycle_start in 0..items.len() {
        if order[cycle_start] == DONE {
            continue;
        }
        let mut k = cycle_start;
        loop {
            let next = std::mem::replace(&mut order[k], DONE) as usize;
            if next == cycle_start {
                break;
            }
            items.swap(k, next);
            k = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_in_place_matches_indexing() {
        let items: Vec<u32> = (0..50).map(|i| i * 7 % 50).collect();
        let mut order: Vec<u32> = (0..50).collect();
        order.sort_by_key(|&i| items[i as usize]);
        let mut permuted = items.clone();
        permute_in_place(&mut permuted, order.clone());
        let expected: Vec<u32> = order.iter().map(|&i| items[i as usize]).collect();
        assert_eq!(permuted, expected);
    }
}
