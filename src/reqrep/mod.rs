//! Request/reply: a [`Requester`] sends a request and waits for its reply; a
//! [`Replier`] answers each request in turn.
//!
//! | role          | socket | peer | direction | binary |
//! |---------------|--------|------|-----------|--------|
//! | [`Requester`] | REQ    | REP or ROUTER | send, then receive | `zreq` |
//! | [`Replier`]   | REP    | REQ or DEALER | receive, then send | `zrep` |
//!
//! The exchange is strictly alternating. A plain REQ socket whose reply never comes is
//! stuck for good; [`Requester::request`] instead gives up at its deadline and
//! replaces its socket, so the next request starts clean. With a [`Retry`] policy it
//! resends, after a pause that doubles with each attempt and has random jitter, up
//! to a number of retries (the zguide's Lazy Pirate): a server that is killed and
//! restarted mid-stream costs the client a few timeouts, not its session, and each
//! reply it gets is the reply to the request it last sent.
//!
//! ```
//! use std::time::Duration;
//! use zpattern::{Message, Options, Replier, Requester};
//!
//! let mut server = Replier::bind("tcp://127.0.0.1:*")?;
//! let endpoint = server.endpoints()[0].to_string();
//! let worker = std::thread::spawn(move || {
//!     server.serve(Some(1), |request| {
//!         let text = String::from_utf8_lossy(request.topic()).into_owned();
//!         Ok(Message::new(format!("Stop saying {text}")))
//!     })
//! });
//!
//! let mut client = Requester::open(
//!     Options::new().connect(&endpoint).recv_timeout(Duration::from_secs(5)),
//! )?;
//! let reply = client.request(Message::new("message #1"))?;
//! assert_eq!(reply.topic(), b"Stop saying message #1");
//! worker.join().unwrap()?;
//! # Ok::<(), zpattern::Error>(())
//! ```

mod replier;
mod requester;
mod retry;

pub use replier::Replier;
pub use requester::{Requester, Resend};
pub use retry::Retry;
