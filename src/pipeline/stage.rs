//! One thread of a [`Worker`](super::Worker): receive, run the work function, push
//! the result on, keeping batch headers and passing ends of stream on (see
//! [the pipeline docs](crate::pipeline)).

use super::tally::WorkerTally;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Arrival, Frame, Header, Message};
use crate::pipeline::{Puller, Pusher};
use crate::role::{Receive, Transmit};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many batch ids a worker thread remembers having passed the end of.
const ENDS_REMEMBERED: usize = 1024;

/// How often an idle worker thread looks at its downstream connections.
const IDLE_LOOK: Duration = Duration::from_millis(100);

/// Called with each problem a worker meets and carries on after: an item its work
/// function failed on, a message without a valid header.
pub(super) type Problems = Arc<dyn Fn(&Error) + Send + Sync>;

/// What every thread of a worker shares.
pub(super) struct Settings {
    /// Keep batch headers, pass ends on, drop messages without a valid header.
    pub(super) batch_header: bool,
    /// Where problems are reported.
    pub(super) problems: Option<Problems>,
    /// How long a result may wait for a downstream puller to take it.
    pub(super) send_timeout: Option<Duration>,
    /// The downstream endpoints, for the error when none takes a result.
    pub(super) downstream: Arc<str>,
}

/// One thread of a worker.
pub(super) struct Stage<F> {
    puller: Puller,
    pusher: Pusher,
    work: Arc<F>,
    settings: Settings,
    /// Batches whose end this thread has passed on, newest last.
    ended: VecDeque<u64>,
    tally: WorkerTally,
}

impl<F> Stage<F>
where
    F: Fn(Message, Option<&Header>) -> Result<Message>,
{
    /// A thread's stage over its own sockets.
    pub(super) fn new(puller: Puller, pusher: Pusher, work: Arc<F>, settings: Settings) -> Self {
        Stage {
            puller,
            pusher,
            work,
            settings,
            ended: VecDeque::new(),
            tally: WorkerTally::default(),
        }
    }

    /// Relay until idle or stopped, then confirm delivery and close.
    pub(super) fn run(mut self) -> Result<WorkerTally> {
        let idle = self.puller.default_timeout();
        let mut msg = Message::new(Frame::empty());
        loop {
            let mut arrived = self.puller.recv_into(&mut msg, Some(Duration::ZERO));
            if let Ok(false) = arrived {
                arrived = self.wait_for_input(&mut msg, idle);
            }
            let relayed = match arrived {
                Ok(true) => self.relay(std::mem::replace(&mut msg, Message::new(Frame::empty()))),
                Ok(false) => break,
                Err(e) if e.is_recoverable() => {
                    self.tally.malformed += 1;
                    self.report(&e);
                    Ok(())
                }
                Err(e) => Err(e),
            };
            match relayed {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => break,
                Err(e) => return Err(e),
            }
        }
        self.pusher.close()?;
        Ok(self.tally)
    }

    /// Wait up to `idle` for the next message, looking at the downstream
    /// connections every [`IDLE_LOOK`] meanwhile: a downstream puller that leaves
    /// while we wait is then judged on what it had read shortly before, not on what
    /// was in flight when we last sent (see [`Pusher::settle`]).
    fn wait_for_input(&mut self, msg: &mut Message, idle: Option<Duration>) -> Result<bool> {
        let deadline = idle.map(|idle| Instant::now() + idle);
        loop {
            self.pusher.settle()?;
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let slice = left.map_or(IDLE_LOOK, |left| left.min(IDLE_LOOK));
            match self.puller.recv_into(msg, Some(slice)) {
                Ok(false) if left.is_none_or(|left| left > slice) => {}
                outcome => return outcome,
            }
        }
    }

    fn relay(&mut self, mut msg: Message) -> Result<()> {
        if !self.settings.batch_header {
            return self.work_on(msg, None);
        }
        match msg.arrival() {
            Arrival::Malformed(why) => {
                self.tally.malformed += 1;
                self.report(&Arrival::dropped(&why));
                Ok(())
            }
            Arrival::End(header) => self.pass_end(msg, header),
            Arrival::Item(header) => self.work_on(msg, Some(header)),
        }
    }

    fn work_on(&mut self, item: Message, header: Option<Header>) -> Result<()> {
        self.tally.handled += 1;
        match (self.work)(item, header.as_ref()) {
            Ok(mut result) => {
                if let Some(header) = &header {
                    result.push_header(header);
                }
                self.push(result, false, header.as_ref())?;
                self.tally.forwarded += 1;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                self.tally.failed += 1;
                let which = match header {
                    Some(h) => format!("batch {} item {} not forwarded", h.batch, h.seq),
                    None => format!("item {} not forwarded", self.tally.handled),
                };
                self.report(&e.context(which));
            }
        }
        Ok(())
    }

    /// Pass a batch's first end-of-stream message on to every downstream puller;
    /// drop later copies (upstream sent one per worker of this stage).
    fn pass_end(&mut self, mut msg: Message, header: Header) -> Result<()> {
        if self.ended.contains(&header.batch) {
            self.tally.repeated_ends += 1;
            return Ok(());
        }
        if self.ended.len() == ENDS_REMEMBERED {
            self.ended.pop_front();
        }
        self.ended.push_back(header.batch);
        msg.push_header(&header);
        self.push(msg, true, Some(&header))?;
        self.tally.ends += 1;
        Ok(())
    }

    /// Push `msg` on (a copy to each downstream puller if `to_each`), waiting up to
    /// the send timeout for a downstream puller to take it (a stop ends the wait).
    /// An error names the downstream and the message of `header` that was not
    /// forwarded.
    fn push(&mut self, msg: Message, to_each: bool, header: Option<&Header>) -> Result<()> {
        let sent = match to_each {
            true => self.pusher.send_to_each(msg).map(drop),
            false => self.pusher.send(msg),
        };
        sent.map_err(|e| match e.kind() {
            ErrorKind::Interrupted => e,
            ErrorKind::Timeout => Error::timeout(format!(
                "no puller took a message for {}",
                crate::duration::display(self.settings.send_timeout.unwrap_or_default())
            ))
            .context(format!("cannot push on to {}", self.settings.downstream))
            .context(self.unforwarded(header)),
            _ => e
                .context(format!("cannot push on to {}", self.settings.downstream))
                .context(self.unforwarded(header)),
        })
    }

    /// `batch 5 item 3 not forwarded`, for errors.
    fn unforwarded(&self, header: Option<&Header>) -> String {
        let what = match header {
            Some(h) if h.end => format!("the end of batch {}", h.batch),
            Some(h) => format!("batch {} item {}", h.batch, h.seq),
            None => format!("item {}", self.tally.handled),
        };
        format!("{what} not forwarded")
    }

    fn report(&self, problem: &Error) {
        if let Some(report) = &self.settings.problems {
            report(problem);
        }
    }
}
