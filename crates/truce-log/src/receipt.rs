//! Receipts: offline-verifiable proofs that an entry is in the log, in the
//! c2sp.org/tlog-proof@v1 format.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use truce_merkle::{Hash, leaf_hash, verify_inclusion};
use truce_note::{
    Checkpoint, Note, NoteError, Policy, PolicyConfigError, PolicyError, PolicyOk, Verifier,
};

/// The first line of a tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most proof lines a receipt may have: an inclusion proof in a tree of
/// at most 2^64 − 1 leaves has at most 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;

/// A receipt for one entry: its index, its inclusion proof, and the signed
/// checkpoint (possibly cosigned) whose tree includes it, plus optional
/// unauthenticated extra data.
///
/// Written as c2sp.org/tlog-proof@v1:
///
/// ```text
/// c2sp.org/tlog-proof@v1
/// extra <base64>            (only if there is extra data)
/// index <decimal>
/// <base64 hash>             (one line per proof hash, leaf to root)
///
/// <the signed checkpoint note, verbatim>
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    index: u64,
    proof: Vec<Hash>,
    checkpoint: Note,
    extra: Option<Vec<u8>>,
}

/// Why bytes are not a tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The bytes are not UTF-8.
    #[error("a receipt is UTF-8 text")]
    NotUtf8,
    /// The first line is not `c2sp.org/tlog-proof@v1`.
    #[error("the first line must be {TLOG_PROOF_HEADER:?}")]
    Header,
    /// A line is malformed (`line` counts from 1).
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// No blank line separates the proof from the checkpoint.
    #[error("no blank line before the checkpoint")]
    MissingCheckpoint,
    /// More proof lines than any tree can need.
    #[error("more than {MAX_PROOF_HASHES} proof hashes")]
    TooManyHashes,
    /// The checkpoint is not a well-formed signed note.
    #[error("the checkpoint is not a signed note: {0}")]
    Note(#[from] NoteError),
}

/// Why a receipt does not prove its entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptVerifyError {
    /// The receipt cannot be parsed.
    #[error(transparent)]
    Malformed(#[from] ReceiptError),
    /// The checkpoint does not satisfy the policy (signatures, origin).
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] PolicyError),
    /// The origin given to [`verify_receipt_with_log_key`] is not a valid
    /// checkpoint origin.
    #[error("no policy for this origin: {0}")]
    Origin(#[from] PolicyConfigError),
    /// The inclusion proof does not lead from the entry to the checkpoint's
    /// root.
    #[error("entry {index} is not proven in the checkpoint of size {tree_size}: {reason}")]
    Inclusion {
        /// The receipt's index.
        index: u64,
        /// The checkpoint's size.
        tree_size: u64,
        /// Why.
        reason: truce_merkle::VerifyError,
    },
}

/// A receipt that verified: the entry is at `index` in the tree of the
/// checkpoint, which satisfied the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The entry's index.
    pub index: u64,
    /// The checkpoint that includes it.
    pub checkpoint: Checkpoint,
    /// What the policy accepted (signatures, cosignature timestamps).
    pub policy: PolicyOk,
}

impl Receipt {
    /// A receipt from its parts.
    pub fn new(index: u64, proof: Vec<Hash>, checkpoint: Note) -> Self {
        Receipt {
            index,
            proof,
            checkpoint,
            extra: None,
        }
    }

    /// Attaches unauthenticated extra data (the `extra` line).
    pub fn with_extra(mut self, extra: Vec<u8>) -> Self {
        self.extra = Some(extra);
        self
    }

    /// Replaces the checkpoint note, e.g. by the same checkpoint with
    /// witness cosignatures added. The proof stays valid only for a note of
    /// the same tree.
    pub fn with_checkpoint(mut self, checkpoint: Note) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// The entry's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The inclusion proof, leaf to root.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The signed checkpoint (unverified until [`Receipt::verify`]).
    pub fn checkpoint(&self) -> &Note {
        &self.checkpoint
    }

    /// The extra data, if any. Not authenticated.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// The receipt's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Parses a tlog-proof strictly: the header line; an optional `extra`
    /// line of canonical padded base64; `index` in decimal without leading
    /// zeroes; one canonical base64 SHA-256 hash per line; a blank line;
    /// then the signed checkpoint note, which must be well-formed.
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ReceiptError::NotUtf8)?;
        let (head, note) = text
            .split_once("\n\n")
            .ok_or(ReceiptError::MissingCheckpoint)?;
        let mut lines = head
            .split('\n')
            .enumerate()
            .map(|(idx, line)| (idx + 1, line));
        match lines.next() {
            Some((_, TLOG_PROOF_HEADER)) => {}
            _ => return Err(ReceiptError::Header),
        }
        let (mut line_number, mut line) = lines.next().ok_or(ReceiptError::Line {
            line: 2,
            reason: "missing index line",
        })?;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            extra = Some(STANDARD.decode(encoded).map_err(|_| ReceiptError::Line {
                line: line_number,
                reason: "extra data is not canonical base64",
            })?);
            (line_number, line) = lines.next().ok_or(ReceiptError::Line {
                line: line_number + 1,
                reason: "missing index line",
            })?;
        }
        let index_text = line.strip_prefix("index ").ok_or(ReceiptError::Line {
            line: line_number,
            reason: "expected `index <n>`",
        })?;
        let index = parse_decimal(index_text).ok_or(ReceiptError::Line {
            line: line_number,
            reason: "index is not a decimal without leading zeroes",
        })?;
        let mut proof = Vec::new();
        for (line_number, line) in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(ReceiptError::TooManyHashes);
            }
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|bytes| Hash::from_slice(&bytes).ok())
                .ok_or(ReceiptError::Line {
                    line: line_number,
                    reason: "not the canonical base64 of a 32-byte hash",
                })?;
            proof.push(hash);
        }
        let checkpoint = Note::parse(note.as_bytes())?;
        Ok(Receipt {
            index,
            proof,
            checkpoint,
            extra,
        })
    }

    /// Verifies that `entry` is the entry this receipt proves: the checkpoint
    /// must satisfy `policy` (the log's signature, and the cosignatures the
    /// policy requires; a policy without witness groups checks the log's
    /// signature only), and the proof must lead from the entry's leaf hash to
    /// the checkpoint's root.
    pub fn verify(
        &self,
        entry: &[u8],
        policy: &Policy,
    ) -> Result<VerifiedReceipt, ReceiptVerifyError> {
        let accepted = policy.check_note(&self.checkpoint)?;
        let checkpoint = accepted.checkpoint().clone();
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            checkpoint.size(),
            &self.proof,
            &checkpoint.root(),
        )
        .map_err(|reason| ReceiptVerifyError::Inclusion {
            index: self.index,
            tree_size: checkpoint.size(),
            reason,
        })?;
        Ok(VerifiedReceipt {
            index: self.index,
            checkpoint,
            policy: accepted,
        })
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{TLOG_PROOF_HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", STANDARD.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for hash in &self.proof {
            writeln!(f, "{}", STANDARD.encode(hash.as_bytes()))?;
        }
        writeln!(f)?;
        write!(f, "{}", self.checkpoint)
    }
}

/// Parses and verifies a receipt (see [`Receipt::verify`]).
pub fn verify_receipt(
    receipt: &[u8],
    entry: &[u8],
    policy: &Policy,
) -> Result<VerifiedReceipt, ReceiptVerifyError> {
    Receipt::parse(receipt)?.verify(entry, policy)
}

/// Parses and verifies a receipt against the log's key alone (no witness
/// cosignatures required): [`verify_receipt`] with a policy without witness
/// groups.
pub fn verify_receipt_with_log_key(
    receipt: &[u8],
    entry: &[u8],
    origin: &str,
    log_key: &Verifier,
) -> Result<VerifiedReceipt, ReceiptVerifyError> {
    let policy = Policy::new(origin, log_key.clone(), Vec::new())?;
    verify_receipt(receipt, entry, &policy)
}

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
    use truce_merkle::MemoryTree;
    use truce_note::{KeyName, NoteSigner};

    fn signed_tree() -> (NoteSigner, MemoryTree, Note) {
        let signer = NoteSigner::from_seed(KeyName::new("example.org/log").unwrap(), &[7; 32]);
        let tree = MemoryTree::from_leaf_hashes((0u8..6).map(|i| leaf_hash(&[i])));
        let note = Checkpoint::new("example.org/log", 6, tree.root())
            .unwrap()
            .sign(&signer);
        (signer, tree, note)
    }

    #[test]
    fn round_trip_and_verify() {
        let (signer, tree, note) = signed_tree();
        let policy = Policy::new("example.org/log", signer.verifier(), vec![]).unwrap();
        for extra in [None, Some(b"context".to_vec())] {
            let mut receipt = Receipt::new(4, tree.inclusion_proof(4, 6).unwrap(), note.clone());
            if let Some(extra) = extra.clone() {
                receipt = receipt.with_extra(extra);
            }
            let bytes = receipt.to_bytes();
            let parsed = Receipt::parse(&bytes).unwrap();
            assert_eq!(parsed, receipt);
            let verified = verify_receipt(&bytes, &[4], &policy).unwrap();
            assert_eq!(verified.index, 4);
            let by_key =
                verify_receipt_with_log_key(&bytes, &[4], "example.org/log", &signer.verifier())
                    .unwrap();
            assert_eq!(by_key.checkpoint, verified.checkpoint);
            assert!(matches!(
                verify_receipt_with_log_key(&bytes, &[4], "example.org/other", &signer.verifier()),
                Err(ReceiptVerifyError::Checkpoint(
                    PolicyError::WrongOrigin { .. }
                ))
            ));
            assert_eq!(verified.checkpoint.size(), 6);
            assert!(matches!(
                verify_receipt(&bytes, &[5], &policy),
                Err(ReceiptVerifyError::Inclusion { .. })
            ));
        }
        let text = String::from_utf8(Receipt::new(4, vec![], note).to_bytes()).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 4\n\nexample.org/log\n6\n"));
    }

    #[test]
    fn malformed_receipts() {
        let (_, tree, note) = signed_tree();
        let good = String::from_utf8(
            Receipt::new(1, tree.inclusion_proof(1, 6).unwrap(), note).to_bytes(),
        )
        .unwrap();
        let cases: Vec<(String, ReceiptError)> = vec![
            (good.replacen("@v1", "@v2", 1), ReceiptError::Header),
            (
                good.replacen("index 1", "index 01", 1),
                ReceiptError::Line {
                    line: 2,
                    reason: "index is not a decimal without leading zeroes",
                },
            ),
            (
                good.replacen("index 1", "idx 1", 1),
                ReceiptError::Line {
                    line: 2,
                    reason: "expected `index <n>`",
                },
            ),
            (
                good.replacen("=\n", "\n", 1),
                ReceiptError::Line {
                    line: 3,
                    reason: "not the canonical base64 of a 32-byte hash",
                },
            ),
            (
                good.replacen("\n\n", "\n", 1).replacen("\n\n", "\n", 1),
                ReceiptError::MissingCheckpoint,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Receipt::parse(text.as_bytes()), Err(expected), "{text}");
        }
        assert_eq!(Receipt::parse(&[0xff, 0xfe]), Err(ReceiptError::NotUtf8));
    }
}
