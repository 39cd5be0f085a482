//! Key names, key ids, verifier keys ("vkeys") and signer keys ("skeys").
//!
//! * A verifier key is `<name>+<key id as 8 hex digits>+base64(type byte ‖ public key)`.
//! * A signer key is `PRIVATE+KEY+<name>+<key id>+base64(type byte ‖ 32-byte seed)`,
//!   the layout of Go's `golang.org/x/mod/sumdb/note` (not part of C2SP).
//! * The key id is the first four bytes, big-endian, of
//!   `SHA-256(name ‖ 0x0A ‖ type byte ‖ public key)` (c2sp.org/signed-note).

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::checkpoint::Checkpoint;
use crate::cosignature::{self, CosignatureError, TimestampedSignature};
use crate::note::{Note, NoteError, NoteSignature};

/// The prefix of a signer key string.
pub const SKEY_PREFIX: &str = "PRIVATE+KEY+";

/// Length of an Ed25519 public key and of an Ed25519 seed, in bytes.
pub const ED25519_KEY_LEN: usize = 32;

/// Length of an Ed25519 signature, in bytes.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// The name of a key: non-empty, with no Unicode white space, no `+` and no
/// ASCII control character (c2sp.org/signed-note).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

/// Why a string is not a valid key name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyNameError {
    /// The name is empty.
    #[error("a key name must not be empty")]
    Empty,
    /// The name contains a Unicode white-space character.
    #[error("key name {name:?} contains a space character at byte {position}")]
    Space {
        /// The rejected name.
        name: String,
        /// Byte offset of the offending character.
        position: usize,
    },
    /// The name contains `+`.
    #[error("key name {name:?} contains '+' at byte {position}")]
    Plus {
        /// The rejected name.
        name: String,
        /// Byte offset of the offending character.
        position: usize,
    },
    /// The name contains an ASCII control character.
    #[error("key name {name:?} contains a control character at byte {position}")]
    Control {
        /// The rejected name.
        name: String,
        /// Byte offset of the offending character.
        position: usize,
    },
}

impl KeyName {
    /// Checks and wraps a key name.
    pub fn new(name: &str) -> Result<Self, KeyNameError> {
        if name.is_empty() {
            return Err(KeyNameError::Empty);
        }
        for (position, character) in name.char_indices() {
            let owned = || name.to_owned();
            if character.is_whitespace() {
                return Err(KeyNameError::Space {
                    name: owned(),
                    position,
                });
            }
            if character == '+' {
                return Err(KeyNameError::Plus {
                    name: owned(),
                    position,
                });
            }
            if u32::from(character) < 0x20 {
                return Err(KeyNameError::Control {
                    name: owned(),
                    position,
                });
            }
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for KeyName {
    type Err = KeyNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The 32-bit key id that starts every signature (big-endian on the wire,
/// 8 lowercase hex digits in key strings).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(u32);

impl KeyId {
    /// Wraps a key id.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The key id as an integer.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The four bytes written at the start of a signature.
    pub const fn to_be_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// Reads the four big-endian bytes at the start of a signature.
    pub const fn from_be_bytes(bytes: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(bytes))
    }

    /// `SHA-256(name ‖ 0x0A ‖ signature type byte ‖ public key)[:4]`, the key
    /// id rule of c2sp.org/signed-note (and of c2sp.org/tlog-cosignature with
    /// type byte 0x04).
    pub fn compute(name: &KeyName, signature_type: u8, public_key: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(name.as_str().as_bytes());
        hasher.update([b'\n', signature_type]);
        hasher.update(public_key);
        let digest = hasher.finalize();
        let mut first = [0u8; 4];
        first.copy_from_slice(&digest[..4]);
        Self::from_be_bytes(first)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:08x})", self.0)
    }
}

/// The signature types this crate implements (c2sp.org/signed-note assigns
/// the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text (c2sp.org/signed-note).
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignature, `cosignature/v1`
    /// (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The assigned identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    /// The type with this identifier byte, if this crate implements it.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::CosignatureV1),
            _ => None,
        }
    }
}

impl fmt::Display for SignatureType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519 => f.write_str("Ed25519 (0x01)"),
            Self::CosignatureV1 => f.write_str("cosignature/v1 (0x04)"),
        }
    }
}

/// Why a verifier or signer key string, or key material, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The string is not `name+keyid+key`.
    #[error("a key must have the form <name>+<key id>+<base64 key>")]
    Shape,
    /// A signer key does not start with `PRIVATE+KEY+`.
    #[error("a signer key must start with {SKEY_PREFIX:?}")]
    NotPrivateKey,
    /// The key name is invalid.
    #[error(transparent)]
    Name(#[from] KeyNameError),
    /// The key id is not 8 hex digits.
    #[error("key id {text:?} is not 8 hex digits")]
    KeyIdFormat {
        /// The rejected key id text.
        text: String,
    },
    /// The key material is not canonical padded standard base64.
    #[error("key material is not canonical padded standard base64")]
    Base64,
    /// The key material is empty.
    #[error("key material is empty")]
    Empty,
    /// The type byte is not one this crate implements.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedType(u8),
    /// The key is of another signature type than the one asked for.
    #[error("key of type {found} where {expected} was expected")]
    WrongType {
        /// The type required.
        expected: SignatureType,
        /// The type of the key given.
        found: SignatureType,
    },
    /// The key material after the type byte has the wrong length.
    #[error("key material must be {expected} bytes after the type byte, got {actual}")]
    KeyLength {
        /// The length required.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The stated key id is not the one computed from name, type and key.
    #[error("key id {stated} does not match the key, whose id is {computed}")]
    KeyIdMismatch {
        /// The key id written in the string.
        stated: KeyId,
        /// The key id computed from the key.
        computed: KeyId,
    },
    /// The public key is not a valid Ed25519 point encoding.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// The public key has small order: it would accept forged signatures.
    #[error("Ed25519 public key of small order refused")]
    WeakPublicKey,
}

/// Splits `name+keyid+base64` into its three checked parts.
fn split_key(text: &str) -> Result<(KeyName, KeyId, Vec<u8>), KeyError> {
    let (name, rest) = text.split_once('+').ok_or(KeyError::Shape)?;
    let (id_text, key_text) = rest.split_once('+').ok_or(KeyError::Shape)?;
    let name = KeyName::new(name)?;
    let key_id = parse_key_id(id_text)?;
    let key = b64::decode(key_text).ok_or(KeyError::Base64)?;
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok((name, key_id, key))
}

fn parse_key_id(text: &str) -> Result<KeyId, KeyError> {
    let bad = || KeyError::KeyIdFormat {
        text: text.to_owned(),
    };
    if text.len() != 8 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u32::from_str_radix(text, 16).map(KeyId).map_err(|_| bad())
}

/// Splits decoded key material into its type and its 32 bytes.
fn typed_material(key: &[u8]) -> Result<(SignatureType, [u8; ED25519_KEY_LEN]), KeyError> {
    let (&type_byte, material) = key.split_first().ok_or(KeyError::Empty)?;
    let signature_type =
        SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
    let material =
        <[u8; ED25519_KEY_LEN]>::try_from(material).map_err(|_| KeyError::KeyLength {
            expected: ED25519_KEY_LEN,
            actual: material.len(),
        })?;
    Ok((signature_type, material))
}

fn check_stated_id(stated: KeyId, computed: KeyId) -> Result<(), KeyError> {
    if stated == computed {
        Ok(())
    } else {
        Err(KeyError::KeyIdMismatch { stated, computed })
    }
}

fn encode_key(signature_type: SignatureType, material: &[u8; ED25519_KEY_LEN]) -> String {
    let mut bytes = Vec::with_capacity(1 + ED25519_KEY_LEN);
    bytes.push(signature_type.byte());
    bytes.extend_from_slice(material);
    b64::encode(&bytes)
}

/// The outcome of checking one signature with one verifier.
pub(crate) enum Checked {
    /// The signature verifies; cosignatures carry their timestamp.
    Valid { timestamp: Option<u64> },
    /// It does not.
    Invalid,
}

/// A public key that verifies note signatures of one type under one name.
///
/// Parsed from and printed as a verifier key string ("vkey"). Two verifiers
/// are equal when name, type and public key are equal.
#[derive(Clone)]
pub struct Verifier {
    name: KeyName,
    key_id: KeyId,
    signature_type: SignatureType,
    public_key: [u8; ED25519_KEY_LEN],
    key: VerifyingKey,
}

impl Verifier {
    /// A verifier for `name` with an Ed25519 public key; the key id is
    /// computed with the type's byte.
    pub fn new(
        name: KeyName,
        signature_type: SignatureType,
        public_key: [u8; ED25519_KEY_LEN],
    ) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(&public_key).map_err(|_| KeyError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::WeakPublicKey);
        }
        let key_id = KeyId::compute(&name, signature_type.byte(), &public_key);
        Ok(Self {
            name,
            key_id,
            signature_type,
            public_key,
            key,
        })
    }

    /// Parses `<name>+<key id>+base64(type ‖ public key)`. The key id must be
    /// the one computed from the name, type and key.
    pub fn from_vkey(vkey: &str) -> Result<Self, KeyError> {
        let (name, stated_id, key) = split_key(vkey)?;
        let (signature_type, public_key) = typed_material(&key)?;
        let verifier = Self::new(name, signature_type, public_key)?;
        check_stated_id(stated_id, verifier.key_id)?;
        Ok(verifier)
    }

    /// The verifier key string (key id in lowercase hex).
    pub fn to_vkey(&self) -> String {
        format!(
            "{}+{}+{}",
            self.name,
            self.key_id,
            encode_key(self.signature_type, &self.public_key)
        )
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.public_key
    }

    /// Whether a signature line with this name and key id is addressed to this key.
    pub fn matches(&self, name: &KeyName, key_id: KeyId) -> bool {
        self.key_id == key_id && &self.name == name
    }

    /// Checks `signature` (the bytes after the key id) over the note `text`.
    ///
    /// Uses strict Ed25519 verification (RFC 8032 with canonical `S` and no
    /// small-order `R`).
    pub(crate) fn check(&self, text: &str, signature: &[u8]) -> Checked {
        match self.signature_type {
            SignatureType::Ed25519 => {
                let Ok(bytes) = <[u8; ED25519_SIGNATURE_LEN]>::try_from(signature) else {
                    return Checked::Invalid;
                };
                let signature = Signature::from_bytes(&bytes);
                match self.key.verify_strict(text.as_bytes(), &signature) {
                    Ok(()) => Checked::Valid { timestamp: None },
                    Err(_) => Checked::Invalid,
                }
            }
            SignatureType::CosignatureV1 => {
                let Ok(timestamped) = TimestampedSignature::from_bytes(signature) else {
                    return Checked::Invalid;
                };
                let message = cosignature::signed_message(timestamped.timestamp, text);
                let signature = Signature::from_bytes(&timestamped.signature);
                match self.key.verify_strict(&message, &signature) {
                    Ok(()) => Checked::Valid {
                        timestamp: Some(timestamped.timestamp),
                    },
                    Err(_) => Checked::Invalid,
                }
            }
        }
    }
}

impl PartialEq for Verifier {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.signature_type == other.signature_type
            && self.public_key == other.public_key
    }
}

impl Eq for Verifier {}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verifier").field(&self.to_vkey()).finish()
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl FromStr for Verifier {
    type Err = KeyError;

    fn from_str(vkey: &str) -> Result<Self, Self::Err> {
        Self::from_vkey(vkey)
    }
}

/// Parses `PRIVATE+KEY+<name>+<key id>+base64(type ‖ seed)`.
fn parse_skey(skey: &str) -> Result<(KeyName, SignatureType, SigningKey), KeyError> {
    let rest = skey
        .strip_prefix(SKEY_PREFIX)
        .ok_or(KeyError::NotPrivateKey)?;
    let (name, stated_id, key) = split_key(rest)?;
    let (signature_type, seed) = typed_material(&key)?;
    let signing_key = SigningKey::from_bytes(&seed);
    let computed = KeyId::compute(
        &name,
        signature_type.byte(),
        signing_key.verifying_key().as_bytes(),
    );
    check_stated_id(stated_id, computed)?;
    Ok((name, signature_type, signing_key))
}

fn format_skey(
    name: &KeyName,
    key_id: KeyId,
    signature_type: SignatureType,
    key: &SigningKey,
) -> String {
    format!(
        "{SKEY_PREFIX}{name}+{key_id}+{}",
        encode_key(signature_type, key.as_bytes())
    )
}

/// The verifier of a signing key, which is valid by construction.
fn verifier_of(name: &KeyName, signature_type: SignatureType, key: &SigningKey) -> Verifier {
    let key_bytes = key.verifying_key().to_bytes();
    Verifier {
        name: name.clone(),
        key_id: KeyId::compute(name, signature_type.byte(), &key_bytes),
        signature_type,
        public_key: key_bytes,
        key: key.verifying_key(),
    }
}

/// An Ed25519 note signing key (signature type 0x01), used by a log to sign
/// its checkpoints.
///
/// This crate draws no randomness: make a key from 32 random bytes drawn by
/// the caller ([`NoteSigner::from_seed`]). `Debug` never prints the seed.
#[derive(Clone)]
pub struct NoteSigner {
    name: KeyName,
    key_id: KeyId,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer for `name` from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: KeyName, seed: &[u8; ED25519_KEY_LEN]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let key_id = KeyId::compute(
            &name,
            SignatureType::Ed25519.byte(),
            key.verifying_key().as_bytes(),
        );
        Self { name, key_id, key }
    }

    /// Parses a signer key string of type 0x01, checking its key id.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let (name, signature_type, key) = parse_skey(skey)?;
        if signature_type != SignatureType::Ed25519 {
            return Err(KeyError::WrongType {
                expected: SignatureType::Ed25519,
                found: signature_type,
            });
        }
        let key_id = KeyId::compute(&name, signature_type.byte(), key.verifying_key().as_bytes());
        Ok(Self { name, key_id, key })
    }

    /// The signer key string. It holds the private key: keep it secret.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, self.key_id, SignatureType::Ed25519, &self.key)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        verifier_of(&self.name, SignatureType::Ed25519, &self.key)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Signs a note text (deterministic: Ed25519 needs no randomness).
    ///
    /// The text is not checked here; [`Note::new`] checks it.
    pub fn sign_text(&self, text: &str) -> NoteSignature {
        let signature = self.key.sign(text.as_bytes());
        NoteSignature::from_parts(
            self.name.clone(),
            self.key_id,
            signature.to_bytes().to_vec(),
        )
    }

    /// A note holding `text` and this key's signature.
    pub fn sign_note(&self, text: &str) -> Result<Note, NoteError> {
        Note::new(text, vec![self.sign_text(text)])
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 witness key making `cosignature/v1` cosignatures (signature
/// type 0x04, c2sp.org/tlog-cosignature).
///
/// The key id is computed with type byte 0x04. The signed message does not
/// contain the cosigner's name, so one key must serve one cosigner only.
/// `Debug` never prints the seed.
#[derive(Clone)]
pub struct Cosigner {
    name: KeyName,
    key_id: KeyId,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner for `name` from a 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; ED25519_KEY_LEN]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let key_id = KeyId::compute(
            &name,
            SignatureType::CosignatureV1.byte(),
            key.verifying_key().as_bytes(),
        );
        Self { name, key_id, key }
    }

    /// Parses a signer key string whose type byte is 0x04, checking its key
    /// id (the same layout as a note signer key; a truce convention).
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let (name, signature_type, key) = parse_skey(skey)?;
        if signature_type != SignatureType::CosignatureV1 {
            return Err(KeyError::WrongType {
                expected: SignatureType::CosignatureV1,
                found: signature_type,
            });
        }
        Ok(Self::from_seed(name, key.as_bytes()))
    }

    /// The signer key string, with type byte 0x04. It holds the private key.
    pub fn to_skey(&self) -> String {
        format_skey(
            &self.name,
            self.key_id,
            SignatureType::CosignatureV1,
            &self.key,
        )
    }

    /// The matching verifier (type 0x04).
    pub fn verifier(&self) -> Verifier {
        verifier_of(&self.name, SignatureType::CosignatureV1, &self.key)
    }

    /// The cosigner name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Cosigns a checkpoint body (the note text, extension lines included) at
    /// `timestamp` (POSIX seconds, at most 2^63 − 1).
    ///
    /// The text is not checked; [`Cosigner::cosign`] takes a parsed checkpoint.
    pub fn cosign_text(
        &self,
        text: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignatureError> {
        cosignature::check_timestamp(timestamp)?;
        let message = cosignature::signed_message(timestamp, text);
        let signature = self.key.sign(&message);
        let timestamped = TimestampedSignature {
            timestamp,
            signature: signature.to_bytes(),
        };
        Ok(NoteSignature::from_parts(
            self.name.clone(),
            self.key_id,
            timestamped.to_bytes().to_vec(),
        ))
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds, at most 2^63 − 1).
    pub fn cosign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignatureError> {
        self.cosign_text(&checkpoint.to_text(), timestamp)
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_the_spec() {
        assert!(KeyName::new("example.com/log").is_ok());
        assert!(KeyName::new("ünïcode—name").is_ok());
        assert_eq!(KeyName::new(""), Err(KeyNameError::Empty));
        assert!(matches!(
            KeyName::new("a b"),
            Err(KeyNameError::Space { position: 1, .. })
        ));
        // U+00A0 no-break space and U+3000 ideographic space are Unicode spaces.
        assert!(matches!(
            KeyName::new("a\u{a0}b"),
            Err(KeyNameError::Space { .. })
        ));
        assert!(matches!(
            KeyName::new("a\u{3000}"),
            Err(KeyNameError::Space { .. })
        ));
        assert!(matches!(
            KeyName::new("a+b"),
            Err(KeyNameError::Plus { position: 1, .. })
        ));
        assert!(matches!(
            KeyName::new("a\u{1}b"),
            Err(KeyNameError::Control { .. })
        ));
    }

    #[test]
    fn key_id_prints_as_eight_hex_digits() {
        assert_eq!(KeyId::new(0x0a).to_string(), "0000000a");
        assert_eq!(
            KeyId::from_be_bytes([0xde, 0xad, 0xbe, 0xef]).get(),
            0xdeadbeef
        );
    }

    #[test]
    fn vkey_shapes_are_checked() {
        let signer = NoteSigner::from_seed(KeyName::new("n").unwrap(), &[7; 32]);
        let vkey = signer.verifier().to_vkey();
        assert_eq!(Verifier::from_vkey(&vkey).unwrap(), signer.verifier());
        let (_, rest) = vkey.split_once('+').unwrap();
        let (id, key) = rest.split_once('+').unwrap();
        assert_eq!(Verifier::from_vkey("n"), Err(KeyError::Shape));
        assert_eq!(
            Verifier::from_vkey(&format!("n+{id}")),
            Err(KeyError::Shape)
        );
        assert!(matches!(
            Verifier::from_vkey(&format!("n+{}+{key}", &id[..7])),
            Err(KeyError::KeyIdFormat { .. })
        ));
        assert!(matches!(
            Verifier::from_vkey(&format!("n+0x{}+{key}", &id[..6])),
            Err(KeyError::KeyIdFormat { .. })
        ));
        assert!(matches!(
            Verifier::from_vkey(&format!("m+{id}+{key}")),
            Err(KeyError::KeyIdMismatch { .. })
        ));
        assert_eq!(
            Verifier::from_vkey(&format!("n+{id}+{}", &key[..key.len() - 1])),
            Err(KeyError::Base64)
        );
        assert_eq!(
            Verifier::from_vkey(&format!("n+{id}+")),
            Err(KeyError::Empty)
        );
        // Type 0x02 (ECDSA) is not implemented.
        let ecdsa = b64::encode(&[2u8; 33]);
        assert_eq!(
            Verifier::from_vkey(&format!("n+{id}+{ecdsa}")),
            Err(KeyError::UnsupportedType(2))
        );
        let short = b64::encode(&[1u8; 32]);
        assert_eq!(
            Verifier::from_vkey(&format!("n+{id}+{short}")),
            Err(KeyError::KeyLength {
                expected: 32,
                actual: 31
            })
        );
        // Uppercase hex is read; output is lowercase.
        let upper = format!("n+{}+{key}", id.to_uppercase());
        assert_eq!(Verifier::from_vkey(&upper).unwrap().to_vkey(), vkey);
    }

    #[test]
    fn small_order_public_keys_are_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            Verifier::new(KeyName::new("n").unwrap(), SignatureType::Ed25519, identity),
            Err(KeyError::WeakPublicKey)
        );
    }

    #[test]
    fn skeys_round_trip_and_check_their_type() {
        let name = KeyName::new("example.com/log").unwrap();
        let signer = NoteSigner::from_seed(name.clone(), &[9; 32]);
        let skey = signer.to_skey();
        assert!(skey.starts_with("PRIVATE+KEY+example.com/log+"));
        assert_eq!(NoteSigner::from_skey(&skey).unwrap().to_skey(), skey);
        assert_eq!(
            Cosigner::from_skey(&skey).unwrap_err(),
            KeyError::WrongType {
                expected: SignatureType::CosignatureV1,
                found: SignatureType::Ed25519
            }
        );
        assert_eq!(
            NoteSigner::from_skey(&skey["PRIVATE+".len()..]).unwrap_err(),
            KeyError::NotPrivateKey
        );
        let cosigner = Cosigner::from_seed(name, &[9; 32]);
        let cosigner_skey = cosigner.to_skey();
        assert_eq!(
            Cosigner::from_skey(&cosigner_skey).unwrap().to_skey(),
            cosigner_skey
        );
        assert_ne!(cosigner.key_id(), signer.key_id());
        let debug = format!("{signer:?}{cosigner:?}");
        assert!(
            !debug.contains("9, 9") && !debug.contains("0909"),
            "{debug}"
        );
    }
}
