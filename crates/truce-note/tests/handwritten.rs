//! Our own known-answer vectors, which run everywhere.
//!
//! The expected strings were computed outside this crate, with Python's
//! `hashlib` (key ids, the RFC 6962 root of the leaves `a`, `b`, `c`) and the
//! `cryptography` package's Ed25519 (signatures), from these inputs:
//!
//! * log key: name `truce.example/test-log`, seed bytes `00 01 02 … 1f`;
//! * witness key: name `truce.example/test-witness`, seed bytes `20 21 … 3f`,
//!   `cosignature/v1` at time 1750000000;
//! * checkpoint: the 3-leaf tree of leaves `a`, `b`, `c`.

#![allow(clippy::unwrap_used)]

use truce_merkle::{leaf_hash, node_hash};
use truce_note::{
    Checkpoint, Cosigner, KeyName, Note, NoteSigner, Policy, SignatureType, Verifier, Witness,
    WitnessGroup, open,
};

const LOG_NAME: &str = "truce.example/test-log";
const WITNESS_NAME: &str = "truce.example/test-witness";
const LOG_VKEY: &str =
    "truce.example/test-log+08737c8e+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const LOG_SKEY: &str =
    "PRIVATE+KEY+truce.example/test-log+08737c8e+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
const WITNESS_VKEY: &str =
    "truce.example/test-witness+56e4ab18+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X";
const CHECKPOINT_TEXT: &str =
    "truce.example/test-log\n3\nNmQuc8JUCrEh46a/lUWwokmCzYMOsT080Z3jzmwCHsE=\n";
const LOG_LINE: &str = "— truce.example/test-log CHN8jqDe4rfUnXZBgRDw9FXlo10AagpHrAv3P0GUTJX+sSbrPve6gXgQNFB/24ZRBm0ULrV4AcWXZk2eiOZ/swyfbQw=\n";
const WITNESS_LINE: &str = "— truce.example/test-witness VuSrGAAAAABoTuGABKl1T18CTPy85PRdOxeHalVkxaYkKV1SArTTp6PSNREEnsVHr4D7zywwlC16+t44pPaAP25pZ69ABiD92bhEDg==\n";
const TIMESTAMP: u64 = 1_750_000_000;

fn log_seed() -> [u8; 32] {
    std::array::from_fn(|idx| idx as u8)
}

fn witness_seed() -> [u8; 32] {
    std::array::from_fn(|idx| 32 + idx as u8)
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(KeyName::new(LOG_NAME).unwrap(), &log_seed())
}

fn cosigner() -> Cosigner {
    Cosigner::from_seed(KeyName::new(WITNESS_NAME).unwrap(), &witness_seed())
}

fn checkpoint() -> Checkpoint {
    let root = node_hash(
        &node_hash(&leaf_hash(b"a"), &leaf_hash(b"b")),
        &leaf_hash(b"c"),
    );
    Checkpoint::new(LOG_NAME, 3, root).unwrap()
}

#[test]
fn keys() {
    let signer = log_signer();
    assert_eq!(signer.to_skey(), LOG_SKEY);
    assert_eq!(signer.verifier().to_vkey(), LOG_VKEY);
    assert_eq!(signer.key_id().to_string(), "08737c8e");
    assert_eq!(NoteSigner::from_skey(LOG_SKEY).unwrap().to_skey(), LOG_SKEY);
    let witness = Verifier::from_vkey(WITNESS_VKEY).unwrap();
    assert_eq!(witness, cosigner().verifier());
    assert_eq!(witness.signature_type(), SignatureType::CosignatureV1);
    assert_eq!(witness.key_id().to_string(), "56e4ab18");
}

#[test]
fn checkpoint_signature_is_exact() {
    assert_eq!(checkpoint().to_text(), CHECKPOINT_TEXT);
    let note = checkpoint().sign(&log_signer());
    assert_eq!(note.to_string(), format!("{CHECKPOINT_TEXT}\n{LOG_LINE}"));
}

#[test]
fn cosignature_is_exact() {
    let line = cosigner().cosign(&checkpoint(), TIMESTAMP).unwrap();
    assert_eq!(line.to_line(), WITNESS_LINE);
}

#[test]
fn witness_produces_the_same_cosignature() {
    let log = Verifier::from_vkey(LOG_VKEY).unwrap();
    let mut witness = Witness::new(LOG_NAME, log, cosigner());
    let note = format!("{CHECKPOINT_TEXT}\n{LOG_LINE}");
    let cosigned = witness
        .add_checkpoint(0, &[], note.as_bytes(), TIMESTAMP)
        .unwrap();
    assert_eq!(cosigned.cosignature.to_line(), WITNESS_LINE);
    assert_eq!(cosigned.checkpoint, checkpoint());
}

#[test]
fn full_note_verifies_and_satisfies_the_policy() {
    let note = format!("{CHECKPOINT_TEXT}\n{LOG_LINE}{WITNESS_LINE}");
    let log = Verifier::from_vkey(LOG_VKEY).unwrap();
    let witness = Verifier::from_vkey(WITNESS_VKEY).unwrap();
    let verified = open(note.as_bytes(), &[log.clone(), witness.clone()]).unwrap();
    let summary: Vec<_> = verified
        .verified()
        .iter()
        .map(|s| (s.name().as_str(), s.timestamp()))
        .collect();
    assert_eq!(summary, [(LOG_NAME, None), (WITNESS_NAME, Some(TIMESTAMP))]);
    assert_eq!(Note::parse(note.as_bytes()).unwrap().to_string(), note);

    let policy = Policy::new(
        LOG_NAME,
        log,
        vec![WitnessGroup::new("party", vec![witness], 1).unwrap()],
    )
    .unwrap();
    assert_eq!(
        policy.check(note.as_bytes()).unwrap().checkpoint(),
        &checkpoint()
    );
    // Without the cosignature the policy names the missing witness.
    let error = policy
        .check(format!("{CHECKPOINT_TEXT}\n{LOG_LINE}").as_bytes())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "policy not satisfied: group \"party\" has 0 of 1 required cosignatures \
         (missing: truce.example/test-witness)"
    );
}

#[test]
fn a_cosignature_at_another_time_does_not_verify() {
    // Same signature bytes, timestamp field changed by one second.
    let line = cosigner().cosign(&checkpoint(), TIMESTAMP).unwrap();
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1;
    let shifted =
        truce_note::NoteSignature::new(line.name().clone(), line.key_id(), bytes).unwrap();
    let note = Note::new(CHECKPOINT_TEXT, vec![shifted]).unwrap();
    assert!(note.verify(&[cosigner().verifier()]).is_err());
}
