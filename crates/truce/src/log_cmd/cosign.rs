//! `truce log cosign`: the log's side of c2sp.org/tlog-witness. The latest checkpoint goes
//! to each witness with a consistency proof from the size that witness last cosigned; the
//! cosignatures are collected and published as `checkpoint.cosigned`. The exchange itself
//! is `truce-cosign`'s, shared with the service.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use truce_note::{Checkpoint, Note};

use super::{COSIGNED_FILE, parse_vkey, read_checkpoint, read_log_key};

#[derive(Debug, Args)]
pub struct CosignArgs {
    /// The log directory.
    dir: PathBuf,
    /// The log's private key file (only its public half is used, to check the checkpoint).
    #[arg(long, value_name = "FILE", required_unless_present = "vkey")]
    key: Option<PathBuf>,
    /// The log's verifier key, instead of --key.
    #[arg(long, value_name = "VKEY", conflicts_with = "key")]
    vkey: Option<String>,
    /// A witness's URL (its submission prefix; requests go to URL/add-checkpoint).
    /// Repeat for each witness: all must cosign.
    #[arg(long = "witness", value_name = "URL", required = true)]
    witnesses: Vec<String>,
    /// A witness verifier key: each witness's cosignatures must verify under the listed
    /// keys (lines from other keys are dropped). Repeatable.
    #[arg(long = "witness-vkey", value_name = "VKEY")]
    witness_vkeys: Vec<String>,
}

pub fn run(args: CosignArgs) -> anyhow::Result<ExitCode> {
    let log_key = match (&args.key, &args.vkey) {
        (Some(path), _) => read_log_key(path)?.verifier(),
        (None, Some(vkey)) => parse_vkey(vkey, "log verifier key")?,
        (None, None) => bail!("give the log's key with --key or --vkey"),
    };
    let (note, checkpoint) = read_checkpoint(&args.dir)?;
    note.verify(std::slice::from_ref(&log_key))
        .with_context(|| {
            format!(
                "{} is not signed by {}",
                args.dir.join(truce_log::CHECKPOINT_FILE).display(),
                log_key.name()
            )
        })?;
    let witnesses = Witnesses::new(&args.witnesses, &args.witness_vkeys)?;
    let cosigned = witnesses.cosign(&args.dir, &note, &checkpoint)?;
    print!("{cosigned}");
    eprintln!(
        "{} witnesses cosigned the checkpoint of size {}; published {}",
        args.witnesses.len(),
        checkpoint.size(),
        args.dir.join(COSIGNED_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The witnesses a log asks to cosign its checkpoints (`truce_cosign::Witnesses` with
/// keys read from the command line).
#[derive(Debug)]
pub struct Witnesses(truce_cosign::Witnesses);

impl Witnesses {
    /// Witnesses at these URLs; with `vkeys` (key text or files), cosignatures must verify
    /// under them.
    pub fn new(urls: &[String], vkeys: &[String]) -> anyhow::Result<Self> {
        let known = vkeys
            .iter()
            .map(|vkey| parse_vkey(vkey, "witness verifier key"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Witnesses(truce_cosign::Witnesses::new(urls, known)?))
    }

    /// Has every witness cosign `note` and publishes `dir/checkpoint.cosigned`
    /// (`truce_cosign::Witnesses::cosign`).
    pub fn cosign(&self, dir: &Path, note: &Note, checkpoint: &Checkpoint) -> anyhow::Result<Note> {
        Ok(self.0.cosign(dir, note, checkpoint)?)
    }
}
