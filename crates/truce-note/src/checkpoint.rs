//! Checkpoints (c2sp.org/tlog-checkpoint): the note text a log signs.

use std::fmt;

use truce_merkle::Hash;

use crate::b64;
use crate::key::NoteSigner;
use crate::note::Note;

/// Why a text is not a checkpoint body, or a field cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The text does not end in a newline.
    #[error("checkpoint text must end with a newline")]
    MissingFinalNewline,
    /// Fewer than three lines (origin, size, root).
    #[error("checkpoint needs origin, size and root lines, got {lines} lines")]
    TooFewLines {
        /// How many lines the text has.
        lines: usize,
    },
    /// A line is empty (`line` counts from 1).
    #[error("checkpoint line {line} is empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A line contains a newline or another ASCII control character.
    #[error("checkpoint line {line} contains a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// The size line is not a decimal `u64` without leading zeroes.
    #[error("tree size {text:?} is not a decimal number without leading zeroes that fits 64 bits")]
    InvalidSize {
        /// The size line.
        text: String,
    },
    /// The root line is not the canonical base64 of 32 bytes.
    #[error("root hash {text:?} is not the padded base64 of 32 bytes")]
    InvalidRoot {
        /// The root line.
        text: String,
    },
}

/// A log's tree head as c2sp.org/tlog-checkpoint writes it: origin line, tree
/// size, base64 root hash, then optional non-empty extension lines.
///
/// Fields are checked on construction, so [`Checkpoint::to_text`] always gives
/// a valid note text, and `from_text(to_text(c)) == c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn check_line(line: &str, line_number: usize) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyLine { line: line_number });
    }
    if line.bytes().any(|byte| byte < 0x20) {
        return Err(CheckpointError::ControlCharacter { line: line_number });
    }
    Ok(())
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let invalid = || CheckpointError::InvalidSize {
        text: text.to_owned(),
    };
    let digits_only = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits_only || leading_zero {
        return Err(invalid());
    }
    text.parse::<u64>().map_err(|_| invalid())
}

fn parse_root(text: &str) -> Result<Hash, CheckpointError> {
    b64::decode(text)
        .and_then(|bytes| Hash::from_slice(&bytes).ok())
        .ok_or_else(|| CheckpointError::InvalidRoot {
            text: text.to_owned(),
        })
}

impl Checkpoint {
    /// A checkpoint without extension lines. The origin must be non-empty
    /// and free of control characters (newline included).
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_line(origin, 1)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Appends an extension line (non-empty, no control characters).
    /// C2SP recommends against extension lines: monitors cannot audit them.
    pub fn with_extension(mut self, line: &str) -> Result<Self, CheckpointError> {
        check_line(line, 4 + self.extensions.len())?;
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    /// Parses a checkpoint body: at least three non-empty lines, each ending
    /// in a newline. The size is decimal without leading zeroes (`0` for the
    /// empty tree); the root is padded standard base64 of 32 bytes.
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        }
        for (idx, line) in lines.iter().enumerate() {
            check_line(line, idx + 1)?;
        }
        Ok(Self {
            origin: lines[0].to_owned(),
            size: parse_size(lines[1])?,
            root: parse_root(lines[2])?,
            extensions: lines[3..].iter().map(|line| (*line).to_owned()).collect(),
        })
    }

    /// The note text: origin, size, root and extension lines, each ending in
    /// a newline.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root hash at that size.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The extension lines, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// A signed note of this checkpoint by the log's key.
    pub fn sign(&self, signer: &NoteSigner) -> Note {
        let text = self.to_text();
        let signature = signer.sign_text(&text);
        // A checkpoint text is a valid note text by construction.
        Note::from_checked_parts(text, vec![signature])
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", b64::encode(self.root.as_bytes()))?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_merkle::EMPTY_ROOT;

    #[test]
    fn round_trip_with_extensions() {
        let checkpoint = Checkpoint::new("example.com/log", 42, EMPTY_ROOT)
            .unwrap()
            .with_extension("ext one")
            .unwrap();
        let text = checkpoint.to_text();
        assert_eq!(
            text,
            "example.com/log\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\n"
        );
        assert_eq!(Checkpoint::from_text(&text).unwrap(), checkpoint);
    }

    #[test]
    fn size_rules() {
        let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let parse = |size: &str| Checkpoint::from_text(&format!("o\n{size}\n{root}\n"));
        assert_eq!(parse("0").unwrap().size(), 0);
        assert_eq!(parse("18446744073709551615").unwrap().size(), u64::MAX);
        for bad in [
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1e3",
            "١",
        ] {
            assert!(
                matches!(parse(bad), Err(CheckpointError::InvalidSize { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn line_rules() {
        let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(
            Checkpoint::from_text(&format!("o\n1\n{root}")),
            Err(CheckpointError::MissingFinalNewline)
        );
        assert_eq!(
            Checkpoint::from_text("o\n1\n"),
            Err(CheckpointError::TooFewLines { lines: 2 })
        );
        assert_eq!(
            Checkpoint::from_text(&format!("\n1\n{root}\n")),
            Err(CheckpointError::EmptyLine { line: 1 })
        );
        assert_eq!(
            Checkpoint::from_text(&format!("o\n1\n{root}\n\n")),
            Err(CheckpointError::EmptyLine { line: 4 })
        );
        assert_eq!(
            Checkpoint::from_text(&format!("o\t\n1\n{root}\n")),
            Err(CheckpointError::ControlCharacter { line: 1 })
        );
        // 31 bytes, a non-canonical encoding, and missing padding.
        for bad in [
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
        ] {
            assert!(matches!(
                Checkpoint::from_text(&format!("o\n1\n{bad}\n")),
                Err(CheckpointError::InvalidRoot { .. })
            ));
        }
        assert!(Checkpoint::new("", 0, EMPTY_ROOT).is_err());
        assert!(Checkpoint::new("a\nb", 0, EMPTY_ROOT).is_err());
        assert!(
            Checkpoint::new("o", 0, EMPTY_ROOT)
                .unwrap()
                .with_extension("")
                .is_err()
        );
    }
}
