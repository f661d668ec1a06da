//! Publish/subscribe: one [`Publisher`] broadcasts, each [`Subscriber`] receives the
//! messages whose topic (frame 0) starts with one of its subscribed prefixes.
//!
//! | role         | socket | peer | direction | binary |
//! |--------------|--------|------|-----------|--------|
//! | [`Publisher`]  | XPUB   | SUB  | send only | `zpub` |
//! | [`Subscriber`] | SUB    | PUB/XPUB | receive only | `zsub` |
//!
//! The publisher is an XPUB socket so it can see subscriptions arrive: that is how it
//! handles the *slow joiner* (a subscriber that connects after the first messages
//! went out misses them) without sleeping: [`Publisher::wait_for_subscribers`].
//!
//! Filtering happens at the publisher for TCP and IPC peers, by byte prefix on frame
//! 0: subscribing to `"cat"` receives topics `cat`, `cats` and `catalog`; subscribing
//! to `""` receives everything. A subscriber with no subscription receives nothing.
//!
//! When a subscriber falls behind by more than its high-water mark, the publisher
//! drops messages for it (ZeroMQ's rule: a slow subscriber must not stall the
//! others), unless [`Publisher::set_no_drop`] makes sends wait instead.
//!
//! ```
//! use std::time::Duration;
//! use zpattern::{Message, Options, Publisher, Receive, Subscriber, Transmit};
//!
//! let mut publisher = Publisher::bind("tcp://127.0.0.1:*")?;
//! let endpoint = publisher.endpoints()[0].to_string();
//!
//! let mut subscriber = Subscriber::open(
//!     Options::new().connect(&endpoint).recv_timeout(Duration::from_secs(5)),
//! )?;
//! subscriber.subscribe("persian")?;
//!
//! publisher.wait_for_subscribers(1, Some(Duration::from_secs(5)))?;
//! publisher.send(Message::with_topic("siamese", "bowler"))?; // filtered out
//! publisher.send(Message::with_topic("persian", "fedora"))?;
//!
//! let msg = subscriber.recv()?;
//! assert_eq!(msg.to_vecs(), [b"persian".to_vec(), b"fedora".to_vec()]);
//! # Ok::<(), zpattern::Error>(())
//! ```

mod publisher;
mod subscriber;

pub use publisher::{Publisher, SubscriptionLimits};
pub use subscriber::Subscriber;
