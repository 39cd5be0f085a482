//! `truce backup` and `truce restore`: a consistent snapshot of a data
//! directory taken while the service runs, and putting one back.
//!
//! A backup is a directory laid out like a data directory, plus
//! `backup.json` (format, log origin, log size, time):
//!
//! ```text
//! OUT/truce.sqlite3   the store, by SQLite's VACUUM INTO (one read transaction)
//! OUT/log/            the log's files for the checkpoint read after the store's snapshot
//! OUT/journal.jsonl   the journal lines of the entries below that checkpoint's size
//! OUT/blobs/          the bodies as they stand
//! OUT/log.key         the log's signing key (the backup is as secret as the data directory)
//! OUT/backup.json     what was backed up
//! ```
//!
//! # Why the parts agree
//!
//! The service writes, for each batch, blobs first, then journal lines, then
//! the log (its checkpoint is the commit point), then the store. So taking
//! them in the opposite order gives a set in which every part covers the
//! ones taken before it: the store's snapshot (at some applied size `A`) is
//! taken first; the log's checkpoint (size `N ≥ A`) is read next and the
//! log is copied as of that checkpoint (a tile that became full meanwhile
//! is cut back to the width `N` needs, so later appends never leak in); the
//! journal and the blobs are copied last and hold everything entries
//! `0 .. N` need. On its first start from a restored directory the service
//! replays entries `A .. N` into the store, as after any crash.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::Args;
use serde::{Deserialize, Serialize};
use truce_log::layout::{TILE_WIDTH, TileKey, TilePath, parse_bundle, tiles_for_size};
use truce_log::{CHECKPOINT_FILE, verify_dir};
use truce_note::{Checkpoint, Note, NoteSigner, Verifier};
use truce_server::{BLOB_DIR, DatabaseUrl, JOURNAL_FILE, LOG_DIR, LOG_KEY_FILE};
use truce_store::{DATABASE_FILE, SqliteStore, Store};

/// The file describing a backup.
pub const MANIFEST_FILE: &str = "backup.json";
/// The format line of [`MANIFEST_FILE`].
pub const BACKUP_FORMAT: &str = "truce-backup/1";

/// Snapshot a data directory while the service runs.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The data directory `truce serve` runs on.
    #[arg(long, env = "TRUCE_DATA", value_name = "DIR")]
    data: PathBuf,
    /// The backup directory to create (it must not exist).
    #[arg(long, value_name = "BACKUP")]
    out: PathBuf,
    /// The store the service runs on, as given to `truce serve --database`: a PostgreSQL
    /// store is refused (back it up with pg_dump or base backups); `sqlite:` or nothing
    /// means the SQLite store in the data directory.
    #[arg(
        long,
        env = "TRUCE_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    database: Option<String>,
}

/// Why `truce backup` does not snapshot a PostgreSQL store.
pub const POSTGRES_BACKUP_ADVICE: &str = "truce backup snapshots the SQLite store of a \
     data directory, and this service keeps its store in PostgreSQL: back the database up \
     with pg_dump or the server's base backups (with WAL archiving), and copy the data \
     directory (log, journal, blobs, log.key; only log.key when the record is in the \
     database too, --record database) with your file-system backups; after a restore \
     the service replays the log entries the database lacks (see docs/service.md, \
     PostgreSQL)";

/// Restore a data directory from a snapshot made by `truce backup`, and verify its log.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory made by `truce backup`.
    #[arg(long = "from", value_name = "BACKUP")]
    from: PathBuf,
    /// The data directory to restore into (stop the service on it first).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Replace the data (log, journal, blobs, store, log key) of a directory that is not
    /// empty.
    #[arg(long)]
    force: bool,
}

/// What `backup.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`BACKUP_FORMAT`].
    pub format: String,
    /// The log's origin line.
    pub log_origin: String,
    /// The log size of the backed-up checkpoint.
    pub log_size: u64,
    /// When the backup was taken, Unix milliseconds.
    pub created_ms: i64,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs `truce backup`.
pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let data = &args.data;
    if let Some(database) = args.database.as_deref().map(str::trim)
        && !database.eq_ignore_ascii_case("sqlite:")
    {
        bail!(
            "{} is served from the database {}: {POSTGRES_BACKUP_ADVICE}",
            data.display(),
            DatabaseUrl::new(database)
        );
    }
    if !data.join(DATABASE_FILE).exists() && data.join(LOG_DIR).join(CHECKPOINT_FILE).is_file() {
        bail!(
            "{} has a log but no SQLite store ({DATABASE_FILE}); if its service keeps the \
             store in PostgreSQL (--database): {POSTGRES_BACKUP_ADVICE}",
            data.display()
        );
    }
    if !data.join(LOG_DIR).exists() && data.join(LOG_KEY_FILE).is_file() {
        bail!(
            "{} holds only the log's key: its service keeps the log, the journal and the texts \
             in PostgreSQL (--record database) beside the store; {POSTGRES_BACKUP_ADVICE}",
            data.display()
        );
    }
    for (part, what) in [
        (
            data.join(LOG_DIR).join(CHECKPOINT_FILE),
            "the log's checkpoint",
        ),
        (data.join(DATABASE_FILE), "the store"),
        (data.join(LOG_KEY_FILE), "the log's key"),
    ] {
        ensure!(
            part.is_file(),
            "{} is not a truce data directory: {what} {} is missing",
            data.display(),
            part.display()
        );
    }
    if fs::symlink_metadata(&args.out).is_ok() {
        bail!(
            "{} already exists; a backup is written to a new directory",
            args.out.display()
        );
    }
    let staging = sibling(&args.out, "partial")?;
    if fs::symlink_metadata(&staging).is_ok() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("removing an unfinished backup {}", staging.display()))?;
    }
    create_private_dir(&staging)?;
    let made = take_backup(data, &staging);
    let manifest = match made {
        Ok(manifest) => manifest,
        Err(error) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    fs::rename(&staging, &args.out)
        .with_context(|| format!("naming the backup {}", args.out.display()))?;
    sync_parent(&args.out)?;
    eprintln!(
        "backed up {} to {}: log {:?} at size {}",
        data.display(),
        args.out.display(),
        manifest.log_origin,
        manifest.log_size
    );
    println!("{}", manifest.log_size);
    Ok(ExitCode::SUCCESS)
}

fn take_backup(data: &Path, out: &Path) -> anyhow::Result<Manifest> {
    // 1. The store: its snapshot reflects a log prefix `0 .. A`.
    runtime()?.block_on(async {
        let store = SqliteStore::open(data)
            .await
            .with_context(|| format!("opening the store in {}", data.display()))?;
        let result = store
            .backup(&out.join(DATABASE_FILE))
            .await
            .context("snapshotting the store");
        store.close().await;
        result
    })?;

    // 2. The log as of the checkpoint read now (size N ≥ A).
    let key_text = fs::read_to_string(data.join(LOG_KEY_FILE))
        .with_context(|| format!("reading {}", data.join(LOG_KEY_FILE).display()))?;
    let verifier = NoteSigner::from_skey(key_text.trim())
        .with_context(|| format!("{} is not a log key", data.join(LOG_KEY_FILE).display()))?
        .verifier();
    let log_dir = data.join(LOG_DIR);
    let checkpoint_bytes = fs::read(log_dir.join(CHECKPOINT_FILE))
        .with_context(|| format!("reading the checkpoint of {}", log_dir.display()))?;
    let checkpoint = parse_checkpoint(&checkpoint_bytes, &log_dir)?;
    let size = checkpoint.size();
    let out_log = out.join(LOG_DIR);
    copy_log(&log_dir, &out_log, size)?;
    write_file(&out_log.join(CHECKPOINT_FILE), &checkpoint_bytes, false)?;

    // 3. The journal's complete lines below N, and the blobs.
    copy_journal(&data.join(JOURNAL_FILE), &out.join(JOURNAL_FILE), size)?;
    copy_blobs(&data.join(BLOB_DIR), &out.join(BLOB_DIR))?;
    write_file(&out.join(LOG_KEY_FILE), key_text.as_bytes(), true)?;

    // The copy must verify on its own.
    verify_log(&out_log, checkpoint.origin(), &verifier, size)?;
    let manifest = Manifest {
        format: BACKUP_FORMAT.to_owned(),
        log_origin: checkpoint.origin().to_owned(),
        log_size: size,
        created_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            }),
    };
    let mut text = serde_json::to_vec_pretty(&manifest).context("encoding backup.json")?;
    text.push(b'\n');
    write_file(&out.join(MANIFEST_FILE), &text, false)?;
    sync_dir(out)?;
    Ok(manifest)
}

fn parse_checkpoint(bytes: &[u8], log_dir: &Path) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(bytes).with_context(|| {
        format!(
            "the checkpoint of {} is not a signed note",
            log_dir.display()
        )
    })?;
    Checkpoint::from_text(note.text())
        .with_context(|| format!("the checkpoint of {} does not parse", log_dir.display()))
}

/// Copies the tiles and bundles a tree of `size` entries needs. A partial file that is
/// gone (its tile became full and the log removed it) is cut from the full file.
fn copy_log(from: &Path, to: &Path, size: u64) -> anyhow::Result<()> {
    let mut paths = Vec::new();
    for level in tiles_for_size(size) {
        let full = level.full_tiles;
        for index in 0..full {
            paths.push(TilePath::full(TileKey::Hashes {
                level: level.level,
                index,
            }));
        }
        if level.partial_width > 0 {
            paths.push(TilePath {
                key: TileKey::Hashes {
                    level: level.level,
                    index: full,
                },
                width: level.partial_width,
            });
        }
        if level.level == 0 {
            for index in 0..full {
                paths.push(TilePath::full(TileKey::Entries { index }));
            }
            if level.partial_width > 0 {
                paths.push(TilePath {
                    key: TileKey::Entries { index: full },
                    width: level.partial_width,
                });
            }
        }
    }
    for path in paths {
        let relative = path.to_string();
        let bytes = match fs::read(from.join(&relative)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound && !path.is_full() => {
                cut_from_full(from, path)?
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("reading {}", from.join(&relative).display()));
            }
        };
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        write_file(&target, &bytes, false)?;
    }
    Ok(())
}

/// The first `path.width` items of the full file of `path`'s tile.
fn cut_from_full(from: &Path, path: TilePath) -> anyhow::Result<Vec<u8>> {
    let full = TilePath::full(path.key);
    let file = from.join(full.to_string());
    let bytes = fs::read(&file)
        .with_context(|| format!("reading {} (its partial {} is gone)", file.display(), path))?;
    let width = usize::from(path.width);
    match path.key {
        TileKey::Hashes { .. } => {
            let length = path.hash_tile_len();
            ensure!(
                bytes.len() >= length,
                "{} is shorter than {width} hashes",
                file.display()
            );
            Ok(bytes[..length].to_vec())
        }
        TileKey::Entries { .. } => {
            let items = parse_bundle(&bytes, TILE_WIDTH)
                .with_context(|| format!("{} is not an entry bundle", file.display()))?;
            let end = items
                .get(width - 1)
                .map(|item| item.body.end)
                .with_context(|| format!("{} holds fewer than {width} entries", file.display()))?;
            Ok(bytes[..end].to_vec())
        }
    }
}

/// Copies the complete journal lines of entries below `size`.
fn copy_journal(from: &Path, to: &Path, size: u64) -> anyhow::Result<()> {
    let bytes = match fs::read(from) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {}", from.display())),
    };
    // A line still being written has no newline yet: leave it out.
    let complete = bytes
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(&bytes[..0], |last| &bytes[..=last]);
    let mut kept = Vec::with_capacity(complete.len());
    for line in complete.split_inclusive(|byte| *byte == b'\n') {
        let index = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|value| value.get("index").and_then(serde_json::Value::as_u64));
        if index.is_some_and(|index| index < size) {
            kept.extend_from_slice(line);
        }
    }
    write_file(to, &kept, true)
}

/// Copies the blob store as it stands. A pack may be copied in the middle of an append: the
/// incomplete record at its end was never acknowledged, and the first open for writing of the
/// restored directory cuts it off.
fn copy_blobs(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let listing = match fs::read_dir(from) {
        Ok(listing) => listing,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("listing {}", from.display())),
    };
    for item in listing {
        let item = item.with_context(|| format!("listing {}", from.display()))?;
        let name = item.file_name();
        // Temporary files of the earlier one-file-per-body layout, and the lock of the
        // store's one appending handle, are not part of the data.
        if name.to_string_lossy().starts_with('.') || name == "LOCK" {
            continue;
        }
        let kind = item
            .file_type()
            .with_context(|| format!("reading {}", item.path().display()))?;
        if kind.is_dir() {
            copy_blobs(&item.path(), &to.join(&name))?;
        } else if kind.is_file() {
            let bytes = fs::read(item.path())
                .with_context(|| format!("reading {}", item.path().display()))?;
            write_file(&to.join(&name), &bytes, false)?;
        }
    }
    sync_dir(to)
}

fn verify_log(log: &Path, origin: &str, verifier: &Verifier, size: u64) -> anyhow::Result<()> {
    let report = verify_dir(log, origin, verifier, None)
        .with_context(|| format!("the log in {} does not verify", log.display()))?;
    ensure!(
        report.entries == size,
        "the log in {} has {} entries, expected {size}",
        log.display(),
        report.entries
    );
    Ok(())
}

/// Runs `truce restore`.
pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let from = &args.from;
    let manifest_path = from.join(MANIFEST_FILE);
    let manifest: Manifest =
        serde_json::from_slice(&fs::read(&manifest_path).with_context(|| {
            format!(
                "{} is not a backup made by `truce backup`: cannot read {}",
                from.display(),
                manifest_path.display()
            )
        })?)
        .with_context(|| format!("{} does not parse", manifest_path.display()))?;
    ensure!(
        manifest.format == BACKUP_FORMAT,
        "{}: format {:?} is not {BACKUP_FORMAT:?}",
        manifest_path.display(),
        manifest.format
    );
    let key_path = from.join(LOG_KEY_FILE);
    let key_text =
        fs::read_to_string(&key_path).with_context(|| format!("reading {}", key_path.display()))?;
    let verifier = NoteSigner::from_skey(key_text.trim())
        .with_context(|| format!("{} is not a log key", key_path.display()))?
        .verifier();
    verify_log(
        &from.join(LOG_DIR),
        &manifest.log_origin,
        &verifier,
        manifest.log_size,
    )
    .context("the backup is damaged")?;

    let data = &args.data;
    let occupied = match fs::read_dir(data) {
        Ok(mut listing) => listing.next().is_some(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => false,
        Err(error) => {
            return Err(error).with_context(|| format!("listing {}", data.display()));
        }
    };
    if occupied && !args.force {
        bail!(
            "{} is not empty; refusing to restore over it (stop the service and pass --force to replace its data)",
            data.display()
        );
    }
    fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    for name in [LOG_DIR, BLOB_DIR] {
        remove_if_present(&data.join(name), true)?;
    }
    for name in [JOURNAL_FILE, LOG_KEY_FILE] {
        remove_if_present(&data.join(name), false)?;
    }
    copy_tree(&from.join(LOG_DIR), &data.join(LOG_DIR))?;
    copy_tree(&from.join(BLOB_DIR), &data.join(BLOB_DIR))?;
    let journal = fs::read(from.join(JOURNAL_FILE))
        .with_context(|| format!("reading {}", from.join(JOURNAL_FILE).display()))?;
    write_file(&data.join(JOURNAL_FILE), &journal, true)?;
    write_file(&data.join(LOG_KEY_FILE), key_text.as_bytes(), true)?;
    runtime()?
        .block_on(SqliteStore::restore(&from.join(DATABASE_FILE), data))
        .with_context(|| format!("restoring the store into {}", data.display()))?;
    sync_dir(data)?;
    verify_log(
        &data.join(LOG_DIR),
        &manifest.log_origin,
        &verifier,
        manifest.log_size,
    )
    .context("the restored log")?;
    eprintln!(
        "restored {} into {}: log {:?} of size {} verified; the service catches the store up on start",
        from.display(),
        data.display(),
        manifest.log_origin,
        manifest.log_size
    );
    println!("{}", manifest.log_size);
    Ok(ExitCode::SUCCESS)
}

fn remove_if_present(path: &Path, dir: bool) -> anyhow::Result<()> {
    let removed = if dir {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match removed {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {}", path.display())),
    }
}

/// Copies a directory tree of regular files.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for item in fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let item = item.with_context(|| format!("listing {}", from.display()))?;
        let kind = item
            .file_type()
            .with_context(|| format!("reading {}", item.path().display()))?;
        let target = to.join(item.file_name());
        if kind.is_dir() {
            copy_tree(&item.path(), &target)?;
        } else if kind.is_file() {
            let bytes = fs::read(item.path())
                .with_context(|| format!("reading {}", item.path().display()))?;
            write_file(&target, &bytes, false)?;
        }
    }
    sync_dir(to)
}

/// Writes a new file durably; a private one gets mode 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .with_context(|| format!("syncing the directory {}", dir.display()))
}

fn sync_parent(path: &Path) -> anyhow::Result<()> {
    match path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

/// `PATH.<suffix>` beside `path`.
fn sibling(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} does not name a directory", path.display()))?;
    let mut name = name.to_owned();
    name.push(format!(".{suffix}"));
    Ok(path.with_file_name(name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use truce_log::Log;
    use truce_note::KeyName;

    use super::*;

    fn log_with(dir: &Path, entries: usize) -> (Verifier, &'static str) {
        let origin = "example.org/log";
        let signer = NoteSigner::from_seed(KeyName::new(origin).unwrap(), &[9; 32]);
        let verifier = signer.verifier();
        let mut log = Log::open(dir, signer, origin).unwrap();
        let bodies: Vec<Vec<u8>> = (0..entries)
            .map(|n| format!("entry {n}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        log.append_batch(&refs).unwrap();
        (verifier, origin)
    }

    #[test]
    fn a_log_is_copied_at_a_smaller_size_even_when_its_partials_are_gone() {
        let temp = tempfile::tempdir().unwrap();
        let source = temp.path().join("log");
        // 300 entries: bundle 0 is full, so the partials of size 100 are gone.
        let (verifier, origin) = log_with(&source, 300);
        let copy = temp.path().join("copy");
        copy_log(&source, &copy, 100).unwrap();
        // The checkpoint of size 100 is not available any more; re-derive it by
        // copying at the current size instead and checking the cut one matches a
        // fresh log of 100 entries.
        let fresh = temp.path().join("fresh");
        let _ = log_with(&fresh, 100);
        for relative in ["tile/0/000.p/100", "tile/entries/000.p/100"] {
            assert_eq!(
                fs::read(copy.join(relative)).unwrap(),
                fs::read(fresh.join(relative)).unwrap(),
                "{relative}"
            );
        }
        let whole = temp.path().join("whole");
        copy_log(&source, &whole, 300).unwrap();
        fs::copy(source.join(CHECKPOINT_FILE), whole.join(CHECKPOINT_FILE)).unwrap();
        verify_log(&whole, origin, &verifier, 300).unwrap();
    }

    #[test]
    fn the_journal_keeps_complete_lines_below_the_size() {
        let temp = tempfile::tempdir().unwrap();
        let from = temp.path().join("journal.jsonl");
        fs::write(
            &from,
            "{\"index\":0,\"sha256\":\"a\"}\n{\"index\":1,\"sha256\":\"b\"}\n{\"index\":2,\"sha256\":\"c\"}\n{\"index\":3,\"sh",
        )
        .unwrap();
        let to = temp.path().join("copy.jsonl");
        copy_journal(&from, &to, 2).unwrap();
        assert_eq!(
            fs::read_to_string(&to).unwrap(),
            "{\"index\":0,\"sha256\":\"a\"}\n{\"index\":1,\"sha256\":\"b\"}\n"
        );
    }

    #[test]
    fn a_directory_whose_record_is_in_the_database_is_sent_to_its_tools() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join(LOG_KEY_FILE), "key").unwrap();
        let error = backup(BackupArgs {
            data: temp.path().to_owned(),
            out: temp.path().join("backup"),
            database: None,
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("--record database"), "{error}");
        assert!(error.contains("pg_dump"), "{error}");
        assert!(!temp.path().join("backup").exists());
    }

    #[test]
    fn a_directory_that_is_not_a_data_directory_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let error = backup(BackupArgs {
            data: temp.path().to_owned(),
            out: temp.path().join("backup"),
            database: None,
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("is not a truce data directory"),
            "{error}"
        );
        assert!(!temp.path().join("backup").exists());
    }

    #[test]
    fn a_postgres_store_is_refused_with_advice_and_no_password() {
        let temp = tempfile::tempdir().unwrap();
        let error = backup(BackupArgs {
            data: temp.path().to_owned(),
            out: temp.path().join("backup"),
            database: Some("postgres://truce:hunter22@db.example/truce".to_owned()),
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("pg_dump"), "{error}");
        assert!(error.contains("base backups"), "{error}");
        assert!(
            error.contains("postgres://truce:***@db.example/truce"),
            "{error}"
        );
        assert!(!error.contains("hunter22"), "{error}");
        assert!(!temp.path().join("backup").exists());
        // A data directory whose store is elsewhere says so without the flag too.
        log_with(&temp.path().join(LOG_DIR), 3);
        let error = backup(BackupArgs {
            data: temp.path().to_owned(),
            out: temp.path().join("backup"),
            database: None,
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("no SQLite store"), "{error}");
        assert!(error.contains("pg_dump"), "{error}");
    }
}
