//! The bounds of a lab: everything a lab can make zlab hold has one, checked
//! before anything runs.

use std::path::Path;

/// The largest lab file read (16 MiB): a lab is a page of TOML, with perhaps some
/// input text; anything near this is a mistake (`/dev/zero`), not a lab.
pub const MAX_LAB_FILE: u64 = 16 << 20;

/// The most processes a lab may run at once: its nodes' replicas added up. Each
/// costs zlab three pipes and as many threads while it runs.
pub const MAX_PROCESSES: usize = 1000;

/// The most `[[fault]]` tables a lab may have.
pub const MAX_FAULTS: usize = 1000;

/// The most `[[link]]` tables a lab may have (each gets a /24 of 10.77.0.0/16).
pub const MAX_LINKS: usize = 256;

/// The most `[keys]` a lab may declare. Each costs a key pair and two files at
/// the start of every run, and each allow list a copy of up to this many public
/// certificates.
pub const MAX_KEYS: usize = 100;

/// The largest `input_file` a node may be given (1 GiB). The file is handed to the
/// node as its standard input, never read by zlab; the bound keeps a mistake (a
/// disk image, a log that grows) out of a lab.
pub const MAX_INPUT_FILE: u64 = 1 << 30;

/// Whether `path`, with `metadata`, can be a node's `input_file`: a regular file
/// (not a pipe, a device or a directory, which could block the node or never end)
/// of at most [`MAX_INPUT_FILE`] bytes. The error names the file.
pub(crate) fn check_input_file(
    path: &Path,
    metadata: &std::fs::Metadata,
) -> std::result::Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a named pipe")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    };
    if let Some(what) = what {
        return Err(format!(
            "{} is {what}: only a regular file can be a node's input",
            path.display()
        ));
    }
    if metadata.len() > MAX_INPUT_FILE {
        return Err(format!(
            "{} has {} bytes: at most {MAX_INPUT_FILE} (1 GiB) are allowed",
            path.display(),
            metadata.len()
        ));
    }
    Ok(())
}
