//! Reordering a slice by a permutation without a second copy of it.

/// Reorders `items` so that position `k` holds the item that was at `order[k]`, by following
/// the permutation's cycles with swaps.
pub(crate) fn permute_in_place<T>(items: &mut [T], order: &[u32]) {
    let mut placed = vec![false; items.len()];
    for cycle_start in 0..items.len() {
        if placed[cycle_start] {
            continue;
        }
        let mut k = cycle_start;
        loop {
            placed[k] = true;
            let next = order[k] as usize;
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
        permute_in_place(&mut permuted, &order);
        let expected: Vec<u32> = order.iter().map(|&i| items[i as usize]).collect();
        assert_eq!(permuted, expected);
    }
}
