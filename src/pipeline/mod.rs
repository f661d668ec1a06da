//! Pipeline (fan-out work distribution): a [`Pusher`] hands each message to exactly
//! one of its connected [`Puller`]s, round-robin; a puller takes messages from all of
//! its pushers fairly.
//!
//! | role       | socket | peer | direction | binary |
//! |------------|--------|------|-----------|--------|
//! | [`Pusher`] | PUSH   | PULL | send only | `zpush` |
//! | [`Puller`] | PULL   | PUSH | receive only | `zpull` |
//!
//! A pusher with no puller connected, or with every puller at its high-water mark,
//! blocks (up to the send timeout) rather than dropping: pipelines do not lose work in
//! flight. [`Pusher::close`] confirms that pullers have read everything before
//! closing.
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

mod puller;
mod pusher;

pub use puller::Puller;
pub use pusher::Pusher;
