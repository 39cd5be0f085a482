//! One [`Source`] shared by the reports of one source as they are read.
//!
//! A report holds its source behind an `Arc`. Read row by row without a cache, a million
//! reports from a dozen sources would hold a million copies of a dozen values: a small
//! allocation each (about 80 MB at a million), made and later freed one at a time. Each
//! reading thread (or chunk) keeps a [`SourceCache`] instead and hands out clones of the
//! sources it has met. Sharing changes nothing a report means: sources are compared by
//! value everywhere.

use std::sync::Arc;

use smol_str::SmolStr;

use crate::report::Source;
use crate::vocab::SourceKind;

/// The sources one reader has met, at most [`SourceCache::CAPACITY`] of them; a source met
/// after the cache is full gets a copy of its own per report (the same value, more memory).
#[derive(Debug, Default)]
pub(crate) struct SourceCache {
    sources: Vec<Arc<Source>>,
}

impl SourceCache {
    /// How many sources one cache remembers: searched one by one, so kept small.
    const CAPACITY: usize = 64;

    /// The source with this id, kind and party.
    pub(crate) fn get(&mut self, id: &str, kind: SourceKind, party: Option<&str>) -> Arc<Source> {
        self.find_or_make(
            id,
            |source| source.kind == kind && source.party.as_deref() == party,
            || Source {
                id: SmolStr::new(id),
                kind,
                party: party.map(SmolStr::new),
            },
        )
    }

    /// The source with this id, where the id alone decides the rest: `make` builds it the
    /// first time (its id must be `id`).
    pub(crate) fn get_by_id(&mut self, id: &str, make: impl FnOnce() -> Source) -> Arc<Source> {
        self.find_or_make(id, |_| true, make)
    }

    #[inline]
    fn find_or_make(
        &mut self,
        id: &str,
        same_rest: impl Fn(&Source) -> bool,
        make: impl FnOnce() -> Source,
    ) -> Arc<Source> {
        // The length and the last byte first: ids of one feed often share their start.
        let last = id.as_bytes().last();
        let found = self.sources.iter().find(|source| {
            source.id.len() == id.len()
                && source.id.as_bytes().last() == last
                && source.id == id
                && same_rest(source)
        });
        if let Some(source) = found {
            return Arc::clone(source);
        }
        let source = Arc::new(make());
        debug_assert_eq!(source.id, id, "a source is found again by its id");
        if self.sources.len() < Self::CAPACITY {
            self.sources.push(Arc::clone(&source));
        }
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_is_shared_and_different_ones_are_kept_apart() {
        let mut cache = SourceCache::default();
        let a = cache.get("ua_gs", SourceKind::Party, Some("UA"));
        let again = cache.get("ua_gs", SourceKind::Party, Some("UA"));
        assert!(Arc::ptr_eq(&a, &again), "the same source is one value");
        // Same id, another kind or party: another source.
        let media = cache.get("ua_gs", SourceKind::Media, None);
        assert!(!Arc::ptr_eq(&a, &media));
        assert_eq!(media.kind, SourceKind::Media);
        assert_eq!(media.party, None);
        let other_party = cache.get("ua_gs", SourceKind::Party, Some("RU"));
        assert_eq!(other_party.party.as_deref(), Some("RU"));
        assert!(!Arc::ptr_eq(&a, &other_party));
        // Ids that share length and last byte are still told apart.
        let b = cache.get("xa_gs", SourceKind::Party, Some("UA"));
        assert_eq!(b.id, "xa_gs");
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_full_cache_still_gives_the_right_source() {
        let mut cache = SourceCache::default();
        for i in 0..SourceCache::CAPACITY + 10 {
            let id = format!("source-{i}");
            let source = cache.get(&id, SourceKind::Osint, None);
            assert_eq!(source.id, id.as_str());
        }
        let late = "source-70";
        let one = cache.get(late, SourceKind::Osint, None);
        let two = cache.get(late, SourceKind::Osint, None);
        assert_eq!(one, two, "the same value, if not the same allocation");
        let early = cache.get("source-3", SourceKind::Osint, None);
        assert!(Arc::ptr_eq(
            &early,
            &cache.get("source-3", SourceKind::Osint, None)
        ));
    }

    #[test]
    fn by_id_builds_once() {
        let mut cache = SourceCache::default();
        let mut made = 0;
        for _ in 0..3 {
            cache.get_by_id("acled", || {
                made += 1;
                Source {
                    id: SmolStr::new_static("acled"),
                    kind: SourceKind::Osint,
                    party: None,
                }
            });
        }
        assert_eq!(made, 1);
    }
}
