//! The canonical request text that a submitter signs, and the request nonce.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use truce_note::{KeyId, KeyName};

/// The first line of every canonical request text: names the format and its version.
pub const CANONICAL_VERSION_LINE: &str = "truce-request/1";

/// Length of a request nonce, in bytes.
pub const NONCE_LEN: usize = 16;

/// A 16-byte request nonce, drawn at random by the submitter for every request.
///
/// Printed (and parsed) as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// Wraps 16 nonce bytes.
    pub const fn new(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    /// The nonce bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl From<[u8; NONCE_LEN]> for Nonce {
    fn from(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lower_hex(&self.0))
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
}

/// Why a text is not a nonce: it must be exactly 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nonce {text:?} is not 32 lower-case hex digits")]
pub struct NonceParseError {
    /// The rejected text.
    pub text: String,
}

impl FromStr for Nonce {
    type Err = NonceParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || NonceParseError {
            text: text.to_owned(),
        };
        let digits = text.as_bytes();
        if digits.len() != 2 * NONCE_LEN {
            return Err(bad());
        }
        let mut bytes = [0u8; NONCE_LEN];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let (Some(high), Some(low)) = (lower_hex_value(pair[0]), lower_hex_value(pair[1]))
            else {
                return Err(bad());
            };
            *byte = (high << 4) | low;
        }
        Ok(Self(bytes))
    }
}

/// Why a request cannot be put in canonical form (on the submitter's side, or
/// on the server's side before any key is looked up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The method is not an HTTP token (RFC 9110 §5.6.2).
    #[error("method {method:?} is not an HTTP token")]
    Method {
        /// The rejected method.
        method: String,
    },
    /// The path is empty, does not start with `/`, or contains a control character.
    #[error("path {path:?} {reason}")]
    Path {
        /// The rejected path with its query.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The timestamp is before the Unix epoch.
    #[error("timestamp {timestamp_ms} ms is negative")]
    Timestamp {
        /// The rejected timestamp, in Unix milliseconds.
        timestamp_ms: i64,
    },
    /// The key name cannot be carried in an `Authorization` header.
    #[error(
        "key name \"{name}\" cannot be used in a request header: it must be printable ASCII without ',', '\"' or '\\'"
    )]
    KeyName {
        /// The rejected key name.
        name: KeyName,
    },
}

impl RequestError {
    /// The part of the request at fault: `"method"`, `"path"`, `"ts"` or `"key"`.
    pub fn parameter(&self) -> &'static str {
        match self {
            Self::Method { .. } => "method",
            Self::Path { .. } => "path",
            Self::Timestamp { .. } => "ts",
            Self::KeyName { .. } => "key",
        }
    }
}

/// The canonical text of a request, the exact bytes its signature covers.
///
/// Eight lines, each ended by `\n`: the version line [`CANONICAL_VERSION_LINE`],
/// the method in upper case, the path with its query exactly as sent, the key
/// name, the key id as 8 lower-case hex digits, the timestamp as decimal Unix
/// milliseconds, the nonce as 32 lower-case hex digits and the lower-case hex
/// SHA-256 of the body (of the empty string when there is no body).
///
/// Methods are upper-cased, so `get` and `GET` sign the same text.
///
/// # Errors
///
/// [`RequestError`] when the method is not an HTTP token, the path is empty,
/// does not start with `/` or contains an ASCII control character (`\n` and
/// `\r` included) or a space, the timestamp is negative, or the key name cannot
/// be carried in a header.
pub fn canonical_request(
    method: &str,
    path_and_query: &str,
    key: &KeyName,
    key_id: KeyId,
    timestamp_ms: i64,
    nonce: &Nonce,
    body: &[u8],
) -> Result<String, RequestError> {
    let method = canonical_method(method)?;
    check_path(path_and_query)?;
    check_header_key_name(key)?;
    check_timestamp(timestamp_ms)?;
    Ok(format!(
        "{CANONICAL_VERSION_LINE}\n{method}\n{path_and_query}\n{key}\n{key_id}\n{timestamp_ms}\n{nonce}\n{}\n",
        body_digest_hex(body)
    ))
}

/// The lower-case hex SHA-256 of a request body.
pub fn body_digest_hex(body: &[u8]) -> String {
    lower_hex(&Sha256::digest(body))
}

/// Checks that `method` is an HTTP token and returns it in upper case.
pub(crate) fn canonical_method(method: &str) -> Result<String, RequestError> {
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(RequestError::Method {
            method: method.to_owned(),
        });
    }
    Ok(method.to_ascii_uppercase())
}

/// Checks the path with its query.
pub(crate) fn check_path(path: &str) -> Result<(), RequestError> {
    let bad = |reason| RequestError::Path {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if !path.starts_with('/') {
        return Err(bad("does not start with '/'"));
    }
    if path
        .bytes()
        .any(|byte| byte.is_ascii_control() || byte == b' ')
    {
        return Err(bad("contains a control character or a space"));
    }
    Ok(())
}

/// Checks that a timestamp is not before the Unix epoch.
pub(crate) fn check_timestamp(timestamp_ms: i64) -> Result<(), RequestError> {
    if timestamp_ms < 0 {
        return Err(RequestError::Timestamp { timestamp_ms });
    }
    Ok(())
}

/// Checks that a key name can be written as a header parameter value without
/// quoting: printable ASCII, no `,` (the parameter separator), no `"` or `\`.
pub(crate) fn check_header_key_name(key: &KeyName) -> Result<(), RequestError> {
    let fits = key
        .as_str()
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b',' | b'"' | b'\\'));
    if fits {
        Ok(())
    } else {
        Err(RequestError::KeyName { name: key.clone() })
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Bytes as lower-case hex.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The value of a lower-case hex digit; upper case is refused.
pub(crate) fn lower_hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn name(text: &str) -> KeyName {
        KeyName::new(text).unwrap()
    }

    fn text(method: &str, path: &str) -> Result<String, RequestError> {
        canonical_request(
            method,
            path,
            &name("monitor-7"),
            KeyId::new(0x0a0b_0c0d),
            1_742_256_000_000,
            &Nonce::new([0xab; NONCE_LEN]),
            b"",
        )
    }

    #[test]
    fn canonical_text_has_eight_lines_in_order() {
        let text = text("post", "/v1/reports?x=1").unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(
            lines,
            [
                "truce-request/1",
                "POST",
                "/v1/reports?x=1",
                "monitor-7",
                "0a0b0c0d",
                "1742256000000",
                "abababababababababababababababab",
                // SHA-256 of the empty string.
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "",
            ]
        );
    }

    #[test]
    fn body_digest_is_sha256_hex() {
        assert_eq!(
            body_digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        for path in ["", "v1/reports", "/v1\n/x", "/v1\r", "/a b", "/a\u{0}"] {
            assert!(
                matches!(text("GET", path), Err(RequestError::Path { .. })),
                "{path:?}"
            );
        }
        assert!(text("GET", "/").is_ok());
    }

    #[test]
    fn methods_must_be_tokens() {
        for method in ["", "GE T", "GET\n", "G(T", "GÉT"] {
            assert_eq!(
                text(method, "/"),
                Err(RequestError::Method {
                    method: method.to_owned()
                })
            );
        }
        assert!(text("M-SEARCH", "/").unwrap().contains("\nM-SEARCH\n"));
    }

    #[test]
    fn negative_timestamps_and_unheaderable_names_are_refused() {
        let nonce = Nonce::new([0; NONCE_LEN]);
        let negative = canonical_request("GET", "/", &name("a"), KeyId::new(0), -1, &nonce, b"");
        assert_eq!(negative, Err(RequestError::Timestamp { timestamp_ms: -1 }));
        for bad in ["a,b", "a\"b", "a\\b", "ünï"] {
            let result = canonical_request("GET", "/", &name(bad), KeyId::new(0), 0, &nonce, b"");
            assert!(
                matches!(result, Err(RequestError::KeyName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn nonces_parse_only_lower_case_hex_of_the_right_length() {
        let nonce: Nonce = "000102030405060708090a0b0c0d0e0f".parse().unwrap();
        assert_eq!(nonce.as_bytes()[15], 0x0f);
        assert_eq!(nonce.to_string(), "000102030405060708090a0b0c0d0e0f");
        for bad in [
            "000102030405060708090A0B0C0D0E0F",
            "000102030405060708090a0b0c0d0e",
            "000102030405060708090a0b0c0d0e0f00",
            "g00102030405060708090a0b0c0d0e0f",
            "",
        ] {
            assert!(bad.parse::<Nonce>().is_err(), "{bad:?}");
        }
    }
}
