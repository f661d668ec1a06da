//! `zkeygen`: write a CURVE certificate pair, `NAME.key` (public) and
//! `NAME.key_secret` (secret, mode 0600), in the format CZMQ and pyzmq use, and
//! print the public key.

use crate::cli::context::{Reporting, Reports, Run};
use crate::error::{Error, ErrorKind, Result};
use crate::security::Certificate;
use clap::Parser;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// Generate a CURVE key pair and save it as a certificate pair.
///
/// Writes DIR/NAME.key (the public key: give it to peers) and DIR/NAME.key_secret
/// (both keys: created with mode 0600, keep it private), and prints the public key
/// (40 Z85 characters) on stdout. Existing files are not replaced without --force.
#[derive(Parser, Debug)]
#[command(name = "zkeygen", version)]
pub struct Args {
    /// Name of the certificate: a plain file name, without '/'.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Directory to write the two files in (created, private to its owner, if it
    /// does not exist).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace existing files (each is replaced in one step, never left half
    /// written).
    #[arg(long)]
    pub force: bool,
    /// Put metadata NAME=VALUE in both files (repeatable), e.g. --meta name=frontend.
    #[arg(short, long, value_name = "NAME=VALUE")]
    pub meta: Vec<String>,
    /// Print nothing on stderr (the key still goes to stdout).
    #[arg(short, long)]
    pub quiet: bool,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        Reporting {
            quiet: self.quiet,
            ..Reporting::default()
        }
    }
}

/// Run `zkeygen`.
pub fn run(args: Args, _run: &Run) -> Result<()> {
    let name = &args.name;
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Error::usage(format!(
            "NAME {name:?} must be a plain file name, without '/' (--dir DIR says where)"
        )));
    }
    let mut cert = Certificate::generate()?;
    for entry in &args.meta {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--meta {entry:?}: expected NAME=VALUE")))?;
        cert.set_meta(key, value)
            .map_err(|e| e.context(format!("--meta {entry:?}")))?;
    }
    if !args.dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&args.dir)
            .map_err(|e| Error::io(format!("cannot create {}", args.dir.display()), e))?;
    }
    let saved = if args.force {
        cert.save_replacing(&args.dir, name)?
    } else {
        for suffix in ["key", "key_secret"] {
            let path = args.dir.join(format!("{name}.{suffix}"));
            if path.symlink_metadata().is_ok() {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("{} exists; --force replaces it", path.display()),
                ));
            }
        }
        cert.save(&args.dir, name)?
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", cert.public_key())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    if !args.quiet {
        let secret = saved.secret.as_ref().map(|p| p.display().to_string());
        note!(
            "zkeygen: wrote {} and {}",
            saved.public.display(),
            secret.unwrap_or_default()
        );
    }
    Ok(())
}
