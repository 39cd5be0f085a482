//! The registry of keys the server checks signatures against: an in-memory
//! map loaded from the store's sources and kept up to date by the writer
//! after each applied batch.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use truce_auth::{KeyDirectory, RegisteredKey, Role};
use truce_model::SourceKind;
use truce_note::{KeyName, Verifier};
use truce_store::{Projected, SourceRecord};

/// A registered source as the server uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceKey {
    /// What truce-auth needs.
    pub key: RegisteredKey,
    /// The kind of source.
    pub kind: SourceKind,
    /// The log index of its registration.
    pub registered_at_index: u64,
}

/// The keys by name.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    keys: RwLock<HashMap<KeyName, SourceKey>>,
}

impl Registry {
    /// A registry holding `sources` (from the store); sources whose stored
    /// key, kind or role does not parse are left out with a warning: they
    /// can sign nothing.
    pub fn from_sources(sources: &[SourceRecord]) -> Self {
        let registry = Self::default();
        registry.replace(sources);
        registry
    }

    /// Replaces the whole registry with `sources`.
    pub fn replace(&self, sources: &[SourceRecord]) {
        let mut keys = HashMap::with_capacity(sources.len());
        for source in sources {
            if let Some((name, key)) = source_key(source) {
                keys.insert(name, key);
            }
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// Takes in the sources and revocations of an applied batch.
    pub fn apply(&self, batch: &[Projected]) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        for item in batch {
            match item {
                Projected::Source(source) => {
                    if let Some((name, key)) = source_key(source) {
                        keys.insert(name, key);
                    }
                }
                Projected::SourceRevoked { name, at_ms, .. } => {
                    if let Ok(name) = KeyName::new(name)
                        && let Some(source) = keys.get_mut(&name)
                    {
                        source.key.revoked_at_ms = Some(*at_ms);
                    }
                }
                _ => {}
            }
        }
    }

    /// The source registered under `name`.
    pub fn get(&self, name: &KeyName) -> Option<SourceKey> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

impl KeyDirectory for Registry {
    fn lookup(&self, name: &KeyName) -> Option<RegisteredKey> {
        self.get(name).map(|source| source.key)
    }
}

fn source_key(source: &SourceRecord) -> Option<(KeyName, SourceKey)> {
    let parsed = (|| {
        let verifier = Verifier::from_vkey(&source.vkey).ok()?;
        let role: Role = source.role.parse().ok()?;
        let kind: SourceKind = source.kind.parse().ok()?;
        Some((verifier, role, kind))
    })();
    let Some((verifier, role, kind)) = parsed else {
        tracing::warn!(source = %source.name, "stored source has an unusable key, role or kind; it can sign nothing");
        return None;
    };
    Some((
        verifier.name().clone(),
        SourceKey {
            key: RegisteredKey {
                verifier,
                role,
                party: source.party.clone(),
                revoked_at_ms: source.revoked_at_ms,
            },
            kind,
            registered_at_index: source.registered_at_index,
        },
    ))
}
