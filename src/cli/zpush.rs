//! `zpush`: hand out messages to pullers.

use crate::cli::args::{timeout_arg, SocketArgs, SourceArgs, StampArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::run::{send_all, stamped, Notice, Step};
use crate::cli::MessageSource;
use crate::error::Result;
use crate::pipeline::Pusher;
use crate::Transmit;
use clap::Parser;
use std::time::Duration;

/// Distribute messages to pullers, each to exactly one (the PUSH side of a pipeline).
///
/// Reads one message per line from stdin (frames separated by TAB), or sends --data.
/// Blocks while no puller is connected; at the end, waits (up to --linger) until the
/// pullers have read everything. With --header, numbers every message and ends the
/// batch with an end-of-stream message to each puller.
#[derive(Parser, Debug)]
#[command(name = "zpush", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stamp: StampArgs,
    /// Before the first send, wait until N pullers have connected, so that every
    /// worker shares the batch from its first message. Default: as many as
    /// --connect endpoints, and at least one (a message goes only to a connected
    /// puller).
    #[arg(long, value_name = "N")]
    pub pullers: Option<usize>,
    /// Give up (exit 2) if the pullers have not connected within DUR.
    #[arg(long, value_name = "DUR", value_parser = timeout_arg)]
    pub wait_timeout: Option<Duration>,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zpush`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    let mut source =
        MessageSource::open(&args.source, run.format(), args.socket.max_size, run.stop())?;
    let mut pusher = Pusher::open(args.socket.options(run)?)?;
    run.report_bound(pusher.endpoints());
    let pullers = args
        .pullers
        .unwrap_or(args.socket.endpoints.connect.len().max(1));
    let mut waited = pullers == 0;
    let mut fair_start = |pusher: &mut Pusher| -> Result<()> {
        if !waited {
            let what = format!("{pullers} puller(s) to connect");
            let _notice = Notice::waiting(run, what);
            pusher.wait_for_pullers(pullers, args.wait_timeout)?;
            waited = true;
        }
        Ok(())
    };
    let mut batch = args.stamp.batch(&args.source);
    send_all(&mut source, &args.source, run, |step| match step {
        Step::Send(msg) => {
            fair_start(&mut pusher)?;
            pusher.send(stamped(&mut batch, msg))
        }
        Step::Idle => pusher.settle(),
    })?;
    if let Some(batch) = &batch {
        fair_start(&mut pusher)?;
        pusher.send_to_each(batch.end())?;
    }
    pusher.close()?;
    Ok(())
}
