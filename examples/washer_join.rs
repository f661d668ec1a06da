//! The washer learns that every dish is dry: `JoinableQueue.join()` over a pipeline.
//!
//! Seed program: the multiprocessing washer of the Python concurrency notes, which
//! puts dishes on a `JoinableQueue`; the dryer calls `task_done()` for each, and the
//! washer's `dish_queue.join()` returns once every dish is dried.
//!
//! Here the washer numbers its dishes with a batch header and pushes them to two
//! dryer threads (a [`Worker`]); each dryer pushes the dried dish on to a [`Sink`] in
//! the washer's own process. Collecting from the sink is the join: it returns once
//! every dish is back, and its report says whether each was dried exactly once. The
//! washer binds and waits for both dryers before the first dish, so neither takes
//! the whole start of the load.
//!
//! ```text
//!   washer (main thread)          dryers: Worker, 2 threads          the washer's join
//!  +--------------------+ dish   +-----------------------------+    +--------------------+
//!  |  Pusher  PUSH      | -----> | PULL -> dry -> PUSH  (1)    | -> |  Sink  PULL        |
//!  |  bind 127.0.0.1:*  | -----> | PULL -> dry -> PUSH  (2)    | -> |  bind 127.0.0.1:*  |
//!  +--------------------+ + end  |   connect         connect   |    +--------------------+
//!                                +-----------------------------+
//! ```
//!
//! Run: `cargo run --example washer_join`

use std::time::Duration;
use zpattern::frame::Batch;
use zpattern::{Message, Options, Pusher, Sink, Transmit, Worker};

const DISHES: [&str; 4] = ["salad", "bread", "entree", "dessert"];
const DRYERS: usize = 2;
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Result<(), zpattern::Error> {
    let mut washer = Pusher::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .send_timeout(TIMEOUT),
    )?;
    let mut join = Sink::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .recv_timeout(TIMEOUT),
    )?;

    let dryers = Worker::new(
        Options::new()
            .connect(washer.endpoints()[0].to_string())
            .recv_timeout(TIMEOUT),
        Options::new().connect(join.endpoints()[0].to_string()),
    )
    .threads(DRYERS)
    .batch_header(true)
    .spawn(|dish| {
        println!("Drying {} dish", String::from_utf8_lossy(dish.topic()));
        Ok(dish)
    })?;

    washer.wait_for_pullers(DRYERS, Some(TIMEOUT))?;
    let mut batch = Batch::random(Some(DISHES.len() as u64));
    for dish in DISHES {
        println!("Washing {dish} dish");
        washer.send(batch.stamp(Message::new(dish)))?;
    }
    // One end per dryer, so each knows the load is done (neither needs to).
    washer.send_to_each(batch.end())?;

    // dish_queue.join(): back once every dish is dry, with the proof.
    let report = join.collect(|_dried| Ok(()))?;
    dryers.stop();
    let tally = dryers.join()?;
    for line in report.lines() {
        println!("Washer: {line}");
    }
    println!(
        "Dishes are dried: {} of {}, shared by the dryers as {:?}",
        report.batches[0].received,
        DISHES.len(),
        tally.per_thread
    );
    if report.is_complete() {
        Ok(())
    } else {
        Err(zpattern::Error::new(
            zpattern::ErrorKind::Incomplete,
            report.summary(),
        ))
    }
}
