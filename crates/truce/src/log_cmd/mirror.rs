//! `truce log verify` and `truce log mirror`: read a log from a directory or an http(s)
//! URL in the tlog-tiles layout, check every file, and (for a mirror) publish the copy only
//! once it verified and is consistent with what the mirror held before.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use clap::Args;
use truce_log::layout::{parse_bundle, tiles_for_size};
use truce_log::{
    CHECKPOINT_FILE, DirReport, FsTileStore, TileKey, TilePath, TileReader, TileStore, TileWrite,
    VerifyDirError, verify_dir,
};
use truce_merkle::HASH_LEN;
use truce_note::{Checkpoint, Policy, Verifier, WitnessGroup};

use super::{COSIGNED_FILE, WITNESS_SIZES_FILE, b64, parse_vkey, write_atomic};

/// How long one HTTP request of a mirror may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest file fetched: a full bundle of 256 entries of at most 65,537 bytes each.
const MAX_FILE_BYTES: u64 = 256 * 65_537 + 1024;

/// Files fetched before they are written out together.
const WRITE_CHUNK: usize = 64;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The log: a directory, or the http(s) URL it is served at.
    source: String,
    /// The log's verifier key (or a file holding it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// The log's origin line [default: the key's name].
    #[arg(long)]
    origin: Option<String>,
    /// A checkpoint seen earlier: the log must be consistent with it.
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    previous: Option<PathBuf>,
    /// A witness's verifier key: checkpoint.cosigned must carry a valid cosignature of
    /// each listed witness (and the log's signature). Repeatable.
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// After success, write the verified checkpoint (the cosigned one with --witness) here,
    /// for the next run's --previous.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The log to copy: a directory, or the http(s) URL it is served at.
    source: String,
    /// The mirror directory (created if needed; a mirror made earlier is brought up to date).
    dest: PathBuf,
    /// The log's verifier key (or a file holding it).
    #[arg(long, value_name = "VKEY")]
    vkey: String,
    /// The log's origin line [default: the key's name].
    #[arg(long)]
    origin: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Sources

/// Where a log is read from.
#[derive(Debug)]
enum Source {
    Dir(PathBuf),
    Http { base: String, agent: ureq::Agent },
}

impl Source {
    fn new(text: &str) -> Source {
        if text.starts_with("http://") || text.starts_with("https://") {
            let agent = ureq::Agent::config_builder()
                .timeout_global(Some(FETCH_TIMEOUT))
                .http_status_as_error(false)
                .build()
                .into();
            Source::Http {
                base: text.trim_end_matches('/').to_owned(),
                agent,
            }
        } else {
            Source::Dir(PathBuf::from(text))
        }
    }

    /// Where a file of the layout is, for messages.
    fn locate(&self, relative: &str) -> String {
        match self {
            Source::Dir(dir) => dir.join(relative).display().to_string(),
            Source::Http { base, .. } => format!("{base}/{relative}"),
        }
    }

    /// A file of the layout; `None` if it does not exist (404).
    fn fetch(&self, relative: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Source::Dir(dir) => match fs::read(dir.join(relative)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err).with_context(|| format!("reading {}", self.locate(relative))),
            },
            Source::Http { agent, .. } => {
                let url = self.locate(relative);
                let mut response = agent
                    .get(&url)
                    .call()
                    .with_context(|| format!("GET {url}"))?;
                match response.status().as_u16() {
                    200 => response
                        .body_mut()
                        .with_config()
                        .limit(MAX_FILE_BYTES)
                        .read_to_vec()
                        .map(Some)
                        .with_context(|| format!("reading the body of {url}")),
                    404 | 410 => Ok(None),
                    status => bail!("GET {url}: HTTP {status}"),
                }
            }
        }
    }

    fn fetch_required(&self, relative: &str, why: &str) -> anyhow::Result<Vec<u8>> {
        self.fetch(relative)?
            .with_context(|| format!("{} does not exist ({why})", self.locate(relative)))
    }

    /// A tile or bundle of the tree of `size`: its file, or for a partial file that is gone
    /// (the log completed the tile and deleted it, as tlog-tiles allows) the prefix of the
    /// full file.
    fn fetch_tile(&self, path: &TilePath, size: u64) -> anyhow::Result<Vec<u8>> {
        let relative = path.to_string();
        if let Some(bytes) = self.fetch(&relative)? {
            return Ok(bytes);
        }
        let why = format!("needed for the tree of size {size}");
        if path.is_full() {
            bail!("{} does not exist ({why})", self.locate(&relative));
        }
        let full = TilePath::full(path.key).to_string();
        let Some(bytes) = self.fetch(&full)? else {
            bail!(
                "neither {} nor {} exists ({why})",
                self.locate(&relative),
                self.locate(&full)
            );
        };
        Ok(prefix_of_full(path, bytes))
    }
}

/// A source read through the log's tile reader, so that proofs can be computed from the
/// few tiles they need. It is read-only: every write refuses.
#[derive(Debug)]
struct SourceStore<'a> {
    source: &'a Source,
    tree_size: u64,
}

/// Why a source could not give a tile (the message names the file or URL).
#[derive(Debug)]
struct SourceError(String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

impl SourceStore<'_> {
    fn read_only<T>(&self) -> Result<T, SourceError> {
        Err(SourceError(
            "the source of a mirror is read-only".to_owned(),
        ))
    }
}

impl TileStore for SourceStore<'_> {
    type Error = SourceError;

    fn read_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, Self::Error> {
        self.source
            .fetch_tile(path, self.tree_size)
            .map(Some)
            .map_err(|err| SourceError(format!("{err:#}")))
    }

    fn write_tiles(&mut self, _tiles: &[TileWrite]) -> Result<(), Self::Error> {
        self.read_only()
    }

    fn delete_partials(
        &mut self,
        _key: TileKey,
        _widths: std::ops::Range<u16>,
    ) -> Result<(), Self::Error> {
        self.read_only()
    }

    fn has_no_tiles(&self) -> Result<bool, Self::Error> {
        self.read_only()
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        self.source
            .fetch(CHECKPOINT_FILE)
            .map_err(|err| SourceError(format!("{err:#}")))
    }

    fn read_staged_checkpoint(&self) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(None)
    }

    fn stage_checkpoint(&mut self, _note: &[u8]) -> Result<(), Self::Error> {
        self.read_only()
    }

    fn publish_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.read_only()
    }

    fn discard_staged_checkpoint(&mut self) -> Result<(), Self::Error> {
        self.read_only()
    }
}

/// Checks, before anything is copied, that the source's tree extends the mirror's: a
/// consistency proof computed from the source's tiles must lead from the mirror's signed
/// root to the source's signed root. Only then may the mirror's own files be reused.
fn check_extends(source: &Source, old: &Checkpoint, new: &Checkpoint) -> anyhow::Result<()> {
    let place = source.locate(CHECKPOINT_FILE);
    if old.size() == new.size() {
        ensure!(
            old.root() == new.root(),
            "refusing a fork: {place} signs root {} for size {}, the mirror holds root {}",
            b64(&new.root()),
            new.size(),
            b64(&old.root())
        );
        return Ok(());
    }
    if old.size() == 0 {
        return Ok(());
    }
    let store = SourceStore {
        source,
        tree_size: new.size(),
    };
    let reader = TileReader::new(&store, new.size());
    let proof = truce_merkle::consistency_proof(&reader, old.size(), new.size())
        .with_context(|| format!("reading a consistency proof from {}", source.locate("tile")))?;
    truce_merkle::verify_consistency(old.size(), new.size(), &proof, &old.root(), &new.root())
        .with_context(|| {
            format!(
                "refusing a fork: {place} (size {}) is not consistent with the mirror's \
                 checkpoint of size {}",
                new.size(),
                old.size()
            )
        })
}

/// The first `path.width` hashes or entries of a full tile's bytes (the bytes unchanged if
/// they are too short or malformed: verification reports them).
fn prefix_of_full(path: &TilePath, mut bytes: Vec<u8>) -> Vec<u8> {
    match path.key {
        TileKey::Hashes { .. } => {
            let len = usize::from(path.width) * HASH_LEN;
            if bytes.len() >= len {
                bytes.truncate(len);
            }
        }
        TileKey::Entries { .. } => {
            if let Err(truce_log::layout::BundleError::TrailingBytes { offset, .. }) =
                parse_bundle(&bytes, path.width)
            {
                bytes.truncate(offset);
            }
        }
    }
    bytes
}

/// Every tile and bundle file of the tree of `size`.
fn files_for_size(size: u64) -> Vec<TilePath> {
    let mut files = Vec::new();
    for level in tiles_for_size(size) {
        let count = level.full_tiles + u64::from(level.partial_width > 0);
        for index in 0..count {
            let mut keys = vec![TileKey::Hashes {
                level: level.level,
                index,
            }];
            if level.level == 0 {
                keys.push(TileKey::Entries { index });
            }
            files.extend(keys.into_iter().filter_map(|key| key.path_at(size)));
        }
    }
    files
}

/// Reads and verifies a checkpoint note: signed by `key`, of `origin`.
fn verified_checkpoint(
    bytes: &[u8],
    origin: &str,
    key: &Verifier,
    place: &str,
) -> anyhow::Result<Checkpoint> {
    let verified = truce_note::open(bytes, std::slice::from_ref(key))
        .with_context(|| format!("{place} is not a checkpoint signed by {}", key.name()))?;
    let checkpoint = Checkpoint::from_text(verified.text())
        .with_context(|| format!("{place} is not a checkpoint"))?;
    ensure!(
        checkpoint.origin() == origin,
        "{place} is a checkpoint of {:?}, not of {origin:?}",
        checkpoint.origin()
    );
    Ok(checkpoint)
}

/// What was put in a staging directory.
#[derive(Debug, Default)]
struct Fetched {
    /// Files fetched from the source.
    fetched: BTreeSet<TilePath>,
    /// Files taken from the existing mirror.
    reused: BTreeSet<TilePath>,
}

/// Fills `staging` with every file of the tree of `size`: hard links to (or copies of) the
/// files `reuse` already has, the others fetched from `source` and written durably.
fn fetch_tree(
    source: &Source,
    staging: &Path,
    size: u64,
    reuse: Option<&Path>,
) -> anyhow::Result<Fetched> {
    let mut store =
        FsTileStore::open(staging).with_context(|| format!("creating {}", staging.display()))?;
    let mut result = Fetched::default();
    let mut pending = Vec::new();
    for path in files_for_size(size) {
        let relative = path.to_string();
        if let Some(existing) = reuse.map(|dir| dir.join(&relative))
            && existing.is_file()
        {
            let target = staging.join(&relative);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            if fs::hard_link(&existing, &target).is_err() {
                fs::copy(&existing, &target).with_context(|| {
                    format!("copying {} to {}", existing.display(), target.display())
                })?;
            }
            result.reused.insert(path);
            continue;
        }
        let data = source.fetch_tile(&path, size)?;
        pending.push(TileWrite { path, data });
        result.fetched.insert(path);
        if pending.len() == WRITE_CHUNK {
            store
                .write_tiles(&pending)
                .context("writing fetched tiles")?;
            pending.clear();
        }
    }
    store
        .write_tiles(&pending)
        .context("writing fetched tiles")?;
    Ok(result)
}

/// Names where each damaged file came from.
fn describe_damage(
    error: VerifyDirError,
    source: &Source,
    fetched: Option<&Fetched>,
    dest: Option<&Path>,
) -> anyhow::Error {
    match error {
        VerifyDirError::Damaged(damages) => {
            let mut lines = Vec::new();
            for damage in &damages.list {
                let origin = match TilePath::parse(&damage.place.file) {
                    Ok(path) if fetched.is_some_and(|fetched| fetched.reused.contains(&path)) => {
                        dest.map_or_else(String::new, |dest| {
                            format!(" (already in {})", dest.join(&damage.place.file).display())
                        })
                    }
                    _ => format!(" (from {})", source.locate(&damage.place.file)),
                };
                lines.push(format!("{damage}{origin}"));
            }
            if damages.more > 0 {
                lines.push(format!("and {} more", damages.more));
            }
            anyhow::anyhow!("the log is damaged:\n  {}", lines.join("\n  "))
        }
        other => anyhow::Error::new(other).context("verifying the log"),
    }
}

// ---------------------------------------------------------------------------------------
// verify

fn read_previous(path: &Path, origin: &str, key: &Verifier) -> anyhow::Result<Checkpoint> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    verified_checkpoint(&bytes, origin, key, &path.display().to_string())
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = parse_vkey(&args.vkey, "log verifier key")?;
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| key.name().as_str().to_owned());
    let previous = args
        .previous
        .as_deref()
        .map(|path| read_previous(path, &origin, &key))
        .transpose()?;
    let policy = witness_policy(&origin, &key, &args.witnesses)?;
    let source = Source::new(&args.source);

    // A URL is fetched into a temporary directory, then verified like a directory.
    let mut _temp = None;
    let dir = match &source {
        Source::Dir(dir) => dir.clone(),
        Source::Http { .. } => {
            let temp = tempfile::Builder::new()
                .prefix("truce-verify-")
                .tempdir()
                .context("creating a temporary directory")?;
            let bytes = source.fetch_required(CHECKPOINT_FILE, "the log's checkpoint")?;
            let checkpoint =
                verified_checkpoint(&bytes, &origin, &key, &source.locate(CHECKPOINT_FILE))?;
            fetch_tree(&source, temp.path(), checkpoint.size(), None)?;
            write_atomic(&temp.path().join(CHECKPOINT_FILE), &bytes, false)?;
            if let Some(cosigned) = source.fetch(COSIGNED_FILE)? {
                write_atomic(&temp.path().join(COSIGNED_FILE), &cosigned, false)?;
            }
            let dir = temp.path().to_owned();
            _temp = Some(temp);
            dir
        }
    };

    let report = verify_dir(&dir, &origin, &key, previous.as_ref())
        .map_err(|err| describe_damage(err, &source, None, None))?;
    print_report(&args.source, &report, previous.as_ref());

    let mut saved = std::fs::read(dir.join(CHECKPOINT_FILE))
        .with_context(|| format!("reading {}", source.locate(CHECKPOINT_FILE)))?;
    if let Some(policy) = &policy {
        let (bytes, witnessed) = check_witnessed(&dir, &source, &report, policy)?;
        println!("witnessed: size {} of {}", witnessed.0, report.entries);
        for (name, timestamp) in witnessed.1 {
            println!("  cosigned by {name} at {timestamp}");
        }
        saved = bytes;
    }
    if let Some(path) = &args.save {
        write_atomic(path, &saved, true)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The policy "the log's signature and a cosignature of each listed witness".
fn witness_policy(
    origin: &str,
    key: &Verifier,
    witnesses: &[String],
) -> anyhow::Result<Option<Policy>> {
    if witnesses.is_empty() {
        return Ok(None);
    }
    let mut groups = Vec::new();
    for vkey in witnesses {
        let witness = parse_vkey(vkey, "witness verifier key")?;
        let name = witness.name().as_str().to_owned();
        groups.push(
            WitnessGroup::new(&name, vec![witness], 1)
                .with_context(|| format!("witness {name}"))?,
        );
    }
    Ok(Some(
        Policy::new(origin, key.clone(), groups).context("building the cosigning policy")?,
    ))
}

/// Checks checkpoint.cosigned against the policy, and that its tree is a prefix of the
/// verified one. Returns its bytes, its size and who cosigned when.
#[allow(clippy::type_complexity)]
fn check_witnessed(
    dir: &Path,
    source: &Source,
    report: &DirReport,
    policy: &Policy,
) -> anyhow::Result<(Vec<u8>, (u64, Vec<(String, u64)>))> {
    let place = source.locate(COSIGNED_FILE);
    let bytes = match fs::read(dir.join(COSIGNED_FILE)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            bail!("{place} does not exist: the log's checkpoints are not cosigned")
        }
        Err(err) => return Err(err).with_context(|| format!("reading {place}")),
    };
    let accepted = policy
        .check(&bytes)
        .with_context(|| format!("{place} does not satisfy the cosigning policy"))?;
    let cosigned = accepted.checkpoint();
    ensure!(
        cosigned.size() <= report.entries,
        "{place} has size {}, beyond the log's checkpoint of size {}",
        cosigned.size(),
        report.entries
    );
    if cosigned.size() > 0 {
        let store = FsTileStore::open_existing(dir);
        let reader = TileReader::new(&store, report.entries);
        let root = truce_merkle::tree_root(&reader, cosigned.size())
            .with_context(|| format!("computing the root at size {}", cosigned.size()))?;
        ensure!(
            root == cosigned.root(),
            "{place} signs root {} for size {}, but the log's tree has {}: a split view",
            b64(&cosigned.root()),
            cosigned.size(),
            b64(&root)
        );
    }
    let witnesses = accepted
        .verified()
        .verified()
        .iter()
        .filter(|signature| signature.name() != policy.log().name())
        .map(|signature| {
            (
                signature.name().as_str().to_owned(),
                signature.timestamp().unwrap_or(0),
            )
        })
        .collect();
    Ok((bytes, (cosigned.size(), witnesses)))
}

fn print_report(source: &str, report: &DirReport, previous: Option<&Checkpoint>) {
    let checkpoint = &report.checkpoint;
    println!(
        "ok: {source}: {:?} size {} root {}",
        checkpoint.origin(),
        checkpoint.size(),
        b64(&checkpoint.root())
    );
    println!(
        "  {} entries re-hashed from {} bundles, {} hash tiles checked ({} bytes of tiles, {} \
         bytes of bundles)",
        report.entries,
        report.bundles,
        report.hash_tiles,
        report.hash_tile_bytes,
        report.bundle_bytes
    );
    if let Some(previous) = previous {
        println!(
            "  consistent with the previous checkpoint of size {}",
            previous.size()
        );
    }
    if let Some(pending) = &report.pending {
        println!(
            "  a staged checkpoint of size {} will be published when the log is next opened",
            pending.size()
        );
    }
    let unexpected: Vec<&String> = report
        .unexpected
        .iter()
        .filter(|name| *name != COSIGNED_FILE && *name != WITNESS_SIZES_FILE)
        .collect();
    for (what, names) in [
        (
            "files beyond the checkpoint",
            report.uncommitted.iter().collect(),
        ),
        (
            "leftover temporary files",
            report.leftovers.iter().collect(),
        ),
        ("files not part of the layout", unexpected),
    ] {
        if !names.is_empty() {
            let names: Vec<&str> = names.iter().map(|name| name.as_str()).collect();
            println!("  note: {what}: {}", names.join(", "));
        }
    }
}

// ---------------------------------------------------------------------------------------
// mirror

pub fn mirror(args: MirrorArgs) -> anyhow::Result<ExitCode> {
    let key = parse_vkey(&args.vkey, "log verifier key")?;
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| key.name().as_str().to_owned());
    let source = Source::new(&args.source);
    if let Source::Dir(dir) = &source
        && same_dir(dir, &args.dest)
    {
        bail!("the source and the mirror are the same directory");
    }
    let new_bytes = source.fetch_required(CHECKPOINT_FILE, "the log's checkpoint")?;
    let new = verified_checkpoint(&new_bytes, &origin, &key, &source.locate(CHECKPOINT_FILE))?;

    let dest_checkpoint = args.dest.join(CHECKPOINT_FILE);
    let old = match fs::read(&dest_checkpoint) {
        Ok(bytes) => Some(
            verified_checkpoint(
                &bytes,
                &origin,
                &key,
                &dest_checkpoint.display().to_string(),
            )
            .context("refusing to replace a checkpoint that does not verify")?,
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(err).with_context(|| format!("reading {}", dest_checkpoint.display()));
        }
    };
    if let Some(old) = &old {
        ensure!(
            new.size() >= old.size(),
            "refusing to roll the mirror back: {} has size {}, the mirror already has size {}",
            source.locate(CHECKPOINT_FILE),
            new.size(),
            old.size()
        );
        check_extends(&source, old, &new)?;
    }

    let parent = super::parent_dir(&args.dest).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".truce-mirror-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a staging directory in {}", parent.display()))?;
    let fetched = fetch_tree(&source, staging.path(), new.size(), Some(&args.dest))?;
    write_atomic(&staging.path().join(CHECKPOINT_FILE), &new_bytes, false)?;
    // Everything is checked in the staging directory, consistency with the mirror's
    // checkpoint included, before the mirror changes.
    let report = verify_dir(staging.path(), &origin, &key, old.as_ref())
        .map_err(|err| describe_damage(err, &source, Some(&fetched), Some(&args.dest)))?;

    // Commit: move the fetched files in (they were fsynced when written), make their
    // names and any new directories durable, then publish the checkpoint.
    let mut dest_store = FsTileStore::open(&args.dest)
        .with_context(|| format!("creating {}", args.dest.display()))?;
    let mut dirs = BTreeSet::new();
    for path in &fetched.fetched {
        let relative = path.to_string();
        let target = args.dest.join(&relative);
        let dir = target.parent().unwrap_or(&args.dest).to_owned();
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        fs::rename(staging.path().join(&relative), &target)
            .with_context(|| format!("moving {relative} into {}", args.dest.display()))?;
        for ancestor in dir.ancestors() {
            dirs.insert(ancestor.to_owned());
            if ancestor == args.dest {
                break;
            }
        }
    }
    // Deepest first, so that each directory's own entry is synced by its parent after it.
    for dir in dirs.iter().rev() {
        super::sync_dir(dir)?;
    }
    dest_store
        .stage_checkpoint(&new_bytes)
        .and_then(|()| dest_store.publish_checkpoint())
        .with_context(|| format!("publishing {}", dest_checkpoint.display()))?;

    let cosigned = copy_cosigned(&source, &args.dest, &origin, &key, &new)?;
    println!(
        "mirrored {} to {}: size {} root {} ({} files fetched, {} already there); verified{}",
        args.source,
        args.dest.display(),
        report.entries,
        b64(&new.root()),
        fetched.fetched.len(),
        fetched.reused.len(),
        match (&old, cosigned) {
            (Some(old), Some(size)) => format!(
                ", consistent with size {}, cosigned checkpoint of size {size}",
                old.size()
            ),
            (Some(old), None) => format!(", consistent with size {}", old.size()),
            (None, Some(size)) => format!(", cosigned checkpoint of size {size}"),
            (None, None) => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Copies the source's checkpoint.cosigned if it is a checkpoint of this log whose tree is
/// a prefix of the mirrored one (its cosignatures are the readers' to check against their
/// policy). Returns its size.
fn copy_cosigned(
    source: &Source,
    dest: &Path,
    origin: &str,
    key: &Verifier,
    tree: &Checkpoint,
) -> anyhow::Result<Option<u64>> {
    let Some(bytes) = source.fetch(COSIGNED_FILE)? else {
        return Ok(None);
    };
    let place = source.locate(COSIGNED_FILE);
    let checked = verified_checkpoint(&bytes, origin, key, &place).and_then(|cosigned| {
        ensure!(
            cosigned.size() <= tree.size(),
            "{place} has size {}, beyond the checkpoint's {}",
            cosigned.size(),
            tree.size()
        );
        if cosigned.size() > 0 {
            let store = FsTileStore::open_existing(dest);
            let reader = TileReader::new(&store, tree.size());
            let root = truce_merkle::tree_root(&reader, cosigned.size())?;
            ensure!(
                root == cosigned.root(),
                "{place} signs another root for size {} than the log's tree has",
                cosigned.size()
            );
        }
        Ok(cosigned)
    });
    match checked {
        Ok(cosigned) => {
            write_atomic(&dest.join(COSIGNED_FILE), &bytes, true)?;
            Ok(Some(cosigned.size()))
        }
        Err(err) => {
            eprintln!("warning: not copying {place}: {err:#}");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_for_size_lists_full_and_partial_tiles() {
        let names: Vec<String> = files_for_size(70_000)
            .iter()
            .map(TilePath::to_string)
            .collect();
        // 273 full level-0 tiles and bundles, a partial of width 112 of each; level 1: one
        // full tile and one of width 17; level 2: one of width 1.
        assert_eq!(names.len(), 2 * 274 + 2 + 1);
        assert!(names.contains(&"tile/0/273.p/112".to_owned()));
        assert!(names.contains(&"tile/entries/273.p/112".to_owned()));
        assert!(names.contains(&"tile/1/001.p/17".to_owned()));
        assert!(names.contains(&"tile/2/000.p/1".to_owned()));
        assert!(files_for_size(0).is_empty());
    }

    #[test]
    fn a_missing_partial_is_the_prefix_of_the_full_file() {
        let mut bundle = Vec::new();
        for entry in [&b"a"[..], b"bc", b"def"] {
            truce_log::layout::push_bundle_entry(&mut bundle, entry).unwrap();
        }
        let path = TilePath {
            key: TileKey::Entries { index: 0 },
            width: 2,
        };
        assert_eq!(
            prefix_of_full(&path, bundle),
            vec![0, 1, b'a', 0, 2, b'b', b'c']
        );
        let hashes = TilePath {
            key: TileKey::Hashes { level: 0, index: 0 },
            width: 1,
        };
        assert_eq!(prefix_of_full(&hashes, vec![7; 96]).len(), 32);
    }
}
