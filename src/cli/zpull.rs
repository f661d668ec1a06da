//! `zpull`: print the messages handed to this puller; or, as a pipeline stage, pass
//! them on (`--push`); or, as a sink, account for a batch (`--sink`).

use crate::cli::args::{require, HeaderArgs, ReceiveArgs, SocketArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::run::receive_all;
use crate::cli::sink::{self, SinkArgs};
use crate::cli::template::TemplateArgs;
use crate::cli::worker::{self, StageArgs};
use crate::cli::MessageWriter;
use crate::error::Result;
use crate::pipeline::Puller;
use clap::Parser;

/// Receive messages from pushers and print each (the PULL side of a pipeline).
///
/// Prints one message per line, frames separated by TAB (see --format), or as
/// --template says. With --push, works as a pipeline stage: each message
/// (transformed by --exec) is printed and pushed on. With --sink, accounts for a
/// batch stamped by `zpush --header`: exits 0 once every item arrived exactly once,
/// 3 with a report of what is missing if --timeout or --deadline passes first.
/// With --header or --sink, measures each item's one-way latency (--verbose and
/// --stats show its percentiles; both hosts' clocks must agree).
#[derive(Parser, Debug)]
#[command(name = "zpull", version)]
pub struct Args {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub socket: SocketArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub receive: ReceiveArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub header: HeaderArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stage: StageArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sink: SinkArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: TemplateArgs,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zpull`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    let plain = !args.sink.sink && args.stage.push.is_empty();
    require(
        args.receive.rate.is_none() || plain,
        "--rate paces a plain zpull, not --sink or --push",
    )?;
    let header = args.header.header || args.sink.sink;
    args.output
        .check(header, "add --header (and zpush --header)")?;
    let template = args.output.template;
    if args.sink.sink {
        return sink::run(&args.socket, &args.receive, &args.sink, template, run);
    }
    if !args.stage.push.is_empty() {
        let (socket, receive) = (&args.socket, &args.receive);
        return worker::run(socket, receive, &args.header, &args.stage, template, run);
    }
    let mut writer = MessageWriter::stdout(run.format())?.template(template);
    let mut puller = Puller::open(args.socket.options(run)?)?;
    run.report_bound(puller.endpoints());
    receive_all(
        run,
        &mut puller,
        &mut writer,
        &args.receive,
        args.header.header,
    )?;
    Ok(())
}
