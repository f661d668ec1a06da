//! "Stop saying" over request/reply.
//!
//! Seed program: the pyzmq REP server (`That voice in my head says: %s`, replying
//! `Stop saying %s`) and REQ client (`message #1` to `message #5`) of the Python
//! concurrency notes, both sides in one process.
//!
//! REQ and REP take strict turns: one request, one reply, five times over.
//!
//! ```text
//!   client (main thread)                    server thread
//!  +--------------------+   "message #N"   +--------------------+
//!  |  Requester         | ---------------> |  Replier           |
//!  |  REQ               |                  |  REP               |
//!  |  connect           | <--------------- |  bind 127.0.0.1:*  |
//!  +--------------------+  "Stop saying.." +--------------------+
//! ```
//!
//! Run: `cargo run --example stop_saying`

use std::time::Duration;
use zpattern::{Message, Options, Replier, Requester};

const REQUESTS: u64 = 5;
const TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> Result<(), zpattern::Error> {
    let mut server = Replier::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .recv_timeout(TIMEOUT),
    )?;
    let endpoint = server.endpoints()[0].to_string();

    let serving = std::thread::spawn(move || -> Result<(), zpattern::Error> {
        // The seed's server loops forever; this one stops after the five requests.
        server.serve(Some(REQUESTS), |request| {
            let request = String::from_utf8_lossy(request.topic()).into_owned();
            println!("That voice in my head says: {request}");
            Ok(Message::new(format!("Stop saying {request}")))
        })?;
        // Returns once the client has read the last reply.
        server.close()
    });

    let mut client = Requester::open(Options::new().connect(&endpoint).recv_timeout(TIMEOUT))?;
    for num in 1..=REQUESTS {
        let request = format!("message #{num}");
        let reply = client.request(Message::new(request.as_str()))?;
        let reply = String::from_utf8_lossy(reply.topic());
        println!("Sent {request}, received {reply}");
    }

    serving
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok(())
}
