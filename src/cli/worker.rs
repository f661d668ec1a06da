//! `zpull --push`: a pipeline stage. Each item is printed and pushed on, transformed
//! by `--exec` if given, on one or more threads.

use crate::cli::args::{report_bound, HeaderArgs, ReceiveArgs, SocketArgs};
use crate::cli::stats::Counters;
use crate::cli::{Filter, MessageWriter};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::Message;
use crate::pipeline::Worker;
use crate::stop::Stop;
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
    /// message with the message on its stdin (in --format); its output is pushed on.
    /// A message the command fails on is reported and not pushed on.
    #[arg(short, long, value_name = "CMD", requires = "push")]
    pub exec: Option<String>,
    /// With --push: work on N threads, each with its own sockets (every endpoint
    /// must then be --connect).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "push")]
    pub threads: usize,
}

/// Run `zpull --push`: until nothing arrives for --timeout, or Ctrl-C.
pub fn run(
    socket: &SocketArgs,
    receive: &ReceiveArgs,
    header: &HeaderArgs,
    stage: &StageArgs,
    stop: &Stop,
) -> Result<()> {
    let mut input = socket.options(stop);
    input.recv_timeout = receive.timeout;
    let mut output = socket.options(stop);
    output.binds.clear();
    output.connects.clone_from(&stage.push);
    // A downstream that takes nothing for --timeout is as dead as an upstream that
    // sends nothing: give up (exit 2) rather than hang with the item.
    output.send_timeout = receive.timeout;
    let writer = Arc::new(Mutex::new(MessageWriter::stdout(socket.format)?));
    let (counters, _report) = socket.reporter("zpull", stop);
    let problem_counters = Arc::clone(&counters);
    let item = Item {
        filter: stage.exec.as_deref().map(|c| Filter::new(c, socket.format)),
        writer: Arc::clone(&writer),
        counters,
    };
    let workers = Worker::new(input, output)
        .threads(stage.threads)
        .batch_header(header.header)
        .on_problem(move |e| {
            if e.kind() == ErrorKind::Protocol {
                problem_counters.add_malformed();
            }
            note!("zpull: warning: {e}");
        })
        .spawn(move |msg| item.process(msg))?;
    report_bound("zpull", socket, workers.input_endpoints());
    let joined = workers.join();
    let flushed = lock(&writer).flush();
    let tally = joined?;
    flushed?;
    stop.check()?;
    if tally.failed > 0 {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "{} of {} items failed in --exec and were not pushed on",
                tally.failed, tally.handled
            ),
        ));
    }
    Ok(())
}

/// What a stage does with one item.
struct Item {
    filter: Option<Filter>,
    writer: Arc<Mutex<MessageWriter<File>>>,
    counters: Arc<Counters>,
}

impl Item {
    /// Transform, print and count one item; the worker pushes the result on.
    fn process(&self, msg: Message) -> Result<Message> {
        self.counters.add_received(1);
        let result = match &self.filter {
            None => msg,
            Some(filter) => {
                let filtered = filter.run(&msg)?;
                if let Some(failure) = filtered.failure {
                    return Err(Error::new(ErrorKind::Io, failure));
                }
                filtered.message
            }
        };
        // Printed at once, so that what a stage handled is visible even if it is
        // killed later.
        let mut writer = lock(&self.writer);
        writer.write(&result)?;
        writer.flush()?;
        self.counters.add_sent(1);
        Ok(result)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
