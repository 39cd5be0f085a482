//! The adjusted Rand index, to score a clustering of reports against the true incidents.

use std::collections::BTreeMap;

/// `n choose 2` as f64 (exact below 2^53 pairs, i.e. for fewer than about 134 million items).
fn pairs(n: u64) -> f64 {
    (n as f64) * (n.saturating_sub(1) as f64) / 2.0
}

/// The adjusted Rand index (Hubert & Arabie 1985) of two partitions of the same items,
/// given as one label per item: 1 for identical partitions, about 0 for a random one,
/// negative when worse than chance.
///
/// Pair counting through the contingency table:
/// `ARI = (Σij C(nij,2) − E) / (½(Σi C(ai,2) + Σj C(bj,2)) − E)` with
/// `E = Σi C(ai,2) · Σj C(bj,2) / C(n,2)`, where `nij` counts the items labelled `i` in
/// `truth` and `j` in `predicted`, and `ai`, `bj` are the row and column sums. When the
/// denominator is zero (both partitions all singletons, or both a single cluster, which
/// makes them identical) the index is 1. Fewer than two items also give 1.
///
/// `O(n log n)`; labels only need an order.
///
/// # Panics
/// If the two slices differ in length (they must label the same items).
pub fn adjusted_rand_index<T: Ord, P: Ord>(truth: &[T], predicted: &[P]) -> f64 {
    assert_eq!(
        truth.len(),
        predicted.len(),
        "the two partitions must label the same items"
    );
    let n = truth.len() as u64;
    if n < 2 {
        return 1.0;
    }
    let mut cells: BTreeMap<(&T, &P), u64> = BTreeMap::new();
    let mut rows: BTreeMap<&T, u64> = BTreeMap::new();
    let mut columns: BTreeMap<&P, u64> = BTreeMap::new();
    for (t, p) in truth.iter().zip(predicted) {
        *cells.entry((t, p)).or_default() += 1;
        *rows.entry(t).or_default() += 1;
        *columns.entry(p).or_default() += 1;
    }
    let index: f64 = cells.values().map(|&c| pairs(c)).sum();
    let sum_rows: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_columns: f64 = columns.values().map(|&c| pairs(c)).sum();
    let expected = sum_rows * sum_columns / pairs(n);
    let maximum = (sum_rows + sum_columns) / 2.0;
    let denominator = maximum - expected;
    if denominator == 0.0 {
        return 1.0;
    }
    (index - expected) / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identical_partitions_score_one_whatever_the_labels() {
        assert_eq!(
            adjusted_rand_index(&[1, 1, 2, 2, 3], &["a", "a", "b", "b", "c"]),
            1.0
        );
        assert_eq!(adjusted_rand_index(&[5, 5, 7], &[0, 0, 1]), 1.0);
    }

    #[test]
    fn hand_worked_cases() {
        // Contingency [[2,0],[1,1]] ... worked by hand:
        // nij: (0,0)=2, (1,1)=1, (1,2)=1 → Σ C(nij,2) = 1; rows 2,2 → 2; columns 2,1,1 → 1;
        // E = 2·1/6 = 1/3; max = 3/2; ARI = (1 − 1/3)/(3/2 − 1/3) = 4/7.
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]),
            4.0 / 7.0
        ));
        // Crossed halves: Σ C(nij,2) = 0; rows 2, columns 2; E = 4/6; max = 2;
        // ARI = (0 − 2/3)/(2 − 2/3) = −1/2.
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]),
            -0.5
        ));
        // Two triples against three pairs: Σ C(nij,2) = 2; rows 6; columns 3; n = 6, C = 15;
        // E = 18/15 = 1.2; max = 4.5; ARI = 0.8/3.3 = 8/33.
        assert!(close(
            adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]),
            8.0 / 33.0
        ));
    }

    #[test]
    fn merged_and_split_extremes() {
        let truth = [0, 0, 1, 1, 2, 2, 3, 3];
        // Everything merged into one cluster: Σ C(nij,2) = 4 = rows, columns = 28, E = 4,
        // so the index is (4 − 4)/(16 − 4) = 0.
        assert!(close(adjusted_rand_index(&truth, &[0; 8]), 0.0));
        // Everything split into singletons: index 0, columns 0, E = 0, max = 2 → 0.
        assert!(close(
            adjusted_rand_index(&truth, &[0, 1, 2, 3, 4, 5, 6, 7]),
            0.0
        ));
        // Degenerate agreements.
        assert_eq!(adjusted_rand_index(&[0, 1, 2], &[9, 8, 7]), 1.0);
        assert_eq!(adjusted_rand_index(&[4, 4, 4], &[1, 1, 1]), 1.0);
        assert_eq!(adjusted_rand_index::<u8, u8>(&[], &[]), 1.0);
        assert_eq!(adjusted_rand_index(&[1], &[2]), 1.0);
    }

    #[test]
    fn symmetric_and_label_invariant() {
        let a = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3];
        let b = [5, 5, 5, 1, 1, 2, 2, 2, 0, 0, 7];
        let relabelled: Vec<i32> = b.iter().map(|x| 100 - x).collect();
        let ab = adjusted_rand_index(&a, &b);
        assert!(close(ab, adjusted_rand_index(&b, &a)));
        assert!(close(ab, adjusted_rand_index(&a, &relabelled)));
        assert!(ab < 1.0 && ab > -1.0);
    }

    #[test]
    #[should_panic(expected = "same items")]
    fn different_lengths_panic() {
        adjusted_rand_index(&[0, 1], &[0]);
    }
}
