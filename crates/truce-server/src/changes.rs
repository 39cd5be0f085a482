//! The change feed behind `GET /v1/events`: how many log entries the store
//! and the live findings reflect, and whether the service is closing.
//!
//! The writer announces each group once the store and the live findings
//! hold it (the moment a receipt is sent), and the catch-up once it is done.
//! Watchers see only the latest size, never a backlog: a slow reader skips
//! sizes it had no time for, which is all a page needs to know that it
//! should read again.

use tokio::sync::watch;

/// Sizes applied so far, and the closing flag.
#[derive(Debug)]
pub(crate) struct ChangeFeed {
    applied: watch::Sender<u64>,
    closing: watch::Sender<bool>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            applied: watch::Sender::new(0),
            closing: watch::Sender::new(false),
        }
    }
}

impl ChangeFeed {
    /// Log entries `0 .. size` are applied; sizes only grow (an older size
    /// announced late is ignored).
    pub(crate) fn applied(&self, size: u64) {
        self.applied.send_if_modified(|current| {
            let grows = size > *current;
            if grows {
                *current = size;
            }
            grows
        });
    }

    /// The size last announced.
    #[cfg(test)]
    pub(crate) fn size(&self) -> u64 {
        *self.applied.borrow()
    }

    /// The service stops: every watcher's stream ends, so a graceful
    /// shutdown does not wait for open event streams.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    /// How many watchers are open.
    pub(crate) fn watchers(&self) -> usize {
        self.applied.receiver_count()
    }

    /// A watcher of the size and of the closing flag.
    pub(crate) fn watch(&self) -> (watch::Receiver<u64>, watch::Receiver<bool>) {
        (self.applied.subscribe(), self.closing.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sizes_only_grow_and_closing_is_seen() {
        let feed = ChangeFeed::default();
        let (mut applied, mut closing) = feed.watch();
        feed.applied(5);
        feed.applied(3);
        assert!(applied.has_changed().unwrap_or(false));
        assert_eq!(*applied.borrow_and_update(), 5);
        feed.applied(5);
        assert!(!applied.has_changed().unwrap_or(true));
        assert_eq!(feed.size(), 5);
        feed.close();
        assert!(*closing.wait_for(|c| *c).await.expect("the feed is alive"));
    }
}
