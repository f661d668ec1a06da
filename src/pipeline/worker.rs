//! [`Worker`]: a pipeline stage. Pull an item, process it, push the result on, on as
//! many threads as asked.

use super::stage::{Problems, Settings, Stage};
use super::tally::WorkerTally;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Header, Message};
use crate::options::Options;
use crate::pipeline::{Puller, Pusher};
use crate::stop::Stop;
use std::sync::Arc;
use std::thread::JoinHandle;

/// A pipeline stage: each of its threads owns a [`Puller`] and a [`Pusher`] (libzmq
/// sockets belong to one thread), pulls an item, runs the work function on it and
/// pushes the result on. Sockets: PULL in, PUSH out.
///
/// With [`Worker::batch_header`], the stage keeps every item's batch header: the
/// work function sees only the payload, and the result leaves with the header it
/// came with, so a sink downstream accounts for source items end to end.
/// End-of-stream messages are passed on untouched, the first one of each batch once
/// per downstream puller (see [the pipeline docs](crate::pipeline)).
///
/// A thread ends when nothing has arrived for the input's receive timeout, or when
/// [`Workers::stop`] (or the input options' [`Stop`]) is requested. A result waits
/// for a downstream puller that can take it (none connected, or all at their
/// high-water mark) up to the output's send timeout; past it, the thread ends with a
/// timeout error that names the downstream endpoints and the item not forwarded.
/// Without a send timeout it waits until a puller takes it, or the stop.
///
/// The threads run the work function at the same time, on as many cores as are
/// free: there is no interpreter lock between them. Measured with a CPU-bound work
/// function of about 4 ms per item, 100 items, on a shared two-vCPU machine with
/// other jobs running: one thread took 400-620 ms and never used more than 1.05
/// CPU-seconds per second of wall time; two or four threads took 217-550 ms and
/// used up to 1.9 (two cores busy at once) when the second core was free.
///
/// ```
/// use std::time::Duration;
/// use zpattern::pipeline::{Sink, Worker};
/// use zpattern::frame::Batch;
/// use zpattern::{Message, Options, Pusher, Transmit};
///
/// let mut source = Pusher::bind("tcp://127.0.0.1:*")?;
/// let mut sink = Sink::open(Options::new().bind("tcp://127.0.0.1:*").recv_timeout(Duration::from_secs(10)))?;
/// let workers = Worker::new(
///     Options::new().connect(source.endpoints()[0].to_string()).recv_timeout(Duration::from_secs(10)),
///     Options::new().connect(sink.endpoints()[0].to_string()),
/// )
/// .threads(2)
/// .batch_header(true)
/// .spawn(|item| Ok(Message::new(item.topic().to_ascii_uppercase())))?;
///
/// source.wait_for_pullers(2, Some(Duration::from_secs(10)))?;
/// let mut batch = Batch::random(None);
/// for word in ["salad", "bread", "entree", "dessert"] {
///     source.send(batch.stamp(Message::new(word)))?;
/// }
/// source.send_to_each(batch.end())?;
///
/// let mut dried = Vec::new();
/// let report = sink.collect(|delivery| {
///     if let zpattern::pipeline::Delivery::Item { message, .. } = delivery {
///         dried.push(String::from_utf8_lossy(message.topic()).into_owned());
///     }
///     Ok(())
/// })?;
/// assert!(report.is_complete(), "{:?}", report.lines());
/// dried.sort();
/// assert_eq!(dried, ["BREAD", "DESSERT", "ENTREE", "SALAD"]);
///
/// workers.stop();
/// let tally = workers.join()?;
/// assert_eq!((tally.handled, tally.forwarded), (4, 4));
/// # Ok::<(), zpattern::Error>(())
/// ```
pub struct Worker {
    input: Options,
    output: Options,
    threads: usize,
    batch_header: bool,
    problems: Option<Problems>,
}

impl Worker {
    /// A stage pulling with `input` and pushing with `output`, on one thread, without
    /// batch headers. The input's receive timeout is the idle time after which a
    /// thread ends (`None`: never).
    pub fn new(input: Options, output: Options) -> Worker {
        Worker {
            input,
            output,
            threads: 1,
            batch_header: false,
            problems: None,
        }
    }

    /// The most threads a worker runs ([`Worker::spawn`] refuses more).
    pub const MAX_THREADS: usize = 1024;

    /// Run on `threads` threads (at least one, at most [`Worker::MAX_THREADS`]). With
    /// more than one, every socket must connect: each thread has its own, and only
    /// one can bind an endpoint.
    pub fn threads(mut self, threads: usize) -> Worker {
        self.threads = threads.max(1);
        self
    }

    /// Keep the batch header of each item around the work function, pass
    /// end-of-stream messages on, and drop (and report) messages without a valid
    /// header.
    pub fn batch_header(mut self, on: bool) -> Worker {
        self.batch_header = on;
        self
    }

    /// Call `report` with each problem the stage carries on after: the work function
    /// failed on an item (the item is not forwarded, so a sink sees it missing), or a
    /// message had no valid header.
    pub fn on_problem(mut self, report: impl Fn(&Error) + Send + Sync + 'static) -> Worker {
        self.problems = Some(Arc::new(report));
        self
    }

    /// Open every thread's sockets, then start the threads running `work` on each
    /// item. Errors opening a socket (a bad endpoint, an address in use) come back
    /// here, before any thread starts.
    pub fn spawn<F>(self, work: F) -> Result<Workers>
    where
        F: Fn(Message) -> Result<Message> + Send + Sync + 'static,
    {
        self.spawn_with_header(move |item, _| work(item))
    }

    /// As [`Worker::spawn`], with the item's batch header handed to `work` beside
    /// it (`None` without [`Worker::batch_header`]): which batch, which item, when
    /// it was sent. The header leaves with the result as it came, whatever `work`
    /// makes of it.
    pub fn spawn_with_header<F>(mut self, work: F) -> Result<Workers>
    where
        F: Fn(Message, Option<&Header>) -> Result<Message> + Send + Sync + 'static,
    {
        if self.threads > Worker::MAX_THREADS {
            return Err(Error::usage(format!(
                "a worker runs at most {} threads, not {}",
                Worker::MAX_THREADS,
                self.threads
            )));
        }
        if self.threads > 1 && !(self.input.binds.is_empty() && self.output.binds.is_empty()) {
            return Err(Error::usage(format!(
                "a worker with {} threads cannot bind: each thread has its own sockets; connect them instead",
                self.threads
            )));
        }
        let stop = self.input.stop.clone().unwrap_or_default();
        let stages = self.open_sockets(&stop)?;
        let input_endpoints = stages[0].0.endpoints().to_vec();
        let output_endpoints = stages[0].1.endpoints().to_vec();
        let downstream = describe(&self.output.connects, &output_endpoints);
        let work = Arc::new(work);
        let mut handles = Vec::with_capacity(self.threads);
        for (number, (puller, pusher)) in stages.into_iter().enumerate() {
            let stage = Stage::new(
                puller,
                pusher,
                Arc::clone(&work),
                Settings {
                    batch_header: self.batch_header,
                    problems: self.problems.clone(),
                    send_timeout: self.output.send_timeout,
                    downstream: Arc::clone(&downstream),
                },
            );
            let handle = std::thread::Builder::new()
                .name(format!("zpattern-worker-{number}"))
                .spawn(move || stage.run())
                .map_err(|e| Error::io("cannot start a worker thread", e))?;
            handles.push(handle);
        }
        Ok(Workers {
            handles,
            stop,
            input_endpoints,
            output_endpoints,
        })
    }
}

impl Worker {
    /// Every thread's puller and pusher, sharing one context and `stop`.
    fn open_sockets(&mut self, stop: &Stop) -> Result<Vec<(Puller, Pusher)>> {
        let context = self.input.context.clone().unwrap_or_default();
        for options in [&mut self.input, &mut self.output] {
            options.stop = Some(stop.clone());
            options.context.get_or_insert_with(|| context.clone());
        }
        let mut stages = Vec::with_capacity(self.threads);
        for _ in 0..self.threads {
            stages.push((
                Puller::open(self.input.clone())?,
                Pusher::open(self.output.clone())?,
            ));
        }
        Ok(stages)
    }
}

/// The downstream endpoints, for messages: those connected to, and those bound.
fn describe(connects: &[String], binds: &[Endpoint]) -> Arc<str> {
    let mut all: Vec<String> = connects.to_vec();
    all.extend(binds.iter().map(ToString::to_string));
    all.join(", ").into()
}

/// The running threads of a [`Worker`].
pub struct Workers {
    handles: Vec<JoinHandle<Result<WorkerTally>>>,
    stop: Stop,
    input_endpoints: Vec<Endpoint>,
    output_endpoints: Vec<Endpoint>,
}

impl Workers {
    /// The endpoints the input binds, with wildcard ports resolved.
    pub fn input_endpoints(&self) -> &[Endpoint] {
        &self.input_endpoints
    }

    /// The endpoints the output binds, with wildcard ports resolved.
    pub fn output_endpoints(&self) -> &[Endpoint] {
        &self.output_endpoints
    }

    /// Ask every thread to finish: each ends its wait, confirms delivery of what it
    /// pushed (bounded by the output's linger) and returns. This requests the
    /// [`Stop`] given in the input options, if there was one, or else the worker's
    /// own.
    pub fn stop(&self) {
        self.stop.request();
    }

    /// Wait for every thread to end and add up what they did. The first thread error
    /// (a failed socket, say) is returned; a panic in the work function is resumed
    /// here.
    pub fn join(self) -> Result<WorkerTally> {
        let mut total = WorkerTally::default();
        let mut first_error = None;
        for handle in self.handles {
            match handle.join() {
                Ok(Ok(tally)) => total.add(&tally),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        first_error.map_or(Ok(total), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::frame::Batch;
    use crate::role::{Receive, Transmit};
    use std::sync::Mutex;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(10);
    const ANY: &str = "tcp://127.0.0.1:*";

    /// A source, a worker between it and a plain puller, and the problems reported.
    fn stage(
        batch_header: bool,
        work: impl Fn(Message) -> Result<Message> + Send + Sync + 'static,
    ) -> (Pusher, Workers, Puller, Arc<Mutex<Vec<String>>>) {
        let mut source = Pusher::bind(ANY).unwrap();
        let out = Puller::open(Options::new().bind(ANY).recv_timeout(WAIT)).unwrap();
        let problems = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&problems);
        let workers = Worker::new(
            Options::new()
                .connect(source.endpoints()[0].to_string())
                .recv_timeout(WAIT),
            Options::new().connect(out.endpoints()[0].to_string()),
        )
        .batch_header(batch_header)
        .on_problem(move |e| seen.lock().unwrap().push(e.to_string()))
        .spawn(work)
        .unwrap();
        source.wait_for_pullers(1, Some(WAIT)).unwrap();
        (source, workers, out, problems)
    }

    fn shout(item: Message) -> Result<Message> {
        if item.topic() == b"bad" {
            return Err(Error::usage("cannot dry a bad dish"));
        }
        Ok(Message::new(item.topic().to_ascii_uppercase()))
    }

    #[test]
    fn headers_stay_the_first_end_passes_and_problems_are_reported() {
        let (mut source, workers, mut out, problems) = stage(true, shout);
        let mut batch = Batch::new(9, None);
        source.send(batch.stamp(Message::new("salad"))).unwrap();
        source.send(batch.stamp(Message::new("bad"))).unwrap();
        source.send(Message::new("no header")).unwrap();
        source.send(batch.end()).unwrap();
        source.send(batch.end()).unwrap();
        source
            .send(Batch::new(10, None).stamp(Message::new("bread")))
            .unwrap();

        let mut salad = out.recv().unwrap();
        assert_eq!(salad.pop_header().unwrap().seq, 0);
        assert_eq!(salad, Message::new("SALAD"));
        let mut end = out.recv().unwrap();
        let header = end.pop_header().unwrap();
        assert!(header.end && header.batch == 9 && header.seq == 2);
        // One connection delivers in order: had the second end been passed on, it
        // would come before the bread.
        let mut bread = out.recv().unwrap();
        assert_eq!(bread.pop_header().unwrap().batch, 10);
        assert_eq!(bread, Message::new("BREAD"));

        workers.stop();
        let tally = workers.join().unwrap();
        let expected = WorkerTally {
            handled: 3,
            forwarded: 2,
            failed: 1,
            ends: 1,
            repeated_ends: 1,
            malformed: 1,
            per_thread: vec![3],
        };
        assert_eq!(tally, expected);
        assert_eq!(
            *problems.lock().unwrap(),
            [
                "batch 9 item 1 not forwarded: cannot dry a bad dish",
                "dropped a message: message has no header frame",
            ]
        );
    }

    #[test]
    fn without_headers_the_whole_message_is_the_item() {
        let (mut source, workers, mut out, problems) = stage(false, shout);
        source.send(Message::new("bad")).unwrap();
        source
            .send(Message::from_frames(["cat", "hat"]).unwrap())
            .unwrap();
        assert_eq!(out.recv().unwrap(), Message::new("CAT"));
        workers.stop();
        let tally = workers.join().unwrap();
        assert_eq!((tally.handled, tally.forwarded, tally.failed), (2, 1, 1));
        assert_eq!(
            *problems.lock().unwrap(),
            ["item 1 not forwarded: cannot dry a bad dish"]
        );
    }

    #[test]
    fn an_idle_thread_ends_by_itself() {
        let out = Puller::bind(ANY).unwrap();
        let workers = Worker::new(
            Options::new()
                .bind(ANY)
                .recv_timeout(Duration::from_millis(50)),
            Options::new().connect(out.endpoints()[0].to_string()),
        )
        .spawn(Ok)
        .unwrap();
        assert_eq!(workers.join().unwrap().handled, 0);
    }

    /// An endpoint nobody listens on.
    fn nowhere() -> String {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        format!("ipc://{}/zpattern-nobody-{pid}.sock", dir.display())
    }

    /// A worker pushing on to `nowhere()` with `output`, and a source that has sent
    /// it one item; `handled` gets a message once the work function ran.
    fn stranded(output: Options) -> (Pusher, Workers, std::sync::mpsc::Receiver<()>) {
        let mut source = Pusher::bind(ANY).unwrap();
        let (handled, handled_rx) = std::sync::mpsc::channel();
        let handled = Mutex::new(handled);
        let workers = Worker::new(
            Options::new()
                .connect(source.endpoints()[0].to_string())
                .recv_timeout(WAIT),
            output.connect(nowhere()),
        )
        .batch_header(true)
        .spawn(move |item| {
            let _ = handled.lock().unwrap().send(());
            Ok(item)
        })
        .unwrap();
        source.wait_for_pullers(1, Some(WAIT)).unwrap();
        source
            .send(Batch::new(3, None).stamp(Message::new("salad")))
            .unwrap();
        (source, workers, handled_rx)
    }

    #[test]
    fn a_result_nobody_takes_ends_the_thread_at_the_send_timeout() {
        let wait = Duration::from_millis(300);
        let (_source, workers, _) = stranded(Options::new().send_timeout(wait));
        let e = workers.join().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            format!(
                "batch 3 item 0 not forwarded: cannot push on to {}: no puller took a message for 300ms",
                nowhere()
            )
        );
    }

    #[test]
    fn a_stop_ends_a_thread_waiting_to_push_without_a_send_timeout() {
        let (_source, workers, handled) = stranded(Options::new());
        handled.recv_timeout(WAIT).unwrap();
        workers.stop();
        let (done, joined) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(workers.join()));
        let tally = joined.recv_timeout(WAIT).expect("joined").unwrap();
        assert_eq!((tally.handled, tally.forwarded), (1, 0));
    }

    #[test]
    fn several_threads_cannot_bind() {
        let spawned = Worker::new(
            Options::new().bind(ANY),
            Options::new().connect("tcp://127.0.0.1:1"),
        )
        .threads(2)
        .spawn(Ok);
        let e = spawned.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Usage);
    }
}
