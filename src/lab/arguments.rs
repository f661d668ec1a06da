//! Checking the arguments of the zpattern nodes against their binaries' own
//! parsers, before anything starts: each binary is run once per distinct command
//! line with `ZPATTERN_CHECK_ARGS=1`, which makes it parse its arguments and exit
//! (0, or 2 with its one-line usage error) without running anything. A mistyped
//! option is then one line naming the node, `FILE:LINE: node 'x': zpull: unexpected
//! argument '--timout' found ...`, instead of a failed run.

use super::instance::{Arg, Part};
use super::keys;
use super::observe::RunOptions;
use super::origin::Table;
use super::plan::Plan;
use super::setup::resolve_programs;
use super::spec::LabTransport;
use crate::cli::lines::flags;
use crate::error::Result;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How many binaries check arguments at once.
const AT_ONCE: usize = 16;
/// How long one check may take: a binary without the check mode would run the
/// node instead, and is stopped then.
const CHECK_WAIT: Duration = Duration::from_secs(10);
/// How much of a check's stderr is kept (its usage error is one line).
const STDERR_KEPT: u64 = 4096;
/// How often a check's exit is looked for.
const POLL: Duration = Duration::from_millis(2);

/// Stand-ins for the placeholders zlab fills in at the start: the binaries parse
/// endpoints as text, so any address of the right shape will do (and key files
/// as paths, which they do not open while checking).
const BIND_TCP: &str = "tcp://127.0.0.1:*";
const CONNECT_TCP: &str = "tcp://127.0.0.1:1";
const IPC: &str = "ipc:///tmp/zlab-check/endpoint";

impl Plan {
    /// Check what the lab's file alone cannot tell, without running it: that every
    /// node's program is found (as [`Plan::run`] would look for it), and that the
    /// zpattern binaries accept the arguments of their nodes (each binary parses
    /// them, with `--stats` where the run adds it, and runs nothing). `zlab check`
    /// does this; [`Plan::run`] does it before starting anything.
    pub fn verify(&self, options: &RunOptions) -> Result<()> {
        let programs = resolve_programs(self, options)?;
        check(
            self,
            &programs,
            &crate::duration::display(options.stats_every),
        )
    }
}

/// Check the arguments of every zpattern node with its binary, `programs[n]` for
/// node `n`, adding `--stats stats` where the run adds it. The error names the
/// first node (in file order) whose arguments its binary refuses.
pub(crate) fn check(plan: &Plan, programs: &[PathBuf], stats: &str) -> Result<()> {
    // One check per distinct program and command line, for the first node with it.
    let mut lines: BTreeMap<(PathBuf, Vec<String>), usize> = BTreeMap::new();
    for (n, node) in plan.lab.nodes.iter().enumerate() {
        if plan.nodes[n].binary.is_none() {
            continue;
        }
        let mut args = stand_in(plan, n);
        if node.stats {
            args.extend([flags::STATS.to_string(), stats.to_string()]);
        }
        lines.entry((programs[n].clone(), args)).or_insert(n);
    }
    let mut checks: Vec<(usize, PathBuf, Vec<String>)> = lines
        .into_iter()
        .map(|((program, args), n)| (n, program, args))
        .collect();
    checks.sort_by_key(|(n, _, _)| *n);
    for batch in checks.chunks(AT_ONCE) {
        let running: Vec<(usize, std::io::Result<Check>)> = batch
            .iter()
            .map(|(n, program, args)| (*n, Check::start(program, args)))
            .collect();
        // Every check of the batch is waited for, so that none is left running.
        let outcomes: Vec<(usize, std::result::Result<(), String>)> = running
            .into_iter()
            .map(|(n, check)| (n, check.map_err(|e| e.to_string()).and_then(Check::finish)))
            .collect();
        if let Some((n, Err(why))) = outcomes.into_iter().find(|(_, o)| o.is_err()) {
            let node = &plan.lab.nodes[n];
            return Err(plan
                .lab
                .error_at(Table::Node(n), format!("node '{}': {why}", node.name)));
        }
    }
    Ok(())
}

/// Node `n`'s arguments (without the program), its placeholders filled with
/// stand-ins.
fn stand_in(plan: &Plan, n: usize) -> Vec<String> {
    let instance = &plan.instances[plan.nodes[n].instances.start];
    let transport = |e: &str| plan.lab.endpoints[e].transport;
    let mut args = Vec::new();
    for arg in &instance.args {
        match arg {
            Arg::One(parts) => args.push(
                parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => text.clone(),
                        Part::Replica => "1".into(),
                        Part::Dir => "/tmp".into(),
                        Part::Key(file, name) => keys::stand_in(*file, name),
                        Part::Bind(e) | Part::Connect(e) if transport(e) == LabTransport::Ipc => {
                            IPC.into()
                        }
                        Part::Bind(_) => BIND_TCP.into(),
                        Part::Connect(_) => CONNECT_TCP.into(),
                    })
                    .collect(),
            ),
            Arg::Each { option, endpoint } => {
                args.push(option.clone());
                args.push(match transport(endpoint) {
                    LabTransport::Ipc => IPC.to_string(),
                    LabTransport::Tcp => CONNECT_TCP.to_string(),
                });
            }
        }
    }
    args.remove(0);
    args
}

/// A binary checking its arguments.
struct Check {
    child: Child,
    program: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Check {
    fn start(program: &std::path::Path, args: &[String]) -> std::io::Result<Check> {
        let mut child = Command::new(program)
            .args(args)
            .env(crate::cli::CHECK_ARGS_ENV, "1")
            .env_remove(crate::os::LAB_WATCHDOG_ENV)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(stderr) = stderr {
                let _ = stderr.take(STDERR_KEPT).read_to_string(&mut text);
            }
            text
        });
        Ok(Check {
            child,
            program: program.display().to_string(),
            stderr,
        })
    }

    /// Wait for the verdict (bounded); the error is the binary's own usage error.
    fn finish(mut self) -> std::result::Result<(), String> {
        let deadline = Instant::now() + CHECK_WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                _ => break None,
            }
        };
        let Some(status) = status else {
            let _ = crate::os::signal_group(self.child.id(), libc::SIGKILL);
            let _ = self.child.wait();
            return Err(format!(
                "{} did not answer the argument check within {}s (is it a zpattern binary of this version?)",
                self.program,
                CHECK_WAIT.as_secs()
            ));
        };
        let stderr = self.stderr.join().unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        match stderr.lines().find(|l| !l.trim().is_empty()) {
            Some(line) => Err(line.trim().to_string()),
            None => Err(format!("{} refused its arguments ({status})", self.program)),
        }
    }
}
