//! `zlab`: run a lab file, watch it live, report the verdict.
//!
//! `zlab run FILE` exits 0 when every expectation held; 1 when one did not (each
//! failure is named), the time limit passed, the topology could not come up, or
//! the `--report` page could not be written at the end; 2 for a lab file that is
//! missing, unreadable, past a bound or bad, a program not found, a zpattern
//! node's arguments refused by its binary, a `--report` path that cannot be
//! written, namespaces required but unavailable, too few open files allowed, or
//! bad usage; 4 when the lab is skipped (every expectation held, but its links'
//! impairment, the lab's point, could not all be applied); 130 when interrupted.
//! The report goes to stdout (a table, or JSON with `--json`), live progress to
//! stderr.

mod live;

use crate::error::{Error, ErrorKind, Result};
use crate::lab::{Lab, Report, RunOptions};
use crate::stop::Stop;
use clap::{Parser, Subcommand};
use live::Live;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Run scripted network labs of zpattern nodes.
#[derive(Parser, Debug)]
#[command(name = "zlab", version)]
pub struct Args {
    #[command(subcommand)]
    #[allow(missing_docs)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a lab: start its topology, apply its faults, check its expectations.
    Run(RunArgs),
    /// Check a lab file and show its plan, without running anything: the file,
    /// that every program is found, and that each zpattern node's arguments parse.
    Check {
        /// The lab file.
        file: PathBuf,
        /// Where the zpattern binaries are (default: next to zlab, then the
        /// directory above it, then PATH).
        #[arg(long, value_name = "DIR")]
        bin_dir: Option<PathBuf>,
    },
}

/// Options of `zlab run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The lab file (TOML).
    pub file: PathBuf,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as a self-contained HTML page: the lab's map (who
    /// binds and connects what, the faults) and each node's message rate.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No live progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Where the zpattern binaries are (default: next to zlab, then the directory
    /// above it, then PATH).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// How long a node may take to stop after SIGTERM before SIGKILL.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = crate::cli::args::duration_arg)]
    pub grace: Duration,
}

/// The exit code of a lab skipped because its impairment could not be applied.
const SKIPPED: u8 = 4;

/// Parse the arguments, run, print, choose the exit code.
pub fn main() -> ExitCode {
    if let Some(code) = lab_file_without_command() {
        return code;
    }
    let args = crate::cli::parse_args::<Args>();
    let outcome = match args.command {
        Command::Run(run_args) => run(&run_args),
        Command::Check { file, bin_dir } => check(&file, bin_dir),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            note!("zlab: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `zlab FILE`: a lab file where the command should be. Say how to run it (exit 2)
/// instead of clap's "unrecognized subcommand".
fn lab_file_without_command() -> Option<ExitCode> {
    let first = std::env::args_os().nth(1)?;
    let error = Args::try_parse().err()?;
    let looks_like_a_lab =
        Path::new(&first).is_file() || Path::new(&first).extension().is_some_and(|e| e == "lab");
    if error.kind() != clap::error::ErrorKind::InvalidSubcommand || !looks_like_a_lab {
        return None;
    }
    let file = first.to_string_lossy();
    note!("zlab: '{file}' is not a command: to run the lab, zlab run {file}; to check it, zlab check {file} (see zlab --help)");
    Some(ExitCode::from(ErrorKind::Usage.exit_code()))
}

/// Run a lab; the exit code follows the verdict.
fn run(args: &RunArgs) -> Result<u8> {
    let plan = Lab::load(&args.file)?.plan()?;
    let html = args
        .report
        .as_deref()
        .map(HtmlReport::prepare)
        .transpose()?;
    let stop = Stop::new();
    let handler_stop = stop.clone();
    // Every signal only asks for a stop: zlab always stops its nodes before leaving.
    ctrlc::set_handler(move || handler_stop.request()).map_err(|e| {
        Error::new(ErrorKind::Io, "cannot install the signal handler").with_source(e)
    })?;
    let mut options = RunOptions::default();
    options.bin_dir.clone_from(&args.bin_dir);
    options.grace = args.grace;
    options.stop = stop;
    let mut live = Live::new(args.quiet);
    let report = plan.run(&options, &mut live).inspect_err(|_| {
        if let Some(html) = &html {
            html.discard();
        }
    })?;
    live.finish();
    print_report(&report, args.json)?;
    let code = if report.interrupted {
        130
    } else if report.passed {
        0
    } else if report.skipped.is_some() {
        SKIPPED
    } else {
        1
    };
    // The report is out whatever happens to the page: a failed write fails the
    // run, but never hides its verdict.
    if let Some(Err(e)) = html.map(|h| h.write(&report)) {
        note!("zlab: {e}");
        return Ok(code.max(1));
    }
    Ok(code)
}

/// The `--report` page, its path checked before the lab starts: a run is not
/// wasted on a report that cannot be written.
struct HtmlReport<'a> {
    path: &'a Path,
    /// The check created the file: a run that never starts removes it.
    created: bool,
}

impl<'a> HtmlReport<'a> {
    /// Check that `path` can be written (creating it, empty, if it does not exist).
    fn prepare(path: &'a Path) -> Result<HtmlReport<'a>> {
        let created = !path.exists();
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| {
                Error::usage(format!(
                    "--report {}: cannot write there: {e}",
                    path.display()
                ))
            })?;
        Ok(HtmlReport { path, created })
    }

    /// The run did not start: leave no empty page behind.
    fn discard(&self) {
        if self.created {
            let _ = std::fs::remove_file(self.path);
        }
    }

    fn write(&self, report: &Report) -> Result<()> {
        std::fs::write(self.path, report.to_html())
            .map_err(|e| Error::io(format!("cannot write {}", self.path.display()), e))
    }
}

fn print_report(report: &Report, json: bool) -> Result<()> {
    use std::io::Write;
    let text = if json {
        report.to_json() + "\n"
    } else {
        report.to_text()
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write the report", e))
}

/// Check a lab file (its programs and the zpattern nodes' arguments too) and
/// print what would start.
fn check(file: &PathBuf, bin_dir: Option<PathBuf>) -> Result<u8> {
    let plan = Lab::load(file)?.plan()?;
    let options = RunOptions {
        bin_dir,
        ..RunOptions::default()
    };
    plan.verify(&options)?;
    let lab = plan.lab();
    println!("lab {}: {}", lab.name, lab.description);
    println!(
        "{} nodes, {} processes: {}",
        lab.nodes.len(),
        plan.instance_names().len(),
        plan.instance_names().join(", ")
    );
    println!("time limit {}", crate::duration::display(lab.time_limit));
    println!("ok");
    Ok(0)
}
