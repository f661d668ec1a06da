//! What a run needs before its first node starts: each node's program found, and
//! the lab's temporary directory; and how a command line is shown.

use super::observe::RunOptions;
use super::plan::Plan;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Each node's program: zpattern binaries from the binary directories, other
/// programs as given (a bare name is looked up in PATH).
pub(crate) fn resolve_programs(plan: &Plan, options: &RunOptions) -> Result<Vec<PathBuf>> {
    let dirs = binary_dirs(options);
    let mut programs = Vec::new();
    for (node, plan_node) in plan.lab.nodes.iter().zip(&plan.nodes) {
        let program = &node.run[0];
        let found = match plan_node.binary {
            Some(binary) => dirs.iter().map(|d| d.join(binary)).find(|p| p.is_file()),
            None if program.contains('/') => Some(PathBuf::from(program)).filter(|p| p.is_file()),
            None => search_path(program),
        };
        let Some(path) = found else {
            let looked = match (plan_node.binary, &options.bin_dir) {
                (None, _) => String::new(),
                (Some(_), Some(dir)) => format!(" in {} (--bin-dir)", dir.display()),
                (Some(_), None) => format!(
                    " next to the running program, in the directory above it, or in PATH (looked in {}; run `make build`, or give --bin-dir)",
                    dirs.iter()
                        .take(2)
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            };
            return Err(Error::usage(format!(
                "node '{}': program '{program}' not found{looked}",
                node.name
            )));
        };
        programs.push(path);
    }
    Ok(programs)
}

/// Where the zpattern binaries are looked for, first match winning: the
/// `bin_dir` option alone if set; otherwise the running program's directory, the
/// one above it (cargo builds examples and tests one level below the binaries,
/// `target/debug/examples`, `target/debug/deps`), then each directory of PATH.
fn binary_dirs(options: &RunOptions) -> Vec<PathBuf> {
    if let Some(dir) = &options.bin_dir {
        return vec![dir.clone()];
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let mut dirs: Vec<PathBuf> = exe_dir
        .iter()
        .flat_map(|dir| [Some(dir.clone()), dir.parent().map(Path::to_path_buf)])
        .flatten()
        .collect();
    if let Some(paths) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    dirs
}

fn search_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The lab's temporary directory (ipc sockets, `{dir}`), removed at the end.
pub(crate) struct LabDir(pub(crate) PathBuf);

impl LabDir {
    pub(crate) fn create() -> Result<LabDir> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        remove_stale();
        let path = std::env::temp_dir().join(format!("zlab-{}-{n}", std::process::id()));
        // Left by an earlier process with the same pid: stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(LabDir(path))
    }
}

/// Remove the directories of earlier runs whose zlab is gone (killed with SIGKILL,
/// it could not remove its own).
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("zlab-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for LabDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The command line as a shell would need it typed.
pub(crate) fn shell_words(args: &[String]) -> String {
    let plain = |a: &str| {
        !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
    };
    args.iter()
        .map(|a| {
            if a.len() > 60 {
                format!("<{} bytes>", a.len())
            } else if plain(a) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
