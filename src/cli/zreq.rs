//! `zreq`: send requests, print replies.

use crate::cli::args::{duration_arg, timeout_arg, SocketArgs, SourceArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::run::{send_all, Step};
use crate::cli::template::TemplateArgs;
use crate::cli::{MessageSource, MessageWriter};
use crate::duration;
use crate::error::Result;
use crate::reqrep::{Requester, Retry};
use clap::Parser;
use std::time::Duration;

/// Send each message as a request and print its reply (the REQ side of req/rep).
///
/// Reads one request per line from stdin (frames separated by TAB), or sends --data;
/// prints each reply in --format, or as --template says.
#[derive(Parser, Debug)]
#[command(name = "zreq", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    /// Wait up to DUR for each reply (per attempt, with --retries); when none comes,
    /// give up (exit 2).
    #[arg(short = 'W', long, value_name = "DUR", value_parser = timeout_arg)]
    pub timeout: Option<Duration>,
    /// Lazy Pirate: when a reply does not come within --timeout, close the socket,
    /// open a fresh one and resend, up to N times, before giving up (exit 2).
    #[arg(
        short,
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "timeout"
    )]
    pub retries: u32,
    /// The pause before the first resend; it doubles with each further one (at most
    /// 5s), and up to half of it is drawn at random so that clients do not resend in
    /// lockstep.
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = duration_arg)]
    pub backoff: Duration,
    /// The replies it prints.
    #[command(flatten)]
    pub output: TemplateArgs,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zreq`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    let mut source =
        MessageSource::open(&args.source, run.format(), args.socket.max_size, run.stop())?;
    args.output
        .check(false, "zreq and zrep exchange no batch header")?;
    let mut writer = MessageWriter::stdout(run.format())?.template(args.output.template);
    let retry = Retry::new(args.retries).backoff(args.backoff);
    let quiet = run.quiet();
    let counters = run.counters();
    let dropped = std::sync::Arc::clone(counters);
    let name = run.name();
    let mut requester = Requester::open(args.socket.options(run)?)?
        .retry(retry)
        .on_bad_reply(move |e| {
            dropped.add_skipped();
            note!("{name}: warning: {e}");
        })
        .on_resend(move |resend| {
            if !quiet {
                note!(
                    "{name}: no reply within {}; resending (attempt {} of {})",
                    duration::display(resend.timeout.unwrap_or_default()),
                    resend.attempt,
                    resend.attempts
                );
            }
        });
    run.report_bound(requester.endpoints());
    let mut replies = 0;
    send_all(&mut source, &args.source, run, |step| {
        let Step::Send(request) = step else {
            return Ok(());
        };
        let reply = requester.request_timeout(request, args.timeout);
        counters.set_sent(requester.sent());
        let reply = reply?;
        replies += 1;
        counters.set_received(replies);
        writer.write(&reply)?;
        writer.flush()
    })?;
    Ok(())
}
