//! The c2sp.org/tlog-tiles layout: tile and entry-bundle paths, tile widths
//! per tree size, and the entry-bundle encoding.
//!
//! Pure: paths are strings, bundles are bytes; nothing here touches a file.

use std::fmt;
use std::ops::Range;

use truce_merkle::{HASH_LEN, Hash};

/// Hashes in a full tile (tiles are 8 levels high: 2^8 hashes).
pub const TILE_WIDTH: u16 = 256;

/// Levels of the Merkle tree covered by one tile level.
pub const TILE_HEIGHT: u32 = 8;

/// Bytes in a full tile: 256 hashes of 32 bytes.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_LEN;

/// The largest entry a tiled log can hold: bundles prefix each entry with a
/// big-endian `u16` length.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// Which tile: a tile of hashes at a tile level, or an entry bundle.
///
/// A hash tile at tile level `L`, index `N` holds the Merkle tree hashes of
/// tree level `8·L`, positions `256·N .. 256·N + 255`; the entry bundle `N`
/// holds the entries whose leaf hashes are in the level-0 tile `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TileKey {
    /// A tile of hashes (`tile/<L>/<N>`).
    Hashes {
        /// Tile level, 0 to 7 for a tree of at most 2^64 − 1 leaves.
        level: u8,
        /// Index of the tile within its level.
        index: u64,
    },
    /// An entry bundle (`tile/entries/<N>`).
    Entries {
        /// Index of the bundle (the index of its level-0 tile).
        index: u64,
    },
}

impl TileKey {
    /// The tile level whose hashes this tile holds; 0 for entry bundles.
    pub fn tile_level(&self) -> u8 {
        match self {
            TileKey::Hashes { level, .. } => *level,
            TileKey::Entries { .. } => 0,
        }
    }

    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        match self {
            TileKey::Hashes { index, .. } | TileKey::Entries { index } => *index,
        }
    }

    /// How many items (hashes or entries) this tile holds in a tree of
    /// `tree_size` leaves: 256 for a full tile, 1 to 255 for the partial one
    /// at the right edge, `None` when the tree does not reach this tile.
    pub fn width_at(&self, tree_size: u64) -> Option<u16> {
        let count = nodes_at_tile_level(tree_size, self.tile_level());
        let start = self.index().checked_mul(u64::from(TILE_WIDTH))?;
        if count <= start {
            return None;
        }
        let width = (count - start).min(u64::from(TILE_WIDTH));
        u16::try_from(width).ok()
    }

    /// The file of this tile in a tree of `tree_size` leaves, if the tree
    /// reaches it.
    pub fn path_at(&self, tree_size: u64) -> Option<TilePath> {
        self.width_at(tree_size)
            .map(|width| TilePath { key: *self, width })
    }
}

/// The number of complete hashes of tree level `8·tile_level` in a tree of
/// `tree_size` leaves.
pub fn nodes_at_tile_level(tree_size: u64, tile_level: u8) -> u64 {
    let shift = u32::from(tile_level) * TILE_HEIGHT;
    tree_size.checked_shr(shift).unwrap_or(0)
}

/// A tile file: a tile and its width (256 for a full tile, 1 to 255 for a
/// partial tile, whose path ends in `.p/<W>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TilePath {
    /// Which tile.
    pub key: TileKey,
    /// How many hashes or entries the file holds, 1 to 256.
    pub width: u16,
}

impl TilePath {
    /// The full (256-wide) file of a tile.
    pub const fn full(key: TileKey) -> Self {
        TilePath {
            key,
            width: TILE_WIDTH,
        }
    }

    /// Whether this is a full tile.
    pub const fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The length in bytes of a hash tile of this width (not meaningful for
    /// entry bundles, whose length depends on the entries).
    pub fn hash_tile_len(&self) -> usize {
        usize::from(self.width) * HASH_LEN
    }

    /// Parses a path relative to the log's root, e.g. `tile/0/x001/234.p/5`
    /// or `tile/entries/000`. Only the canonical spelling is accepted: levels
    /// and widths without leading zeroes, index groups of three digits with
    /// every group but the last prefixed by `x` and no leading `x000`.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let invalid = |reason: &'static str| PathError {
            path: text.to_owned(),
            reason,
        };
        let rest = text
            .strip_prefix("tile/")
            .ok_or_else(|| invalid("does not start with tile/"))?;
        let (kind, rest) = rest
            .split_once('/')
            .ok_or_else(|| invalid("has no tile index"))?;
        let mut segments: Vec<&str> = rest.split('/').collect();
        let mut width = TILE_WIDTH;
        if segments.len() >= 2 {
            let before_last = segments[segments.len() - 2];
            if let Some(stripped) = before_last.strip_suffix(".p") {
                let width_text = segments[segments.len() - 1];
                width = parse_decimal(width_text)
                    .and_then(|value| u16::try_from(value).ok())
                    .filter(|value| (1..TILE_WIDTH).contains(value))
                    .ok_or_else(|| invalid("partial width is not 1 to 255"))?;
                segments.pop();
                let last = segments.len() - 1;
                segments[last] = stripped;
            }
        }
        let index = parse_index_segments(&segments).ok_or_else(|| invalid("bad tile index"))?;
        let key = if kind == "entries" {
            TileKey::Entries { index }
        } else {
            let level = parse_decimal(kind)
                .and_then(|value| u8::try_from(value).ok())
                .filter(|value| *value < 64)
                .ok_or_else(|| invalid("tile level is not 0 to 63"))?;
            TileKey::Hashes { level, index }
        };
        Ok(TilePath { key, width })
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            TileKey::Hashes { level, index } => {
                write!(f, "tile/{level}/{}", encode_tile_index(index))?;
            }
            TileKey::Entries { index } => {
                write!(f, "tile/entries/{}", encode_tile_index(index))?;
            }
        }
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// A path that is not a tile or entry-bundle path of the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} is not a tile path: {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Encodes a tile index as tlog-tiles path elements: zero-padded groups of
/// three digits, all but the last prefixed with `x` (`1234067` →
/// `x001/x234/067`).
pub fn encode_tile_index(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut text = String::with_capacity(groups.len() * 5);
    for (position, group) in groups.iter().rev().enumerate() {
        if position + 1 < groups.len() {
            text.push_str(&format!("x{group:03}/"));
        } else {
            text.push_str(&format!("{group:03}"));
        }
    }
    text
}

/// Parses the path elements of a tile index (the inverse of
/// [`encode_tile_index`]); `None` unless canonical.
pub fn parse_tile_index(text: &str) -> Option<u64> {
    let segments: Vec<&str> = text.split('/').collect();
    parse_index_segments(&segments)
}

fn parse_index_segments(segments: &[&str]) -> Option<u64> {
    let (last, leading) = segments.split_last()?;
    let mut index: u64 = 0;
    for (position, segment) in leading.iter().enumerate() {
        let digits = segment.strip_prefix('x')?;
        let group = three_digits(digits)?;
        if position == 0 && group == 0 {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(group)?;
    }
    let group = three_digits(last)?;
    index.checked_mul(1000)?.checked_add(group)
}

fn three_digits(text: &str) -> Option<u64> {
    if text.len() != 3 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A decimal without sign or leading zeroes.
fn parse_decimal(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// The tiles of one tile level in a tree of some size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelTiles {
    /// Tile level.
    pub level: u8,
    /// Number of full tiles.
    pub full_tiles: u64,
    /// Width of the partial tile at the right edge, 0 when there is none.
    pub partial_width: u16,
}

/// The tiles that make up a tree of `tree_size` leaves, per tile level, from
/// level 0 up to the highest level with at least one hash (none for the
/// empty tree).
pub fn tiles_for_size(tree_size: u64) -> Vec<LevelTiles> {
    let mut levels = Vec::new();
    for level in 0..8u8 {
        let count = nodes_at_tile_level(tree_size, level);
        if count == 0 {
            break;
        }
        levels.push(LevelTiles {
            level,
            full_tiles: count / u64::from(TILE_WIDTH),
            partial_width: (count % u64::from(TILE_WIDTH)) as u16,
        });
    }
    levels
}

/// Parses a hash tile's bytes: a whole number of 32-byte hashes.
pub fn parse_hash_tile(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(HASH_LEN) {
        return None;
    }
    bytes
        .chunks_exact(HASH_LEN)
        .map(|chunk| Hash::from_slice(chunk).ok())
        .collect()
}

/// Concatenates hashes into a tile's bytes.
pub fn hash_tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(hashes.len() * HASH_LEN);
    for hash in hashes {
        bytes.extend_from_slice(hash.as_bytes());
    }
    bytes
}

/// Appends one entry to an entry bundle: its length as a big-endian `u16`,
/// then its bytes. Entries longer than [`MAX_ENTRY_LEN`] are refused.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), EntryTooLong> {
    let len = u16::try_from(entry.len()).map_err(|_| EntryTooLong { len: entry.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// An entry above [`MAX_ENTRY_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("entry of {len} bytes exceeds the {MAX_ENTRY_LEN}-byte limit of entry bundles")]
pub struct EntryTooLong {
    /// The entry's length.
    pub len: usize,
}

/// Why bytes are not an entry bundle of the expected number of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle ends inside a length prefix or an entry.
    #[error("entry {entry} starting at byte {offset} is cut off by the end of the bundle")]
    Truncated {
        /// 0-based position of the entry in the bundle.
        entry: u16,
        /// Byte offset of its length prefix.
        offset: usize,
    },
    /// Bytes follow the last expected entry.
    #[error("{extra} bytes follow the last entry, from byte {offset}")]
    TrailingBytes {
        /// Byte offset where the extra bytes start.
        offset: usize,
        /// How many there are.
        extra: usize,
    },
}

impl BundleError {
    /// The byte offset the error points at.
    pub fn offset(&self) -> usize {
        match self {
            BundleError::Truncated { offset, .. } | BundleError::TrailingBytes { offset, .. } => {
                *offset
            }
        }
    }
}

/// One entry's place in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleItem {
    /// Byte offset of the entry's length prefix.
    pub offset: usize,
    /// The entry's bytes (after the prefix).
    pub body: Range<usize>,
}

/// Splits a bundle of exactly `count` entries.
pub fn parse_bundle(bytes: &[u8], count: u16) -> Result<Vec<BundleItem>, BundleError> {
    let mut items = Vec::with_capacity(usize::from(count));
    let mut offset = 0usize;
    for entry in 0..count {
        let truncated = BundleError::Truncated { entry, offset };
        let prefix = bytes.get(offset..offset + 2).ok_or(truncated)?;
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let body = offset + 2..offset + 2 + len;
        if body.end > bytes.len() {
            return Err(truncated);
        }
        items.push(BundleItem {
            offset,
            body: body.clone(),
        });
        offset = body.end;
    }
    if offset != bytes.len() {
        return Err(BundleError::TrailingBytes {
            offset,
            extra: bytes.len() - offset,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding() {
        let cases = [
            (0, "000"),
            (1, "001"),
            (999, "999"),
            (1000, "x001/000"),
            (1_234_067, "x001/x234/067"),
            (u64::MAX, "x018/x446/x744/x073/x709/x551/615"),
        ];
        for (index, text) in cases {
            assert_eq!(encode_tile_index(index), text);
            assert_eq!(parse_tile_index(text), Some(index));
        }
        for bad in [
            "",
            "1",
            "0001",
            "x000/001",
            "001/002",
            "x01/002",
            "x001/",
            "abc",
            "x001/x002",
            "x018/x446/x744/x073/x709/x551/616",
        ] {
            assert_eq!(parse_tile_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_round_trip() {
        let cases = [
            ("tile/0/000", TileKey::Hashes { level: 0, index: 0 }, 256),
            (
                "tile/1/x001/234.p/5",
                TileKey::Hashes {
                    level: 1,
                    index: 1234,
                },
                5,
            ),
            ("tile/entries/001.p/44", TileKey::Entries { index: 1 }, 44),
            (
                "tile/entries/x003/x057/500",
                TileKey::Entries { index: 3_057_500 },
                256,
            ),
            (
                "tile/63/000.p/255",
                TileKey::Hashes {
                    level: 63,
                    index: 0,
                },
                255,
            ),
        ];
        for (text, key, width) in cases {
            let path = TilePath::parse(text).unwrap();
            assert_eq!(path, TilePath { key, width });
            assert_eq!(path.to_string(), text);
        }
        for bad in [
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p",
            "tile/0",
            "tile/entries",
            "tiles/0/000",
            "tile/0/123/456/078",
            "tile/0/000/",
            "checkpoint",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn widths_per_size() {
        let key = TileKey::Hashes { level: 0, index: 1 };
        assert_eq!(key.width_at(256), None);
        assert_eq!(key.width_at(257), Some(1));
        assert_eq!(key.width_at(512), Some(256));
        assert_eq!(key.width_at(10_000), Some(256));
        let upper = TileKey::Hashes { level: 1, index: 0 };
        assert_eq!(upper.width_at(255), None);
        assert_eq!(upper.width_at(256 * 17 + 3), Some(17));
        assert_eq!(
            upper.path_at(70_000).map(|path| path.to_string()),
            Some("tile/1/000".to_owned())
        );
        let next = TileKey::Hashes { level: 1, index: 1 };
        assert_eq!(
            next.path_at(70_000).map(|path| path.to_string()),
            Some("tile/1/001.p/17".to_owned())
        );
        let top = TileKey::Hashes { level: 7, index: 0 };
        assert_eq!(top.width_at(u64::MAX), Some(255));
        assert_eq!(
            TileKey::Hashes { level: 8, index: 0 }.width_at(u64::MAX),
            None
        );
    }

    #[test]
    fn bundles() {
        let mut bundle = Vec::new();
        push_bundle_entry(&mut bundle, b"ab").unwrap();
        push_bundle_entry(&mut bundle, b"").unwrap();
        push_bundle_entry(&mut bundle, b"xyz").unwrap();
        assert_eq!(bundle, b"\x00\x02ab\x00\x00\x00\x03xyz");
        let items = parse_bundle(&bundle, 3).unwrap();
        assert_eq!(items[2].offset, 6);
        assert_eq!(&bundle[items[2].body.clone()], b"xyz");
        assert_eq!(
            parse_bundle(&bundle, 4),
            Err(BundleError::Truncated {
                entry: 3,
                offset: 11
            })
        );
        assert_eq!(
            parse_bundle(&bundle, 2),
            Err(BundleError::TrailingBytes {
                offset: 6,
                extra: 5
            })
        );
        assert_eq!(
            parse_bundle(&bundle[..9], 3),
            Err(BundleError::Truncated {
                entry: 2,
                offset: 6
            })
        );
        let too_long = vec![0u8; MAX_ENTRY_LEN + 1];
        assert_eq!(
            push_bundle_entry(&mut bundle, &too_long),
            Err(EntryTooLong {
                len: MAX_ENTRY_LEN + 1
            })
        );
        push_bundle_entry(&mut bundle, &too_long[1..]).unwrap();
    }
}
