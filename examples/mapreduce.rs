//! MapReduce word count: mappers on several worker threads, a sink that reduces.
//!
//! Seed: the notes' MapReduce, "computation on many machines, results collected".
//! The source splits a text into chunks and pushes them, numbered by a batch header;
//! each mapper counts the words of a chunk; the sink adds the counts up, and knows
//! from its accounting that every chunk was counted exactly once (a chunk counted
//! twice would count its words twice: the sink adds each chunk once and reports the
//! duplicate).
//!
//! The job runs twice, with one mapper thread and with four, and prints both wall
//! times. The threads of one [`Worker`] run at the same time on as many cores as
//! the machine has free (there is no interpreter lock), so what four threads gain
//! is bounded by the free cores and by how much of the job the counting is. Both
//! runs must give the same counts as counting the text directly.
//!
//! ```text
//!   source                 mappers: Worker, N threads         reducer
//!  +-----------------+    +----------------------------+    +------------------+
//!  | Pusher  PUSH    | -> | PULL -> count -> PUSH  (1) | -> | Sink  PULL       |
//!  | bind *, waits   | -> | PULL -> count -> PUSH  (2) | -> | bind *, adds up  |
//!  | for N mappers   | -> | ...                  (N)   | -> | the counts       |
//!  +-----------------+    +----------------------------+    +------------------+
//! ```
//!
//! Run: `cargo run --release --example mapreduce`

use rand::{rngs::StdRng, RngExt, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use zpattern::accounting::Recorded;
use zpattern::frame::Batch;
use zpattern::pipeline::Delivery;
use zpattern::{Message, Options, Pusher, Sink, Transmit, Worker};

const VOCABULARY: [&str; 24] = [
    "the", "cat", "in", "a", "hat", "persian", "fedora", "siamese", "bowler", "maine", "coon",
    "stetson", "washer", "dryer", "dish", "salad", "bread", "entree", "dessert", "queue", "worker",
    "sink", "batch", "item",
];
const CHUNKS: usize = 400;
const WORDS_PER_CHUNK: usize = 4_000;
const TIMEOUT: Duration = Duration::from_secs(20);

type Counts = BTreeMap<String, u64>;

/// A deterministic text: words drawn with a skew, so that some are frequent.
fn corpus() -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(2024);
    (0..CHUNKS)
        .map(|_| {
            let mut chunk = String::with_capacity(WORDS_PER_CHUNK * 8);
            for i in 0..WORDS_PER_CHUNK {
                let skewed =
                    rng.random_range(0..VOCABULARY.len()) * rng.random_range(0..=100) / 100;
                chunk.push_str(VOCABULARY[skewed]);
                chunk.push_str(if i % 12 == 11 { ".\n" } else { " " });
            }
            chunk
        })
        .collect()
}

/// Map: the word counts of one chunk. Words are counted as they appear, then
/// folded to lowercase: one allocation per distinct word, not per word.
fn count_words(text: &str) -> Counts {
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        *seen.entry(word).or_insert(0) += 1;
    }
    let mut counts = Counts::new();
    for (word, n) in seen {
        *counts.entry(word.to_lowercase()).or_insert(0) += n;
    }
    counts
}

/// The mapper's work function: a chunk in, "word count" lines out.
fn map(chunk: Message) -> zpattern::Result<Message> {
    let text = String::from_utf8_lossy(chunk.topic());
    let lines: Vec<String> = count_words(&text)
        .iter()
        .map(|(word, n)| format!("{word} {n}"))
        .collect();
    Ok(Message::new(lines.join("\n")))
}

/// Reduce: add one mapper's counts to the totals.
fn reduce(totals: &mut Counts, counted: &Message) {
    for line in String::from_utf8_lossy(counted.topic()).lines() {
        if let Some((word, n)) = line.split_once(' ') {
            *totals.entry(word.to_string()).or_insert(0) += n.parse::<u64>().unwrap_or(0);
        }
    }
}

/// Count the words of `chunks` with `mappers` threads; the totals and the wall time
/// from the first chunk sent to the last count reduced.
fn run_job(chunks: &[String], mappers: usize) -> zpattern::Result<(Counts, Duration)> {
    let mut source = Pusher::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .send_timeout(TIMEOUT),
    )?;
    let mut sink = Sink::open(
        Options::new()
            .bind("tcp://127.0.0.1:*")
            .recv_timeout(TIMEOUT),
    )?;
    let workers = Worker::new(
        Options::new()
            .connect(source.endpoints()[0].to_string())
            .recv_timeout(TIMEOUT),
        Options::new().connect(sink.endpoints()[0].to_string()),
    )
    .threads(mappers)
    .batch_header(true)
    .spawn(map)?;
    source.wait_for_pullers(mappers, Some(TIMEOUT))?;

    let started = Instant::now();
    let mut batch = Batch::random(Some(chunks.len() as u64));
    for chunk in chunks {
        source.send(batch.stamp(Message::new(chunk.as_str())))?;
    }
    source.send_to_each(batch.end())?;
    let mut totals = Counts::new();
    let report = sink.collect(|delivery| {
        if let Delivery::Item {
            message,
            recorded: Recorded::New,
            ..
        } = delivery
        {
            reduce(&mut totals, &message);
        }
        Ok(())
    })?;
    let elapsed = started.elapsed();
    workers.stop();
    let tally = workers.join()?;
    if !report.is_complete() {
        return Err(zpattern::Error::new(
            zpattern::ErrorKind::Incomplete,
            report.summary(),
        ));
    }
    println!(
        "{mappers} mapper thread(s): {} chunks counted exactly once in {:.0?} (chunks per thread: {:?})",
        report.batches[0].received, elapsed, tally.per_thread
    );
    Ok((totals, elapsed))
}

fn main() -> Result<(), zpattern::Error> {
    let chunks = corpus();
    let expected = count_words(&chunks.concat());
    let (one, alone) = run_job(&chunks, 1)?;
    let (four, together) = run_job(&chunks, 4)?;
    assert_eq!(one, expected, "one mapper miscounted");
    assert_eq!(four, expected, "four mappers miscounted");

    let mut top: Vec<(&String, &u64)> = four.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let words: u64 = four.values().sum();
    println!("{words} words, {} distinct; the most frequent:", four.len());
    for (word, n) in top.iter().take(5) {
        println!("  {word:>8} {n}");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "four mappers took {:.2}x the time of one, on {cores} core(s)",
        together.as_secs_f64() / alone.as_secs_f64()
    );
    Ok(())
}
