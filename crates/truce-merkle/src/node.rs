//! Addresses of full subtrees.

use std::fmt;

/// A full subtree: the node at `level` L and `index` K covers the 2^L leaves
/// `K·2^L .. (K+1)·2^L`. Level 0 nodes are leaf hashes.
///
/// This is the tlog-tiles numbering: a tile at tile level T holds the nodes of
/// level 8·T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves (0 for a leaf hash); at most 63.
    pub level: u8,
    /// Position among the nodes of the same level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaves the node covers, as `(first, end)` with `end` exclusive, or
    /// `None` when they do not fit in `u64`.
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        let width = 1u64.checked_shl(u32::from(self.level))?;
        let first = self.index.checked_mul(width)?;
        let end = first.checked_add(width)?;
        Some((first, end))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {} index {}", self.level, self.index)
    }
}

/// The number of bits needed to write `value` (0 for 0, 64 for `u64::MAX`).
pub(crate) fn bit_len(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_ranges() {
        assert_eq!(NodeId::new(0, 5).leaf_range(), Some((5, 6)));
        assert_eq!(NodeId::new(8, 1).leaf_range(), Some((256, 512)));
        assert_eq!(NodeId::new(63, 0).leaf_range(), Some((0, 1 << 63)));
        assert_eq!(NodeId::new(63, 1).leaf_range(), None);
        assert_eq!(NodeId::new(64, 0).leaf_range(), None);
        assert_eq!(NodeId::new(1, u64::MAX).leaf_range(), None);
        assert_eq!(NodeId::new(3, 7).to_string(), "level 3 index 7");
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(0), 0);
        assert_eq!(bit_len(1), 1);
        assert_eq!(bit_len(7), 3);
        assert_eq!(bit_len(8), 4);
        assert_eq!(bit_len(u64::MAX), 64);
    }
}
