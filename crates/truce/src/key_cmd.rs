//! `truce key`: the Ed25519 keys that sign requests to the service.
//!
//! A key pair is two files: `NAME.key` holds the private key in
//! `truce-note`'s skey text (`PRIVATE+KEY+<name>+<id>+<base64>`, mode 0600)
//! and `NAME.pub` its verifier key (`<name>+<id>+<base64>`), which the admin
//! registers with the service (`truce submit source NAME.pub …`) or, for the
//! admin itself, hands to `truce serve --admin-key`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use truce_auth::RequestSigner;
use truce_note::{KeyName, NoteSigner, Verifier};

/// Make and show the keys that sign requests to the service.
#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key pair: NAME.key (private, mode 0600) and NAME.pub; prints the public key.
    New(NewArgs),
    /// Print the public (verifier) key of a private key file.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct NewArgs {
    /// The key's name, the identity the service knows it by (e.g. `ua.example/liaison`);
    /// no spaces, `+`, `,`, `"` or `\`. The files are named after it, with characters
    /// other than letters, digits, `.`, `-` and `_` replaced by `_`.
    name: String,
    /// The directory to write the two files to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// A private key file (`NAME.key`).
    file: PathBuf,
}

/// Runs a `truce key` subcommand.
pub fn run(args: KeyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        KeyCommand::New(args) => new_key(&args),
        KeyCommand::Show(args) => {
            let signer = read_request_signer(&args.file)?;
            println!("{}", signer.verifier().to_vkey());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The file stem for a key name: characters that are awkward in file names become `_`.
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn new_key(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let name = KeyName::new(&args.name).with_context(|| {
        format!(
            "{:?} cannot be a key name (no spaces, no `+`, not empty)",
            args.name
        )
    })?;
    let stem = file_stem(&args.name);
    if stem.starts_with('.') {
        bail!(
            "{:?} would make a hidden key file; start the key name with a letter or digit",
            args.name
        );
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| {
        anyhow::anyhow!("drawing a random key from the operating system: {error}")
    })?;
    let note_signer = NoteSigner::from_seed(name, &seed);
    let skey = note_signer.to_skey();
    let signer = RequestSigner::new(note_signer).with_context(|| {
        format!(
            "{:?} cannot sign requests: a key name in a request header has no `,`, `\"` or `\\`",
            args.name
        )
    })?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the key directory {}", args.out.display()))?;
    let private = args.out.join(format!("{stem}.key"));
    let public = args.out.join(format!("{stem}.pub"));
    for path in [&private, &public] {
        if fs::symlink_metadata(path).is_ok() {
            bail!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            );
        }
    }
    write_new_file(&private, &format!("{skey}\n"), true)?;
    let vkey = signer.verifier().to_vkey();
    if let Err(error) = write_new_file(&public, &format!("{vkey}\n"), false) {
        // Without its public half the pair is unusable: do not leave the private key behind.
        let _ = fs::remove_file(&private);
        return Err(error);
    }
    eprintln!(
        "created the key {:?}: private {} (keep it secret), public {}",
        args.name,
        private.display(),
        public.display()
    );
    println!("{vkey}");
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (never replacing a file), writes `text` and makes it durable; a private
/// file gets mode 0600.
pub fn write_new_file(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists; refusing to overwrite it",
                path.display()
            )
        }
        Err(error) => {
            return Err(error).with_context(|| format!("creating {}", path.display()));
        }
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads a private key file into a request signer.
pub fn read_request_signer(path: &Path) -> anyhow::Result<RequestSigner> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => bail!(
            "the key file {} does not exist (make one with `truce key new NAME`)",
            path.display()
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("reading the key file {}", path.display()));
        }
    };
    crate::files::warn_if_readable_by_others(path);
    let signer = NoteSigner::from_skey(text.trim()).with_context(|| {
        format!(
            "{} is not a private key (expected one PRIVATE+KEY+... line, as `truce key new` writes)",
            path.display()
        )
    })?;
    RequestSigner::new(signer)
        .with_context(|| format!("the key in {} cannot sign requests", path.display()))
}

/// A verifier key given on the command line: a file holding it, or the key text itself.
pub fn read_verifier(text: &str, what: &str) -> anyhow::Result<Verifier> {
    let path = Path::new(text);
    if path.is_file() {
        let contents = fs::read_to_string(path)
            .with_context(|| format!("reading the {what} from {}", path.display()))?;
        return Verifier::from_vkey(contents.trim()).with_context(|| {
            format!(
                "{} does not hold a {what} (expected one <name>+<id>+<base64> line)",
                path.display()
            )
        });
    }
    Verifier::from_vkey(text.trim())
        .with_context(|| format!("{text:?} is neither a file nor a {what} (<name>+<id>+<base64>)"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn file_stems_keep_safe_characters_only() {
        assert_eq!(file_stem("ua.example/liaison"), "ua.example_liaison");
        assert_eq!(file_stem("admin-1_x"), "admin-1_x");
        assert_eq!(file_stem("a:b*c"), "a_b_c");
    }

    #[test]
    fn a_new_pair_reads_back_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let args = NewArgs {
            name: "mission.example/admin".into(),
            out: dir.path().to_owned(),
        };
        new_key(&args).unwrap();
        let private = dir.path().join("mission.example_admin.key");
        let public = dir.path().join("mission.example_admin.pub");
        let signer = read_request_signer(&private).unwrap();
        let verifier = read_verifier(public.to_str().unwrap(), "public key").unwrap();
        assert_eq!(signer.verifier(), verifier);
        assert_eq!(signer.name().as_str(), "mission.example/admin");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = fs::read(&private).unwrap();
        let error = new_key(&args).unwrap_err();
        assert!(
            error.to_string().contains("refusing to overwrite"),
            "{error}"
        );
        assert_eq!(fs::read(&private).unwrap(), before);
    }

    #[test]
    fn names_a_header_cannot_carry_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = new_key(&NewArgs {
            name: "a,b".into(),
            out: dir.path().to_owned(),
        })
        .unwrap_err();
        assert!(error.to_string().contains("\"a,b\""), "{error}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
