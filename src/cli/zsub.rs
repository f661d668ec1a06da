//! `zsub`: print the messages of subscribed topics.

use crate::cli::args::{report_bound, HeaderArgs, ReceiveArgs, SocketArgs};
use crate::cli::run::receive_all;
use crate::cli::MessageWriter;
use crate::error::Result;
use crate::pubsub::Subscriber;
use crate::stop::Stop;
use clap::Parser;

/// Subscribe to topics and print each message (the SUB side of pub/sub).
///
/// Prints one message per line, frames separated by TAB (see --format).
#[derive(Parser, Debug)]
#[command(name = "zsub", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    /// Subscribe to topic prefix T (repeatable); without any, receive everything.
    #[arg(short, long = "topic", visible_alias = "subscribe", value_name = "T")]
    pub topics: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub receive: ReceiveArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub header: HeaderArgs,
}

/// Run `zsub`.
pub fn run(args: Args, stop: &Stop) -> Result<()> {
    let mut writer = MessageWriter::stdout(args.socket.format)?;
    let mut subscriber = Subscriber::open(args.socket.options(stop))?;
    report_bound("zsub", &args.socket, subscriber.endpoints());
    if args.topics.is_empty() {
        subscriber.subscribe("")?;
    }
    for topic in &args.topics {
        subscriber.subscribe(topic)?;
    }
    let (counters, _report) = args.socket.reporter("zsub");
    receive_all(
        "zsub",
        &mut subscriber,
        &mut writer,
        &args.receive,
        args.header.header,
        &counters,
    )?;
    Ok(())
}
