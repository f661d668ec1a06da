//! [`Sink`]: the end of a pipeline, which knows when a batch is complete.

use crate::accounting::{Ledger, Recorded, Report};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::frame::{Arrival, Header, Message};
use crate::options::Options;
use crate::pipeline::Puller;
use crate::role::Receive;
use std::time::{Duration, Instant};

/// Collects the results of a pipeline and accounts for every item by its batch
/// header: which arrived, which are missing, which came twice. Socket PULL; peer
/// PUSH; receive only. Always in batch-header mode.
///
/// [`Sink::collect`] goes on until the sink [is done](Sink::is_done) (at least the
/// wanted number of batches seen, and every batch seen whole), or nothing has
/// arrived for the receive timeout of its options, or its deadline passes; the
/// [`Report`] then says what is missing.
///
/// Once done, it still reads what is already queued, and what arrives within a
/// short [grace period](Sink::grace) (100 ms by default), before it returns: a
/// duplicate that arrives after the last new item, or a message of a further batch,
/// must not leave a report of "complete, each exactly once" behind it. A further
/// batch seen that way makes the sink collect again until that batch is whole too. The
/// grace is for what is in flight when the batch becomes whole, a duplicate sent by a
/// second worker at about the same time as the last item, say: on one machine such
/// messages are microseconds to milliseconds behind. What arrives later still is
/// not read; no finite wait could tell it from something sent much later. See the
/// [`Worker`](super::Worker) example.
pub struct Sink {
    puller: Puller,
    ledger: Ledger,
    batches: usize,
    deadline: Option<Instant>,
    grace: Duration,
    /// When the grace period of the current done state ends, once it has begun.
    grace_ends: Option<Instant>,
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
    /// How long a sink that is done goes on reading, by default.
    pub const DEFAULT_GRACE: Duration = Duration::from_millis(100);

    /// Open a sink with `options`; their receive timeout is the idle time after
    /// which [`Sink::collect`] gives up (`None`: never).
    pub fn open(options: Options) -> Result<Sink> {
        Ok(Sink {
            puller: Puller::open(options)?,
            ledger: Ledger::new(),
            batches: 1,
            deadline: None,
            grace: Sink::DEFAULT_GRACE,
            grace_ends: None,
        })
    }

    /// Open a sink bound to `endpoint` with default options.
    pub fn bind(endpoint: &str) -> Result<Sink> {
        Sink::open(Options::new().bind(endpoint))
    }

    /// Wait for at least `count` batches (default 1) before calling the collection
    /// done. More may be seen: each batch seen must be whole too.
    pub fn batches(mut self, count: usize) -> Sink {
        self.batches = count;
        self
    }

    /// Once done, go on reading for `grace` (default [`Sink::DEFAULT_GRACE`]) for
    /// what is still in flight; what is already queued is read in any case, also
    /// with a grace of zero.
    pub fn grace(mut self, grace: Duration) -> Sink {
        self.grace = grace;
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

    /// Whether there is nothing left to wait for: at least the wanted number of
    /// batches seen, and every batch seen whole (see [`Ledger::is_done`]). This is
    /// what the report's verdict requires, so a sink that stops when done never
    /// reports an item missing that it simply did not wait for.
    pub fn is_done(&self) -> bool {
        self.ledger.is_done(self.batches)
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
            Err(e) if e.is_recoverable() => {
                self.ledger.record_malformed(&e);
                return Ok(Some(Delivery::Malformed(e)));
            }
            Err(e) => return Err(e),
        };
        Ok(Some(match msg.arrival() {
            Arrival::Malformed(why) => {
                self.ledger.record_malformed(why);
                Delivery::Malformed(Arrival::dropped(&why))
            }
            Arrival::End(header) => {
                self.ledger.record(&header);
                Delivery::End(header)
            }
            Arrival::Item(header) => Delivery::Item {
                recorded: self.ledger.record(&header),
                header,
                message: msg,
            },
        }))
    }

    /// The next delivery of a collection, or `None` when the collection is over.
    /// Until the sink is done it waits up to `idle` (cut short by the deadline);
    /// once done, it takes what is queued and what arrives before the grace period
    /// ends, which began when this was first called in the done state.
    pub fn next_delivery(&mut self, idle: Option<Duration>) -> Result<Option<Delivery>> {
        let wait = if self.is_done() {
            let ends = *self
                .grace_ends
                .get_or_insert_with(|| Instant::now() + self.grace);
            Some(ends.saturating_duration_since(Instant::now()))
        } else {
            self.grace_ends = None;
            idle
        };
        self.recv_delivery(wait)
    }

    /// Receive and account until the sink is done (and its grace period is over),
    /// nothing has arrived for the receive timeout, or the deadline; hand each
    /// delivery to `each`. Returns the report: [`Report::is_complete`] says whether
    /// every item arrived exactly once. An error from `each` ends the collection
    /// with that error.
    pub fn collect(&mut self, mut each: impl FnMut(Delivery) -> Result<()>) -> Result<Report> {
        let idle = self.puller.default_timeout();
        while let Some(delivery) = self.next_delivery(idle)? {
            each(delivery)?;
        }
        Ok(self.report())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::Verdict;
    use crate::pipeline::Pusher;
    use crate::role::Transmit;
    use std::sync::atomic::{AtomicU32, Ordering};

    const WAIT: Duration = Duration::from_secs(10);

    /// A sink with no grace period and a pusher connected to it over inproc: what
    /// the pusher has sent is queued at the sink before it collects.
    fn pair() -> (Sink, Pusher) {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let endpoint = format!(
            "inproc://sink-test-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let context = zmq::Context::new();
        let options = Options::new().context(context).recv_timeout(WAIT);
        let sink = Sink::open(options.clone().bind(&endpoint))
            .unwrap()
            .grace(Duration::ZERO);
        let pusher = Pusher::open(options.connect(&endpoint)).unwrap();
        (sink, pusher)
    }

    fn send(pusher: &mut Pusher, header: Header) {
        let mut msg = Message::new(format!("item {}", header.seq));
        msg.push_header(&header);
        pusher.send(msg).unwrap();
    }

    #[test]
    fn a_duplicate_queued_behind_the_last_item_is_reported() {
        let (mut sink, mut pusher) = pair();
        for seq in [0, 1, 2, 1] {
            send(&mut pusher, Header::item(7, seq, Some(3)));
        }
        let report = sink.collect(|_| Ok(())).unwrap();
        assert_eq!(
            report.verdict,
            Verdict::Inconsistent,
            "{:?}",
            report.lines()
        );
        assert_eq!(report.batches[0].duplicate_ranges, [(1, 1)]);
    }

    #[test]
    fn a_duplicate_queued_behind_the_end_of_stream_is_reported() {
        let (mut sink, mut pusher) = pair();
        send(&mut pusher, Header::item(8, 0, None));
        send(&mut pusher, Header::item(8, 1, None));
        send(&mut pusher, Header::end_of_stream(8, 2));
        send(&mut pusher, Header::item(8, 0, None));
        let report = sink.collect(|_| Ok(())).unwrap();
        assert_eq!(
            report.verdict,
            Verdict::Inconsistent,
            "{:?}",
            report.lines()
        );
        assert_eq!(report.batches[0].duplicates, 1);
    }

    #[test]
    fn a_second_batch_seen_keeps_the_sink_collecting() {
        let (mut sink, mut pusher) = pair();
        send(&mut pusher, Header::item(2, 0, Some(2)));
        send(&mut pusher, Header::item(1, 0, Some(1)));
        let mut seen = 0;
        while seen < 2 {
            if sink.recv_delivery(Some(WAIT)).unwrap().is_some() {
                seen += 1;
            }
        }
        // Batch 1 is whole and one batch is wanted, but batch 2 was seen.
        assert!(!sink.is_done());
        send(&mut pusher, Header::item(2, 1, Some(2)));
        let report = sink.collect(|_| Ok(())).unwrap();
        assert!(report.is_complete(), "{:?}", report.lines());
        assert_eq!(report.batches.len(), 2);
    }
}
