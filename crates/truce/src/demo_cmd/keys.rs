//! The demo's request-signing keys: the admin's and one per simulated source that the
//! service registers, written as `truce key new` writes them so that `truce submit` can use
//! them afterwards.
//!
//! The keys are derived from the seed (SHA-256 of a label, the seed and the key name), so the
//! same seed registers the same public keys. Anyone who knows the seed can recompute them:
//! they are for the demo's data only.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use truce_auth::RequestSigner;
use truce_model::{Source, SourceKind};
use truce_note::{Cosigner, KeyName, NoteSigner};

use crate::key_cmd::{file_stem, write_new_file};

/// The admin key's name (the identity the service knows it by).
pub const ADMIN_NAME: &str = "demo_admin";

/// Domain separation of the derived key seeds.
const KEY_LABEL: &[u8] = b"truce demo request-signing key v1\0";

/// Domain separation of the derived witness key seeds.
const WITNESS_LABEL: &[u8] = b"truce demo witness key v1\0";

/// The demo's witnesses, one per party: (key name, party).
pub const WITNESSES: [(&str, &str); 2] =
    [("witness.ua.example", "UA"), ("witness.ru.example", "RU")];

/// One key pair of the demo, written to disk.
#[derive(Debug, Clone)]
pub struct DemoKey {
    /// The source the key speaks for (for the admin: the admin's name, kind monitor, the
    /// kind the service registers the admin with).
    pub source: Source,
    /// Signs requests.
    pub signer: RequestSigner,
    /// `NAME.key` (its public half is `NAME.pub` beside it).
    pub private_path: PathBuf,
}

impl DemoKey {
    /// The key's name.
    pub fn name(&self) -> &str {
        self.source.id.as_str()
    }

    /// Whether the service lets this key submit reports (parties and monitors; media,
    /// OSINT and public sources only read).
    pub fn submits_reports(&self) -> bool {
        matches!(self.source.kind, SourceKind::Party | SourceKind::Monitor)
    }
}

/// Whether the demo registers a key for a simulated source: both parties' sources, the
/// monitors, the media and the open-source groups (members of the public are left out).
pub fn registered(source: &Source) -> bool {
    !matches!(source.kind, SourceKind::Public)
}

/// The 32-byte seed of the key `name` for the demo seed `seed`.
fn key_seed(seed: u64, name: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(KEY_LABEL);
    hasher.update(seed.to_be_bytes());
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// Derives the witness key `name` for the demo seed `seed` and writes it into `dir`
/// (`NAME.key` with mode 0600, as `truce log keygen --witness` makes, and `NAME.pub`).
pub fn write_witness_key(dir: &Path, seed: u64, name: &str) -> anyhow::Result<Cosigner> {
    let key_name = KeyName::new(name).with_context(|| format!("{name:?} cannot be a key name"))?;
    let mut hasher = Sha256::new();
    hasher.update(WITNESS_LABEL);
    hasher.update(seed.to_be_bytes());
    hasher.update(name.as_bytes());
    let cosigner = Cosigner::from_seed(key_name, &hasher.finalize().into());
    let stem = file_stem(name);
    write_new_file(
        &dir.join(format!("{stem}.key")),
        &format!("{}\n", cosigner.to_skey()),
        true,
    )?;
    write_new_file(
        &dir.join(format!("{stem}.pub")),
        &format!("{}\n", cosigner.verifier().to_vkey()),
        false,
    )?;
    Ok(cosigner)
}

/// Derives and writes the key of `source` into `dir` (`NAME.key` with mode 0600, `NAME.pub`).
fn write_key(dir: &Path, seed: u64, source: Source) -> anyhow::Result<DemoKey> {
    let name = KeyName::new(source.id.as_str())
        .with_context(|| format!("{:?} cannot be a key name", source.id.as_str()))?;
    let note_signer = NoteSigner::from_seed(name, &key_seed(seed, source.id.as_str()));
    let skey = note_signer.to_skey();
    let signer = RequestSigner::new(note_signer)
        .with_context(|| format!("the key {:?} cannot sign requests", source.id.as_str()))?;
    let stem = file_stem(source.id.as_str());
    let private_path = dir.join(format!("{stem}.key"));
    let public_path = dir.join(format!("{stem}.pub"));
    write_new_file(&private_path, &format!("{skey}\n"), true)?;
    write_new_file(
        &public_path,
        &format!("{}\n", signer.verifier().to_vkey()),
        false,
    )?;
    Ok(DemoKey {
        source,
        signer,
        private_path,
    })
}

/// Writes the admin's key and one key per registered source of `sources` into `dir`
/// (created); returns the admin's key and the sources' keys in the order of `sources`.
pub fn write_keys(
    dir: &Path,
    seed: u64,
    sources: &[Source],
) -> anyhow::Result<(DemoKey, Vec<DemoKey>)> {
    fs::create_dir_all(dir)
        .with_context(|| format!("creating the key directory {}", dir.display()))?;
    let admin = write_key(
        dir,
        seed,
        Source {
            id: ADMIN_NAME.into(),
            kind: SourceKind::Monitor,
            party: None,
        },
    )?;
    let keys = sources
        .iter()
        .filter(|source| registered(source))
        .map(|source| write_key(dir, seed, source.clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((admin, keys))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::key_cmd::read_request_signer;

    fn source(id: &str, kind: SourceKind, party: Option<&str>) -> Source {
        Source {
            id: id.into(),
            kind,
            party: party.map(Into::into),
        }
    }

    #[test]
    fn keys_follow_the_seed_and_read_back_as_key_files() {
        let sources = [
            source("ua_gs", SourceKind::Party, Some("UA")),
            source("mission_patrol_1", SourceKind::Monitor, None),
            source("public_001", SourceKind::Public, None),
        ];
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let third = tempfile::tempdir().unwrap();
        let (admin, keys) = write_keys(first.path(), 7, &sources).unwrap();
        let (_, again) = write_keys(second.path(), 7, &sources).unwrap();
        let (_, other) = write_keys(third.path(), 8, &sources).unwrap();
        assert_eq!(
            keys.iter().map(DemoKey::name).collect::<Vec<_>>(),
            ["ua_gs", "mission_patrol_1"]
        );
        assert!(keys.iter().all(DemoKey::submits_reports));
        assert_eq!(keys[0].signer.verifier(), again[0].signer.verifier());
        assert_ne!(keys[0].signer.verifier(), other[0].signer.verifier());
        assert_ne!(keys[0].signer.verifier(), keys[1].signer.verifier());
        let read = read_request_signer(&admin.private_path).unwrap();
        assert_eq!(read.verifier(), admin.signer.verifier());
        assert_eq!(read.name().as_str(), ADMIN_NAME);
        let public = fs::read_to_string(keys[0].private_path.with_extension("pub")).unwrap();
        assert_eq!(public.trim(), keys[0].signer.verifier().to_vkey());
    }
}
