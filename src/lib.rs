//! # zpattern
//!
//! ZeroMQ messaging patterns as a typed library, over one shared framing layer.
//!
//! | pattern | module | role | socket | peer | direction | binary |
//! |---------|--------|------|--------|------|-----------|--------|
//! | publish/subscribe | [`pubsub`] | [`Publisher`] | XPUB | SUB | send | `zpub` |
//! | | | [`Subscriber`] | SUB | PUB, XPUB | receive | `zsub` |
//! | request/reply | [`reqrep`] | [`Requester`] | REQ | REP, ROUTER | send then receive | `zreq` |
//! | | | [`Replier`] | REP | REQ, DEALER | receive then send | `zrep` |
//! | pipeline | [`pipeline`] | [`Pusher`] | PUSH | PULL | send | `zpush` |
//! | | | [`Puller`] | PULL | PUSH | receive | `zpull` |
//! | | | [`Worker`] | PULL, PUSH | PUSH, PULL | receive, process, send on | `zpull --push` |
//! | | | [`Sink`] | PULL | PUSH | receive and account | `zpull --sink` |
//!
//! Every role is opened from the same [`Options`] (endpoints, high-water marks,
//! linger, timeouts, size limits, stop) and speaks in [`Message`]s: one or more frames,
//! plain ZeroMQ multipart on the wire, so pyzmq, CZMQ and libzmq programs are peers.
//! Roles that send implement [`Transmit`], roles that receive implement [`Receive`].
//!
//! An optional [batch header](frame::Header), switched on at both ends, numbers the
//! messages of a batch so that a [`Sink`] (and [`accounting`] in general) can tell
//! whether every item arrived exactly once; see [`pipeline`].
//!
//! ## Publish/subscribe
//!
//! ```
//! use std::time::Duration;
//! use zpattern::{Message, Options, Publisher, Receive, Subscriber, Transmit};
//!
//! let mut publisher = Publisher::bind("tcp://127.0.0.1:*")?;
//! let endpoint = publisher.endpoints()[0].to_string(); // the port libzmq picked
//!
//! let mut subscriber = Subscriber::open(
//!     Options::new().connect(&endpoint).recv_timeout(Duration::from_secs(5)),
//! )?;
//! subscriber.subscribe("maine coon")?;
//! subscriber.subscribe("persian")?;
//!
//! // No sleep: wait until the subscription has reached the publisher.
//! publisher.wait_for_subscribers(1, Some(Duration::from_secs(5)))?;
//! publisher.send(Message::with_topic("siamese", "bowler"))?;
//! publisher.send(Message::with_topic("persian", "fedora"))?;
//!
//! let msg = subscriber.recv()?;
//! assert_eq!(msg.topic(), b"persian");
//! assert_eq!(msg.body()[0].as_bytes(), b"fedora");
//! # Ok::<(), zpattern::Error>(())
//! ```
//!
//! ## Request/reply
//!
//! ```
//! use std::time::Duration;
//! use zpattern::{Message, Options, Replier, Requester};
//!
//! let mut server = Replier::bind("tcp://127.0.0.1:*")?;
//! let endpoint = server.endpoints()[0].to_string();
//! let serving = std::thread::spawn(move || {
//!     server.serve(Some(2), |request| {
//!         let number: i64 = String::from_utf8_lossy(request.topic()).parse().unwrap_or(0);
//!         Ok(Message::new((number * 2).to_string()))
//!     })
//! });
//!
//! let mut client = Requester::open(
//!     Options::new().connect(&endpoint).recv_timeout(Duration::from_secs(5)),
//! )?;
//! assert_eq!(client.request(Message::new("7"))?.topic(), b"14");
//! assert_eq!(client.request(Message::new("8"))?.topic(), b"16");
//! assert_eq!(serving.join().unwrap()?, 2);
//! # Ok::<(), zpattern::Error>(())
//! ```
//!
//! ## Security
//!
//! Every role takes part in ZeroMQ security through [`Options::security`]: CURVE
//! (encryption, and clients known by their public keys), PLAIN (user names and
//! passwords), and an [`security::Authenticator`] (the ZAP handler of a context)
//! that decides who gets in. A publisher that lets in one subscriber's key; an
//! intruder who knows the server's key but not an allowed one is refused, and its
//! receive fails saying so:
//!
//! ```
//! use std::time::Duration;
//! use zpattern::security::{
//!     Authenticator, ClientKeys, CurveClient, CurveServer, Keypair, Policy, Security,
//! };
//! use zpattern::{Message, Options, Publisher, Receive, Subscriber, Transmit};
//!
//! let server_keys = Keypair::generate()?;
//! let client_keys = Keypair::generate()?;
//!
//! // The authenticator runs in the publisher's context, and lets in one key.
//! let context = zmq::Context::new();
//! let policy = Policy::new().curve_clients(ClientKeys::new().with(*client_keys.public()));
//! let _authenticator = Authenticator::start(&context, policy, |report| eprintln!("{report}"))?;
//! let mut publisher = Publisher::open(
//!     Options::new()
//!         .bind("tcp://127.0.0.1:*")
//!         .context(context)
//!         .security(Security::CurveServer(CurveServer::new(server_keys.clone()))),
//! )?;
//! let endpoint = publisher.endpoints()[0].to_string();
//!
//! let client = CurveClient::new(*server_keys.public(), client_keys);
//! let mut subscriber = Subscriber::open(
//!     Options::new()
//!         .connect(&endpoint)
//!         .recv_timeout(Duration::from_secs(5))
//!         .security(Security::CurveClient(client)),
//! )?;
//! subscriber.subscribe("hats")?;
//! publisher.wait_for_subscribers(1, Some(Duration::from_secs(5)))?;
//! publisher.send(Message::with_topic("hats", "fedora"))?;
//! assert_eq!(subscriber.recv()?.body()[0].as_bytes(), b"fedora");
//!
//! let intruder = CurveClient::ephemeral(*server_keys.public())?;
//! let mut intruder = Subscriber::open(
//!     Options::new()
//!         .connect(&endpoint)
//!         .recv_timeout(Duration::from_secs(5))
//!         .security(Security::CurveClient(intruder)),
//! )?;
//! intruder.subscribe("")?;
//! let refused = intruder.recv().unwrap_err();
//! assert!(refused.to_string().contains("the server refused our credentials"), "{refused}");
//! # Ok::<(), zpattern::Error>(())
//! ```
//!
//! ## Errors and stopping
//!
//! Every fallible call returns [`Error`], whose [`ErrorKind`] maps to the binaries'
//! exit codes. A [`Stop`] given in the options interrupts blocking waits;
//! [`Stop::on_signals`] ties it to Ctrl-C.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod accounting;
// The role binaries' command-line code (feature `cli`): not part of the library's
// API; it uses only what the library makes public.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod duration;
pub mod endpoint;
pub mod error;
pub mod frame;
// The lab runner behind `zlab` (feature `lab`): not part of the library's API; it
// uses only what the library makes public.
#[cfg(feature = "lab")]
#[doc(hidden)]
pub mod lab;
mod monitor;
pub mod options;
pub mod peer;
pub mod pipeline;
pub mod pubsub;
pub mod reqrep;
mod role;
pub mod security;
mod socket;
pub mod stop;
mod sys;

/// Operating-system helpers for zpattern's own binaries and labs (process groups,
/// namespaces, limits): not part of the library's API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod os {
    pub use crate::sys::{
        effective_uid, is_root, lab_forget, lab_watch, new_network_namespace, raise_open_files,
        reap, signal_group, signal_process, start_watchdog, supervise, watchdog_send, Sockets,
        WatchdogOp, LAB_WATCHDOG_ENV,
    };
}

pub use endpoint::{Endpoint, Transport};
pub use error::{Error, ErrorKind, Result};
pub use frame::{Format, Frame, Limits, Message};
pub use options::Options;
pub use peer::PeerEvent;
pub use pipeline::{Puller, Pusher, Sink, Worker};
pub use pubsub::{Publisher, Subscriber};
pub use reqrep::{Replier, Requester};
pub use role::{Receive, Transmit};
pub use stop::Stop;
/// The `zmq` crate zpattern is built on, for contexts shared with
/// [`Options::context`] and [`security::Authenticator`].
pub use zmq;

/// The README's Rust examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
