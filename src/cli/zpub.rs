//! `zpub`: publish messages from stdin, a file or `--data`.

use crate::cli::args::{timeout_arg, SocketArgs, SourceArgs, StampArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::run::{send_all, stamped, Notice, Step};
use crate::cli::MessageSource;
use crate::error::Result;
use crate::frame::Frame;
use crate::pubsub::Publisher;
use crate::Transmit;
use clap::Parser;
use std::time::Duration;

/// Publish messages (the PUB side of pub/sub).
///
/// Reads one message per line from stdin (frames separated by TAB; the first frame is
/// the topic), or sends --data. Waits for the first subscriber before sending.
#[derive(Parser, Debug)]
#[command(name = "zpub", version)]
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
    /// Prepend topic frame T to every message.
    #[arg(short, long, value_name = "T")]
    pub topic: Option<String>,
    /// Before the first send, wait until N subscribers have connected and subscribed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub subscribers: usize,
    /// Send at once, without waiting for subscribers (early messages may be missed).
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,
    /// Give up (exit 2) if the subscribers have not arrived within DUR.
    #[arg(long, value_name = "DUR", value_parser = timeout_arg)]
    pub wait_timeout: Option<Duration>,
    /// Wait for slow subscribers instead of dropping their messages at the HWM.
    #[arg(long)]
    pub no_drop: bool,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zpub`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    let mut source =
        MessageSource::open(&args.source, run.format(), args.socket.max_size, run.stop())?;
    let mut publisher = Publisher::open(args.socket.options(run)?)?;
    run.report_bound(publisher.endpoints());
    publisher.set_no_drop(args.no_drop)?;
    // The wait comes before the first message, not before reading it: with no
    // input there is nobody to wait for.
    let mut waited = args.no_wait || args.subscribers == 0;
    let mut slow_joiner = |publisher: &mut Publisher| -> Result<()> {
        if !waited {
            let what = format!("{} subscriber(s) to subscribe", args.subscribers);
            let _notice = Notice::waiting(run, what);
            publisher.wait_for_subscribers(args.subscribers, args.wait_timeout)?;
            waited = true;
        }
        Ok(())
    };
    let topic = args.topic.as_deref().map(Frame::from);
    let mut batch = args.stamp.batch(&args.source);
    if !args.no_drop {
        // PUB drops at a subscriber's high-water mark without telling the sender.
        run.counters().set_drops_unknown();
    }
    send_all(&mut source, &args.source, run, |step| {
        let Step::Send(mut msg) = step else {
            return Ok(());
        };
        slow_joiner(&mut publisher)?;
        if let Some(topic) = &topic {
            msg.push_front(topic.clone());
        }
        publisher.send(stamped(&mut batch, msg))
    })?;
    if let Some(batch) = &batch {
        slow_joiner(&mut publisher)?;
        // Subscribers filter on frame 0: the end carries the topic, if there is one.
        publisher.send(batch.end_with(topic.unwrap_or_else(Frame::empty)))?;
    }
    publisher.close()?;
    Ok(())
}
