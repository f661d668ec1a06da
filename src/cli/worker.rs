//! `zpull --push`: a pipeline stage. Each item is printed and pushed on, transformed
//! by `--exec` if given, on one or more threads.
//!
//! Printing is a side effect: a stdout that fails (its reader gone, as in `zpull
//! --push EP | head -1`, or a full disk) stops the printing, never the forwarding.
//! What a stage did not push on is said at its end, in its exit status: 1 when items
//! failed in `--exec`, 3 when it dropped malformed messages (no valid batch header,
//! a size limit broken), which a sink downstream cannot count.

use crate::cli::args::{HeaderArgs, ReceiveArgs, SocketArgs};
use crate::cli::context::Run;
use crate::cli::stats::Counters;
use crate::cli::template::{Seen, Template};
use crate::cli::{Filter, MessageWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{now_micros, Format, Header, Message};
use crate::pipeline::{Worker, WorkerTally};
use clap::Args;
use std::fs::File;
use std::sync::{Arc, Mutex};

/// Working as a pipeline stage.
#[derive(Args, Debug, Clone)]
pub struct StageArgs {
    /// Work as a pipeline stage: push each message on to EP (connect; repeatable),
    /// after printing it. With --header, the header is kept: downstream accounting
    /// sees the source's numbering. A message that no puller of EP takes for
    /// --timeout ends the stage (exit 2).
    #[arg(long, value_name = "EP", conflicts_with = "count")]
    pub push: Vec<String>,
    /// With --push: transform each message with shell command CMD, run once per
    /// message with the message on its stdin (in --format); its output, not the
    /// message received, is what the stage prints and pushes on. A message the
    /// command fails on is reported and not pushed on.
    #[arg(short, long, value_name = "CMD", requires = "push")]
    pub exec: Option<String>,
    /// With --push: work on N threads (1 to 256), each with its own sockets (every
    /// endpoint must then be --connect).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "push",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
}

/// Run `zpull --push`: until nothing arrives for --timeout, or Ctrl-C.
pub fn run(
    socket: &SocketArgs,
    receive: &ReceiveArgs,
    header: &HeaderArgs,
    stage: &StageArgs,
    template: Option<Template>,
    run: &Run,
) -> Result<()> {
    let mut input = socket.options(run)?;
    input.recv_timeout = receive.timeout;
    let mut output = socket.options(run)?;
    output.binds.clear();
    output.connects.clone_from(&stage.push);
    // A downstream that takes nothing for --timeout is as dead as an upstream that
    // sends nothing: give up (exit 2) rather than hang with the item.
    output.send_timeout = receive.timeout;
    let printer = Printer::stdout(run.format(), template, run.name())?;
    let printer = Arc::new(Mutex::new(printer));
    let problem_counters = Arc::clone(run.counters());
    let name = run.name();
    let item = Item {
        filter: stage.exec.as_deref().map(|command| run.filter(command)),
        printer: Arc::clone(&printer),
        counters: Arc::clone(run.counters()),
    };
    let workers = Worker::new(input, output)
        .threads(usize::from(stage.threads))
        .batch_header(header.header)
        .on_problem(move |e| {
            if e.kind() == ErrorKind::Protocol {
                problem_counters.add_malformed();
            }
            note!("{name}: warning: {e}");
        })
        .spawn_with_header(move |msg, header| item.process(msg, header))?;
    run.report_bound(workers.input_endpoints());
    let joined = workers.join();
    let printed = lock(&printer).finish();
    let tally = joined?;
    run.stop().check()?;
    if run.verbose() && header.header {
        run.note(format_args!(
            "ends of stream: {} passed on, {} repeated copies dropped",
            tally.ends, tally.repeated_ends
        ));
    }
    verdict(&tally, stage.exec.is_some())?;
    printed
}

/// Whether everything the stage received was pushed on: exit 1 if items failed in
/// the command, 3 if malformed messages were dropped.
fn verdict(tally: &WorkerTally, exec: bool) -> Result<()> {
    let mut lost = Vec::new();
    if tally.failed > 0 {
        let how = if exec { "failed in --exec" } else { "failed" };
        lost.push(format!(
            "{} of {} items {how} and were not pushed on",
            tally.failed, tally.handled
        ));
    }
    if tally.malformed > 0 {
        lost.push(format!(
            "dropped {} malformed messages (see the warnings), not pushed on",
            tally.malformed
        ));
    }
    if lost.is_empty() {
        return Ok(());
    }
    let kind = if tally.failed > 0 {
        ErrorKind::Io
    } else {
        ErrorKind::Incomplete
    };
    Err(Error::new(kind, lost.join("; ")))
}

/// What a stage does with one item.
struct Item {
    filter: Option<Filter>,
    printer: Arc<Mutex<Printer>>,
    counters: Arc<Counters>,
}

impl Item {
    /// Transform, print and count one item; the worker pushes the result on. A
    /// template shows the result, with the arrival, header and peer of `msg`.
    fn process(&self, msg: Message, header: Option<&Header>) -> Result<Message> {
        self.counters.add_received(1);
        let arrived_us = now_micros();
        let transformed = match &self.filter {
            None => None,
            Some(filter) => {
                let filtered = filter.run(&msg)?;
                if let Some(failure) = filtered.failure {
                    return Err(Error::new(ErrorKind::Io, failure));
                }
                Some(filtered.message)
            }
        };
        let seen = Seen {
            arrived_us,
            header,
            peer: msg.peer_address(),
        };
        lock(&self.printer).print(transformed.as_ref().unwrap_or(&msg), &seen);
        self.counters.add_sent(1);
        Ok(transformed.unwrap_or(msg))
    }
}

/// A stage's stdout, which fails without failing the stage.
struct Printer {
    writer: MessageWriter<File>,
    /// The binary's name, for the warning when printing stops.
    name: &'static str,
    /// Why printing stopped, once it has.
    failed: Option<Error>,
}

impl Printer {
    fn stdout(format: Format, template: Option<Template>, name: &'static str) -> Result<Printer> {
        Ok(Printer {
            writer: MessageWriter::stdout(format)?.template(template),
            name,
            failed: None,
        })
    }

    /// Print `msg` at once, so that what a stage handled is visible even if it is
    /// killed later; after a failure, nothing more is printed.
    fn print(&mut self, msg: &Message, seen: &Seen) {
        if self.failed.is_some() {
            return;
        }
        let written = self.writer.write_seen(msg, seen);
        if let Err(e) = written.and_then(|()| self.writer.flush()) {
            if e.kind() != ErrorKind::BrokenPipe {
                note!(
                    "{}: warning: {e}; printing stopped, items are still pushed on",
                    self.name
                );
            }
            self.failed = Some(e);
        }
    }

    /// Flush; the error if stdout failed, unless its reader went away (a normal end).
    fn finish(&mut self) -> Result<()> {
        if self.failed.is_none() {
            if let Err(e) = self.writer.flush() {
                self.failed = Some(e);
            }
        }
        match self.failed.take() {
            Some(e) if e.kind() != ErrorKind::BrokenPipe => Err(e),
            _ => Ok(()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
