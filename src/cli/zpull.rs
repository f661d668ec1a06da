//! `zpull`: print the messages handed to this puller.

use crate::cli::args::{report_bound, ReceiveArgs, SocketArgs};
use crate::cli::run::receive_all;
use crate::cli::MessageWriter;
use crate::error::Result;
use crate::pipeline::Puller;
use crate::stop::Stop;
use clap::Parser;

/// Receive messages from pushers and print each (the PULL side of a pipeline).
///
/// Prints one message per line, frames separated by TAB (see --format).
#[derive(Parser, Debug)]
#[command(name = "zpull", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub receive: ReceiveArgs,
}

/// Run `zpull`.
pub fn run(args: Args, stop: &Stop) -> Result<()> {
    let mut writer = MessageWriter::stdout(args.socket.format)?;
    let mut puller = Puller::open(args.socket.options(stop))?;
    report_bound("zpull", &args.socket, puller.endpoints());
    let (counters, _report) = args.socket.reporter("zpull");
    receive_all("zpull", &mut puller, &mut writer, &args.receive, &counters)?;
    Ok(())
}
