//! `truce log`: keep, prove, witness, verify and mirror the verifiable record, a C2SP
//! tlog-tiles transparency log (`docs/log-format.md`, section "The log from the command
//! line").
//!
//! * [`run`] dispatches the subcommands: `init`, `keygen`, `append`, `checkpoint`, `prove`
//!   (here), `verify` and `mirror` ([`mirror`]), `witness` ([`witness`]) and `cosign`
//!   ([`cosign`]).
//! * Everything about the tree, the proofs and the signatures is done by `truce-merkle`,
//!   `truce-note` and `truce-log`; this module reads arguments and files, talks HTTP and
//!   prints.

mod cosign;
mod mirror;
pub(crate) mod witness;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{ArgGroup, Args, Subcommand};
use truce_log::{FsTileStore, Log, MAX_ENTRY_LEN, Receipt, TileReader};
use truce_merkle::{EMPTY_ROOT, Hash};
use truce_note::{Checkpoint, Cosigner, KeyName, Note, NoteSigner, Verifier};

/// The cosigned checkpoint and the log side's record of witnesses' sizes (`truce-cosign`
/// writes both).
pub use truce_cosign::{COSIGNED_FILE, WITNESS_SIZES_FILE};

/// Keep, prove, witness, verify and mirror the verifiable record (a C2SP tlog-tiles log).
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Create a log directory and its signing key; prints the verifier key.
    Init(InitArgs),
    /// Generate a signing key for a log or (with --witness) a witness; prints the verifier key.
    Keygen(KeygenArgs),
    /// Append lines (or whole files) as entries, in durable batches; prints each index.
    Append(AppendArgs),
    /// Print the log's current signed checkpoint.
    Checkpoint(CheckpointArgs),
    /// Print a receipt or inclusion proof for an entry, or a consistency proof.
    Prove(ProveArgs),
    /// Verify a log directory or URL: every tile and bundle, signatures, consistency.
    Verify(mirror::VerifyArgs),
    /// Run a witness: cosign this log's checkpoints over HTTP (c2sp.org/tlog-witness).
    Witness(witness::WitnessArgs),
    /// Have witnesses cosign the log's latest checkpoint; publishes checkpoint.cosigned.
    Cosign(cosign::CosignArgs),
    /// Copy a log from a directory or URL, verify the copy, then publish its checkpoint.
    Mirror(mirror::MirrorArgs),
}

/// Runs a `truce log` subcommand.
pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LogCommand::Init(args) => init(args),
        LogCommand::Keygen(args) => keygen(args),
        LogCommand::Append(args) => append(args),
        LogCommand::Checkpoint(args) => checkpoint(args),
        LogCommand::Prove(args) => prove(args),
        LogCommand::Verify(args) => mirror::verify(args),
        LogCommand::Witness(args) => witness::run(args),
        LogCommand::Cosign(args) => cosign::run(args),
        LogCommand::Mirror(args) => mirror::mirror(args),
    }
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The log directory to create (it must not exist, or be empty).
    dir: PathBuf,
    /// The log's origin line, e.g. `truce.example/ceasefire-2025`.
    #[arg(long)]
    origin: String,
    /// Where to write the new private key [default: DIR.key, beside the directory].
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    key_out: Option<PathBuf>,
    /// Use this existing private key instead of generating one.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The key name, if it cannot be the origin (the name must not contain spaces or `+`).
    #[arg(long)]
    key_name: Option<String>,
}

#[derive(Debug, Args)]
struct KeygenArgs {
    /// The key name (for a log, its origin; for a witness, e.g. `witness.party-a.example`).
    #[arg(long)]
    name: String,
    /// Where to write the private key (created with mode 0600; never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Make a witness cosigning key (`cosignature/v1`, type 0x04) instead of a log key.
    #[arg(long)]
    witness: bool,
}

#[derive(Debug, Args)]
struct AppendArgs {
    /// The log directory.
    dir: PathBuf,
    /// The log's private key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Files to append, in order; `-` (or none) reads standard input.
    inputs: Vec<PathBuf>,
    /// Append each file's bytes as one entry instead of each line.
    #[arg(long)]
    whole_files: bool,
    /// Entries per batch: each batch is made durable and gets one signed checkpoint.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: u64,
    /// Write each entry's receipt (c2sp.org/tlog-proof) to DIR/<index>.tlog-proof.
    #[arg(long, value_name = "DIR")]
    receipts: Option<PathBuf>,
    /// Have this witness (URL) cosign each batch's checkpoint; receipts then carry the
    /// cosigned checkpoint. Repeat for several witnesses.
    #[arg(long = "witness", value_name = "URL")]
    witnesses: Vec<String>,
    /// A witness verifier key: cosignatures must verify under the listed keys. Repeatable.
    #[arg(long = "witness-vkey", value_name = "VKEY", requires = "witnesses")]
    witness_vkeys: Vec<String>,
}

#[derive(Debug, Args)]
struct CheckpointArgs {
    /// The log directory.
    dir: PathBuf,
    /// Print the cosigned checkpoint (checkpoint.cosigned) instead.
    #[arg(long)]
    cosigned: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["index", "from"])))]
struct ProveArgs {
    /// The log directory.
    dir: PathBuf,
    /// The entry to prove: prints a receipt (c2sp.org/tlog-proof) against the current
    /// checkpoint, or with --size an inclusion proof (base64 lines) in an older tree.
    #[arg(long)]
    index: Option<u64>,
    /// The tree size to prove inclusion in [default: the checkpoint's size].
    #[arg(long, requires = "index")]
    size: Option<u64>,
    /// Print a consistency proof (base64 lines) from this tree size.
    #[arg(long, conflicts_with = "index")]
    from: Option<u64>,
    /// The larger tree size of the consistency proof [default: the checkpoint's size].
    #[arg(long, requires = "from")]
    to: Option<u64>,
}

// ---------------------------------------------------------------------------------------
// Keys

/// Reads a key file holding one `PRIVATE+KEY+...` line.
fn read_skey(path: &Path) -> anyhow::Result<String> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    crate::files::warn_if_readable_by_others(path);
    Ok(text.trim().to_owned())
}

/// Reads a log's private key.
fn read_log_key(path: &Path) -> anyhow::Result<NoteSigner> {
    NoteSigner::from_skey(&read_skey(path)?)
        .with_context(|| format!("{} is not a log signing key", path.display()))
}

/// Reads a witness's private key.
fn read_witness_key(path: &Path) -> anyhow::Result<Cosigner> {
    Cosigner::from_skey(&read_skey(path)?).with_context(|| {
        format!(
            "{} is not a witness key (make one with `truce log keygen --witness`)",
            path.display()
        )
    })
}

/// A verifier key given on the command line: the key string itself, or a file holding it.
fn parse_vkey(text: &str, what: &str) -> anyhow::Result<Verifier> {
    match Verifier::from_vkey(text.trim()) {
        Ok(verifier) => Ok(verifier),
        Err(err) => {
            let path = Path::new(text);
            if path.is_file() {
                let contents = fs::read_to_string(path)
                    .with_context(|| format!("reading the {what} from {}", path.display()))?;
                Verifier::from_vkey(contents.trim())
                    .with_context(|| format!("{} does not hold a {what}", path.display()))
            } else {
                Err(err).with_context(|| format!("{text:?} is not a {what} (nor a file)"))
            }
        }
    }
}

/// Draws a 32-byte seed from the operating system.
fn random_seed() -> anyhow::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|err| anyhow::anyhow!("drawing a random key from the operating system: {err}"))?;
    Ok(seed)
}

/// Creates a private key file (mode 0600), refusing to replace an existing file.
fn write_new_key_file(path: &Path, skey: &str) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            )
        }
        Err(err) => {
            return Err(err).with_context(|| format!("creating the key file {}", path.display()));
        }
    };
    file.write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the key file {}", path.display()))?;
    if let Some(parent) = parent_dir(path) {
        sync_dir(parent)?;
    }
    Ok(())
}

fn key_name(name: &str, flag: &str) -> anyhow::Result<KeyName> {
    KeyName::new(name).with_context(|| {
        format!("{name:?} cannot be a key name (no spaces, no `+`); choose one with {flag}")
    })
}

fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let name = key_name(&args.name, "--name")?;
    let seed = random_seed()?;
    let (skey, vkey) = if args.witness {
        let cosigner = Cosigner::from_seed(name, &seed);
        (cosigner.to_skey(), cosigner.verifier().to_vkey())
    } else {
        let signer = NoteSigner::from_seed(name, &seed);
        (signer.to_skey(), signer.verifier().to_vkey())
    };
    write_new_key_file(&args.out, &skey)?;
    println!("{vkey}");
    Ok(ExitCode::SUCCESS)
}

/// The default key file of a log directory: `DIR.key` beside it.
fn default_key_path(dir: &Path) -> anyhow::Result<PathBuf> {
    let name = dir
        .file_name()
        .filter(|name| !name.is_empty() && *name != "." && *name != "..")
        .with_context(|| {
            format!(
                "cannot name a key file after {}; give --key-out",
                dir.display()
            )
        })?;
    let mut file_name = name.to_owned();
    file_name.push(".key");
    Ok(dir.with_file_name(file_name))
}

fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    Checkpoint::new(&args.origin, 0, EMPTY_ROOT)
        .with_context(|| format!("{:?} is not a valid origin line", args.origin))?;
    if args.dir.exists() {
        let mut listing = fs::read_dir(&args.dir)
            .with_context(|| format!("{} exists and is not a directory", args.dir.display()))?;
        if listing.next().is_some() {
            bail!(
                "{} already holds files; refusing to create a log over them",
                args.dir.display()
            );
        }
    }
    let (signer, key_path, created_key) = match &args.key {
        Some(path) => (read_log_key(path)?, path.clone(), false),
        None => {
            let name = key_name(
                args.key_name.as_deref().unwrap_or(&args.origin),
                "--key-name",
            )?;
            let path = match &args.key_out {
                Some(path) => path.clone(),
                None => default_key_path(&args.dir)?,
            };
            refuse_key_inside(&args.dir, &path)?;
            let signer = NoteSigner::from_seed(name, &random_seed()?);
            write_new_key_file(&path, &signer.to_skey())?;
            (signer, path, true)
        }
    };
    refuse_key_inside(&args.dir, &key_path)?;
    let verifier = signer.verifier();
    if let Err(err) = Log::open(&args.dir, signer, &args.origin) {
        if created_key {
            // Nothing was signed with the new key: do not leave it behind.
            let _ = fs::remove_file(&key_path);
        }
        return Err(err).with_context(|| format!("creating the log in {}", args.dir.display()));
    }
    eprintln!(
        "created the log {} for {:?}; its private key is {}",
        args.dir.display(),
        args.origin,
        key_path.display()
    );
    println!("{}", verifier.to_vkey());
    Ok(ExitCode::SUCCESS)
}

/// A log directory is published as is: its private key must live elsewhere.
fn refuse_key_inside(dir: &Path, key: &Path) -> anyhow::Result<()> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    if absolute(key).starts_with(absolute(dir)) {
        bail!(
            "the key file {} would be inside the log directory {}, which is published",
            key.display(),
            dir.display()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading a log directory

/// The published checkpoint of a log directory, parsed but not verified.
fn read_checkpoint(dir: &Path) -> anyhow::Result<(Note, Checkpoint)> {
    let path = dir.join(truce_log::CHECKPOINT_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
            "no log in {}: {} does not exist (create a log with `truce log init`)",
            dir.display(),
            path.display()
        ),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let note =
        Note::parse(&bytes).with_context(|| format!("{} is not a signed note", path.display()))?;
    let checkpoint = Checkpoint::from_text(note.text())
        .with_context(|| format!("{} is not a checkpoint", path.display()))?;
    Ok((note, checkpoint))
}

/// The cosigned checkpoint of a log directory, if it exists and is of the same tree as
/// `checkpoint` (parsed, not verified).
fn read_cosigned_for(dir: &Path, checkpoint: &Checkpoint) -> anyhow::Result<Option<Note>> {
    let path = dir.join(COSIGNED_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let note =
        Note::parse(&bytes).with_context(|| format!("{} is not a signed note", path.display()))?;
    Ok((note.text() == checkpoint.to_text()).then_some(note))
}

fn b64(hash: &Hash) -> String {
    STANDARD.encode(hash.as_bytes())
}

fn checkpoint(args: CheckpointArgs) -> anyhow::Result<ExitCode> {
    let (note, _) = read_checkpoint(&args.dir)?;
    let bytes = if args.cosigned {
        let path = args.dir.join(COSIGNED_FILE);
        match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
                "{} does not exist: the log has not been cosigned (see `truce log cosign`)",
                path.display()
            ),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        }
    } else {
        note.to_bytes()
    };
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&bytes)
        .context("writing to standard output")?;
    stdout.flush().context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

fn prove(args: ProveArgs) -> anyhow::Result<ExitCode> {
    let (note, checkpoint) = read_checkpoint(&args.dir)?;
    let store = FsTileStore::open_existing(&args.dir);
    let reader = TileReader::new(&store, checkpoint.size());
    let mut out = BufWriter::new(io::stdout().lock());
    let tree = checkpoint.size();
    if let Some(index) = args.index {
        let size = args.size.unwrap_or(tree);
        ensure!(
            size <= tree,
            "tree size {size} is larger than the log's checkpoint ({tree} entries)"
        );
        ensure!(
            index < size,
            "entry {index} is not in the tree of size {size}"
        );
        let proof = truce_merkle::inclusion_proof(&reader, index, size)
            .with_context(|| format!("proving entry {index} in the tree of size {size}"))?;
        if size == tree {
            let note = read_cosigned_for(&args.dir, &checkpoint)?.unwrap_or(note);
            out.write_all(&Receipt::new(index, proof, note).to_bytes())?;
        } else {
            for hash in &proof {
                writeln!(out, "{}", b64(hash))?;
            }
        }
    } else if let Some(from) = args.from {
        let to = args.to.unwrap_or(tree);
        ensure!(
            to <= tree,
            "tree size {to} is larger than the log's checkpoint ({tree} entries)"
        );
        ensure!(
            from > 0,
            "there is no consistency proof from size 0: the empty tree is a prefix of every tree"
        );
        ensure!(from <= to, "--from {from} is larger than --to {to}");
        let proof = truce_merkle::consistency_proof(&reader, from, to)
            .with_context(|| format!("proving tree size {from} consistent with size {to}"))?;
        for hash in &proof {
            writeln!(out, "{}", b64(hash))?;
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Appending

/// One entry to append and where it came from (`file:line`, or `file`).
struct Input {
    label: String,
    bytes: Vec<u8>,
}

/// Reads every input before anything is appended, so that a bad line anywhere refuses the
/// whole run rather than half of it.
fn read_inputs(inputs: &[PathBuf], whole_files: bool) -> anyhow::Result<Vec<Input>> {
    let stdin_path = PathBuf::from("-");
    let inputs: Vec<&PathBuf> = if inputs.is_empty() {
        vec![&stdin_path]
    } else {
        inputs.iter().collect()
    };
    ensure!(
        inputs.iter().filter(|path| path.as_os_str() == "-").count() <= 1,
        "standard input (`-`) is given more than once"
    );
    let mut entries = Vec::new();
    for path in inputs {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
            ("-".to_owned(), bytes)
        } else {
            let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            (path.display().to_string(), bytes)
        };
        if whole_files {
            ensure!(
                bytes.len() <= MAX_ENTRY_LEN,
                "{name}: {} bytes exceed the {MAX_ENTRY_LEN}-byte limit of an entry",
                bytes.len()
            );
            entries.push(Input { label: name, bytes });
            continue;
        }
        if bytes.is_empty() {
            continue;
        }
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        for (line_idx, line) in body.split(|byte| *byte == b'\n').enumerate() {
            let label = format!("{name}:{}", line_idx + 1);
            ensure!(
                line.len() <= MAX_ENTRY_LEN,
                "{label}: a line of {} bytes exceeds the {MAX_ENTRY_LEN}-byte limit of an entry",
                line.len()
            );
            entries.push(Input {
                label,
                bytes: line.to_vec(),
            });
        }
    }
    Ok(entries)
}

fn append(args: AppendArgs) -> anyhow::Result<ExitCode> {
    let signer = read_log_key(&args.key)?;
    let (_, checkpoint) = read_checkpoint(&args.dir)?;
    let origin = checkpoint.origin().to_owned();
    let entries = read_inputs(&args.inputs, args.whole_files)?;
    let witnesses = if args.witnesses.is_empty() {
        None
    } else {
        Some(cosign::Witnesses::new(
            &args.witnesses,
            &args.witness_vkeys,
        )?)
    };
    let mut log = Log::open(&args.dir, signer, &origin)
        .with_context(|| format!("opening the log {}", args.dir.display()))?;
    if let Some(dir) = &args.receipts {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if entries.is_empty() {
        eprintln!("nothing to append; the log has {} entries", log.size());
        return Ok(ExitCode::SUCCESS);
    }
    let want_receipts = args.receipts.is_some() || witnesses.is_some();
    let batch_size = usize::try_from(args.batch_size).unwrap_or(usize::MAX);
    let mut stdout = io::stdout().lock();
    for batch in entries.chunks(batch_size) {
        let bytes: Vec<&[u8]> = batch.iter().map(|input| input.bytes.as_slice()).collect();
        let first = log.size();
        let appended = if want_receipts {
            log.append_batch_with_receipts(&bytes).map(|receipts| {
                let indices = receipts.iter().map(Receipt::index).collect();
                (indices, receipts)
            })
        } else {
            log.append_batch(&bytes)
                .map(|indices| (indices, Vec::new()))
        };
        let (indices, mut receipts) = appended.with_context(|| {
            format!(
                "appending entries {first}.. ({} from {}) to {}; nothing of this batch was \
                 acknowledged",
                batch.len(),
                batch[0].label,
                args.dir.display()
            )
        })?;
        for (index, input) in indices.iter().zip(batch) {
            writeln!(stdout, "{index}\t{}", input.label).context("writing to standard output")?;
        }
        stdout.flush().context("writing to standard output")?;
        let mut cosign_failure = None;
        if let Some(witnesses) = &witnesses {
            match witnesses.cosign(&args.dir, log.checkpoint_note(), log.checkpoint()) {
                Ok(cosigned) => {
                    receipts = receipts
                        .into_iter()
                        .map(|receipt| receipt.with_checkpoint(cosigned.clone()))
                        .collect();
                }
                Err(err) => cosign_failure = Some(err),
            }
        }
        if let Some(dir) = &args.receipts {
            for receipt in &receipts {
                let path = dir.join(format!("{}.tlog-proof", receipt.index()));
                write_atomic(&path, &receipt.to_bytes(), false)?;
            }
        }
        if let Some(err) = cosign_failure {
            return Err(err).with_context(|| {
                format!(
                    "entries {first}..{} are committed in the checkpoint of size {}, but it \
                     was not cosigned",
                    log.size(),
                    log.size()
                )
            });
        }
    }
    eprintln!(
        "appended {} entries; the log has {} entries",
        entries.len(),
        log.size()
    );
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Files

fn parent_dir(path: &Path) -> Option<&Path> {
    match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Some(Path::new(".")),
        other => other,
    }
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .with_context(|| format!("fsync of the directory {}", dir.display()))
}

/// Writes a file atomically: a hidden temporary file in the same directory, renamed over
/// the target. With `durable`, the file and then its directory are fsynced, so the new
/// content survives a crash once this returns.
fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> anyhow::Result<()> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".tmp");
    let temp = dir.join(temp_name);
    let result = (|| -> io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&temp, path)
    })();
    if let Err(err) = result {
        let _ = fs::remove_file(&temp);
        return Err(err).with_context(|| format!("writing {}", path.display()));
    }
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}
