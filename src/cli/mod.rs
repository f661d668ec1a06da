//! The command-line side of zpattern: the shared argument vocabulary, message input
//! and output for terminals and pipes, the send and receive loops, and one runner per
//! role binary. The binaries in `src/bin` only hand their runner to [`main`].
//!
//! Exit codes: 0 success (and a closed stdout, as in `zsub | head -1`), 1 runtime
//! error, 2 usage error or timeout, 3 a batch incomplete or inconsistent (`zpull
//! --sink`), 130 interrupted by SIGINT or SIGTERM.
//!
//! With [`CHECK_ARGS_ENV`]`=1` in the environment, a binary only parses its
//! arguments: it exits 0 if they parse, 2 with its one-line usage error if not, and
//! runs nothing (`zlab` checks a lab's nodes this way before starting any).

/// Write one line on stderr, like `eprintln!`, but never panic: a closed or full
/// stderr (`2>&- `, a reader that went away) loses the line instead of the run.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod args;
pub mod context;
mod exec;
pub mod generate;
mod input;
pub mod latency;
pub mod lines;
mod output;
mod progress;
mod run;
pub mod security;
pub mod sink;
pub mod stats;
pub mod template;
pub mod worker;
pub mod zkeygen;
pub mod zlab;
pub mod zpub;
pub mod zpull;
pub mod zpush;
pub mod zrep;
pub mod zreq;
pub mod zsub;

pub use context::{Reporting, Reports, Run};
pub use exec::Filter;
pub use input::MessageSource;
pub use output::MessageWriter;

use crate::error::{ErrorKind, Result};

use clap::Parser;
use std::process::ExitCode;

/// Parse the arguments of binary `A`, then run it with a [`Run`]: its name, a
/// [`Stop`](crate::Stop) tied to Ctrl-C and SIGTERM (a second signal ends the process at once,
/// with the commands it started), its counters and reporting. Print any error as
/// one line on stderr and map it to the exit code.
///
/// A run that was interrupted exits 130 (after SIGINT and SIGTERM alike: the handler
/// cannot tell them apart) after printing `NAME: interrupted: sent N, received M,
/// dropped K` on stderr, from the counters of the run.
pub fn main<A: Parser + Reports>(run: fn(A, &Run) -> Result<()>) -> ExitCode {
    let args = parse_args::<A>();
    if std::env::var_os(CHECK_ARGS_ENV).is_some_and(|v| v == "1") {
        return ExitCode::SUCCESS;
    }
    let name: &'static str = Box::leak(A::command().get_name().to_string().into_boxed_str());
    // Each connection takes a descriptor: the common soft limit of 1,024 would let
    // a thousand idle connections lock everyone else out. Up to the hard limit.
    let _ = crate::os::raise_open_files(u64::MAX);
    let stop = match exec::stop_on_signals() {
        Ok(stop) => stop,
        Err(e) => {
            note!("{name}: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let mut context = Run::start(name, stop.clone(), args.reporting());
    let outcome = run(args, &context);
    context.finish();
    let interrupted = match &outcome {
        Ok(()) => stop.is_requested(),
        Err(e) => e.kind() == ErrorKind::Interrupted,
    };
    if interrupted {
        note!("{name}: {}", context.interrupted_summary());
        return ExitCode::from(ErrorKind::Interrupted.exit_code());
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            note!("{name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The environment variable that makes a binary check its arguments and exit
/// (see the module docs).
pub const CHECK_ARGS_ENV: &str = "ZPATTERN_CHECK_ARGS";

/// Parse the command line of `A`. `--help` and `--version` print and exit 0; a usage
/// error is one line, `NAME: what is wrong (see NAME --help)`, and exit 2. A first
/// argument `--generate KIND` writes a completion script or the man page instead
/// and exits (see [`generate`]).
pub fn parse_args<A: Parser>() -> A {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = generate::if_asked(A::command(), &args) {
        std::process::exit(i32::from(code));
    }
    match A::try_parse_from(args) {
        Ok(args) => args,
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            let name = A::command().get_name().to_string();
            note!("{name}: {} (see {name} --help)", one_line(&e.to_string()));
            std::process::exit(i32::from(ErrorKind::Usage.exit_code()));
        }
    }
}

/// clap's error text (`error: ...`, details, a usage block, a hint) as one line: the
/// message and its details, without the usage and the hint.
fn one_line(rendered: &str) -> String {
    let message = rendered.split("\n\nUsage:").next().unwrap_or(rendered);
    let message = message
        .split("\n\nFor more information")
        .next()
        .unwrap_or(message);
    let words: Vec<&str> = message.split_whitespace().collect();
    let line = words.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}
