//! Which submissions have a receipt, kept in memory so that a new submission needs no
//! store lookup to learn that it is new.
//!
//! Every signed write is first checked for an earlier submission with the same key and nonce
//! (a client resending after a lost answer gets the original receipts, at any later time).
//! That is one store query per submission, and under load it waited for a pooled
//! connection behind every other request's. The index holds an 8-byte hash of each
//! (key, nonce) that has a receipt: a pair whose hash is absent has none, so only the rare
//! resend (or hash collision) asks the store.
//!
//! The index is complete only while this process is the store's one writer and has seen
//! every receipt: it is built from the store after each catch-up, extended by the apply
//! stage right after each group's receipts are committed, and dropped when the writer
//! must catch up again. While it is not built, every submission is looked up.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::{PoisonError, RwLock};

use truce_store::{Projected, Store, StoreError};

/// How many receipts a page of the build reads.
const PAGE: u32 = 50_000;

/// Hashes of the (key, nonce) pairs that have a receipt; `None` while unknown.
#[derive(Debug, Default)]
pub(crate) struct ReceiptIndex {
    hashes: RwLock<Option<HashSet<u64>>>,
    /// Keys the hashes with a key of this process.
    hasher: RandomState,
}

impl ReceiptIndex {
    fn hash(&self, key: &str, nonce: &str) -> u64 {
        self.hasher.hash_one((key, nonce))
    }

    /// Whether the pair may have a receipt: `false` means it has none for sure.
    pub(crate) fn may_have(&self, key: &str, nonce: &str) -> bool {
        let hash = self.hash(key, nonce);
        match &*self.hashes.read().unwrap_or_else(PoisonError::into_inner) {
            Some(hashes) => hashes.contains(&hash),
            None => true,
        }
    }

    /// Whether the index is built (and answers [`ReceiptIndex::may_have`] from memory).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.hashes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Forgets everything: until the next [`ReceiptIndex::rebuild`], every pair may have a
    /// receipt.
    pub(crate) fn forget(&self) {
        *self.hashes.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Reads every receipt of `store` into the index (the writer calls it when the store
    /// holds the whole log and nothing else writes to it).
    pub(crate) async fn rebuild<S: Store>(&self, store: &S) -> Result<(), StoreError> {
        self.forget();
        let mut hashes = HashSet::new();
        let mut after = None;
        loop {
            let page = store.receipt_keys(after.take(), PAGE).await?;
            hashes.extend(page.iter().map(|(key, nonce)| self.hash(key, nonce)));
            match page.into_iter().last() {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        *self.hashes.write().unwrap_or_else(PoisonError::into_inner) = Some(hashes);
        Ok(())
    }

    /// Adds the receipts among records just committed to the store.
    pub(crate) fn record(&self, projected: &[Projected]) {
        let mut guard = self.hashes.write().unwrap_or_else(PoisonError::into_inner);
        let Some(hashes) = guard.as_mut() else {
            return;
        };
        for record in projected {
            if let Projected::Receipt { key, nonce, .. } = record {
                hashes.insert(self.hash(key, nonce));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_store::SqliteStore;

    fn receipt(key: &str, nonce: &str, log_index: u64) -> Projected {
        Projected::Receipt {
            key: key.into(),
            nonce: nonce.into(),
            log_index,
        }
    }

    #[tokio::test]
    async fn answers_from_memory_once_built_and_follows_commits() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let batch: Vec<Projected> = (0..7)
            .map(|i| receipt("liaison-ua", &format!("{i:032x}"), i))
            .collect();
        store.apply(0..7, &batch).await.unwrap();
        let index = ReceiptIndex::default();
        // Not built: everything may have a receipt.
        assert!(!index.is_built());
        assert!(index.may_have("liaison-ua", "new"));
        index.record(&[receipt("k", "n", 9)]);
        assert!(!index.is_built(), "recording does not build it");
        index.rebuild(&store).await.unwrap();
        assert!(index.is_built());
        for i in 0..7 {
            assert!(index.may_have("liaison-ua", &format!("{i:032x}")));
        }
        assert!(!index.may_have("liaison-ua", "new"));
        assert!(!index.may_have("liaison-ru", &format!("{:032x}", 0)));
        index.record(&[receipt("liaison-ru", "late", 7)]);
        assert!(index.may_have("liaison-ru", "late"));
        index.forget();
        assert!(index.may_have("anyone", "anything"));
    }
}
