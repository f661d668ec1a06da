//! Cats in hats over publish/subscribe.
//!
//! Seed program: the pyzmq publisher and subscriber of the Python concurrency notes
//! (`pub.send_multipart([cat, hat])` ten times; a subscriber on `maine coon` and
//! `persian` printing `Subscribe: %s wears a %s`), both sides in one process.
//!
//! The publisher picks a random cat (the topic) and a random hat ten times and sends
//! each pair as a two-frame message; the subscriber receives only the pairs whose cat
//! it subscribed to. `--seed N` makes the choices reproducible.
//!
//! ```text
//!   publisher thread                         main thread
//!  +----------------+   [cat, hat] x 10     +-------------------------------+
//!  |  Publisher     |   then [END]          |  Subscriber                   |
//!  |  XPUB          | --------------------> |  SUB                          |
//!  |  bind          |                       |  connect, subscribe           |
//!  |  127.0.0.1:*   |                       |  "maine coon", "persian", END |
//!  +----------------+                       +-------------------------------+
//! ```
//!
//! Run: `cargo run --example cats_hats -- --seed 42`

use clap::Parser;
use rand::{rngs::StdRng, seq::IndexedRandom, SeedableRng};
use std::time::Duration;
use zpattern::{Message, Options, Publisher, Receive, Subscriber, Transmit};

const CATS: [&str; 4] = ["siamese", "persian", "maine coon", "norwegian forest"];
const HATS: [&str; 4] = ["stovepipe", "bowler", "tam-o-shanter", "fedora"];
const TOPICS: [&str; 2] = ["maine coon", "persian"];

/// A subscriber cannot tell how many of the messages will match its topics, so the
/// publisher ends the stream explicitly: one last message on this control topic, which
/// the subscriber subscribes to as well. No cat's name starts with it, so the prefix
/// filter never mixes the two up.
const END: &str = "END";

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "Cats in hats over ZeroMQ publish/subscribe")]
struct Args {
    /// Seed for the random choices (default: a random seed).
    #[arg(long)]
    seed: Option<u64>,
}

fn main() -> Result<(), zpattern::Error> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        let seed = rand::random();
        eprintln!("(seed {seed}: rerun with --seed {seed} for the same cats and hats)");
        seed
    });

    let mut publisher = Publisher::bind("tcp://127.0.0.1:*")?;
    let endpoint = publisher.endpoints()[0].to_string();

    let mut subscriber = Subscriber::open(Options::new().connect(&endpoint).recv_timeout(TIMEOUT))?;
    for topic in TOPICS.into_iter().chain([END]) {
        subscriber.subscribe(topic)?;
    }

    let publishing = std::thread::spawn(move || -> Result<(), zpattern::Error> {
        // Instead of the Python publisher's `time.sleep(1)`: wait until the
        // subscriber's subscriptions have arrived, so that no message is lost to the
        // slow joiner.
        publisher.wait_for_subscribers(1, Some(TIMEOUT))?;
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..10 {
            let cat = CATS.choose(&mut rng).expect("there are cats");
            let hat = HATS.choose(&mut rng).expect("there are hats");
            println!("Publish: {cat} wears a {hat}");
            publisher.send(Message::with_topic(*cat, *hat))?;
        }
        publisher.send(Message::new(END))?;
        // Returns once the subscriber has read everything sent.
        publisher.close()
    });

    // The subscriber reads once the publisher is done, only so that the two sides'
    // prints do not interleave; meanwhile its messages wait in its queue.
    publishing
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;

    loop {
        let msg = subscriber.recv()?;
        if msg.topic() == END.as_bytes() {
            break;
        }
        let cat = String::from_utf8_lossy(msg.topic());
        let hat = msg.body().first().map(|f| String::from_utf8_lossy(f));
        println!("Subscribe: {cat} wears a {}", hat.unwrap_or_default());
    }
    Ok(())
}
