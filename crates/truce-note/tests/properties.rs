//! Property tests, bounded and with fixed seeds so that the whole file runs in
//! a few seconds in a debug build:
//!
//! * sign → verify round trips for notes, checkpoints and cosignatures;
//! * any single-byte change of a signed note makes verification fail (a
//!   one-signature note under its key; a log + witness note under a policy
//!   that requires both);
//! * a witness never cosigns two different roots for one size, and every
//!   root it cosigns is a prefix of the larger ones, across random request
//!   sequences drawn from two forks of a log, while still accepting every
//!   honest request;
//! * no parser panics on arbitrary input, and a parsed note prints back to
//!   the bytes it came from.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use truce_merkle::{EMPTY_ROOT, Hash, MemoryTree, leaf_hash};
use truce_note::{
    AddCheckpointRequest, Checkpoint, Cosigner, KeyName, Note, NoteSignature, NoteSigner, Policy,
    Verifier, Witness, WitnessGroup, WitnessRefusal, cosignature::MAX_TIMESTAMP, open,
};

fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

/// A valid note text: lines of printable characters (some non-ASCII), empty
/// lines allowed, ending in a newline.
fn note_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9 .,:/+=é—-]{0,24}", 1..6)
        .prop_map(|lines| lines.iter().map(|line| format!("{line}\n")).collect())
}

fn key_name() -> impl Strategy<Value = KeyName> {
    "[a-z0-9][a-z0-9./_-]{0,20}".prop_map(|name| KeyName::new(&name).unwrap())
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[a-z0-9][a-z0-9./ -]{0,20}",
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("[a-z0-9 =]{1,10}", 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| {
            let mut checkpoint = Checkpoint::new(&origin, size, Hash::from(root)).unwrap();
            for line in extensions {
                checkpoint = checkpoint.with_extension(&line).unwrap();
            }
            checkpoint
        })
}

proptest! {
    #![proptest_config(config(64, 0x6e6f_7465_0001))]

    #[test]
    fn sign_then_verify(text in note_text(), name in key_name(), seed in any::<[u8; 32]>()) {
        let signer = NoteSigner::from_seed(name, &seed);
        let note = signer.sign_note(&text).unwrap();
        let bytes = note.to_bytes();
        let verified = open(&bytes, &[signer.verifier()]).unwrap();
        prop_assert_eq!(verified.text(), text.as_str());
        prop_assert_eq!(verified.verified().len(), 1);
        prop_assert_eq!(verified.verified()[0].name(), signer.name());
        prop_assert_eq!(Note::parse(&bytes).unwrap(), note);
        // The key strings round-trip.
        let vkey = signer.verifier().to_vkey();
        prop_assert_eq!(Verifier::from_vkey(&vkey).unwrap(), signer.verifier());
        prop_assert_eq!(NoteSigner::from_skey(&signer.to_skey()).unwrap().to_skey(), signer.to_skey());
    }

    #[test]
    fn checkpoint_cosign_then_verify(
        checkpoint in checkpoint(),
        log_name in key_name(),
        witness_name in key_name(),
        seeds in any::<([u8; 32], [u8; 32])>(),
        timestamp in 0..=MAX_TIMESTAMP,
    ) {
        let text = checkpoint.to_text();
        prop_assert_eq!(&Checkpoint::from_text(&text).unwrap(), &checkpoint);
        let log = NoteSigner::from_seed(log_name, &seeds.0);
        let cosigner = Cosigner::from_seed(witness_name, &seeds.1);
        let mut note = checkpoint.sign(&log);
        note.push_signature(cosigner.cosign(&checkpoint, timestamp).unwrap()).unwrap();
        let verified = open(&note.to_bytes(), &[log.verifier(), cosigner.verifier()]).unwrap();
        let found = verified.find(&cosigner.verifier()).unwrap();
        prop_assert_eq!(found.timestamp(), Some(timestamp));
        prop_assert!(verified.is_verified_by(&log.verifier()));
    }

    #[test]
    fn any_byte_change_breaks_a_signed_note(
        text in note_text(),
        seed in any::<[u8; 32]>(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let signer = NoteSigner::from_seed(KeyName::new("example.com/log").unwrap(), &seed);
        let bytes = signer.sign_note(&text).unwrap().to_bytes();
        let position = position.index(bytes.len());
        let mut changed = bytes.clone();
        changed[position] = if replacement == bytes[position] {
            replacement.wrapping_add(1)
        } else {
            replacement
        };
        prop_assert!(
            open(&changed, &[signer.verifier()]).is_err(),
            "byte {} changed and still verified", position
        );
        if let Ok(note) = Note::parse(&changed) {
            prop_assert_eq!(note.to_bytes(), changed);
        }
    }

    #[test]
    fn any_byte_change_breaks_a_cosigned_checkpoint_under_policy(
        checkpoint in checkpoint(),
        seeds in any::<([u8; 32], [u8; 32])>(),
        timestamp in 0..=MAX_TIMESTAMP,
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let log = NoteSigner::from_seed(KeyName::new("example.com/log").unwrap(), &seeds.0);
        let witness = Cosigner::from_seed(KeyName::new("example.com/witness").unwrap(), &seeds.1);
        let policy = Policy::new(
            checkpoint.origin(),
            log.verifier(),
            vec![WitnessGroup::new("party", vec![witness.verifier()], 1).unwrap()],
        )
        .unwrap();
        let mut note = checkpoint.sign(&log);
        note.push_signature(witness.cosign(&checkpoint, timestamp).unwrap()).unwrap();
        let bytes = note.to_bytes();
        prop_assert!(policy.check(&bytes).is_ok());
        let position = position.index(bytes.len());
        let mut changed = bytes.clone();
        changed[position] = if replacement == bytes[position] {
            replacement.wrapping_add(1)
        } else {
            replacement
        };
        prop_assert!(
            policy.check(&changed).is_err(),
            "byte {} changed and the policy still accepted", position
        );
    }
}

// ---------------------------------------------------------------------------
// The witness against two forks of a log.

const MAX_SIZE: u64 = 24;
const ORIGIN: &str = "example.com/forked-log";

/// Two histories of one log that agree on the first `fork_at` leaves.
struct Forks {
    trees: [MemoryTree; 2],
    log: NoteSigner,
    notes: BTreeMap<(usize, u64), Vec<u8>>,
}

impl Forks {
    fn new(fork_at: u64) -> Self {
        let tree = |fork: u64| {
            MemoryTree::from_leaf_hashes((0..MAX_SIZE).map(|leaf| {
                let branch = if leaf < fork_at { 0 } else { fork };
                leaf_hash(format!("leaf {leaf} of branch {branch}").as_bytes())
            }))
        };
        Self {
            trees: [tree(0), tree(1)],
            log: NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[7; 32]),
            notes: BTreeMap::new(),
        }
    }

    fn root(&self, fork: usize, size: u64) -> Hash {
        self.trees[fork].root_at(size).unwrap()
    }

    /// The log-signed checkpoint of `fork` at `size` (signed once, then cached).
    fn note(&mut self, fork: usize, size: u64) -> Vec<u8> {
        let root = self.root(fork, size);
        let log = &self.log;
        self.notes
            .entry((fork, size))
            .or_insert_with(|| {
                Checkpoint::new(ORIGIN, size, root)
                    .unwrap()
                    .sign(log)
                    .to_bytes()
            })
            .clone()
    }

    /// A consistency proof between two sizes of one fork (empty where none exists).
    fn proof(&self, fork: usize, from: u64, to: u64) -> Vec<Hash> {
        if from == 0 || from > to {
            return Vec::new();
        }
        self.trees[fork].consistency_proof(from, to).unwrap()
    }
}

#[derive(Debug, Clone)]
enum ProofKind {
    /// The proof from `old_size` in the checkpoint's own fork.
    Honest,
    /// The proof from `old_size` in the other fork.
    OtherFork,
    /// The honest proof with one hash replaced.
    Tampered(prop::sample::Index),
    /// No proof.
    Empty,
}

#[derive(Debug, Clone)]
enum SizePick {
    /// Any size.
    Absolute(u64),
    /// The witness's current size plus this, clamped to the trees: keeps
    /// most requests near the witness, where forks and proofs matter.
    Relative(i64),
}

#[derive(Debug, Clone)]
struct Step {
    fork: usize,
    size: SizePick,
    /// `None`: the witness's current size, as an honest log would send.
    old_size: Option<u64>,
    proof: ProofKind,
}

fn step() -> impl Strategy<Value = Step> {
    let proof = prop_oneof![
        4 => Just(ProofKind::Honest),
        1 => Just(ProofKind::OtherFork),
        1 => any::<prop::sample::Index>().prop_map(ProofKind::Tampered),
        1 => Just(ProofKind::Empty),
    ];
    let size = prop_oneof![
        1 => (0..=MAX_SIZE).prop_map(SizePick::Absolute),
        3 => (-2..=6i64).prop_map(SizePick::Relative),
    ];
    (
        0..2usize,
        size,
        prop::option::weighted(0.25, 0..=MAX_SIZE),
        proof,
    )
        .prop_map(|(fork, size, old_size, proof)| Step {
            fork,
            size,
            old_size,
            proof,
        })
}

fn run_witness(fork_at: u64, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut forks = Forks::new(fork_at);
    let cosigner = Cosigner::from_seed(KeyName::new("witness.example").unwrap(), &[8; 32]);
    let mut witness = Witness::new(ORIGIN, forks.log.verifier(), cosigner.clone());
    // Every cosigned (size → root), and the fork each cosigned root came from.
    let mut cosigned: BTreeMap<u64, (Hash, usize)> = BTreeMap::new();
    let mut accepted = 0;

    for (step_idx, step) in steps.iter().enumerate() {
        let current = witness.state().map(|state| state.tree);
        let current_size = current.map_or(0, |tree| tree.size);
        let size = match step.size {
            SizePick::Absolute(size) => size,
            SizePick::Relative(delta) => current_size.saturating_add_signed(delta).min(MAX_SIZE),
        };
        let old_size = step.old_size.unwrap_or(current_size);
        let honest_proof = forks.proof(step.fork, old_size, size);
        let proof = match &step.proof {
            ProofKind::Honest => honest_proof,
            ProofKind::OtherFork => forks.proof(1 - step.fork, old_size, size),
            ProofKind::Tampered(index) if !honest_proof.is_empty() => {
                let mut proof = honest_proof;
                let at = index.index(proof.len());
                proof[at] = leaf_hash(b"tampered");
                proof
            }
            ProofKind::Tampered(_) | ProofKind::Empty => Vec::new(),
        };
        let note = forks.note(step.fork, size);
        let timestamp = 1_000 + step_idx as u64;
        let result = witness.add_checkpoint(old_size, &proof, &note, timestamp);

        // Would an honest witness have to accept? The request extends the
        // witness's current root in this fork, with the honest proof.
        let root_here = forks.root(step.fork, size);
        let extends_current = match current {
            None => true,
            Some(tree) => tree.size <= size && forks.root(step.fork, tree.size) == tree.root,
        };
        let honest = extends_current
            && old_size == current_size
            && proof == forks.proof(step.fork, old_size, size);
        match result {
            Ok(done) => {
                accepted += 1;
                prop_assert_eq!(done.checkpoint.root(), root_here);
                prop_assert_eq!(done.checkpoint.size(), size);
                if let Some((root, _)) = cosigned.get(&size) {
                    prop_assert_eq!(*root, root_here, "two roots cosigned for size {}", size);
                }
                cosigned.insert(size, (root_here, step.fork));
                // Every cosigned root is a prefix of the largest one.
                let (&largest, &(largest_root, largest_fork)) = cosigned.last_key_value().unwrap();
                prop_assert_eq!(forks.root(largest_fork, largest), largest_root);
                for (&size, &(root, _)) in &cosigned {
                    prop_assert_eq!(forks.root(largest_fork, size), root);
                }
                // The cosignature verifies over the checkpoint at this time.
                let mut full = Note::parse(&note).unwrap();
                full.push_signature(done.cosignature).unwrap();
                let verified = full.verify(&[cosigner.verifier()]).unwrap();
                prop_assert_eq!(verified.verified()[0].timestamp(), Some(timestamp));
            }
            Err(refusal) => {
                prop_assert!(!honest, "honest request refused: {:?} {}", step, refusal);
                prop_assert_eq!(witness.state().map(|state| state.tree), current);
                if size == current_size
                    && current.is_some_and(|tree| tree.root != root_here)
                    && old_size == current_size
                {
                    let is_fork_refusal =
                        matches!(refusal, WitnessRefusal::SameSizeDifferentRoot { .. });
                    prop_assert!(is_fork_refusal);
                }
            }
        }
        if size == 0 {
            prop_assert_eq!(root_here, EMPTY_ROOT);
        }
    }
    // The first step always has an honest old size 0 unless drawn otherwise;
    // over a sequence the witness must have accepted something whenever an
    // honest request was made (checked per step above).
    let _ = accepted;
    Ok(())
}

proptest! {
    #![proptest_config(config(40, 0x6e6f_7465_0002))]

    #[test]
    fn witness_never_cosigns_two_roots_for_one_size(
        fork_at in 0..=MAX_SIZE,
        steps in prop::collection::vec(step(), 1..24),
    ) {
        run_witness(fork_at, &steps)?;
    }
}

// ---------------------------------------------------------------------------
// Parsers never panic.

/// Bytes that look like notes: fragments of valid notes, signature lines and
/// junk, so that parsing gets past the first checks.
fn note_like() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just("\u{2014} ".as_bytes().to_vec()),
        Just(b"example.com/log ".to_vec()),
        Just(b"AAAAAAA=".to_vec()),
        Just(b"8\n".to_vec()),
        Just(b"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".to_vec()),
        Just(b"old 0\n".to_vec()),
        "[ -~]{0,12}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(fragment, 0..16).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config(512, 0x6e6f_7465_0003))]

    #[test]
    fn parsers_never_panic(bytes in prop_oneof![note_like(), prop::collection::vec(any::<u8>(), 0..200)]) {
        if let Ok(note) = Note::parse(&bytes) {
            prop_assert_eq!(note.to_bytes(), bytes.clone());
            prop_assert!(note.verify(&[]).is_err());
        }
        let lossy = String::from_utf8_lossy(&bytes);
        if let Ok(checkpoint) = Checkpoint::from_text(&lossy) {
            prop_assert_eq!(checkpoint.to_text(), lossy.as_ref());
        }
        let _ = NoteSignature::parse_lines(&lossy);
        let _ = Verifier::from_vkey(&lossy);
        let _ = NoteSigner::from_skey(&lossy);
        let _ = Cosigner::from_skey(&lossy);
        if let Ok(request) = AddCheckpointRequest::parse(&bytes) {
            prop_assert!(request.proof.len() <= truce_note::MAX_PROOF_LINES);
        }
        let log = NoteSigner::from_seed(KeyName::new("example.com/log").unwrap(), &[1; 32]);
        let cosigner = Cosigner::from_seed(KeyName::new("w").unwrap(), &[2; 32]);
        let mut witness = Witness::new("example.com/log", log.verifier(), cosigner);
        prop_assert!(witness.add_checkpoint(0, &[], &bytes, 1).is_err());
    }
}
