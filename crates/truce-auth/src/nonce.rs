//! The replay window: which (key, nonce) pairs were accepted recently.

use std::collections::{BTreeSet, HashMap};

use truce_note::KeyName;

use crate::canonical::Nonce;
use crate::error::AuthError;

/// One accepted (key, nonce) pair and the timestamp its request carried.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonceEntry {
    /// The key that signed the request.
    pub key: KeyName,
    /// The request's nonce.
    pub nonce: Nonce,
    /// The request's timestamp, in Unix milliseconds.
    pub timestamp_ms: i64,
}

/// Remembers the (key, nonce) pairs of accepted requests for as long as a
/// request with the same timestamp could still be accepted.
///
/// A request is accepted only if its timestamp is within `max_skew_ms` of the
/// clock. Once the clock has moved more than `max_skew_ms` past a timestamp,
/// any replay of that request is refused for its timestamp alone, so the window
/// can forget the pair safely. It keeps only entries whose timestamp lies
/// within `max_skew_ms` either side of the latest clock reading it has been
/// given: memory is bounded by the requests whose timestamps fall in a span of
/// 2 × `max_skew_ms`.
///
/// The window does not trust the clock to move forwards. It keeps the latest
/// `now_ms` it was handed, measures skew against that as well, and refuses
/// (with [`AuthError::ClockSkew`]) any timestamp it may already have
/// forgotten, so a clock stepped backwards cannot reopen a replay. For the same
/// reason it is safe to use with a verifier whose skew is larger than the
/// window's: the window then refuses what it cannot remember.
///
/// To survive a restart, a server saves [`NonceWindow::entries`] and loads
/// them with [`NonceWindow::restore`]. Each accepted entry must be saved
/// before the request's effect is acknowledged (for example in the same
/// transaction), or a request accepted just before a crash can be replayed
/// after it.
#[derive(Debug, Clone)]
pub struct NonceWindow {
    max_skew_ms: u64,
    /// The latest clock reading handed in, if any.
    latest_now_ms: Option<i64>,
    /// Timestamp of each remembered pair.
    seen: HashMap<(KeyName, Nonce), i64>,
    /// The same pairs ordered by timestamp, for pruning.
    by_time: BTreeSet<(i64, KeyName, Nonce)>,
}

impl NonceWindow {
    /// An empty window remembering nonces for `max_skew_ms` either side of the
    /// clock; use the skew of the [`crate::RequestVerifier`] it serves.
    pub fn new(max_skew_ms: u64) -> Self {
        Self {
            max_skew_ms,
            latest_now_ms: None,
            seen: HashMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// The skew this window covers, in milliseconds.
    pub fn max_skew_ms(&self) -> u64 {
        self.max_skew_ms
    }

    /// How many pairs the window remembers.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether the window remembers no pair.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets every pair whose timestamp is more than `max_skew_ms` before the
    /// latest clock reading (`now_ms` or a later one given before).
    pub fn prune(&mut self, now_ms: i64) {
        let latest = self.advance(now_ms);
        let horizon = i128::from(latest) - i128::from(self.max_skew_ms);
        while let Some(first) = self.by_time.first() {
            if i128::from(first.0) >= horizon {
                break;
            }
            if let Some((_, key, nonce)) = self.by_time.pop_first() {
                self.seen.remove(&(key, nonce));
            }
        }
    }

    /// Records that `key` used `nonce` on a request stamped `timestamp_ms`,
    /// after pruning at `now_ms`.
    ///
    /// # Errors
    ///
    /// [`AuthError::ReplayedNonce`] if the pair is remembered (whatever the
    /// timestamp it came with), [`AuthError::ClockSkew`] if `timestamp_ms` is
    /// more than `max_skew_ms` from the latest clock reading, in which case the
    /// window might have forgotten the pair. Nothing is recorded on error.
    pub fn check_and_insert(
        &mut self,
        key: &KeyName,
        nonce: Nonce,
        timestamp_ms: i64,
        now_ms: i64,
    ) -> Result<(), AuthError> {
        self.prune(now_ms);
        let latest = self.advance(now_ms);
        let skew = latest.abs_diff(timestamp_ms);
        if skew > self.max_skew_ms {
            return Err(AuthError::ClockSkew {
                skew_ms: skew,
                max_ms: self.max_skew_ms,
            });
        }
        let pair = (key.clone(), nonce);
        if self.seen.contains_key(&pair) {
            return Err(AuthError::ReplayedNonce {
                name: key.clone(),
                nonce,
            });
        }
        self.by_time.insert((timestamp_ms, key.clone(), nonce));
        self.seen.insert(pair, timestamp_ms);
        Ok(())
    }

    /// The remembered pairs, oldest timestamp first, for saving.
    pub fn entries(&self) -> impl Iterator<Item = NonceEntry> + '_ {
        self.by_time
            .iter()
            .map(|(timestamp_ms, key, nonce)| NonceEntry {
                key: key.clone(),
                nonce: *nonce,
                timestamp_ms: *timestamp_ms,
            })
    }

    /// Loads saved pairs (into a new or a used window).
    ///
    /// A pair given twice keeps its later timestamp. Each entry also tells the
    /// window that the clock had reached at least `timestamp_ms − max_skew_ms`
    /// when it was accepted; entries the window would already have forgotten
    /// are dropped.
    pub fn restore(&mut self, entries: impl IntoIterator<Item = NonceEntry>) {
        for entry in entries {
            let earliest_clock = i128::from(entry.timestamp_ms) - i128::from(self.max_skew_ms);
            let earliest_clock = i64::try_from(earliest_clock).unwrap_or(i64::MIN);
            self.advance(earliest_clock);
            let pair = (entry.key, entry.nonce);
            match self.seen.get(&pair) {
                Some(&known) if known >= entry.timestamp_ms => continue,
                Some(&known) => {
                    self.by_time.remove(&(known, pair.0.clone(), pair.1));
                }
                None => {}
            }
            self.by_time
                .insert((entry.timestamp_ms, pair.0.clone(), pair.1));
            self.seen.insert(pair, entry.timestamp_ms);
        }
        if let Some(latest) = self.latest_now_ms {
            self.prune(latest);
        }
    }

    /// Moves the latest clock reading forwards to `now_ms` if it is later, and
    /// returns the latest reading.
    fn advance(&mut self, now_ms: i64) -> i64 {
        let latest = self.latest_now_ms.map_or(now_ms, |known| known.max(now_ms));
        self.latest_now_ms = Some(latest);
        latest
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    const SKEW: u64 = 1_000;

    fn key(name: &str) -> KeyName {
        KeyName::new(name).unwrap()
    }

    fn nonce(byte: u8) -> Nonce {
        Nonce::new([byte; 16])
    }

    #[test]
    fn a_pair_is_refused_the_second_time_only_for_the_same_key() {
        let mut window = NonceWindow::new(SKEW);
        window
            .check_and_insert(&key("a"), nonce(1), 100, 100)
            .unwrap();
        assert_eq!(
            window.check_and_insert(&key("a"), nonce(1), 150, 150),
            Err(AuthError::ReplayedNonce {
                name: key("a"),
                nonce: nonce(1)
            })
        );
        window
            .check_and_insert(&key("b"), nonce(1), 150, 150)
            .unwrap();
        window
            .check_and_insert(&key("a"), nonce(2), 150, 150)
            .unwrap();
        assert_eq!(window.len(), 3);
    }

    #[test]
    fn entries_are_forgotten_only_past_the_window() {
        let mut window = NonceWindow::new(SKEW);
        window.check_and_insert(&key("a"), nonce(1), 0, 0).unwrap();
        window.prune(1_000);
        assert_eq!(
            window.len(),
            1,
            "a request stamped 0 is still acceptable at 1000"
        );
        window.prune(1_001);
        assert!(window.is_empty());
    }

    #[test]
    fn a_clock_stepped_back_cannot_reopen_a_replay() {
        let mut window = NonceWindow::new(SKEW);
        window.check_and_insert(&key("a"), nonce(1), 0, 0).unwrap();
        window.prune(5_000);
        assert!(window.is_empty());
        // The server's clock steps back to 500: the request stamped 0 would be
        // within skew of it, but the window may have forgotten it.
        assert_eq!(
            window.check_and_insert(&key("a"), nonce(1), 0, 500),
            Err(AuthError::ClockSkew {
                skew_ms: 5_000,
                max_ms: SKEW
            })
        );
    }

    #[test]
    fn restore_brings_back_what_entries_saved() {
        let mut window = NonceWindow::new(SKEW);
        for (byte, time) in [(1u8, 10i64), (2, 20), (3, 30)] {
            window
                .check_and_insert(&key("a"), nonce(byte), time, time)
                .unwrap();
        }
        let saved: Vec<NonceEntry> = window.entries().collect();
        assert_eq!(saved.len(), 3);
        assert_eq!(saved[0].timestamp_ms, 10);

        let mut restarted = NonceWindow::new(SKEW);
        restarted.restore(saved.clone());
        assert_eq!(restarted.entries().collect::<Vec<_>>(), saved);
        assert!(matches!(
            restarted.check_and_insert(&key("a"), nonce(2), 20, 40),
            Err(AuthError::ReplayedNonce { .. })
        ));
        // A duplicate keeps the later timestamp.
        restarted.restore([NonceEntry {
            key: key("a"),
            nonce: nonce(1),
            timestamp_ms: 25,
        }]);
        assert_eq!(restarted.len(), 3);
        assert_eq!(restarted.entries().last().unwrap().nonce, nonce(3));
        assert_eq!(
            restarted
                .entries()
                .find(|entry| entry.nonce == nonce(1))
                .unwrap()
                .timestamp_ms,
            25
        );
    }

    #[test]
    fn restore_drops_entries_the_window_would_have_forgotten() {
        let mut window = NonceWindow::new(SKEW);
        window.restore([
            NonceEntry {
                key: key("a"),
                nonce: nonce(1),
                timestamp_ms: 0,
            },
            NonceEntry {
                key: key("a"),
                nonce: nonce(2),
                timestamp_ms: 10_000,
            },
        ]);
        // The second entry shows the clock had reached at least 9000.
        assert_eq!(window.len(), 1);
        assert_eq!(window.entries().next().unwrap().nonce, nonce(2));
    }

    #[test]
    fn extreme_clocks_do_not_overflow() {
        let mut window = NonceWindow::new(u64::MAX);
        window
            .check_and_insert(&key("a"), nonce(1), i64::MAX, i64::MIN)
            .unwrap();
        window.prune(i64::MAX);
        assert_eq!(window.len(), 1);
        let mut narrow = NonceWindow::new(0);
        assert!(matches!(
            narrow.check_and_insert(&key("a"), nonce(1), i64::MIN, i64::MAX),
            Err(AuthError::ClockSkew {
                skew_ms: u64::MAX,
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn after_prune_no_entry_is_older_than_the_window(
            operations in proptest::collection::vec((0u8..4, 0u8..8, -3_000i64..3_000, 0i64..20_000), 1..200),
            prune_at in 0i64..25_000,
        ) {
            let mut window = NonceWindow::new(SKEW);
            for (name, byte, offset, now) in operations {
                let name = key(&format!("k{name}"));
                let _ = window.check_and_insert(&name, nonce(byte), now + offset, now);
            }
            window.prune(prune_at);
            let latest = window.latest_now_ms.unwrap();
            prop_assert!(latest >= prune_at);
            for entry in window.entries() {
                prop_assert!(entry.timestamp_ms >= latest - 1_000, "{entry:?} at {latest}");
                prop_assert!(entry.timestamp_ms <= latest + 1_000, "{entry:?} at {latest}");
            }
            prop_assert_eq!(window.seen.len(), window.by_time.len());
        }

        /// Whatever the order of clock readings, an accepted pair is never
        /// accepted again.
        #[test]
        fn an_accepted_pair_is_never_accepted_twice(
            operations in proptest::collection::vec((0u8..2, 0u8..4, -1_500i64..1_500, 0i64..6_000), 1..300),
        ) {
            let mut window = NonceWindow::new(SKEW);
            let mut accepted = std::collections::HashSet::new();
            for (name, byte, offset, now) in operations {
                let name = key(&format!("k{name}"));
                let timestamp = now + offset;
                if window.check_and_insert(&name, nonce(byte), timestamp, now).is_ok() {
                    prop_assert!(
                        accepted.insert((name.clone(), byte, timestamp)),
                        "{name} {byte} {timestamp} accepted twice"
                    );
                }
            }
        }
    }
}
