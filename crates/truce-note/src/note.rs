//! Signed notes (c2sp.org/signed-note): parsing, formatting, verification.

use std::fmt;

use crate::b64;
use crate::key::{Checked, KeyId, KeyName, KeyNameError, SignatureType, Verifier};

/// The most signature lines a note may carry. The spec asks verifiers to
/// bound the count and to accept at least 16; 100 is Go's bound.
pub const MAX_SIGNATURES: usize = 100;

/// The start of every signature line: U+2014 EM DASH and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a signature line is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureLineError {
    /// The line does not start with an em dash and a space.
    #[error("a signature line must start with U+2014 and a space")]
    MissingPrefix,
    /// There is no space between key name and signature.
    #[error("a signature line must have a space between key name and signature")]
    MissingSeparator,
    /// The key name is invalid.
    #[error(transparent)]
    KeyName(#[from] KeyNameError),
    /// The signature is not canonical padded standard base64.
    #[error("signature is not canonical padded standard base64")]
    Base64,
    /// The signature has fewer than 5 bytes (4-byte key id and at least one byte).
    #[error("a signature must have a 4-byte key id and at least one more byte, got {len} bytes")]
    TooShort {
        /// The decoded length.
        len: usize,
    },
}

/// Why bytes are not a well-formed signed note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8 (at byte {offset})")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The note contains an ASCII control character other than newline.
    #[error("note contains control character 0x{byte:02x} at byte {offset}")]
    ControlCharacter {
        /// Offset of the character.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The note text is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note text does not end in a newline.
    #[error("note text must end with a newline")]
    TextMissingNewline,
    /// No blank line separates text and signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureBlock,
    /// The note has no signature line.
    #[error("note has no signature")]
    NoSignatures,
    /// The last signature line does not end in a newline.
    #[error("the last signature line must end with a newline")]
    MissingFinalNewline,
    /// A signature line is malformed (`line` counts from 1 after the blank line).
    #[error("signature line {line}: {reason}")]
    SignatureLine {
        /// 1-based index of the line in the signature block.
        line: usize,
        /// What is wrong with it.
        reason: SignatureLineError,
    },
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The bound, [`MAX_SIGNATURES`].
        max: usize,
    },
}

/// Why a well-formed note does not verify against a set of known keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteVerifyError {
    /// A signature from a known key (name and key id match) does not verify;
    /// the whole note is rejected.
    #[error("signature by known key {name} ({key_id}) does not verify")]
    InvalidSignature {
        /// The key name.
        name: KeyName,
        /// The key id.
        key_id: KeyId,
    },
    /// No signature is from a known key.
    #[error("no signature from a known key ({unknown} from unknown keys)")]
    NoTrustedSignature {
        /// How many distinct signatures from unknown keys the note carries.
        unknown: usize,
    },
    /// Two different known keys share a name and key id.
    #[error("two different known keys have name {name} and key id {key_id}")]
    AmbiguousVerifiers {
        /// The shared name.
        name: KeyName,
        /// The shared key id.
        key_id: KeyId,
    },
}

/// Why [`open`] refused a note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The bytes are not a well-formed note.
    #[error("malformed note: {0}")]
    Malformed(#[from] NoteError),
    /// The note does not verify.
    #[error(transparent)]
    Verify(#[from] NoteVerifyError),
}

/// One signature line: key name, key id and the signature bytes after the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: KeyName,
    key_id: KeyId,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line from its parts; `signature` (after the key id) must
    /// not be empty.
    pub fn new(
        name: KeyName,
        key_id: KeyId,
        signature: Vec<u8>,
    ) -> Result<Self, SignatureLineError> {
        if signature.is_empty() {
            return Err(SignatureLineError::TooShort { len: 4 });
        }
        Ok(Self::from_parts(name, key_id, signature))
    }

    pub(crate) fn from_parts(name: KeyName, key_id: KeyId, signature: Vec<u8>) -> Self {
        Self {
            name,
            key_id,
            signature,
        }
    }

    /// Parses one signature line, without its final newline.
    pub fn parse_line(line: &str) -> Result<Self, SignatureLineError> {
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(SignatureLineError::MissingPrefix)?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(SignatureLineError::MissingSeparator)?;
        let name = KeyName::new(name)?;
        let bytes = b64::decode(encoded).ok_or(SignatureLineError::Base64)?;
        if bytes.len() < 5 {
            return Err(SignatureLineError::TooShort { len: bytes.len() });
        }
        let (id_bytes, signature) = bytes.split_at(4);
        let mut id = [0u8; 4];
        id.copy_from_slice(id_bytes);
        Ok(Self {
            name,
            key_id: KeyId::from_be_bytes(id),
            signature: signature.to_vec(),
        })
    }

    /// Parses a block of signature lines, each ending in a newline (the body
    /// of a c2sp.org/tlog-witness `add-checkpoint` response).
    pub fn parse_lines(block: &str) -> Result<Vec<Self>, NoteError> {
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let lines = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        check_characters(block.as_bytes())?;
        let mut signatures = Vec::new();
        for (line_idx, line) in lines.split('\n').enumerate() {
            if line_idx >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let signature = Self::parse_line(line).map_err(|reason| NoteError::SignatureLine {
                line: line_idx + 1,
                reason,
            })?;
            signatures.push(signature);
        }
        Ok(signatures)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key id.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line with its final newline.
    pub fn to_line(&self) -> String {
        format!("{self}\n")
    }
}

impl fmt::Display for NoteSignature {
    /// The line without its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        write!(f, "{SIGNATURE_PREFIX}{} {}", self.name, b64::encode(&bytes))
    }
}

/// Refuses invalid UTF-8 and ASCII control characters other than newline.
fn check_characters(bytes: &[u8]) -> Result<&str, NoteError> {
    if let Some(offset) = bytes.iter().position(|&byte| byte < 0x20 && byte != b'\n') {
        return Err(NoteError::ControlCharacter {
            offset,
            byte: bytes[offset],
        });
    }
    std::str::from_utf8(bytes).map_err(|error| NoteError::InvalidUtf8 {
        offset: error.valid_up_to(),
    })
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingNewline);
    }
    check_characters(text.as_bytes())?;
    Ok(())
}

/// A well-formed signed note: a text and 1 to [`MAX_SIGNATURES`] signature
/// lines, none of them verified yet.
///
/// The text MUST be ignored until [`Note::verify`] (or a [`crate::Policy`])
/// has accepted the note. `Display` and [`Note::to_bytes`] give back exactly
/// the bytes [`Note::parse`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note from its text (non-empty, ending in a newline, no control
    /// character but newline) and 1 to [`MAX_SIGNATURES`] signatures.
    pub fn new(text: &str, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        check_text(text)?;
        if signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// A note from a text already known to be valid and 1 to
    /// [`MAX_SIGNATURES`] signatures.
    pub(crate) fn from_checked_parts(text: String, signatures: Vec<NoteSignature>) -> Self {
        debug_assert!(check_text(&text).is_ok());
        debug_assert!((1..=MAX_SIGNATURES).contains(&signatures.len()));
        Self { text, signatures }
    }

    /// Parses a signed note, following every rule of c2sp.org/signed-note:
    /// valid UTF-8 without control characters other than newline; the text is
    /// everything up to and including the newline before the *last* blank
    /// line; then one or more lines `— <name> <base64(key id ‖ signature)>`,
    /// each ending in a newline; at most [`MAX_SIGNATURES`] of them.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let whole = check_characters(bytes)?;
        let split = whole
            .rfind("\n\n")
            .ok_or(NoteError::MissingSignatureBlock)?;
        let text = &whole[..=split];
        let block = &whole[split + 2..];
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let lines = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        let mut signatures = Vec::new();
        for (line_idx, line) in lines.split('\n').enumerate() {
            if line_idx >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let signature =
                NoteSignature::parse_line(line).map_err(|reason| NoteError::SignatureLine {
                    line: line_idx + 1,
                    reason,
                })?;
            signatures.push(signature);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, final newline included, blank separator line excluded.
    /// Unverified: do not act on it before verification.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines in note order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (e.g. a witness cosignature).
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The serialized note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Verifies the note against the known keys, following the rules of
    /// c2sp.org/signed-note:
    ///
    /// * a signature is addressed to a known key when both its key name and
    ///   key id match; any other signature is ignored, but kept in
    ///   [`VerifiedNote::unknown`] (identical duplicates once);
    /// * every signature addressed to a known key is verified, and if one
    ///   fails the whole note is rejected;
    /// * at least one signature from a known key must verify.
    ///
    /// A key that signed several times appears once in
    /// [`VerifiedNote::verified`] (at its first line, with the latest
    /// cosignature timestamp).
    pub fn verify(&self, known: &[Verifier]) -> Result<VerifiedNote, NoteVerifyError> {
        let checked = check_signatures(self, known)?;
        if checked.verified.is_empty() {
            return Err(NoteVerifyError::NoTrustedSignature {
                unknown: checked.unknown.len(),
            });
        }
        Ok(checked)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            writeln!(f, "{signature}")?;
        }
        Ok(())
    }
}

/// Parses and verifies a note in one step ([`Note::parse`], then [`Note::verify`]).
pub fn open(bytes: &[u8], known: &[Verifier]) -> Result<VerifiedNote, OpenError> {
    let note = Note::parse(bytes)?;
    Ok(note.verify(known)?)
}

/// A signature that verified under a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    name: KeyName,
    key_id: KeyId,
    signature_type: SignatureType,
    timestamp: Option<u64>,
}

impl VerifiedSignature {
    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The type of the key that verified it.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The cosignature timestamp (POSIX seconds), for `cosignature/v1`.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }
}

/// A note whose signatures were checked against a set of known keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
    unknown: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The note as parsed (all its signature lines).
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The note text.
    pub fn text(&self) -> &str {
        self.note.text()
    }

    /// The known keys whose signatures verified, each once, in note order.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// Signatures from keys that are not known, ignored; identical
    /// duplicates appear once.
    pub fn unknown(&self) -> &[NoteSignature] {
        &self.unknown
    }

    /// Whether this key's signature verified.
    pub fn is_verified_by(&self, verifier: &Verifier) -> bool {
        self.find(verifier).is_some()
    }

    /// The verified signature of this key, if any.
    pub fn find(&self, verifier: &Verifier) -> Option<&VerifiedSignature> {
        self.verified.iter().find(|signature| {
            verifier.matches(&signature.name, signature.key_id)
                && verifier.signature_type() == signature.signature_type
        })
    }
}

/// Checks every signature addressed to a known key; accepts a note where
/// none is (the callers decide what that means).
pub(crate) fn check_signatures(
    note: &Note,
    known: &[Verifier],
) -> Result<VerifiedNote, NoteVerifyError> {
    for (idx, first) in known.iter().enumerate() {
        for second in &known[idx + 1..] {
            if first.matches(second.name(), second.key_id()) && first != second {
                return Err(NoteVerifyError::AmbiguousVerifiers {
                    name: first.name().clone(),
                    key_id: first.key_id(),
                });
            }
        }
    }
    let mut verified: Vec<VerifiedSignature> = Vec::new();
    let mut unknown: Vec<NoteSignature> = Vec::new();
    for signature in &note.signatures {
        let Some(verifier) = known
            .iter()
            .find(|verifier| verifier.matches(&signature.name, signature.key_id))
        else {
            if !unknown.contains(signature) {
                unknown.push(signature.clone());
            }
            continue;
        };
        match verifier.check(&note.text, &signature.signature) {
            Checked::Invalid => {
                return Err(NoteVerifyError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                });
            }
            Checked::Valid { timestamp } => {
                if let Some(seen) = verified
                    .iter_mut()
                    .find(|seen| seen.name == signature.name && seen.key_id == signature.key_id)
                {
                    seen.timestamp = seen.timestamp.max(timestamp);
                } else {
                    verified.push(VerifiedSignature {
                        name: signature.name.clone(),
                        key_id: signature.key_id,
                        signature_type: verifier.signature_type(),
                        timestamp,
                    });
                }
            }
        }
    }
    Ok(VerifiedNote {
        note: note.clone(),
        verified,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::NoteSigner;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::from_seed(KeyName::new(name).unwrap(), &[seed; 32])
    }

    #[test]
    fn parse_splits_at_the_last_blank_line() {
        let alice = signer("alice", 1);
        let text = "first\n\nsecond paragraph\n";
        let note = alice.sign_note(text).unwrap();
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed, note);
        assert!(open(&bytes, &[alice.verifier()]).is_ok());
    }

    #[test]
    fn structural_errors() {
        let alice = signer("alice", 1);
        let line = alice.sign_text("t\n").to_line();
        assert_eq!(Note::parse(b"t\n"), Err(NoteError::MissingSignatureBlock));
        assert_eq!(Note::parse(b"t\n\n"), Err(NoteError::NoSignatures));
        let no_newline = format!("t\n\n{}", line.trim_end());
        assert_eq!(
            Note::parse(no_newline.as_bytes()),
            Err(NoteError::MissingFinalNewline)
        );
        let tab = format!("t\tx\n\n{line}");
        assert_eq!(
            Note::parse(tab.as_bytes()),
            Err(NoteError::ControlCharacter { offset: 1, byte: 9 })
        );
        let carriage = format!("t\n\n{}\r\n", line.trim_end());
        assert!(matches!(
            Note::parse(carriage.as_bytes()),
            Err(NoteError::ControlCharacter { byte: 13, .. })
        ));
        let mut invalid = b"\xfft\n\n".to_vec();
        invalid.extend_from_slice(line.as_bytes());
        assert_eq!(
            Note::parse(&invalid),
            Err(NoteError::InvalidUtf8 { offset: 0 })
        );
        let hyphen = format!("t\n\n-{}", &line["\u{2014}".len()..]);
        assert_eq!(
            Note::parse(hyphen.as_bytes()),
            Err(NoteError::SignatureLine {
                line: 1,
                reason: SignatureLineError::MissingPrefix
            })
        );
        // A blank line inside the block makes the text run up to it.
        let two = format!("t\n\n{line}\n{line}");
        assert_eq!(
            Note::parse(two.as_bytes()).unwrap().text(),
            format!("t\n\n{line}")
        );
    }

    #[test]
    fn signature_line_errors() {
        use SignatureLineError as E;
        assert_eq!(
            NoteSignature::parse_line("— name"),
            Err(E::MissingSeparator)
        );
        assert!(matches!(
            NoteSignature::parse_line("—  AAAAAAA="),
            Err(E::KeyName(KeyNameError::Empty))
        ));
        assert!(matches!(
            NoteSignature::parse_line("— a+b AAAAAAA="),
            Err(E::KeyName(KeyNameError::Plus { .. }))
        ));
        assert_eq!(
            NoteSignature::parse_line("— n "),
            Err(E::TooShort { len: 0 })
        );
        assert_eq!(NoteSignature::parse_line("— n AAAAAAA"), Err(E::Base64));
        // Non-canonical: the last character carries non-zero unused bits.
        assert_eq!(NoteSignature::parse_line("— n AAAAAAB="), Err(E::Base64));
        assert_eq!(
            NoteSignature::parse_line("— n AAAAAA=="),
            Err(E::TooShort { len: 4 })
        );
        let five = NoteSignature::parse_line("— n AAAAAAA=").unwrap();
        assert_eq!(five.key_id(), KeyId::new(0));
        assert_eq!(five.signature(), &[0]);
        assert_eq!(five.to_line(), "— n AAAAAAA=\n");
    }

    #[test]
    fn signature_count_is_bounded() {
        let alice = signer("alice", 1);
        let line = alice.sign_text("t\n").to_line();
        let at_max = format!("t\n\n{}", line.repeat(MAX_SIGNATURES));
        assert_eq!(
            Note::parse(at_max.as_bytes()).unwrap().signatures().len(),
            MAX_SIGNATURES
        );
        let over = format!("t\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            Note::parse(over.as_bytes()),
            Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES
            })
        );
        let mut note = Note::parse(at_max.as_bytes()).unwrap();
        assert!(note.push_signature(alice.sign_text("t\n")).is_err());
    }

    #[test]
    fn new_checks_the_text() {
        let alice = signer("alice", 1);
        let signature = alice.sign_text("x");
        assert_eq!(
            Note::new("", vec![signature.clone()]),
            Err(NoteError::EmptyText)
        );
        assert_eq!(
            Note::new("x", vec![signature.clone()]),
            Err(NoteError::TextMissingNewline)
        );
        assert!(matches!(
            Note::new("x\u{7}\n", vec![signature]),
            Err(NoteError::ControlCharacter { .. })
        ));
        assert_eq!(Note::new("x\n", vec![]), Err(NoteError::NoSignatures));
    }

    #[test]
    fn verification_rules() {
        let alice = signer("alice", 1);
        let bob = signer("bob", 2);
        let text = "hello\n";
        let mut note = alice.sign_note(text).unwrap();
        note.push_signature(bob.sign_text(text)).unwrap();

        // Only Alice known: Bob's signature is kept as unknown.
        let verified = note.verify(&[alice.verifier()]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.verified()[0].name().as_str(), "alice");
        assert_eq!(verified.unknown().len(), 1);
        assert!(verified.is_verified_by(&alice.verifier()));
        assert!(!verified.is_verified_by(&bob.verifier()));

        // Nobody known.
        assert_eq!(
            note.verify(&[]),
            Err(NoteVerifyError::NoTrustedSignature { unknown: 2 })
        );

        // A key with Alice's name but another key id is a different key: ignored.
        let other_alice = signer("alice", 3);
        assert_eq!(
            note.verify(&[other_alice.verifier()]),
            Err(NoteVerifyError::NoTrustedSignature { unknown: 2 })
        );

        // A bad signature from a known key rejects the note, even when
        // another known key verified.
        let mut forged = note.clone();
        forged.push_signature(alice.sign_text("other\n")).unwrap();
        assert_eq!(
            forged.verify(&[alice.verifier(), bob.verifier()]),
            Err(NoteVerifyError::InvalidSignature {
                name: alice.name().clone(),
                key_id: alice.key_id()
            })
        );
        // ... but not when that key is unknown.
        assert!(forged.verify(&[bob.verifier()]).is_ok());

        // Duplicates: the same line twice counts once.
        let mut doubled = note.clone();
        doubled.push_signature(alice.sign_text(text)).unwrap();
        doubled.push_signature(bob.sign_text(text)).unwrap();
        let verified = doubled.verify(&[alice.verifier()]).unwrap();
        assert_eq!(verified.verified().len(), 1);
        assert_eq!(verified.unknown().len(), 1);
    }

    #[test]
    fn the_same_known_key_twice_is_not_ambiguous() {
        // Two different keys with one name and key id would need a 32-bit
        // key id collision, too costly to search for in a test.
        let alice = signer("alice", 1);
        let note = alice.sign_note("x\n").unwrap();
        assert!(note.verify(&[alice.verifier(), alice.verifier()]).is_ok());
    }

    #[test]
    fn wrong_length_signature_from_known_key_is_invalid() {
        let alice = signer("alice", 1);
        let mut signature = alice.sign_text("x\n").signature().to_vec();
        signature.push(0);
        let line = NoteSignature::new(alice.name().clone(), alice.key_id(), signature).unwrap();
        let note = Note::new("x\n", vec![line]).unwrap();
        assert!(matches!(
            note.verify(&[alice.verifier()]),
            Err(NoteVerifyError::InvalidSignature { .. })
        ));
    }
}
