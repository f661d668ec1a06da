//! Pipeline (fan-out work distribution): a [`Pusher`] hands each message to exactly
//! one of its connected [`Puller`]s, round-robin; a puller takes messages from all of
//! its pushers fairly. A [`Worker`] is a stage in between, a [`Sink`] the end that
//! accounts for every item.
//!
//! | role       | socket | peer | direction | binary |
//! |------------|--------|------|-----------|--------|
//! | [`Pusher`] | PUSH   | PULL | send only | `zpush` |
//! | [`Puller`] | PULL   | PUSH | receive only | `zpull` |
//! | [`Worker`] | PULL, then PUSH | PUSH, then PULL | receive, process, send on | `zpull --push` |
//! | [`Sink`]   | PULL   | PUSH | receive only, batch headers | `zpull --sink` |
//!
//! A pusher deals only to pullers whose connection is up; with none connected, or
//! every puller at its high-water mark, a send blocks (up to the send timeout)
//! rather than dropping. [`Pusher::close`] confirms that the connected pullers have
//! read everything before closing. What a pusher cannot do is take back what it
//! has dealt: a puller that dies loses what was dealt to it and not yet passed on,
//! and with no acknowledgements in PUSH/PULL the pusher cannot see that (see [a
//! worker that dies](#a-worker-that-dies)).
//!
//! ```
//! use std::time::Duration;
//! use zpattern::{Message, Options, Puller, Pusher, Receive, Transmit};
//!
//! let mut puller = Puller::open(
//!     Options::new().bind("tcp://127.0.0.1:*").recv_timeout(Duration::from_secs(5)),
//! )?;
//! let mut pusher = Pusher::connect(&puller.endpoints()[0].to_string())?;
//! for dish in ["salad", "bread", "entree", "dessert"] {
//!     pusher.send(Message::new(dish))?;
//! }
//! pusher.close()?;
//! let dried: Vec<Message> = (0..4).map(|_| puller.recv()).collect::<Result<_, _>>()?;
//! assert_eq!(dried[3].topic(), b"dessert");
//! # Ok::<(), zpattern::Error>(())
//! ```
//!
//! # Is all the work done, and did anything get lost?
//!
//! Plain PUSH/PULL cannot say: a puller does not know how many items to expect, and
//! an item lost with a crashed worker leaves no trace. A work queue answers with
//! batch accounting, switched on at both ends:
//!
//! * The source stamps every item with a [batch header](crate::frame::Header) (a
//!   [`Batch`](crate::frame::Batch) does the numbering): batch id, sequence number
//!   from 0, the batch size when known in advance, the send time. After the last
//!   item it sends an end-of-stream message whose sequence number is the number of
//!   items, so a batch of unknown length (stdin) can end too.
//! * Workers keep each item's header untouched through every stage: the work
//!   function sees the payload, the result leaves with the header it came with. A
//!   message without a valid header is dropped and reported, never guessed at.
//! * The [`Sink`] feeds each header to a [`Ledger`](crate::accounting::Ledger) and
//!   knows, per batch, which sequence numbers arrived, which twice, and how many
//!   there should be. It stops once every item of every batch it has seen is in
//!   (and a short grace period has passed, for a late duplicate), or at its
//!   deadline with a report of what is missing (`missing 126: 17, 40-59, ...`).
//!   Because every stage keeps the source's header, the sink accounts for source
//!   items end to end. A stage that drops a malformed message says so itself: the
//!   sink never sees it.
//!
//! ## A worker that dies
//!
//! A worker that dies mid-batch takes with it what had been dealt to it and not
//! passed on: the items in its own queues, those in the kernel buffers between its
//! pusher and it, and those in the pusher's queue for it at the moment it died. The
//! pusher cannot see this (PUSH/PULL has no acknowledgements; a pusher's close
//! confirms delivery to the pullers still connected); the sink's report lists
//! exactly those items missing, and never says "complete".
//!
//! How much is lost depends on how the worker died. Killed while working, it held
//! little: pushers deal only to connected pullers and stop dealing to it the moment
//! its connections close. Hung first (SIGSTOP, a deadlock), it keeps its connections
//! up, so it goes on being dealt its share until its queues fill (the pusher's
//! high-water mark plus the kernel buffers: with a hung worker beside a live one,
//! 20,000 items over ipc, 1,500 to 2,000 of its share waited there), and a kill then
//! loses all of it. The pusher deals what it cannot queue to the hung worker to
//! the others.
//!
//! ## End of stream through fan-out
//!
//! PUSH round-robins, so one end-of-stream message would reach one worker of a
//! stage, and if that worker died with it, the sink would never learn the batch
//! size. So the end travels as widely as items do:
//!
//! 1. The source sends the end-of-stream message once per connected puller
//!    ([`Pusher::send_to_each`]): consecutive messages go to distinct pullers, so
//!    each worker of the first stage gets one.
//! 2. A worker passes the **first** end of each batch on the same way, once per
//!    puller of the next stage, and drops later copies of it. Every worker of every
//!    stage thus learns that the batch is over, and a single lost worker cannot take
//!    the end with it.
//! 3. The sink learns the size from the first end it gets and counts the copies.
//!    The end can overtake items still in flight on other workers, so the sink keeps
//!    waiting (up to its deadline) until every item is in.
//!
//! Workers do not otherwise need to know that a batch is over: they keep no
//! per-batch state, and whoever needs the verdict asks the sink. They end when idle
//! (the input's receive timeout) or when stopped; the sink's report is what tells
//! a caller, like `JoinableQueue.join`, that every item was processed.
//!
//! ## Fair start
//!
//! A pusher that binds deals each message to the pullers connected at that moment:
//! without care, the first worker to connect takes the start of the batch while the
//! others are still connecting. [`Pusher::wait_for_pullers`] waits, on connection
//! events rather than sleeps, until N pullers are there. A pusher that connects to
//! its pullers waits the same way, for as many as it has endpoints (`zpush
//! --connect` does so by default): a pusher deals only to pullers whose connection
//! is up, and connections come up one by one.

mod puller;
mod pusher;
mod sink;
mod stage;
mod tally;
mod worker;

pub use puller::Puller;
pub use pusher::Pusher;
pub use sink::{Delivery, Sink};
pub use tally::WorkerTally;
pub use worker::{Worker, Workers};
