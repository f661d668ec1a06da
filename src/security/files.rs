//! Reading and writing the small files that hold keys and passwords: bounded reads
//! of regular files only, the ssh-like refusal of secrets others can read, and
//! secret files created private from their first byte.

use crate::error::{Error, ErrorKind, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A text file read whole, with its permission bits.
pub(crate) struct Contents {
    pub(crate) text: String,
    pub(crate) mode: u32,
}

impl std::fmt::Debug for Contents {
    /// The text may be a secret key or a password file: only its size shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents")
            .field("bytes", &self.text.len())
            .field("mode", &format_args!("{:04o}", self.mode))
            .finish()
    }
}

/// Read `path`, a regular file of at most `max_bytes`, as UTF-8 text; `what` names
/// the kind of file in errors ("certificate", "password file").
///
/// The file is opened without blocking, so that a FIFO or a device in its place is
/// refused instead of hanging the reader; only what the limit allows is read, even
/// if the file grows meanwhile.
pub(crate) fn read_bounded(path: &Path, max_bytes: u64, what: &str) -> Result<Contents> {
    let shown = path.display();
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::usage(format!("{shown}: not a regular file")));
    }
    if meta.len() > max_bytes {
        return Err(too_large(path, max_bytes, what));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {shown}"), e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(path, max_bytes, what));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::usage(format!("{shown}:{line}: not UTF-8 text"))
    })?;
    Ok(Contents {
        text,
        mode: meta.permissions().mode() & 0o7777,
    })
}

fn too_large(path: &Path, max_bytes: u64, what: &str) -> Error {
    Error::usage(format!(
        "{}: larger than {max_bytes} bytes, the limit for a {what}",
        path.display()
    ))
}

/// Refuse a file holding secrets that its group or others may use, as ssh does
/// with private keys: `FILE is readable by others (mode 0644); chmod 600 it`.
pub(crate) fn check_private(path: &Path, mode: u32) -> Result<()> {
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let who = if mode & 0o004 != 0 {
        "readable by others"
    } else if mode & 0o040 != 0 {
        "readable by its group"
    } else {
        "open to its group or others"
    };
    Err(Error::usage(format!(
        "{} is {who} (mode {:04o}); chmod 600 it",
        path.display(),
        mode & 0o7777
    )))
}

/// Whether an existing file may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Refuse if the file exists.
    Never,
    /// Replace it (atomically, by renaming a complete new file over it).
    Allowed,
}

/// Write `contents` to `path`, created with permission bits `mode` (less the
/// umask) from the start: a secret file is never readable by others, not even
/// while it is written. With [`Replace::Allowed`] the new file is written beside the
/// old one and renamed over it, so that it never inherits the old file's mode and
/// a reader never sees half a file.
pub(crate) fn write_new(path: &Path, contents: &[u8], mode: u32, replace: Replace) -> Result<()> {
    let target = match replace {
        Replace::Never => path.to_path_buf(),
        Replace::Allowed => temporary_beside(path),
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&target)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::new(
                    ErrorKind::Io,
                    format!("{} exists; not overwriting it", path.display()),
                )
            } else {
                Error::io(format!("cannot create {}", target.display()), e)
            }
        })?;
    let written = write_all(&mut file, contents)
        .and_then(|()| match replace {
            Replace::Never => Ok(()),
            Replace::Allowed => std::fs::rename(&target, path),
        })
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e));
    if written.is_err() {
        let _ = std::fs::remove_file(&target);
    }
    written
}

fn write_all(file: &mut File, contents: &[u8]) -> std::io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()
}

/// A fresh name in the directory of `path` for a file to be renamed onto it.
fn temporary_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zpattern-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_are_bounded_and_name_the_file() {
        let dir = temp_dir("bounded");
        let path = dir.join("big");
        std::fs::write(&path, vec![b'a'; 101]).unwrap();
        let e = read_bounded(&path, 100, "certificate")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: larger than 100 bytes, the limit for a certificate",
                path.display()
            )
        );
        assert_eq!(read_bounded(&path, 101, "x").unwrap().text.len(), 101);
        std::fs::write(&path, b"ok\nok\n\xff\n").unwrap();
        let e = read_bounded(&path, 100, "x").unwrap_err().to_string();
        assert_eq!(e, format!("{}:3: not UTF-8 text", path.display()));
        let e = read_bounded(&dir, 100, "x").unwrap_err().to_string();
        assert_eq!(e, format!("{}: not a regular file", dir.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = temp_dir("fifo");
        let path = dir.join("fifo");
        let status = std::process::Command::new("mkfifo").arg(&path).status();
        if status.is_ok_and(|s| s.success()) {
            let e = read_bounded(&path, 100, "x").unwrap_err().to_string();
            assert!(e.ends_with("not a regular file"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_others_can_read_are_refused_like_ssh_does() {
        let path = Path::new("certs/server.key_secret");
        assert!(check_private(path, 0o600).is_ok());
        assert!(check_private(path, 0o400).is_ok());
        assert_eq!(
            check_private(path, 0o644).unwrap_err().to_string(),
            "certs/server.key_secret is readable by others (mode 0644); chmod 600 it"
        );
        assert_eq!(
            check_private(path, 0o640).unwrap_err().to_string(),
            "certs/server.key_secret is readable by its group (mode 0640); chmod 600 it"
        );
        assert!(check_private(path, 0o602).is_err());
    }

    #[test]
    fn new_files_get_their_mode_from_the_start_and_replacing_is_explicit() {
        let dir = temp_dir("write");
        let path = dir.join("secret");
        write_new(&path, b"one", 0o600, Replace::Never).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = write_new(&path, b"two", 0o600, Replace::Never).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            format!("{} exists; not overwriting it", path.display())
        );
        // A replaced file loses a loose mode the old one had.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_new(&path, b"three", 0o600, Replace::Allowed).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
