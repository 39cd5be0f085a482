//! The `Authorization: Truce-Ed25519 …` header value: strict parsing and formatting.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use truce_note::{ED25519_SIGNATURE_LEN, KeyId, KeyName};

use crate::canonical::{self, Nonce, RequestError, lower_hex_value};
use crate::error::AuthError;

/// The authentication scheme of the header (matched case-insensitively, as
/// RFC 9110 §11.1 requires).
pub const SCHEME: &str = "Truce-Ed25519";

/// The parameters of the header, in the order they are printed.
pub const PARAMETERS: [&str; 5] = ["key", "id", "ts", "nonce", "sig"];

/// A parsed `Authorization` header value:
/// `Truce-Ed25519 key=<name>, id=<8 hex>, ts=<ms>, nonce=<32 hex>, sig=<base64>`.
///
/// Parsing is strict: exactly one space after the scheme, parameters separated
/// by `,` with at most one space after it, each of the five parameters exactly
/// once in any order, no other parameter, no quoting, no leading or trailing
/// white space. Parameter names are matched case-insensitively (RFC 9110
/// §11.2); values must be in their one canonical form (lower-case hex, decimal
/// without sign or leading zeros, padded standard base64 of exactly 64 bytes).
/// Formatting always prints the parameters in [`PARAMETERS`] order with one
/// space after each comma.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    key: KeyName,
    key_id: KeyId,
    timestamp_ms: i64,
    nonce: Nonce,
    signature: [u8; ED25519_SIGNATURE_LEN],
}

impl AuthorizationHeader {
    /// Assembles a header value from its parts.
    ///
    /// # Errors
    ///
    /// [`RequestError::KeyName`] when the key name cannot be written without
    /// quoting (see [`crate::canonical_request`]), [`RequestError::Timestamp`]
    /// when the timestamp is negative.
    pub fn new(
        key: KeyName,
        key_id: KeyId,
        timestamp_ms: i64,
        nonce: Nonce,
        signature: [u8; ED25519_SIGNATURE_LEN],
    ) -> Result<Self, RequestError> {
        canonical::check_header_key_name(&key)?;
        canonical::check_timestamp(timestamp_ms)?;
        Ok(Self {
            key,
            key_id,
            timestamp_ms,
            nonce,
            signature,
        })
    }

    /// Parses a header value strictly (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`AuthError::MissingHeader`] for an empty value, otherwise
    /// [`AuthError::Malformed`] naming the parameter at fault (`scheme` for the
    /// scheme, the parameter's own name for an unknown or repeated one).
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        if value.is_empty() {
            return Err(AuthError::MissingHeader);
        }
        let (scheme, parameters) = value.split_once(' ').ok_or_else(|| {
            AuthError::malformed("scheme", format!("{value:?} has no parameters"))
        })?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(AuthError::malformed(
                "scheme",
                format!("scheme {scheme:?} is not {SCHEME}"),
            ));
        }
        let mut values: [Option<&str>; PARAMETERS.len()] = [None; PARAMETERS.len()];
        for (index, item) in parameters.split(',').enumerate() {
            let item = if index == 0 {
                item
            } else {
                item.strip_prefix(' ').unwrap_or(item)
            };
            let (name, text) = item.split_once('=').ok_or_else(|| {
                AuthError::malformed(
                    "authorization",
                    format!("{item:?} is not a name=value parameter"),
                )
            })?;
            let slot = PARAMETERS
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| AuthError::malformed(name, "unknown parameter"))?;
            let parameter = PARAMETERS[slot];
            if values[slot].replace(text).is_some() {
                return Err(AuthError::malformed(parameter, "given more than once"));
            }
        }
        let [key, key_id, timestamp, nonce, signature] = values;
        let missing = |parameter: &str| AuthError::malformed(parameter, "missing");
        let key = parse_key(key.ok_or_else(|| missing("key"))?)?;
        let key_id = parse_key_id(key_id.ok_or_else(|| missing("id"))?)?;
        let timestamp_ms = parse_timestamp(timestamp.ok_or_else(|| missing("ts"))?)?;
        let nonce = nonce
            .ok_or_else(|| missing("nonce"))?
            .parse::<Nonce>()
            .map_err(|error| AuthError::malformed("nonce", error.to_string()))?;
        let signature = parse_signature(signature.ok_or_else(|| missing("sig"))?)?;
        Ok(Self {
            key,
            key_id,
            timestamp_ms,
            nonce,
            signature,
        })
    }

    /// The key name (`key`).
    pub fn key(&self) -> &KeyName {
        &self.key
    }

    /// The key id (`id`).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The timestamp in Unix milliseconds (`ts`).
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    /// The nonce (`nonce`).
    pub fn nonce(&self) -> Nonce {
        self.nonce
    }

    /// The 64 Ed25519 signature bytes (`sig`).
    pub fn signature(&self) -> &[u8; ED25519_SIGNATURE_LEN] {
        &self.signature
    }
}

impl fmt::Display for AuthorizationHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME} key={}, id={}, ts={}, nonce={}, sig={}",
            self.key,
            self.key_id,
            self.timestamp_ms,
            self.nonce,
            STANDARD.encode(self.signature)
        )
    }
}

impl fmt::Debug for AuthorizationHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorizationHeader({self})")
    }
}

impl FromStr for AuthorizationHeader {
    type Err = AuthError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

fn parse_key(text: &str) -> Result<KeyName, AuthError> {
    let key = KeyName::new(text).map_err(|error| AuthError::malformed("key", error.to_string()))?;
    canonical::check_header_key_name(&key)?;
    Ok(key)
}

fn parse_key_id(text: &str) -> Result<KeyId, AuthError> {
    let bad = || {
        AuthError::malformed(
            "id",
            format!("key id {text:?} is not 8 lower-case hex digits"),
        )
    };
    if text.len() != 8 {
        return Err(bad());
    }
    let mut id = 0u32;
    for digit in text.bytes() {
        id = (id << 4) | u32::from(lower_hex_value(digit).ok_or_else(bad)?);
    }
    Ok(KeyId::new(id))
}

fn parse_timestamp(text: &str) -> Result<i64, AuthError> {
    let canonical_digits = !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let bad = || {
        AuthError::malformed(
            "ts",
            format!(
                "timestamp {text:?} is not decimal Unix milliseconds without sign or leading zeros"
            ),
        )
    };
    if !canonical_digits {
        return Err(bad());
    }
    text.parse::<i64>().map_err(|_| bad())
}

fn parse_signature(text: &str) -> Result<[u8; ED25519_SIGNATURE_LEN], AuthError> {
    let bytes = STANDARD.decode(text).map_err(|_| {
        AuthError::malformed(
            "sig",
            format!("signature {text:?} is not canonical padded standard base64"),
        )
    })?;
    <[u8; ED25519_SIGNATURE_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        AuthError::malformed(
            "sig",
            format!(
                "signature is {} bytes, not {ED25519_SIGNATURE_LEN}",
                bytes.len()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    const SIG: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

    fn example() -> String {
        format!(
            "Truce-Ed25519 key=party-a, id=0a0b0c0d, ts=1742256000000, nonce=000102030405060708090a0b0c0d0e0f, sig={SIG}"
        )
    }

    fn malformed_parameter(value: &str) -> String {
        match AuthorizationHeader::parse(value) {
            Err(AuthError::Malformed { parameter, .. }) => parameter,
            other => panic!("{value:?} gave {other:?}"),
        }
    }

    #[test]
    fn parses_every_parameter() {
        let header = AuthorizationHeader::parse(&example()).unwrap();
        assert_eq!(header.key().as_str(), "party-a");
        assert_eq!(header.key_id(), KeyId::new(0x0a0b_0c0d));
        assert_eq!(header.timestamp_ms(), 1_742_256_000_000);
        assert_eq!(
            header.nonce().to_string(),
            "000102030405060708090a0b0c0d0e0f"
        );
        assert_eq!(header.signature()[63], 63);
        assert_eq!(header.to_string(), example());
    }

    #[test]
    fn order_spacing_and_case_of_names_are_free_within_the_rules() {
        let value =
            format!("truce-ed25519 SIG={SIG},nonce=000102030405060708090a0b0c0d0e0f,  ts=1");
        // Two spaces after a comma are refused: the second is part of the name.
        assert_eq!(malformed_parameter(&value), " ts");
        let value = format!(
            "truce-ed25519 SIG={SIG},nonce=000102030405060708090a0b0c0d0e0f, Ts=1742256000000,id=0a0b0c0d, key=party-a"
        );
        let header = AuthorizationHeader::parse(&value).unwrap();
        assert_eq!(header.to_string(), example());
    }

    #[test]
    fn duplicate_unknown_and_missing_parameters_are_named() {
        assert_eq!(malformed_parameter(&format!("{}, ts=1", example())), "ts");
        assert_eq!(
            malformed_parameter(&format!("{}, KEY=party-a", example())),
            "key"
        );
        assert_eq!(
            malformed_parameter(&format!("{}, realm=truce", example())),
            "realm"
        );
        let without_nonce = example().replace(", nonce=000102030405060708090a0b0c0d0e0f", "");
        let error = AuthorizationHeader::parse(&without_nonce).unwrap_err();
        assert_eq!(
            error,
            AuthError::Malformed {
                parameter: "nonce".into(),
                reason: "missing".into()
            }
        );
        assert_eq!(error.field(), Some("nonce"));
    }

    #[test]
    fn scheme_and_separators_are_strict() {
        assert_eq!(
            AuthorizationHeader::parse(""),
            Err(AuthError::MissingHeader)
        );
        assert_eq!(malformed_parameter("Truce-Ed25519"), "scheme");
        assert_eq!(
            malformed_parameter(&example().replace("Truce-Ed25519", "Bearer")),
            "scheme"
        );
        assert_eq!(
            malformed_parameter(&example().replace("Truce-Ed25519 ", "Truce-Ed25519  ")),
            " key"
        );
        assert_eq!(malformed_parameter(&format!(" {}", example())), "scheme");
        assert_eq!(
            malformed_parameter(&format!("{},", example())),
            "authorization"
        );
        assert_eq!(malformed_parameter(&format!("{} ", example())), "sig");
        assert_eq!(
            malformed_parameter(&example().replace("key=party-a", "key=\"party-a\"")),
            "key"
        );
    }

    #[test]
    fn values_must_be_canonical() {
        let cases = [
            ("id=0a0b0c0d", "id=0A0B0C0D", "id"),
            ("id=0a0b0c0d", "id=a0b0c0d", "id"),
            ("ts=1742256000000", "ts=01742256000000", "ts"),
            ("ts=1742256000000", "ts=+1742256000000", "ts"),
            ("ts=1742256000000", "ts=-1", "ts"),
            ("ts=1742256000000", "ts=9223372036854775808", "ts"),
            ("ts=1742256000000", "ts=", "ts"),
            (
                "nonce=000102030405060708090a0b0c0d0e0f",
                "nonce=000102030405060708090a0b0c0d0e",
                "nonce",
            ),
            ("key=party-a", "key=", "key"),
            ("key=party-a", "key=part\u{e9}", "key"),
            // 63 bytes.
            (SIG, &SIG[..84], "sig"),
            // Non-zero unused bits in the last character.
            ("Pw==", "Px==", "sig"),
            // No padding.
            ("Pw==", "Pw", "sig"),
        ];
        for (from, to, parameter) in cases {
            let value = example().replace(from, to);
            assert_ne!(value, example());
            assert_eq!(malformed_parameter(&value), parameter, "{value}");
        }
        assert_eq!(
            AuthorizationHeader::parse(&example().replace("ts=1742256000000", "ts=0"))
                .unwrap()
                .timestamp_ms(),
            0
        );
    }

    #[test]
    fn new_refuses_what_cannot_be_printed() {
        let nonce = Nonce::new([0; 16]);
        let key = KeyName::new("a,b").unwrap();
        assert!(matches!(
            AuthorizationHeader::new(key, KeyId::new(0), 0, nonce, [0; 64]),
            Err(RequestError::KeyName { .. })
        ));
        let key = KeyName::new("a").unwrap();
        assert_eq!(
            AuthorizationHeader::new(key, KeyId::new(0), -5, nonce, [0; 64]),
            Err(RequestError::Timestamp { timestamp_ms: -5 })
        );
    }

    fn header_key_name() -> impl Strategy<Value = KeyName> {
        "[!#-*\\--\\[\\]-~]{1,24}"
            .prop_filter_map("a valid key name", |name| KeyName::new(&name).ok())
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(
            key in header_key_name(),
            id in any::<u32>(),
            timestamp_ms in 0..=i64::MAX,
            nonce in any::<[u8; 16]>(),
            signature in proptest::collection::vec(any::<u8>(), 64),
        ) {
            let signature = <[u8; 64]>::try_from(signature.as_slice()).unwrap();
            let header = AuthorizationHeader::new(
                key, KeyId::new(id), timestamp_ms, Nonce::new(nonce), signature,
            ).unwrap();
            let text = header.to_string();
            prop_assert_eq!(AuthorizationHeader::parse(&text).unwrap(), header.clone());
            // Any permutation of the parameters, with or without the space, parses the same.
            let parts: Vec<&str> = text[SCHEME.len() + 1..].split(", ").collect();
            let rotated = format!("{SCHEME} {}", [&parts[2..], &parts[..2]].concat().join(","));
            prop_assert_eq!(AuthorizationHeader::parse(&rotated).unwrap(), header);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(value in "\\PC{0,200}") {
            let _ = AuthorizationHeader::parse(&value);
        }
    }
}
