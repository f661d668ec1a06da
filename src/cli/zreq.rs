//! `zreq`: send requests, print replies.

use crate::cli::args::{duration_arg, report_bound, SocketArgs, SourceArgs};
use crate::cli::run::send_all;
use crate::cli::{MessageSource, MessageWriter};
use crate::error::Result;
use crate::reqrep::Requester;
use crate::stop::Stop;
use clap::Parser;
use std::time::Duration;

/// Send each message as a request and print its reply (the REQ side of req/rep).
///
/// Reads one request per line from stdin (frames separated by TAB), or sends --data.
#[derive(Parser, Debug)]
#[command(name = "zreq", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    /// Give up (exit 2) when a reply does not arrive within DUR.
    #[arg(short = 'W', long, value_name = "DUR", value_parser = duration_arg)]
    pub timeout: Option<Duration>,
}

/// Run `zreq`.
pub fn run(args: Args, stop: &Stop) -> Result<()> {
    let mut source = MessageSource::open(&args.source, args.socket.format, stop)?;
    let mut writer = MessageWriter::stdout(args.socket.format)?;
    let mut requester = Requester::open(args.socket.options(stop))?;
    report_bound("zreq", &args.socket, requester.endpoints());
    let (counters, _report) = args.socket.reporter("zreq", stop);
    let mut replies = 0;
    send_all(&mut source, &args.source, stop, &counters, |request| {
        let reply = requester.request_timeout(request, args.timeout)?;
        replies += 1;
        counters.set_received(replies);
        writer.write(&reply)?;
        writer.flush()
    })?;
    Ok(())
}
