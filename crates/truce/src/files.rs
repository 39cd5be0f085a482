//! File-system edges: reading an agreement with the files it references, writing outputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use truce_model::agreement::FileSource;
use truce_model::ingest::Pieces;

/// Reads files relative to the agreement's folder and remembers their digests.
#[derive(Debug)]
pub struct DiskFiles {
    base: PathBuf,
    read: std::sync::Mutex<Vec<(String, [u8; 32])>>,
}

impl DiskFiles {
    pub fn new(agreement: &Path) -> Self {
        let base = agreement
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        DiskFiles {
            base,
            read: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// SHA-256 over the agreement text and every referenced file (sorted by name).
    pub fn digest(&self, agreement_text: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(Sha256::digest(agreement_text));
        let mut read = self.read.lock().map(|r| r.clone()).unwrap_or_default();
        read.sort();
        read.dedup();
        for (name, digest) in read {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(digest);
        }
        hex(&hasher.finalize())
    }
}

impl FileSource for DiskFiles {
    fn read(&self, relative: &str) -> Result<Vec<u8>, String> {
        let path = self.base.join(relative);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Ok(mut read) = self.read.lock() {
            read.push((relative.to_string(), Sha256::digest(&bytes).into()));
        }
        Ok(bytes)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes to `path` atomically (temporary file + rename), or to stdout when `path` is None
/// or `-`.
pub fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match path {
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            write(&mut lock)?;
            lock.flush().context("writing to standard output")?;
        }
        Some(p) if p == Path::new("-") => return write_output(None, write),
        // A device or a pipe (`--out /dev/null`, a FIFO) is written in place: renaming a
        // temporary file over it would replace the device with a regular file.
        Some(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?;
            let mut buffered = std::io::BufWriter::new(file);
            write(&mut buffered)?;
            buffered
                .flush()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            let result = (|| -> anyhow::Result<()> {
                let file = std::fs::File::create(&tmp)
                    .with_context(|| format!("creating {}", tmp.display()))?;
                let mut buffered = std::io::BufWriter::new(file);
                write(&mut buffered)?;
                let file = buffered.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()
                    .with_context(|| format!("syncing {}", tmp.display()))?;
                std::fs::rename(&tmp, p).with_context(|| format!("renaming to {}", p.display()))?;
                Ok(())
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
    }
    Ok(())
}

/// Warns (through `tracing`) when a private key file can be read by other users.
#[cfg(unix)]
pub fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(key = %path.display(), "private key file is readable by other users");
    }
}

/// Warns when a private key file can be read by other users (nothing to check here).
#[cfg(not(unix))]
pub fn warn_if_readable_by_others(_path: &Path) {}

/// Reads a whole file, in as many parts as the thread pool has threads, each part read at its
/// offset by its own thread: copying a large input out of the page cache (and faulting in
/// the buffer's pages) then uses every core instead of one.
pub fn read_in_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    // Small files, and files whose length the metadata does not tell (pipes, /proc): one read.
    const PARALLEL_FROM: usize = 8 << 20;
    if len < PARALLEL_FROM || len == usize::MAX {
        let mut bytes = Vec::with_capacity(len.min(PARALLEL_FROM));
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        return Ok(bytes);
    }
    let mut bytes = vec![0u8; len];
    let part = len.div_ceil(rayon::current_num_threads().max(1));
    read_parts(&file, &mut bytes, part)?;
    // The file may have grown since its length was read: what was added is read too.
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(len as u64))?;
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// The first bytes of a file (at most `len`), for telling its format.
pub fn read_head(path: &Path, len: usize) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(len);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, len as u64), &mut head)?;
    Ok(head)
}

/// A file read in pieces that end just after a newline (the last one may end anywhere), for
/// the readers that take their input piece by piece: memory then holds a piece or two of the
/// file instead of all of it. A piece is what `piece_bytes` bytes hold up to their last
/// newline, or longer when a line is: the line's end is read on for. Optionally hashes the
/// file's bytes (SHA-256) as they are read.
#[derive(Debug)]
pub struct FilePieces {
    file: std::fs::File,
    /// The file's length when opened.
    len: u64,
    /// Bytes handed over in pieces so far.
    handed: u64,
    piece_bytes: usize,
    /// Bytes read after the last piece's final newline: the start of the next piece.
    carry: Vec<u8>,
    hasher: Option<Sha256>,
}

impl FilePieces {
    pub fn open(path: &Path, piece_bytes: usize, hash: bool) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        Ok(FilePieces {
            len: file.metadata()?.len(),
            handed: 0,
            file,
            piece_bytes: piece_bytes.max(1),
            carry: Vec::new(),
            hasher: hash.then(Sha256::new),
        })
    }

    /// The SHA-256 of the bytes read, hex, when asked for at `open`.
    pub fn sha256(self) -> Option<String> {
        self.hasher.map(|hasher| hex(&hasher.finalize()))
    }
}

impl Pieces for FilePieces {
    fn remaining_bytes(&self) -> Option<u64> {
        Some(self.len.saturating_sub(self.handed))
    }

    fn next_piece(&mut self, piece: &mut Vec<u8>) -> std::io::Result<bool> {
        piece.clear();
        piece.append(&mut self.carry);
        let mut want = self.piece_bytes;
        loop {
            while piece.len() < want {
                let before = piece.len();
                piece.reserve(want - before);
                let read = std::io::Read::read_to_end(
                    &mut std::io::Read::take(&mut self.file, (want - before) as u64),
                    piece,
                )?;
                if let Some(hasher) = &mut self.hasher {
                    hasher.update(&piece[before..]);
                }
                if read == 0 {
                    // The end of the file: what is left is the last piece.
                    self.handed += piece.len() as u64;
                    return Ok(!piece.is_empty());
                }
            }
            match piece.iter().rposition(|&b| b == b'\n') {
                Some(newline) => {
                    self.carry.extend_from_slice(&piece[newline + 1..]);
                    piece.truncate(newline + 1);
                    self.handed += piece.len() as u64;
                    return Ok(true);
                }
                // A line longer than a piece: the piece grows until it holds the line's end.
                None => want = piece.len() + self.piece_bytes,
            }
        }
    }
}

#[cfg(unix)]
fn read_parts(file: &std::fs::File, bytes: &mut [u8], part: usize) -> std::io::Result<()> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    bytes
        .par_chunks_mut(part)
        .enumerate()
        .try_for_each(|(index, chunk)| file.read_exact_at(chunk, (index * part) as u64))
}

#[cfg(not(unix))]
fn read_parts(file: &std::fs::File, bytes: &mut [u8], _part: usize) -> std::io::Result<()> {
    let mut file = file;
    std::io::Read::read_exact(&mut file, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ from one position to the next, so that a part read at a wrong
    /// offset shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    /// Every piece but the last ends just after a newline, none is longer than asked unless a
    /// line is, and together they are the file, hashed as a whole.
    #[test]
    fn a_file_read_in_pieces_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = Vec::new();
        for index in 0..3000u32 {
            // Lines of 1 to 96 bytes, one of 5000 (longer than a piece), and no final newline.
            let len = if index == 1234 {
                5000
            } else {
                (index % 96) as usize
            };
            text.extend(std::iter::repeat_n(b'a' + (index % 26) as u8, len));
            text.push(b'\n');
        }
        text.extend_from_slice(b"last line");
        let path = dir.path().join("reports.csv");
        std::fs::write(&path, &text).unwrap();
        for piece_bytes in [1, 7, 100, 4096, 1 << 20] {
            let mut pieces = FilePieces::open(&path, piece_bytes, true).unwrap();
            let mut piece = Vec::new();
            let mut all = Vec::new();
            let mut lens = Vec::new();
            while pieces.next_piece(&mut piece).unwrap() {
                assert!(!piece.is_empty());
                all.extend_from_slice(&piece);
                lens.push(piece.len());
                assert_eq!(
                    pieces.remaining_bytes(),
                    Some((text.len() - all.len()) as u64)
                );
                if all.len() < text.len() {
                    assert_eq!(piece.last(), Some(&b'\n'), "pieces of {piece_bytes}");
                    assert!(
                        piece.len() <= piece_bytes + 5000,
                        "pieces of {piece_bytes}: {lens:?}"
                    );
                }
            }
            assert!(
                all == text,
                "pieces of {piece_bytes} bytes differ from the file"
            );
            assert_eq!(lens.len() == 1, piece_bytes > text.len(), "{lens:?}");
            assert!(!pieces.next_piece(&mut piece).unwrap() && piece.is_empty());
            assert_eq!(pieces.sha256(), Some(hex(&Sha256::digest(&text))));
        }
        assert_eq!(read_head(&path, 4).unwrap(), b"\nb\nc");
    }

    #[test]
    fn a_file_read_in_parts_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Below the parallel threshold, at it, and above it with a length no thread count
        // divides evenly.
        for len in [0, 1, 4096, 8 << 20, (8 << 20) + 12_345, (17 << 20) + 7] {
            let path = dir.path().join(format!("input-{len}"));
            let bytes = pattern(len);
            std::fs::write(&path, &bytes).unwrap();
            let read = read_in_parallel(&path).unwrap();
            assert_eq!(read.len(), len);
            assert!(read == bytes, "the bytes of a {len}-byte file differ");
        }
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_in_parallel(&dir.path().join("absent.csv")).is_err());
    }
}
