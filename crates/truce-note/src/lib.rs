//! Signed notes, checkpoints, cosignatures, a witness and a cosigning policy,
//! following the C2SP specifications `signed-note`, `tlog-checkpoint`,
//! `tlog-cosignature` (Ed25519 `cosignature/v1`) and `tlog-witness`.
//!
//! A pure crate: no I/O, no clock (timestamps are passed in), no randomness
//! (keys are made from seeds the caller draws). Parsers never panic, whatever
//! the input.
//!
//! * [`Note`]: a text and signature lines `— <name> base64(key id ‖ signature)`;
//!   [`Note::parse`], [`Note::verify`] against known [`Verifier`]s, [`open`].
//! * Keys: [`Verifier`] (verifier key strings `name+keyid+base64(type ‖ key)`),
//!   [`NoteSigner`] (Ed25519, type 0x01) and [`Cosigner`] (`cosignature/v1`,
//!   type 0x04), both from 32-byte seeds or `PRIVATE+KEY+…` strings.
//! * [`Checkpoint`]: origin, tree size, root hash ([`truce_merkle::Hash`]),
//!   extension lines.
//! * [`Witness`]: cosigns a log's checkpoints only if each is consistent with
//!   the last one it cosigned ([`truce_merkle::verify_consistency`]).
//! * [`Policy`]: a checkpoint counts only with the log's signature and a
//!   threshold of cosignatures from every [`WitnessGroup`].
//!
//! ```
//! use truce_merkle::{MemoryTree, leaf_hash};
//! use truce_note::{Checkpoint, Cosigner, KeyName, NoteSigner, Policy, Witness, WitnessGroup};
//!
//! let origin = "example.com/truce-log";
//! let log = NoteSigner::from_seed(KeyName::new(origin)?, &[1; 32]);
//! let party_a = Cosigner::from_seed(KeyName::new("witness.party-a.example")?, &[2; 32]);
//! let party_b = Cosigner::from_seed(KeyName::new("witness.party-b.example")?, &[3; 32]);
//! let mut witness_a = Witness::new(origin, log.verifier(), party_a.clone());
//! let mut witness_b = Witness::new(origin, log.verifier(), party_b.clone());
//!
//! let tree = MemoryTree::from_leaf_hashes((0u8..5).map(|i| leaf_hash(&[i])));
//! let checkpoint = Checkpoint::new(origin, tree.size(), tree.root())?;
//! let mut note = checkpoint.sign(&log);
//! for witness in [&mut witness_a, &mut witness_b] {
//!     // First contact: old size 0, no proof.
//!     let cosigned = witness.add_checkpoint(0, &[], &note.to_bytes(), 1_700_000_000)?;
//!     note.push_signature(cosigned.cosignature)?;
//! }
//!
//! let policy = Policy::new(
//!     origin,
//!     log.verifier(),
//!     vec![
//!         WitnessGroup::new("party A", vec![party_a.verifier()], 1)?,
//!         WitnessGroup::new("party B", vec![party_b.verifier()], 1)?,
//!     ],
//! )?;
//! let accepted = policy.check(&note.to_bytes())?;
//! assert_eq!(accepted.checkpoint().size(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod b64;
mod checkpoint;
pub mod cosignature;
mod key;
mod note;
mod policy;
mod witness;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use cosignature::{CosignatureError, TimestampedSignature};
pub use key::{
    Cosigner, ED25519_KEY_LEN, ED25519_SIGNATURE_LEN, KeyError, KeyId, KeyName, KeyNameError,
    NoteSigner, SKEY_PREFIX, SignatureType, Verifier,
};
pub use note::{
    MAX_SIGNATURES, Note, NoteError, NoteSignature, NoteVerifyError, OpenError, SIGNATURE_PREFIX,
    SignatureLineError, VerifiedNote, VerifiedSignature, open,
};
pub use policy::{
    GroupCosignatures, GroupShortfall, Policy, PolicyConfigError, PolicyError, PolicyOk, Shortfall,
    WitnessGroup,
};
pub use witness::{
    AddCheckpointRequest, Cosigned, MAX_PROOF_LINES, RequestError, TreeHead, Witness,
    WitnessRefusal, WitnessState,
};
