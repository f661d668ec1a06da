//! The loops the role binaries share: sending from a [`MessageSource`] at a pace, and
//! receiving into a [`MessageWriter`] until a count or an idle timeout, with or
//! without the batch header.

use crate::cli::args::{ReceiveArgs, SourceArgs};
use crate::cli::context::Run;
use crate::cli::progress::Progress;
use crate::cli::template::Seen;
use crate::cli::{MessageSource, MessageWriter};
use crate::duration;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{now_micros, Arrival, Batch, Frame, Header, Message};
use crate::stop::Stop;
use crate::{Puller, Receive, Subscriber};
use std::io::Write;
use std::time::{Duration, Instant};

/// What a send loop hands its sender.
pub(crate) enum Step {
    /// Send this message.
    Send(Message),
    /// The input has nothing ready: the sender is about to wait for it.
    Idle,
}

/// Send every message of `source` through `send`, honouring `--delay` and
/// `--interval`; tell it [`Step::Idle`] before a wait for input. Returns how many
/// were sent. A source of known size shows its progress on a terminal.
pub(crate) fn send_all(
    source: &mut MessageSource,
    pace: &SourceArgs,
    run: &Run,
    mut send: impl FnMut(Step) -> Result<()>,
) -> Result<u64> {
    let stop = run.stop();
    if let Some(delay) = pace.delay {
        pause(stop, delay)?;
    }
    let mut sent = 0;
    let mut progress = Progress::sending(run, source.total());
    loop {
        if sent > 0 && source.would_wait() {
            send(Step::Idle)?;
        }
        let Some(msg) = source.next_message()? else {
            break;
        };
        if sent > 0 {
            if let Some(interval) = pace.interval {
                send(Step::Idle)?;
                pause(stop, interval)?;
            }
        }
        stop.check()?;
        send(Step::Send(msg))?;
        sent += 1;
        run.counters().set_sent(sent);
        progress.update(sent, source.position(), || None);
    }
    Ok(sent)
}

/// A line printed on stderr if a wait is still going on after a second, unless the
/// notice is dropped first: a sender that seems to hang is usually waiting for a
/// peer that is not there, and should say so.
pub(crate) struct Notice {
    cancel: Option<std::sync::mpsc::Sender<()>>,
}

impl Notice {
    /// How long a wait goes unannounced.
    const AFTER: Duration = Duration::from_secs(1);

    /// Print `NAME: waiting for WHAT` after [`Notice::AFTER`] unless dropped before
    /// (or `quiet`).
    pub(crate) fn waiting(run: &Run, what: String) -> Notice {
        if run.quiet() {
            return Notice { cancel: None };
        }
        let name = run.name();
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                cancelled.recv_timeout(Notice::AFTER)
            {
                note!("{name}: waiting for {what}");
            }
        });
        Notice {
            cancel: Some(cancel),
        }
    }
}

impl Drop for Notice {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            let _ = cancel.send(());
        }
    }
}

/// `msg` with the next header of `batch` appended, if header mode is on.
pub(crate) fn stamped(batch: &mut Option<Batch>, msg: Message) -> Message {
    match batch {
        Some(batch) => batch.stamp(msg),
        None => msg,
    }
}

fn pause(stop: &Stop, d: Duration) -> Result<()> {
    if stop.sleep(d) {
        Ok(())
    } else {
        Err(Error::interrupted())
    }
}

/// A receiver of items, which may take their batch headers off itself.
pub(crate) trait Items: Receive {
    /// The batch header of the item the last receive returned, if the receiver
    /// took it off.
    fn taken_header(&self) -> Option<Header> {
        None
    }
}

impl Items for Puller {}

impl Items for Subscriber {
    fn taken_header(&self) -> Option<Header> {
        self.last_header().copied()
    }
}

/// Receive into `writer` until `--count` messages arrived, or nothing arrived for
/// `--timeout`, at most `--rate` messages per second. Output is flushed whenever no
/// further message is waiting, and on every way out, an interruption included. A
/// message that breaks a limit is reported on stderr, counted as skipped and
/// passed over.
///
/// With `header` (batch header mode), each message's header is stripped: items are
/// written and counted, end-of-stream messages are not, and a message without a
/// valid header is reported, counted as malformed and skipped. The one-way latency
/// of every item with a header (stripped here, or by the receiver) is recorded in
/// the run's counters.
pub(crate) fn receive_all<W: Write>(
    run: &Run,
    receiver: &mut impl Items,
    writer: &mut MessageWriter<W>,
    limits: &ReceiveArgs,
    header: bool,
) -> Result<u64> {
    let receiving = Receiving { run, header };
    let outcome = receive_until_done(&receiving, receiver, writer, limits);
    let flushed = writer.flush();
    let received = outcome?;
    flushed?;
    Ok(received)
}

/// Who is receiving, and how.
struct Receiving<'a> {
    run: &'a Run,
    header: bool,
}

/// What one wait for a message brought.
enum Waited {
    /// A message, and the header taken off it in header mode.
    Message(Option<Header>),
    Idle,
    Skipped,
}

fn receive_until_done<W: Write>(
    receiving: &Receiving,
    receiver: &mut impl Items,
    writer: &mut MessageWriter<W>,
    limits: &ReceiveArgs,
) -> Result<u64> {
    let mut msg = Message::new(Frame::empty());
    let mut received = 0;
    let started = Instant::now();
    while limits.count.is_none_or(|count| received < count) {
        if let Some(rate) = limits.rate {
            keep_to_rate(receiving.run.stop(), started, received, rate)?;
        }
        let mut arrival = wait(receiving, receiver, &mut msg, Some(Duration::ZERO))?;
        if let Waited::Idle = arrival {
            writer.flush()?;
            arrival = wait(receiving, receiver, &mut msg, limits.timeout)?;
        }
        match arrival {
            Waited::Message(header) => {
                let header = header.or_else(|| receiver.taken_header());
                let arrived_us = match header.is_some() || writer.needs_time() {
                    true => now_micros(),
                    false => 0,
                };
                if let Some(header) = &header {
                    let counters = receiving.run.counters();
                    counters.record_latency(header.sent_micros, arrived_us);
                }
                let seen = Seen {
                    arrived_us,
                    header: header.as_ref(),
                    peer: msg.peer_address(),
                };
                writer.write_seen(&msg, &seen)?;
                received += 1;
                receiving.run.counters().set_received(received);
            }
            Waited::Skipped => {}
            Waited::Idle => return idle_end(limits, received),
        }
    }
    Ok(received)
}

/// Wait until message number `received` is due at `rate` per second from
/// `started`: a slow consumer leaves its messages queued meanwhile.
fn keep_to_rate(stop: &Stop, started: Instant, received: u64, rate: u32) -> Result<()> {
    let due = started + Duration::from_secs_f64(received as f64 / f64::from(rate));
    match due.checked_duration_since(Instant::now()) {
        Some(wait) => pause(stop, wait),
        None => Ok(()),
    }
}

/// Wait up to `timeout` for a message; a message over a limit, or without a valid
/// header in header mode, is reported and skipped, and so is an end of stream.
fn wait(
    receiving: &Receiving,
    receiver: &mut impl Receive,
    msg: &mut Message,
    timeout: Option<Duration>,
) -> Result<Waited> {
    match receiver.recv_into(msg, timeout) {
        Ok(true) if !receiving.header => Ok(Waited::Message(None)),
        Ok(true) => match msg.arrival() {
            Arrival::End(_) => Ok(Waited::Skipped),
            Arrival::Item(header) => Ok(Waited::Message(Some(header))),
            Arrival::Malformed(why) => {
                receiving.run.counters().add_malformed();
                receiving.run.warn(Arrival::dropped(&why));
                Ok(Waited::Skipped)
            }
        },
        Ok(false) => Ok(Waited::Idle),
        Err(e) if e.is_recoverable() => {
            receiving.run.counters().add_skipped();
            receiving.run.warn(&e);
            Ok(Waited::Skipped)
        }
        Err(e) => Err(e),
    }
}

/// Nothing arrived for `--timeout`: a normal end without `--count`, an error when
/// the count was not reached.
fn idle_end(limits: &ReceiveArgs, received: u64) -> Result<u64> {
    match (limits.count, limits.timeout) {
        (Some(count), Some(timeout)) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "received {received} of {count} messages; nothing arrived for {}",
                duration::display(timeout)
            ),
        )),
        _ => Ok(received),
    }
}
