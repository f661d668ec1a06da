//! The washer and two dryers over a pipeline.
//!
//! Seed program: the dish-washing work queue of the Python concurrency notes (a
//! washer feeding dryer threads through a queue; in the Redis version, ended by a
//! `quit` sentinel), both sides in one process.
//!
//! The washer pushes each washed dish; PUSH hands every message to exactly one dryer,
//! round-robin, so each dish is dried once. Each dryer stops at its own `quit`.
//!
//! ```text
//!                                           dryer thread 1
//!   washer (main thread)                   +--------------------+
//!  +--------------------+   dish, quit     |  Puller            |
//!  |  Pusher            | ---------------> |  PULL              |
//!  |  PUSH              |                  |  bind 127.0.0.1:*  |
//!  |  connect to both   |                  +--------------------+
//!  |                    |   dish, quit      dryer thread 2
//!  |                    | ---------------> +--------------------+
//!  +--------------------+                  |  Puller            |
//!                                          |  PULL              |
//!                                          |  bind 127.0.0.1:*  |
//!                                          +--------------------+
//! ```
//!
//! Run: `cargo run --example washer_dryers`

use std::time::Duration;
use zpattern::{Message, Options, Puller, Pusher, Receive, Transmit};

const DISHES: [&str; 4] = ["salad", "bread", "entree", "dessert"];
const DRYERS: usize = 2;
/// The Redis seed's sentinel: a dryer that receives it stops.
const QUIT: &str = "quit";
const TIMEOUT: Duration = Duration::from_secs(5);

/// Dry dishes until `quit`; returns the dishes dried.
fn dryer(number: usize, mut input: Puller) -> zpattern::Result<Vec<String>> {
    let mut dried = Vec::new();
    loop {
        let msg = input.recv()?;
        let dish = String::from_utf8_lossy(msg.topic()).into_owned();
        if dish == QUIT {
            return Ok(dried);
        }
        println!("Dryer {number}: Drying {dish} dish");
        dried.push(dish);
    }
}

fn main() -> Result<(), zpattern::Error> {
    // The dryers bind and the washer connects to each of them. A pusher deals only to
    // dryers whose connection is up, so the washer waits (on connection events, not a
    // sleep) until both are; then the dishes alternate between them.
    let mut endpoints = Vec::new();
    let mut drying = Vec::new();
    for number in 1..=DRYERS {
        let input = Puller::open(
            Options::new()
                .bind("tcp://127.0.0.1:*")
                .recv_timeout(TIMEOUT),
        )?;
        endpoints.push(input.endpoints()[0].to_string());
        drying.push(std::thread::spawn(move || dryer(number, input)));
    }

    let mut options = Options::new().send_timeout(TIMEOUT);
    for endpoint in &endpoints {
        options = options.connect(endpoint);
    }
    let mut washer = Pusher::open(options)?;
    washer.wait_for_pullers(DRYERS, Some(TIMEOUT))?;
    for dish in DISHES {
        println!("Washing {dish} dish");
        washer.send(Message::new(dish))?;
    }
    // One quit per dryer: PUSH gives each message to a single dryer, so a lone quit
    // would stop one dryer and leave the other waiting. Round-robin deals one to each.
    for _ in 0..DRYERS {
        washer.send(Message::new(QUIT))?;
    }
    // Returns once both dryers have read everything sent.
    washer.close()?;

    let mut dried = 0;
    for (number, handle) in (1..).zip(drying) {
        let dishes = handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        println!("Dryer {number} dried: {}", dishes.join(", "));
        dried += dishes.len();
    }
    println!("Dishes are dried: {dried} of {}", DISHES.len());
    Ok(())
}
