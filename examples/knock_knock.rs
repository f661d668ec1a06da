//! Knock knock over request/reply.
//!
//! Seed program: the twisted knock-knock server and client of the Python concurrency
//! notes, both sides in one process.
//!
//! The client knocks; the server asks who is there; the client gives its name, and
//! when the server asks "... who?", the client disappears without answering. As in
//! the seed, the server prints both sides of the conversation.
//!
//! ```text
//!   client (main thread)                      server thread
//!  +--------------------+  "Knock knock"     +--------------------+
//!  |  Requester         | -----------------> |  Replier           |
//!  |  REQ               | <----------------- |  REP               |
//!  |  connect           |  "Who's there?"    |  bind 127.0.0.1:*  |
//!  +--------------------+  ...               +--------------------+
//! ```
//!
//! Run: `cargo run --example knock_knock`

use std::time::Duration;
use zpattern::{Message, Options, Replier, Requester};

const TIMEOUT: Duration = Duration::from_secs(5);

/// One conversation is two exchanges: the knock, then the name.
const EXCHANGES: u64 = 2;

/// The server's side of the joke, as in the seed's `Knock.dataReceived`.
fn answer(data: &str) -> String {
    if data.starts_with("Knock knock") {
        "Who's there?".to_string()
    } else {
        format!("{data} who?")
    }
}

fn main() -> Result<(), zpattern::Error> {
    let mut server = Replier::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .recv_timeout(TIMEOUT),
    )?;
    let endpoint = server.endpoints()[0].to_string();

    let serving = std::thread::spawn(move || -> Result<(), zpattern::Error> {
        // The seed's reactor serves forever; this server listens to one conversation.
        server.serve(Some(EXCHANGES), |request| {
            let data = String::from_utf8_lossy(request.topic());
            println!("Client: {data}");
            let response = answer(&data);
            println!("Server: {response}");
            Ok(Message::new(response))
        })?;
        server.close()
    });

    // The client's side, as in the seed's `KnockClient`: knock, give a name when
    // asked who is there, and leave at anything else.
    let mut client = Requester::open(Options::new().connect(&endpoint).recv_timeout(TIMEOUT))?;
    let mut say = "Knock knock";
    loop {
        let reply = client.request(Message::new(say))?;
        if reply.topic().starts_with(b"Who's there?") {
            say = "Disappearing client";
        } else {
            break;
        }
    }
    drop(client); // and the client is gone

    serving
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
