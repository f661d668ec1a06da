//! What a run needs before its first node starts: each node's program found, and
//! the lab's temporary directory; and how a command line is shown.

use super::instance::BINARIES;
use super::observe::RunOptions;
use super::origin::Table;
use super::plan::Plan;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Each node's program: zpattern binaries from the binary directories, other
/// programs as given (a bare name is looked up in PATH).
pub(crate) fn resolve_programs(plan: &Plan, options: &RunOptions) -> Result<Vec<PathBuf>> {
    let dirs = binary_dirs(options);
    let mut programs = Vec::new();
    for (n, (node, plan_node)) in plan.lab.nodes.iter().zip(&plan.nodes).enumerate() {
        let program = &node.run[0];
        let found = match plan_node.binary {
            Some(binary) => dirs.iter().map(|d| d.join(binary)).find(|p| p.is_file()),
            None if program.contains('/') => Some(PathBuf::from(program)).filter(|p| p.is_file()),
            None => search_path(program),
        };
        let Some(path) = found else {
            let looked = match (plan_node.binary, &options.bin_dir) {
                (None, _) => match near_binary(program) {
                    Some(binaries) => format!(" in PATH (did you mean {binaries}?)"),
                    None => " in PATH".to_string(),
                },
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
            return Err(plan.lab.error_at(
                Table::Node(n),
                format!(
                    "node '{}': program '{program}' not found{looked}",
                    node.name
                ),
            ));
        };
        programs.push(path);
    }
    Ok(programs)
}

/// The zpattern binaries whose names `program` is one typo away from (a letter
/// missing, added, changed, or two neighbours swapped): "'zpub' or 'zpull'".
fn near_binary(program: &str) -> Option<String> {
    let near = |a: &[u8], b: &[u8]| -> bool {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        let start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
        let end = short[start..]
            .iter()
            .rev()
            .zip(long[start..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (rest_short, rest_long) = (short.len() - start - end, long.len() - start - end);
        let swapped = short.len() == long.len()
            && rest_short == 2
            && short[start] == long[start + 1]
            && short[start + 1] == long[start];
        swapped || (rest_short <= 1 && rest_long <= 1)
    };
    let names: Vec<String> = BINARIES
        .iter()
        .filter(|b| **b != program && near(b.as_bytes(), program.as_bytes()))
        .map(|b| format!("'{b}'"))
        .collect();
    (!names.is_empty()).then(|| names.join(" or "))
}

/// Open files a run needs per process (its stdin, stdout and stderr pipes), and
/// for the rest of the run (the watchdog, namespaces, the terminal, the report).
const FILES_PER_PROCESS: u64 = 3;
const FILES_BESIDES: u64 = 64;

/// Make sure the run can open the files its processes need, raising the soft limit
/// (`ulimit -n`) up to the hard one if need be; otherwise say so before anything
/// starts.
pub(crate) fn ensure_open_files(plan: &Plan) -> Result<()> {
    let processes = plan.instances.len() as u64;
    let need = processes * FILES_PER_PROCESS + FILES_BESIDES;
    let limit = crate::os::raise_open_files(need)
        .map_err(|e| Error::io("cannot read the limit of open files", e))?;
    if limit < need {
        return Err(Error::usage(format!(
            "lab '{}' runs {processes} processes, which need {need} open files; this process may open {limit} (ulimit -n)",
            plan.lab.name
        )));
    }
    Ok(())
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

/// The lab's temporary directory (ipc sockets, `{dir}`), removed at the end:
/// `zlab-PID-N` in the system's temporary directory, readable by its owner only,
/// with a marker file that says zlab made it.
pub(crate) struct LabDir(pub(crate) PathBuf);

/// The file in every lab directory that says zlab made it.
const MARKER: &str = ".zlab";

impl LabDir {
    pub(crate) fn create() -> Result<LabDir> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = std::env::temp_dir();
        remove_stale(&temp);
        let path = temp.join(format!("zlab-{}-{n}", std::process::id()));
        // Left by an earlier process with the same pid: stale, if it is ours.
        if is_ours(&path) {
            let _ = std::fs::remove_dir_all(&path);
        }
        let cannot = |e| Error::io(format!("cannot create {}", path.display()), e);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(cannot)?;
        let marker = std::fs::write(path.join(MARKER), format!("{}\n", std::process::id()));
        let dir = LabDir(path);
        marker
            .map_err(|e| Error::io(format!("cannot create {}", dir.0.join(MARKER).display()), e))?;
        Ok(dir)
    }
}

/// The pid in the name of a lab directory, `zlab-PID-N` (digits only).
fn lab_dir_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("zlab-")?.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether `path` is a lab directory that a zlab of this user made: a directory
/// (not a link to one) owned by us, holding the marker file, also ours.
fn is_ours(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let uid = crate::os::effective_uid();
    let owned = |p: &Path, dir: bool| {
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.uid() == uid && if dir { m.is_dir() } else { m.is_file() })
    };
    owned(path, true) && owned(&path.join(MARKER), false)
}

/// Remove the directories in `temp` of earlier runs whose zlab is gone (killed with
/// SIGKILL, it could not remove its own). Only what is provably a stale lab
/// directory of this user goes: named `zlab-PID-N`, no process PID running, and
/// [ours](is_ours). Other users' directories are left alone, root's sweep included.
fn remove_stale(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(lab_dir_pid) else {
            continue;
        };
        let running = Path::new(&format!("/proc/{pid}")).exists();
        if !running && is_ours(&entry.path()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid no process has now: one that has just exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id()
    }

    fn lab_dir(temp: &Path, name: &str, marker: bool) -> PathBuf {
        let path = temp.join(name);
        std::fs::create_dir(&path).unwrap();
        if marker {
            std::fs::write(path.join(MARKER), "1\n").unwrap();
        }
        path
    }

    #[test]
    fn the_sweep_removes_only_stale_lab_directories_of_this_user() {
        let temp = std::env::temp_dir().join(format!("zlab-sweep-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&temp);
        std::fs::create_dir(&temp).unwrap();
        let dead = dead_pid();
        let stale = lab_dir(&temp, &format!("zlab-{dead}-0"), true);
        let unmarked = lab_dir(&temp, &format!("zlab-{dead}-1"), false);
        let live = lab_dir(&temp, &format!("zlab-{}-9", std::process::id()), true);
        let odd_name = lab_dir(&temp, &format!("zlab-{dead}-2x"), true);
        let elsewhere = lab_dir(&temp, "elsewhere", true);
        let link = temp.join(format!("zlab-{dead}-3"));
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let foreign = lab_dir(&temp, &format!("zlab-{dead}-4"), true);
        let as_root = crate::os::is_root();
        if as_root {
            // Another user's directory, as root sees it in a shared /tmp.
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
            std::os::unix::fs::chown(foreign.join(MARKER), Some(65534), Some(65534)).unwrap();
        }
        remove_stale(&temp);
        assert!(!stale.exists(), "a stale lab directory of ours is removed");
        assert!(unmarked.exists(), "no marker: not provably zlab's");
        assert!(live.exists(), "its zlab may be running");
        assert!(odd_name.exists(), "not a lab directory's name");
        assert!(
            link.exists() && elsewhere.join(MARKER).exists(),
            "a link, and where it points, stay"
        );
        if as_root {
            assert!(
                foreign.exists(),
                "another user's directory stays, even for root"
            );
        }
        std::fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    fn a_program_one_typo_from_a_binary_is_named() {
        for typo in ["zpul", "zpulll", "zplul", "zpulx", "xpull", "zpush1"] {
            assert!(near_binary(typo).is_some(), "{typo}");
        }
        assert_eq!(near_binary("zpul").as_deref(), Some("'zpub' or 'zpull'"));
        assert_eq!(near_binary("zrpe").as_deref(), Some("'zrep'"));
        for far in ["cat", "zpull", "pul", "zzzz"] {
            assert_eq!(near_binary(far), None, "{far}");
        }
    }

    #[test]
    fn lab_directory_names_are_exact() {
        assert_eq!(lab_dir_pid("zlab-123-0"), Some(123));
        for name in [
            "zlab-123",
            "zlab--0",
            "zlab-12a-0",
            "zlab-1-0-0",
            "xzlab-1-0",
            "zlab-1-",
        ] {
            assert_eq!(lab_dir_pid(name), None, "{name}");
        }
    }
}
