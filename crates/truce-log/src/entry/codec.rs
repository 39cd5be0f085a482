//! The primitives of the canonical entry encoding: big-endian integers,
//! length-prefixed strings and lists, option tags, 32-byte hashes, and
//! finite `f64`s. Each value has exactly one encoding; the reader refuses
//! every other byte string.

use std::fmt;

/// Why bytes are not a canonical entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {reason}")]
pub struct DecodeError {
    /// Byte offset in the entry where decoding failed.
    pub offset: usize,
    /// What is wrong there.
    pub reason: DecodeProblem,
}

/// What is wrong at the offset of a [`DecodeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// The format version byte is not one this code reads.
    UnknownVersion(u8),
    /// The entry kind byte is not known.
    UnknownKind(u8),
    /// The entry ends inside a field.
    Truncated,
    /// Bytes follow the last field.
    TrailingBytes,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// An option tag other than 0 or 1.
    BadOptionTag(u8),
    /// A float that is not finite, or is negative zero.
    NonCanonicalFloat,
    /// A vocabulary term that is unknown or not in its canonical spelling.
    UnknownTerm(String),
    /// A list that must be sorted and free of duplicates is not.
    NotSorted(&'static str),
}

impl fmt::Display for DecodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeProblem::UnknownVersion(version) => {
                write!(f, "unknown entry format version {version}")
            }
            DecodeProblem::UnknownKind(kind) => write!(f, "unknown entry kind {kind}"),
            DecodeProblem::Truncated => f.write_str("the entry ends inside a field"),
            DecodeProblem::TrailingBytes => f.write_str("bytes after the last field"),
            DecodeProblem::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            DecodeProblem::BadOptionTag(tag) => write!(f, "option tag {tag} is not 0 or 1"),
            DecodeProblem::NonCanonicalFloat => {
                f.write_str("number is not finite or is negative zero")
            }
            DecodeProblem::UnknownTerm(term) => {
                write!(f, "{term:?} is not a canonical vocabulary term")
            }
            DecodeProblem::NotSorted(what) => write!(f, "{what} must be sorted without duplicates"),
        }
    }
}

/// Why a value cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string longer than 65,535 bytes.
    #[error("{field} is {len} bytes long, above 65535")]
    StringTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A list longer than 65,535 items.
    #[error("{field} has {len} items, above 65535")]
    ListTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A number that is NaN or infinite.
    #[error("{field} is not a finite number")]
    NotFinite {
        /// The field.
        field: &'static str,
    },
    /// A list that must be sorted and free of duplicates is not.
    #[error("{field} must be sorted without duplicates")]
    NotSorted {
        /// The field.
        field: &'static str,
    },
    /// The whole entry exceeds what a log entry may hold.
    #[error("the entry is {len} bytes, above the log's limit of 65535")]
    EntryTooLong {
        /// Its length.
        len: usize,
    },
    /// An evidence reference that is not `sha256:` and 64 hex digits.
    #[error("evidence {value:?} is not `sha256:` followed by 64 hex digits")]
    Evidence {
        /// The reference as given.
        value: String,
    },
}

/// Builds an entry's bytes.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(crate) fn hash(&mut self, value: &[u8; 32]) {
        self.bytes.extend_from_slice(value);
    }

    /// A finite `f64`, negative zero written as zero.
    pub(crate) fn f64(&mut self, field: &'static str, value: f64) -> Result<(), EncodeError> {
        if !value.is_finite() {
            return Err(EncodeError::NotFinite { field });
        }
        let value = if value == 0.0 { 0.0 } else { value };
        self.bytes.extend_from_slice(&value.to_bits().to_be_bytes());
        Ok(())
    }

    pub(crate) fn str(&mut self, field: &'static str, value: &str) -> Result<(), EncodeError> {
        let len = u16::try_from(value.len()).map_err(|_| EncodeError::StringTooLong {
            field,
            len: value.len(),
        })?;
        self.u16(len);
        self.bytes.extend_from_slice(value.as_bytes());
        Ok(())
    }

    pub(crate) fn opt_str(
        &mut self,
        field: &'static str,
        value: Option<&str>,
    ) -> Result<(), EncodeError> {
        match value {
            None => {
                self.u8(0);
                Ok(())
            }
            Some(value) => {
                self.u8(1);
                self.str(field, value)
            }
        }
    }

    pub(crate) fn opt_hash(&mut self, value: Option<&[u8; 32]>) {
        match value {
            None => self.u8(0),
            Some(value) => {
                self.u8(1);
                self.hash(value);
            }
        }
    }

    pub(crate) fn count(&mut self, field: &'static str, len: usize) -> Result<(), EncodeError> {
        let len = u16::try_from(len).map_err(|_| EncodeError::ListTooLong { field, len })?;
        self.u16(len);
        Ok(())
    }
}

/// Reads an entry's bytes, refusing anything non-canonical.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pub(crate) offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    pub(crate) fn fail<T>(&self, offset: usize, reason: DecodeProblem) -> Result<T, DecodeError> {
        Err(DecodeError { offset, reason })
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.offset..end];
                self.offset = end;
                Ok(slice)
            }
            None => self.fail(self.offset, DecodeProblem::Truncated),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn hash(&mut self) -> Result<[u8; 32], DecodeError> {
        self.array()
    }

    pub(crate) fn f64(&mut self) -> Result<f64, DecodeError> {
        let start = self.offset;
        let bits = u64::from_be_bytes(self.array()?);
        let value = f64::from_bits(bits);
        if !value.is_finite() || bits == (-0.0f64).to_bits() {
            return self.fail(start, DecodeProblem::NonCanonicalFloat);
        }
        Ok(value)
    }

    pub(crate) fn str(&mut self) -> Result<String, DecodeError> {
        let len = usize::from(self.u16()?);
        let start = self.offset;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => self.fail(start, DecodeProblem::InvalidUtf8),
        }
    }

    /// Reads an option tag: `false` for 0, `true` for 1.
    pub(crate) fn tag(&mut self) -> Result<bool, DecodeError> {
        let start = self.offset;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => self.fail(start, DecodeProblem::BadOptionTag(other)),
        }
    }

    pub(crate) fn opt_str(&mut self) -> Result<Option<String>, DecodeError> {
        if self.tag()? {
            Ok(Some(self.str()?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn opt_hash(&mut self) -> Result<Option<[u8; 32]>, DecodeError> {
        if self.tag()? {
            Ok(Some(self.hash()?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn count(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.u16()?))
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.offset != self.bytes.len() {
            return self.fail(self.offset, DecodeProblem::TrailingBytes);
        }
        Ok(())
    }
}
