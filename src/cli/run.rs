//! The loops the role binaries share: sending from a [`MessageSource`] at a pace, and
//! receiving into a [`MessageWriter`] until a count or an idle timeout.

use crate::cli::args::{ReceiveArgs, SourceArgs};
use crate::cli::stats::Counters;
use crate::cli::{MessageSource, MessageWriter};
use crate::duration;
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{Frame, Message};
use crate::role::Receive;
use crate::socket::is_recoverable;
use crate::stop::Stop;
use std::io::Write;
use std::time::Duration;

/// Send every message of `source` through `send`, honouring `--delay` and
/// `--interval`. Returns how many were sent.
pub(crate) fn send_all(
    source: &mut MessageSource,
    pace: &SourceArgs,
    stop: &Stop,
    counters: &Counters,
    mut send: impl FnMut(Message) -> Result<()>,
) -> Result<u64> {
    if let Some(delay) = pace.delay {
        pause(stop, delay)?;
    }
    let mut sent = 0;
    while let Some(msg) = source.next_message()? {
        if sent > 0 {
            if let Some(interval) = pace.interval {
                pause(stop, interval)?;
            }
        }
        stop.check()?;
        send(msg)?;
        sent += 1;
        counters.set_sent(sent);
    }
    Ok(sent)
}

fn pause(stop: &Stop, d: Duration) -> Result<()> {
    if stop.sleep(d) {
        Ok(())
    } else {
        Err(Error::interrupted())
    }
}

/// Receive into `writer` until `--count` messages arrived, or nothing arrived for
/// `--timeout`. Output is flushed whenever no further message is waiting. A message
/// that breaks a limit is reported on stderr and skipped.
pub(crate) fn receive_all<W: Write>(
    name: &str,
    receiver: &mut impl Receive,
    writer: &mut MessageWriter<W>,
    limits: &ReceiveArgs,
    counters: &Counters,
) -> Result<u64> {
    let mut msg = Message::new(Frame::empty());
    let mut received = 0;
    while limits.count.is_none_or(|count| received < count) {
        let arrived = match receiver.recv_into(&mut msg, Some(Duration::ZERO)) {
            Ok(true) => true,
            Ok(false) => {
                writer.flush()?;
                match receiver.recv_into(&mut msg, limits.timeout) {
                    Ok(arrived) => arrived,
                    Err(e) => skip_recoverable(name, e)?,
                }
            }
            Err(e) => skip_recoverable(name, e)?,
        };
        if arrived {
            writer.write(&msg)?;
            received += 1;
            counters.set_received(received);
        } else if !msg_pending_timeout(limits, received)? {
            break;
        }
    }
    writer.flush()?;
    Ok(received)
}

/// Report a recoverable error (a message over a limit) and go on; return others.
fn skip_recoverable(name: &str, e: Error) -> Result<bool> {
    if is_recoverable(&e) {
        eprintln!("{name}: warning: {e}");
        Ok(false)
    } else {
        Err(e)
    }
}

/// After a wait that brought nothing: `Ok(false)` ends quietly (idle timeout without
/// a count), an error when a count was not reached, `Ok(true)` keeps waiting (a
/// skipped message).
fn msg_pending_timeout(limits: &ReceiveArgs, received: u64) -> Result<bool> {
    let Some(timeout) = limits.timeout else {
        return Ok(true);
    };
    match limits.count {
        None => Ok(false),
        Some(count) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "received {received} of {count} messages; nothing arrived for {}",
                duration::display(timeout)
            ),
        )),
    }
}
