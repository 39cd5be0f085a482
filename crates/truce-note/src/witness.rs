//! A witness for one log (c2sp.org/tlog-witness `add-checkpoint` rules) as a
//! pure state machine.
//!
//! The witness remembers the latest checkpoint it cosigned (size and root)
//! and the timestamp of that cosignature. Given a new signed checkpoint, the
//! size the submitter believes the witness is at ("old size") and a
//! consistency proof from there, it either cosigns and advances, or refuses
//! with a [`WitnessRefusal`] and does not change. It reads no clock (the
//! timestamp is passed in) and stores nothing: persisting [`WitnessState`]
//! atomically with the decision is the caller's job.

use std::fmt;

use truce_merkle::{EMPTY_ROOT, Hash, VerifyError, verify_consistency};

use crate::b64;
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::{self, CosignatureError};
use crate::key::{Cosigner, Verifier};
use crate::note::{Note, NoteError, NoteSignature, NoteVerifyError};

/// The most consistency-proof lines an `add-checkpoint` request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// A tree size and its root hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at that size.
    pub root: Hash,
}

/// What a witness must persist about one log: the latest checkpoint it
/// cosigned and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessState {
    /// The latest cosigned tree head.
    pub tree: TreeHead,
    /// The timestamp of that cosignature (POSIX seconds).
    pub timestamp: u64,
}

/// Why a witness refused to cosign. Each refusal leaves the witness unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessRefusal {
    /// The submitted bytes are not a signed note.
    #[error("malformed note: {0}")]
    MalformedNote(#[from] NoteError),
    /// The note text is not a checkpoint.
    #[error("not a checkpoint: {0}")]
    NotACheckpoint(#[from] CheckpointError),
    /// The checkpoint is for another log.
    #[error("unknown origin {origin:?}")]
    UnknownOrigin {
        /// The origin line of the checkpoint.
        origin: String,
    },
    /// The log's signature is absent or does not verify.
    #[error("checkpoint not signed by the log: {0}")]
    NotSignedByLog(NoteVerifyError),
    /// The submitter's old size is larger than the checkpoint's size.
    #[error("old size {old_size} is larger than the checkpoint size {checkpoint_size}")]
    OldSizeAfterCheckpoint {
        /// The old size of the request.
        old_size: u64,
        /// The size of the submitted checkpoint.
        checkpoint_size: u64,
    },
    /// The checkpoint is smaller than one the witness already cosigned.
    #[error(
        "tree size went backwards: witness is at {latest_size}, checkpoint has {checkpoint_size}"
    )]
    SizeWentBackwards {
        /// The size the witness last cosigned.
        latest_size: u64,
        /// The size of the submitted checkpoint.
        checkpoint_size: u64,
    },
    /// The submitter's old size is not the witness's latest size.
    #[error("old size {old_size} does not match the witness's latest size {latest_size}")]
    OldSizeMismatch {
        /// The old size of the request.
        old_size: u64,
        /// The size the witness last cosigned (0 if none).
        latest_size: u64,
    },
    /// The checkpoint has the size the witness is at but another root: a
    /// fork, evidence of log misbehaviour.
    #[error(
        "same size {size}, different root: witness has {latest_root}, checkpoint has {checkpoint_root}"
    )]
    SameSizeDifferentRoot {
        /// The common size.
        size: u64,
        /// The root the witness cosigned.
        latest_root: Hash,
        /// The root of the submitted checkpoint.
        checkpoint_root: Hash,
    },
    /// A checkpoint of size 0 whose root is not the empty tree's root.
    #[error("a checkpoint of size 0 must have the empty root, got {root}")]
    NonEmptyRootAtSizeZero {
        /// The root of the submitted checkpoint.
        root: Hash,
    },
    /// A proof was given although no proof is needed (old size 0, or the
    /// same size as the checkpoint).
    #[error("expected an empty consistency proof, got {proof_len} hashes")]
    UnexpectedProof {
        /// The number of hashes given.
        proof_len: usize,
    },
    /// The consistency proof does not prove the checkpoint extends the
    /// witness's latest checkpoint.
    #[error("consistency proof does not verify: {0}")]
    InconsistentProof(VerifyError),
    /// The timestamp given is earlier than that of the witness's latest cosignature.
    #[error("timestamp {timestamp} is before the latest cosignature's {latest_timestamp}")]
    TimestampWentBackwards {
        /// The timestamp given.
        timestamp: u64,
        /// The timestamp of the latest cosignature.
        latest_timestamp: u64,
    },
    /// The timestamp given does not fit a cosignature.
    #[error(transparent)]
    Timestamp(#[from] CosignatureError),
}

impl WitnessRefusal {
    /// The HTTP status c2sp.org/tlog-witness prescribes for this refusal
    /// (500 for the witness's own timestamp problems).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::MalformedNote(_)
            | Self::NotACheckpoint(_)
            | Self::OldSizeAfterCheckpoint { .. } => 400,
            Self::NotSignedByLog(_) => 403,
            Self::UnknownOrigin { .. } => 404,
            Self::SizeWentBackwards { .. }
            | Self::OldSizeMismatch { .. }
            | Self::SameSizeDifferentRoot { .. } => 409,
            Self::NonEmptyRootAtSizeZero { .. }
            | Self::UnexpectedProof { .. }
            | Self::InconsistentProof(_) => 422,
            Self::TimestampWentBackwards { .. } | Self::Timestamp(_) => 500,
        }
    }
}

/// A successful `add-checkpoint`: the checkpoint and the witness's cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint that was cosigned.
    pub checkpoint: Checkpoint,
    /// The cosignature line to append to the checkpoint's note.
    pub cosignature: NoteSignature,
}

/// A witness for one log.
#[derive(Debug, Clone)]
pub struct Witness {
    origin: String,
    log: Verifier,
    cosigner: Cosigner,
    state: Option<WitnessState>,
}

impl Witness {
    /// A witness of the log with this origin and key that has cosigned nothing yet.
    pub fn new(origin: &str, log: Verifier, cosigner: Cosigner) -> Self {
        Self {
            origin: origin.to_owned(),
            log,
            cosigner,
            state: None,
        }
    }

    /// Resumes from a persisted state.
    pub fn with_state(mut self, state: WitnessState) -> Self {
        self.state = Some(state);
        self
    }

    /// The latest cosigned checkpoint and its timestamp, if any.
    pub fn state(&self) -> Option<WitnessState> {
        self.state
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The cosigner's verifier (type 0x04), for clients' policies.
    pub fn verifier(&self) -> Verifier {
        self.cosigner.verifier()
    }

    /// Decides on an `add-checkpoint` request, in the order of
    /// c2sp.org/tlog-witness:
    ///
    /// 1. the note parses, its text is a checkpoint, its origin is this log's
    ///    (404 otherwise), and the log's signature verifies (403);
    /// 2. `old_size` ≤ checkpoint size (400);
    /// 3. the checkpoint is not smaller than the latest cosigned one and
    ///    `old_size` is the latest cosigned size, 0 if none (409);
    /// 4. same size as the latest: same root (409) and an empty proof;
    ///    old size 0: an empty proof, and a size-0 checkpoint has the empty
    ///    root; otherwise the consistency proof from the latest root to the
    ///    checkpoint's root verifies (422);
    /// 5. the timestamp is not before the latest cosignature's.
    ///
    /// Then it cosigns at `timestamp` and records the checkpoint.
    pub fn add_checkpoint(
        &mut self,
        old_size: u64,
        proof: &[Hash],
        note: &[u8],
        timestamp: u64,
    ) -> Result<Cosigned, WitnessRefusal> {
        let note = Note::parse(note)?;
        let checkpoint = Checkpoint::from_text(note.text())?;
        if checkpoint.origin() != self.origin {
            return Err(WitnessRefusal::UnknownOrigin {
                origin: checkpoint.origin().to_owned(),
            });
        }
        note.verify(std::slice::from_ref(&self.log))
            .map_err(WitnessRefusal::NotSignedByLog)?;

        let size = checkpoint.size();
        let root = checkpoint.root();
        if old_size > size {
            return Err(WitnessRefusal::OldSizeAfterCheckpoint {
                old_size,
                checkpoint_size: size,
            });
        }
        let latest = self.state.map(|state| state.tree);
        let latest_size = latest.map_or(0, |tree| tree.size);
        if size < latest_size {
            return Err(WitnessRefusal::SizeWentBackwards {
                latest_size,
                checkpoint_size: size,
            });
        }
        if old_size != latest_size {
            return Err(WitnessRefusal::OldSizeMismatch {
                old_size,
                latest_size,
            });
        }
        if size == 0 && root != EMPTY_ROOT {
            return Err(WitnessRefusal::NonEmptyRootAtSizeZero { root });
        }
        match latest {
            Some(tree) if tree.size == size => {
                if tree.root != root {
                    return Err(WitnessRefusal::SameSizeDifferentRoot {
                        size,
                        latest_root: tree.root,
                        checkpoint_root: root,
                    });
                }
                require_empty(proof)?;
            }
            // Old size 0 (whether or not a size-0 checkpoint was cosigned):
            // the empty tree is a prefix of every tree, no proof needed.
            None => require_empty(proof)?,
            Some(tree) if tree.size == 0 => require_empty(proof)?,
            Some(tree) => verify_consistency(tree.size, size, proof, &tree.root, &root)
                .map_err(WitnessRefusal::InconsistentProof)?,
        }

        cosignature::check_timestamp(timestamp)?;
        if let Some(state) = self.state
            && timestamp < state.timestamp
        {
            return Err(WitnessRefusal::TimestampWentBackwards {
                timestamp,
                latest_timestamp: state.timestamp,
            });
        }
        let cosignature = self.cosigner.cosign_text(note.text(), timestamp)?;
        self.state = Some(WitnessState {
            tree: TreeHead { size, root },
            timestamp,
        });
        Ok(Cosigned {
            checkpoint,
            cosignature,
        })
    }

    /// [`Witness::add_checkpoint`] for a parsed request.
    pub fn add_request(
        &mut self,
        request: &AddCheckpointRequest,
        timestamp: u64,
    ) -> Result<Cosigned, WitnessRefusal> {
        self.add_checkpoint(request.old_size, &request.proof, &request.note, timestamp)
    }
}

fn require_empty(proof: &[Hash]) -> Result<(), WitnessRefusal> {
    if proof.is_empty() {
        Ok(())
    } else {
        Err(WitnessRefusal::UnexpectedProof {
            proof_len: proof.len(),
        })
    }
}

/// Why an `add-checkpoint` request body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is not UTF-8 up to the blank line.
    #[error("request header is not UTF-8")]
    NotUtf8,
    /// No blank line ends the header.
    #[error("request has no blank line before the checkpoint")]
    MissingBlankLine,
    /// The first line is not `old <size>`.
    #[error("first line must be \"old <size>\", got {line:?}")]
    OldSizeLine {
        /// The first line.
        line: String,
    },
    /// A proof line is not the base64 of 32 bytes (`line` counts from 1 after the old-size line).
    #[error("proof line {line} is not the padded base64 of a 32-byte hash")]
    ProofLine {
        /// 1-based index of the proof line.
        line: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} proof lines")]
    TooManyProofLines,
    /// Nothing follows the blank line.
    #[error("request has no checkpoint")]
    MissingCheckpoint,
}

/// The body of a c2sp.org/tlog-witness `add-checkpoint` request: `old <size>`,
/// up to 63 base64 consistency-proof hashes, a blank line, the signed
/// checkpoint; each line ending in a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the latest checkpoint the submitter believes the witness cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, unparsed.
    pub note: Vec<u8>,
}

impl AddCheckpointRequest {
    /// Parses a request body. The note after the blank line is kept as bytes
    /// and checked by [`Witness::add_checkpoint`].
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let blank = body
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .ok_or(RequestError::MissingBlankLine)?;
        let header = std::str::from_utf8(&body[..blank]).map_err(|_| RequestError::NotUtf8)?;
        let note = body[blank + 2..].to_vec();
        if note.is_empty() {
            return Err(RequestError::MissingCheckpoint);
        }
        let mut lines = header.split('\n');
        let first = lines.next().unwrap_or_default();
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| RequestError::OldSizeLine {
                line: first.to_owned(),
            })?;
        let mut proof = Vec::new();
        for (idx, line) in lines.enumerate() {
            if idx >= MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let hash = b64::decode(line)
                .and_then(|bytes| Hash::from_slice(&bytes).ok())
                .ok_or(RequestError::ProofLine { line: idx + 1 })?;
            proof.push(hash);
        }
        Ok(Self {
            old_size,
            proof,
            note,
        })
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for AddCheckpointRequest {
    /// The body; the note is written lossily if it is not UTF-8.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old_size)?;
        for hash in &self.proof {
            writeln!(f, "{}", b64::encode(hash.as_bytes()))?;
        }
        writeln!(f)?;
        f.write_str(&String::from_utf8_lossy(&self.note))
    }
}

/// A decimal `u64` without sign or leading zeroes (`0` alone is allowed).
fn parse_decimal(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeyName, NoteSigner};
    use truce_merkle::{MemoryTree, leaf_hash};

    const ORIGIN: &str = "example.com/witness-test-log";

    struct Fixture {
        log: NoteSigner,
        tree: MemoryTree,
        witness: Witness,
    }

    fn fixture() -> Fixture {
        let log = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[1; 32]);
        let cosigner = Cosigner::from_seed(KeyName::new("witness.example").unwrap(), &[2; 32]);
        let tree = MemoryTree::from_leaf_hashes((0u32..40).map(|i| leaf_hash(&i.to_be_bytes())));
        let witness = Witness::new(ORIGIN, log.verifier(), cosigner);
        Fixture { log, tree, witness }
    }

    impl Fixture {
        fn note(&self, size: u64) -> Vec<u8> {
            let root = self.tree.root_at(size).unwrap();
            Checkpoint::new(ORIGIN, size, root)
                .unwrap()
                .sign(&self.log)
                .to_bytes()
        }

        fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
            self.tree.consistency_proof(from, to).unwrap()
        }
    }

    #[test]
    fn first_checkpoint_needs_no_proof_then_proofs_are_checked() {
        let mut fx = fixture();
        let note = fx.note(10);
        let cosigned = fx.witness.add_checkpoint(0, &[], &note, 100).unwrap();
        assert_eq!(cosigned.checkpoint.size(), 10);
        let mut full = Note::parse(&note).unwrap();
        full.push_signature(cosigned.cosignature).unwrap();
        let verified = full.verify(&[fx.witness.verifier()]).unwrap();
        assert_eq!(verified.verified()[0].timestamp(), Some(100));

        let note = fx.note(25);
        let proof = fx.proof(10, 25);
        fx.witness.add_checkpoint(10, &proof, &note, 101).unwrap();
        assert_eq!(fx.witness.state().unwrap().tree.size, 25);

        // The same checkpoint again: re-cosigned, no proof.
        fx.witness.add_checkpoint(25, &[], &note, 102).unwrap();
        assert_eq!(
            fx.witness.add_checkpoint(25, &proof, &note, 103),
            Err(WitnessRefusal::UnexpectedProof {
                proof_len: proof.len()
            })
        );
    }

    #[test]
    fn refusals_are_typed_and_leave_the_state_alone() {
        let mut fx = fixture();
        let note20 = fx.note(20);
        fx.witness.add_checkpoint(0, &[], &note20, 100).unwrap();
        let before = fx.witness.state();

        // Not signed by the log: signed by another key with the same name.
        let impostor = NoteSigner::from_seed(KeyName::new(ORIGIN).unwrap(), &[9; 32]);
        let root30 = fx.tree.root_at(30).unwrap();
        let forged = Checkpoint::new(ORIGIN, 30, root30).unwrap().sign(&impostor);
        let refusal = fx
            .witness
            .add_checkpoint(20, &fx.proof(20, 30), &forged.to_bytes(), 101)
            .unwrap_err();
        assert!(matches!(refusal, WitnessRefusal::NotSignedByLog(_)));
        assert_eq!(refusal.http_status(), 403);

        // Another log.
        let other = Checkpoint::new("other.example", 30, root30)
            .unwrap()
            .sign(&fx.log);
        let refusal = fx
            .witness
            .add_checkpoint(20, &[], &other.to_bytes(), 101)
            .unwrap_err();
        assert_eq!(refusal.http_status(), 404);

        // Backwards.
        let note10 = fx.note(10);
        assert_eq!(
            fx.witness.add_checkpoint(10, &[], &note10, 101),
            Err(WitnessRefusal::SizeWentBackwards {
                latest_size: 20,
                checkpoint_size: 10
            })
        );
        assert_eq!(
            fx.witness
                .add_checkpoint(0, &[], &note10, 101)
                .unwrap_err()
                .http_status(),
            409
        );

        // Old size after the checkpoint.
        let note30 = fx.note(30);
        assert_eq!(
            fx.witness.add_checkpoint(31, &[], &note30, 101),
            Err(WitnessRefusal::OldSizeAfterCheckpoint {
                old_size: 31,
                checkpoint_size: 30
            })
        );

        // Wrong old size.
        assert_eq!(
            fx.witness
                .add_checkpoint(15, &fx.proof(15, 30), &note30, 101),
            Err(WitnessRefusal::OldSizeMismatch {
                old_size: 15,
                latest_size: 20
            })
        );

        // Same size, other root.
        let fork = Checkpoint::new(ORIGIN, 20, leaf_hash(b"fork"))
            .unwrap()
            .sign(&fx.log);
        assert!(matches!(
            fx.witness.add_checkpoint(20, &[], &fork.to_bytes(), 101),
            Err(WitnessRefusal::SameSizeDifferentRoot { size: 20, .. })
        ));

        // Bad proof: a proof for other sizes, and a tampered one.
        assert!(matches!(
            fx.witness
                .add_checkpoint(20, &fx.proof(19, 30), &note30, 101),
            Err(WitnessRefusal::InconsistentProof(_))
        ));
        let mut tampered = fx.proof(20, 30);
        tampered[0] = leaf_hash(b"x");
        let refusal = fx
            .witness
            .add_checkpoint(20, &tampered, &note30, 101)
            .unwrap_err();
        assert!(matches!(refusal, WitnessRefusal::InconsistentProof(_)));
        assert_eq!(refusal.http_status(), 422);

        // Timestamps.
        assert_eq!(
            fx.witness
                .add_checkpoint(20, &fx.proof(20, 30), &note30, 99),
            Err(WitnessRefusal::TimestampWentBackwards {
                timestamp: 99,
                latest_timestamp: 100
            })
        );
        assert!(matches!(
            fx.witness
                .add_checkpoint(20, &fx.proof(20, 30), &note30, 1 << 63),
            Err(WitnessRefusal::Timestamp(_))
        ));

        // Malformed input.
        assert!(matches!(
            fx.witness.add_checkpoint(20, &[], b"junk", 101),
            Err(WitnessRefusal::MalformedNote(_))
        ));
        let not_checkpoint = fx.log.sign_note("hello\n").unwrap();
        assert!(matches!(
            fx.witness
                .add_checkpoint(20, &[], &not_checkpoint.to_bytes(), 101),
            Err(WitnessRefusal::NotACheckpoint(_))
        ));

        assert_eq!(fx.witness.state(), before);
        fx.witness
            .add_checkpoint(20, &fx.proof(20, 30), &note30, 101)
            .unwrap();
    }

    #[test]
    fn size_zero_rules() {
        let mut fx = fixture();
        let bad_empty = Checkpoint::new(ORIGIN, 0, leaf_hash(b""))
            .unwrap()
            .sign(&fx.log);
        assert!(matches!(
            fx.witness.add_checkpoint(0, &[], &bad_empty.to_bytes(), 1),
            Err(WitnessRefusal::NonEmptyRootAtSizeZero { .. })
        ));
        let empty = fx.note(0);
        fx.witness.add_checkpoint(0, &[], &empty, 1).unwrap();
        let note5 = fx.note(5);
        assert_eq!(
            fx.witness.add_checkpoint(0, &fx.proof(1, 5), &note5, 2),
            Err(WitnessRefusal::UnexpectedProof { proof_len: 3 })
        );
        fx.witness.add_checkpoint(0, &[], &note5, 2).unwrap();
    }

    #[test]
    fn request_round_trip() {
        let fx = fixture();
        let request = AddCheckpointRequest {
            old_size: 10,
            proof: fx.proof(10, 25),
            note: fx.note(25),
        };
        let body = request.to_bytes();
        assert!(body.starts_with(b"old 10\n"));
        assert_eq!(AddCheckpointRequest::parse(&body).unwrap(), request);

        let mut witness = fx.witness.clone();
        witness.add_checkpoint(0, &[], &fx.note(10), 5).unwrap();
        witness.add_request(&request, 6).unwrap();

        let first = AddCheckpointRequest::parse(b"old 0\n\nx").unwrap();
        assert_eq!((first.old_size, first.proof.len()), (0, 0));
        for (body, want) in [
            (&b"old 01\n\nx"[..], "first line"),
            (b"old -1\n\nx", "first line"),
            (b"new 1\n\nx", "first line"),
            (b"old 1\nAAAA\n\nx", "proof line 1"),
            (b"old 1\n", "no blank line"),
            (b"old 1\n\n", "no checkpoint"),
            (b"\xff\n\nx", "UTF-8"),
        ] {
            let error = AddCheckpointRequest::parse(body).unwrap_err().to_string();
            assert!(error.contains(want), "{error} for {body:?}");
        }
        let line = format!("{}\n", b64::encode(&[0u8; 32]));
        let too_many = format!("old 1\n{}\nx", line.repeat(MAX_PROOF_LINES + 1));
        assert_eq!(
            AddCheckpointRequest::parse(too_many.as_bytes()),
            Err(RequestError::TooManyProofLines)
        );
    }
}
