//! `zpull --sink`: the end of a pipeline. Prints each item once, accounts for every
//! batch header, and exits 0 when the batch arrived exactly once, or 3 with a
//! report of what is missing when its deadline passes first.

use crate::accounting::{Recorded, Report};
use crate::cli::args::{duration_arg, timeout_arg, ReceiveArgs, SocketArgs};
use crate::cli::context::Run;
use crate::cli::progress::Progress;
use crate::cli::template::{Seen, Template};
use crate::cli::MessageWriter;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::now_micros;
use crate::pipeline::{Delivery, Sink};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::time::Duration;

/// Working as a sink.
#[derive(Args, Debug, Clone)]
pub struct SinkArgs {
    /// Work as the sink of a pipeline (implies --header): print each item once,
    /// and exit once every item of the batch has arrived (and --grace has passed);
    /// exit 3 with a report of what is missing or duplicated if --timeout or
    /// --deadline passes first.
    #[arg(long, conflicts_with_all = ["push", "count"])]
    pub sink: bool,
    /// With --sink: wait for at least N batches (from N senders) instead of one.
    /// Every batch seen must be whole before the sink exits 0, also past N.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "sink")]
    pub batches: usize,
    /// With --sink: once every batch is whole, go on reading for DUR for what is
    /// still in flight (a late duplicate, a further batch), as well as what is
    /// already queued.
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = duration_arg, requires = "sink")]
    pub grace: Duration,
    /// With --sink: give up after DUR in all, even while items keep arriving.
    #[arg(long, value_name = "DUR", value_parser = timeout_arg, requires = "sink")]
    pub deadline: Option<Duration>,
    /// With --sink: how to print the final report on stderr: text lines
    /// "zpull: batch ...", or one line "zpull: report {JSON}".
    #[arg(long, value_name = "FMT", default_value = "text", requires = "sink")]
    pub report: ReportFormat,
}

/// How the sink prints its report.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// One line per batch, for people.
    Text,
    /// One JSON object on one line, for programs.
    Json,
}

/// Run `zpull --sink`.
pub fn run(
    socket: &SocketArgs,
    receive: &ReceiveArgs,
    args: &SinkArgs,
    template: Option<Template>,
    run: &Run,
) -> Result<()> {
    let mut writer = MessageWriter::stdout(run.format())?.template(template);
    let mut sink = Sink::open(socket.options(run)?)?
        .batches(args.batches)
        .grace(args.grace);
    if let Some(deadline) = args.deadline {
        sink = sink.deadline(deadline);
    }
    run.report_bound(sink.endpoints());
    let outcome = collect(&mut sink, &mut writer, receive.timeout, run);
    let flushed = writer.flush();
    let report = sink.report();
    print_report(&report, args.report, run);
    outcome?;
    flushed?;
    if report.is_complete() {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Incomplete, report.summary()))
    }
}

/// Receive until the sink is done and its grace period is over, nothing arrives
/// for `idle`, or the deadline (see [`Sink::next_delivery`]). Output is flushed
/// whenever no further message is waiting. Every item's one-way latency is
/// recorded, duplicates' too: each is a delivery that took that long.
fn collect<W: Write>(
    sink: &mut Sink,
    writer: &mut MessageWriter<W>,
    idle: Option<Duration>,
    run: &Run,
) -> Result<()> {
    let counters = run.counters();
    let mut items = 0;
    let mut progress = Progress::collecting(run);
    loop {
        let mut delivery = sink.recv_delivery(Some(Duration::ZERO))?;
        if delivery.is_none() {
            writer.flush()?;
            delivery = sink.next_delivery(idle)?;
        }
        match delivery {
            None => break,
            Some(Delivery::Item {
                message,
                recorded,
                header,
            }) => {
                let arrived_us = now_micros();
                counters.record_latency(header.sent_micros, arrived_us);
                items += 1;
                counters.set_received(items);
                progress.update(items, items, || expected(sink));
                // Each item is printed once; duplicates are only counted.
                if recorded == Recorded::New {
                    let seen = Seen {
                        arrived_us,
                        header: Some(&header),
                        peer: message.peer_address(),
                    };
                    writer.write_seen(&message, &seen)?;
                }
            }
            Some(Delivery::End(_)) => {}
            Some(Delivery::Malformed(e)) => {
                counters.add_malformed();
                run.warn(e);
            }
        }
    }
    Ok(())
}

/// The items of every batch seen so far, once each batch's size is known.
fn expected(sink: &Sink) -> Option<u64> {
    let mut total = 0u64;
    for batch in sink.ledger().batches() {
        total = total.saturating_add(batch.expected()?);
    }
    (total > 0).then_some(total)
}

fn print_report(report: &Report, format: ReportFormat, run: &Run) {
    match format {
        ReportFormat::Json => run.note(format_args!("report {}", report.to_json())),
        ReportFormat::Text if run.quiet() && report.is_complete() => {}
        ReportFormat::Text => {
            let lines = report.lines();
            if lines.is_empty() {
                run.note("no batch seen");
            }
            for line in lines {
                run.note(line);
            }
        }
    }
}
