//! [`Sink`]: the end of a pipeline, which knows when a batch is complete.

use crate::accounting::{Ledger, Recorded, Report};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Header, Message};
use crate::options::Options;
use crate::pipeline::Puller;
use crate::role::Receive;
use crate::socket::is_recoverable;
use std::time::{Duration, Instant};

/// Collects the results of a pipeline and accounts for every item by its batch
/// header: which arrived, which are missing, which came twice. Socket PULL; peer
/// PUSH; receive only. Always in batch-header mode.
///
/// [`Sink::collect`] returns as soon as the wanted batches have every item, or when
/// nothing has arrived for the receive timeout of its options, or at its deadline;
/// the [`Report`] then says what is missing. What arrives after that (a late
/// duplicate, further copies of the end-of-stream message) is not read. See the
/// [`Worker`](super::Worker) example.
pub struct Sink {
    puller: Puller,
    ledger: Ledger,
    batches: usize,
    deadline: Option<Instant>,
}

/// One message as the sink saw it.
#[derive(Debug)]
pub enum Delivery {
    /// An item, its header stripped.
    Item {
        /// The header it carried.
        header: Header,
        /// The payload frames.
        message: Message,
        /// What the ledger made of it: new, a duplicate, out of range.
        recorded: Recorded,
    },
    /// An end-of-stream message.
    End(Header),
    /// A message that could not be accounted for: no header, a malformed one, or a
    /// size limit broken. Counted in the report.
    Malformed(Error),
}

impl Sink {
    /// Open a sink with `options`; their receive timeout is the idle time after
    /// which [`Sink::collect`] gives up (`None`: never).
    pub fn open(options: Options) -> Result<Sink> {
        Ok(Sink {
            puller: Puller::open(options)?,
            ledger: Ledger::new(),
            batches: 1,
            deadline: None,
        })
    }

    /// Open a sink bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Sink> {
        Sink::open(Options::new().bind(endpoint))
    }

    /// Wait for `count` batches (default 1) before calling the collection done.
    pub fn batches(mut self, count: usize) -> Sink {
        self.batches = count;
        self
    }

    /// Give up `limit` from now, whatever is still arriving.
    pub fn deadline(mut self, limit: Duration) -> Sink {
        self.deadline = Some(Instant::now() + limit);
        self
    }

    /// The bound endpoints, with wildcard ports resolved.
    pub fn endpoints(&self) -> &[Endpoint] {
        self.puller.endpoints()
    }

    /// The accounting so far.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The report so far, judged against the wanted number of batches.
    pub fn report(&self) -> Report {
        self.ledger.report(self.batches)
    }

    /// Whether the wanted batches have every item: nothing left to wait for.
    pub fn is_done(&self) -> bool {
        self.ledger.whole_batches() >= self.batches
    }

    /// How long a wait of `timeout` may last before the deadline; `None` once the
    /// deadline has passed.
    fn time_left(&self, timeout: Option<Duration>) -> Option<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Some(timeout);
        };
        let left = deadline.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| Some(timeout.map_or(left, |t| t.min(left))))
    }

    /// Receive one message, waiting up to `timeout` (cut short by the deadline), and
    /// account for it. `Ok(None)` when nothing arrived in time.
    pub fn recv_delivery(&mut self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let Some(wait) = self.time_left(timeout) else {
            return Ok(None);
        };
        let mut msg = match self.puller.recv_timeout(wait) {
            Ok(Some(msg)) => msg,
            Ok(None) => return Ok(None),
            Err(e) if is_recoverable(&e) => {
                self.ledger.record_malformed(&e);
                return Ok(Some(Delivery::Malformed(e)));
            }
            Err(e) => return Err(e),
        };
        match msg.pop_header() {
            Err(e) => {
                self.ledger.record_malformed(e);
                Ok(Some(Delivery::Malformed(Error::protocol(format!(
                    "dropped a message: {e}"
                )))))
            }
            Ok(header) => {
                let recorded = self.ledger.record(&header);
                Ok(Some(if header.end {
                    Delivery::End(header)
                } else {
                    Delivery::Item {
                        header,
                        message: msg,
                        recorded,
                    }
                }))
            }
        }
    }

    /// Receive and account until the wanted batches are whole, nothing has arrived
    /// for the receive timeout, or the deadline; hand each delivery to `each`.
    /// Returns the report: [`Report::is_complete`] says whether every item arrived
    /// exactly once. An error from `each` ends the collection with that error.
    pub fn collect(&mut self, mut each: impl FnMut(Delivery) -> Result<()>) -> Result<Report> {
        let idle = self.puller.default_timeout();
        while !self.is_done() {
            match self.recv_delivery(idle)? {
                Some(delivery) => each(delivery)?,
                None => break,
            }
        }
        Ok(self.report())
    }
}
