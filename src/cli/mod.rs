//! The command-line side of zpattern: the shared argument vocabulary, message input
//! and output for terminals and pipes, the send and receive loops, and one runner per
//! role binary. The binaries in `src/bin` only hand their runner to [`main`].
//!
//! Exit codes: 0 success (and a closed stdout, as in `zsub | head -1`), 1 runtime
//! error, 2 usage error or timeout, 3 a batch incomplete or inconsistent (`zpull
//! --sink`), 130 interrupted by SIGINT or SIGTERM.

pub mod args;
mod exec;
mod input;
mod output;
mod run;
pub mod sink;
pub mod stats;
pub mod worker;
pub mod zlab;
pub mod zpub;
pub mod zpull;
pub mod zpush;
pub mod zrep;
pub mod zreq;
pub mod zsub;

pub use exec::Filter;
pub use input::MessageSource;
pub use output::MessageWriter;

use crate::error::{ErrorKind, Result};
use crate::stop::Stop;
use clap::Parser;
use std::process::ExitCode;

/// Parse the arguments of binary `A`, run it with a [`Stop`] tied to Ctrl-C and
/// SIGTERM, print any error as one line on stderr and map it to the exit code.
///
/// A run that was interrupted exits 130 (after SIGINT and SIGTERM alike: the handler
/// cannot tell them apart) after printing `NAME: interrupted: sent N, received M,
/// dropped K` on stderr, from the counters of its reporter.
pub fn main<A: Parser>(run: fn(A, &Stop) -> Result<()>) -> ExitCode {
    let args = A::parse();
    let name = A::command().get_name().to_string();
    let stop = match Stop::on_signals() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let outcome = run(args, &stop);
    let interrupted = match &outcome {
        Ok(()) => stop.is_requested(),
        Err(e) => e.kind() == ErrorKind::Interrupted,
    };
    if interrupted {
        eprintln!(
            "{name}: {}",
            stats::interrupted_summary(&stats::run_counters())
        );
        return ExitCode::from(ErrorKind::Interrupted.exit_code());
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
