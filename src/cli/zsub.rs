//! `zsub`: print the messages of subscribed topics; with `--header`, report what
//! each publisher stream lost.

use crate::accounting::Report;
use crate::cli::args::{HeaderArgs, ReceiveArgs, SocketArgs};
use crate::cli::context::{Reporting, Reports, Run};
use crate::cli::run::receive_all;
use crate::cli::template::TemplateArgs;
use crate::cli::MessageWriter;
use crate::error::Result;
use crate::frame::Format;
use crate::pubsub::Subscriber;
use clap::Parser;

/// Subscribe to topics and print each message (the SUB side of pub/sub).
///
/// Prints one message per line, frames separated by TAB (see --format), or as
/// --template says. With --header, accounts for the sequence numbers of each
/// publisher stream and reports the gaps (late join, messages dropped at the
/// high-water mark) on stderr at exit, and measures each item's one-way latency
/// (--verbose and --stats show its percentiles; both hosts' clocks must agree).
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
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: TemplateArgs,
}

impl Reports for Args {
    fn reporting(&self) -> Reporting {
        self.socket.reporting()
    }
}

/// Run `zsub`.
pub fn run(args: Args, run: &Run) -> Result<()> {
    args.output
        .check(args.header.header, "add --header (and zpub --header)")?;
    let mut writer = MessageWriter::stdout(run.format())?.template(args.output.template);
    let mut subscriber = Subscriber::open(args.socket.options(run)?)?;
    run.report_bound(subscriber.endpoints());
    if args.topics.is_empty() {
        subscriber.subscribe("")?;
    }
    for topic in &args.topics {
        subscriber.subscribe(topic)?;
    }
    if args.header.header {
        subscriber.account_headers();
    }
    // The subscriber strips and accounts for the headers itself.
    let outcome = receive_all(run, &mut subscriber, &mut writer, &args.receive, false);
    if let Some(gaps) = subscriber.gaps() {
        run.counters().set_gaps(total_missing(&gaps));
        print_gaps(&gaps, run);
    }
    outcome.map(|_| ())
}

fn total_missing(report: &Report) -> u64 {
    report
        .batches
        .iter()
        .fold(0u64, |total, b| total.saturating_add(b.missing))
}

/// Whether anything was lost or spoilt: items missing, duplicated or out of range,
/// messages without a valid header.
fn has_loss(report: &Report) -> bool {
    report.malformed > 0
        || report.untracked > 0
        || report
            .batches
            .iter()
            .any(|b| b.missing > 0 || b.duplicates > 0 || b.out_of_range > 0)
}

/// The gap report on stderr: with `--format json`, always, as one line
/// `zsub: report {JSON}`; else one line per publisher stream, when something was
/// lost (even with `--quiet`: loss is not chatter) or with `--verbose`.
fn print_gaps(report: &Report, run: &Run) {
    if run.format() == Format::Json {
        run.note(format_args!("report {}", report.to_json()));
        return;
    }
    if !(run.verbose() || has_loss(report)) {
        return;
    }
    let lines = report.lines();
    if lines.is_empty() {
        run.note("no batch header seen");
    }
    for line in lines {
        run.note(line);
    }
}
