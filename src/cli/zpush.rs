//! `zpush`: hand out messages to pullers.

use crate::cli::args::{report_bound, SocketArgs, SourceArgs};
use crate::cli::run::send_all;
use crate::cli::MessageSource;
use crate::error::Result;
use crate::pipeline::Pusher;
use crate::role::Transmit;
use crate::stop::Stop;
use clap::Parser;

/// Distribute messages to pullers, each to exactly one (the PUSH side of a pipeline).
///
/// Reads one message per line from stdin (frames separated by TAB), or sends --data.
/// Blocks while no puller is connected; at the end, waits (up to --linger) until the
/// pullers have read everything.
#[derive(Parser, Debug)]
#[command(name = "zpush", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

/// Run `zpush`.
pub fn run(args: Args, stop: &Stop) -> Result<()> {
    let mut source = MessageSource::open(&args.source, args.socket.format, stop)?;
    let mut pusher = Pusher::open(args.socket.options(stop))?;
    report_bound("zpush", &args.socket, pusher.endpoints());
    let (counters, _report) = args.socket.reporter("zpush");
    send_all(&mut source, &args.source, stop, &counters, |msg| {
        pusher.send(msg)
    })?;
    pusher.close()?;
    Ok(())
}
