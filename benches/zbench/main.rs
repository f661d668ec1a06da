//! `make bench`: zpattern side by side with the same exchange written by hand on the
//! raw `zmq` crate, and the role binaries with a pyzmq script, in one run.
//!
//! Absolute figures drift from run to run on a shared machine, so every claim is a
//! ratio of medians measured in the same run: the sides of a case alternate round by
//! round (A, B, A, B...), and drift reaches both alike.
//!
//! ```text
//! cargo bench --bench zbench                   # the full run: a few minutes
//! cargo bench --bench zbench -- --smoke        # tiny counts: every case runs once or twice
//! cargo bench --bench zbench -- --only pull    # only the cases whose name has "pull"
//! cargo bench --bench zbench -- --rounds 9     # more rounds (default 5)
//! cargo bench --bench zbench -- --count 1000   # every case moves N messages (profiling)
//! cargo bench --bench zbench -- --side raw      # only the sides whose name has "raw"
//! ```
//!
//! `benches/instructions.sh` runs single sides under callgrind to count the
//! instructions each message costs, a figure this noisy machine cannot move.
//!
//! The cases: 1. PUSH→PULL throughput ([`pipeline`]); 2. PUB→SUB throughput
//! ([`pubsub`]); 3. REQ↔REP latency ([`reqrep`]); 4 and 5. whole binaries and a
//! pyzmq script ([`binaries`]). Progress goes to stderr and the report, in markdown,
//! to stdout. The exit status says whether every case ran and delivered every
//! message, never whether it was fast.

mod binaries;
mod machine;
mod measure;
mod pipeline;
mod place;
mod pubsub;
mod report;
mod reqrep;
#[path = "../../tests/cli/support.rs"]
#[allow(dead_code)]
mod support;

use measure::{interleave, Sample, Side, Spread, Summary};
use report::{Comparison, EncryptionCost, Metric, Pipeline, Report};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The error of a case that could not run or lost messages.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The longest any receive or process may wait: a lost message fails the run
/// instead of hanging it.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// [`DEADLINE`] for the raw sockets' timeouts.
pub const DEADLINE_MS: i32 = 30_000;

/// How much each case moves.
struct Scale {
    rounds: usize,
    small: u64,
    kib: u64,
    large: u64,
    pubsub: u64,
    round_trips: u64,
    lines: u64,
}

impl Scale {
    /// About two minutes on a 2-core machine.
    const FULL: Scale = Scale {
        rounds: 5,
        small: 1_000_000,
        kib: 300_000,
        large: 10_000,
        pubsub: 1_000_000,
        round_trips: 20_000,
        lines: 1_000_000,
    };
    /// Seconds: enough for every code path to run, too little to time.
    const SMOKE: Scale = Scale {
        rounds: 2,
        small: 2_000,
        kib: 1_000,
        large: 100,
        pubsub: 2_000,
        round_trips: 200,
        lines: 2_000,
    };

    /// `count` messages in every case.
    fn all(rounds: usize, count: u64) -> Scale {
        Scale {
            rounds,
            small: count,
            kib: count,
            large: count,
            pubsub: count,
            round_trips: count,
            lines: count,
        }
    }
}

/// The command line.
struct Settings {
    smoke: bool,
    rounds: Option<usize>,
    count: Option<u64>,
    only: Option<String>,
    side: Option<String>,
}

impl Settings {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Settings, String> {
        let mut settings = Settings {
            smoke: false,
            rounds: None,
            count: None,
            only: None,
            side: None,
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--smoke" => settings.smoke = true,
                "--rounds" => {
                    let n = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0);
                    settings.rounds = Some(n.ok_or("--rounds needs a number above 0")?);
                }
                "--count" => {
                    let n = args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0);
                    settings.count = Some(n.ok_or("--count needs a number above 0")?);
                }
                "--only" => settings.only = Some(args.next().ok_or("--only needs a text")?),
                "--side" => settings.side = Some(args.next().ok_or("--side needs a text")?),
                // cargo bench passes --bench to every bench target.
                "--bench" => {}
                other => {
                    return Err(format!(
                        "unknown argument '{other}' (known: --smoke, --rounds N, --count N, --only TEXT, --side TEXT)"
                    ))
                }
            }
        }
        Ok(settings)
    }

    fn selects(&self, case: &str) -> bool {
        self.only.as_deref().is_none_or(|only| case.contains(only))
    }

    fn selects_side(&self, side: &str) -> bool {
        self.side
            .as_deref()
            .is_none_or(|wanted| side.contains(wanted))
    }
}

fn main() -> ExitCode {
    place::init();
    let settings = match Settings::parse(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("zbench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&settings) {
        Ok(report) => {
            print!("{}", report.markdown());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zbench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(settings: &Settings) -> BenchResult<Report> {
    let mut scale = if settings.smoke {
        Scale::SMOKE
    } else {
        Scale::FULL
    };
    if let Some(count) = settings.count {
        scale = Scale::all(scale.rounds, count);
    }
    let rounds = settings.rounds.unwrap_or(scale.rounds);
    let dir = support::TempDir::new();
    let mut report = Report {
        settings: format!(
            "`cargo bench --bench zbench{}`: {rounds} interleaved rounds per case{}.",
            if settings.smoke { " -- --smoke" } else { "" },
            if settings.smoke {
                " (smoke run: counts too small for the figures to mean anything)"
            } else {
                ""
            }
        ),
        machine: machine::describe(),
        ..Report::default()
    };
    library_cases(settings, &scale, rounds, dir.path(), &mut report)?;
    binary_cases(settings, &scale, rounds, dir.path(), &mut report)?;
    report.machine.push(format!(
        "load average at the end: {}",
        machine::load_average()
    ));
    Ok(report)
}

/// Cases 1 to 3.
fn library_cases(
    settings: &Settings,
    scale: &Scale,
    rounds: usize,
    dir: &Path,
    report: &mut Report,
) -> BenchResult<()> {
    for place in [Place::Tcp, Place::Ipc(dir.to_path_buf())] {
        for (size, count) in [(64, scale.small), (1024, scale.kib), (65536, scale.large)] {
            let name = format!("push→pull {place} {}", size_name(size));
            if settings.selects(&name) {
                let case = pipeline::Throughput {
                    place: place.clone(),
                    size,
                    count,
                    curve: false,
                };
                let sides = vec![
                    Side::new("raw zmq", || pipeline::raw(&case)),
                    Side::new("zpattern", || pipeline::zpattern(&case)),
                ];
                compare(settings, report, name, Metric::Throughput, rounds, sides)?;
            }
        }
    }
    // What encryption costs: raw zmq and zpattern with CURVE, and zpattern without,
    // interleaved in one run.
    for (size, count) in [(64, scale.small), (1024, scale.kib)] {
        let name = format!("push→pull tcp {} CURVE", size_name(size));
        if settings.selects(&name) {
            let curve = pipeline::Throughput {
                place: Place::Tcp,
                size,
                count,
                curve: true,
            };
            let null = pipeline::Throughput {
                curve: false,
                ..curve.clone()
            };
            let sides = vec![
                Side::new("raw zmq CURVE", || pipeline::raw(&curve)),
                Side::new("zpattern CURVE", || pipeline::zpattern(&curve)),
                Side::new("zpattern NULL", || pipeline::zpattern(&null)),
            ];
            compare(settings, report, name, Metric::Throughput, rounds, sides)?;
        }
    }
    let name = "pub→sub tcp [10 B, 64 B]".to_string();
    if settings.selects(&name) {
        let sides = vec![
            Side::new("raw zmq", || pubsub::raw(scale.pubsub)),
            Side::new("zpattern", || pubsub::zpattern(scale.pubsub)),
        ];
        compare(settings, report, name, Metric::Throughput, rounds, sides)?;
    }
    let name = "req↔rep tcp 64 B".to_string();
    if settings.selects(&name) {
        let sides = vec![
            Side::new("raw zmq", || reqrep::raw(scale.round_trips)),
            Side::new("zpattern", || reqrep::zpattern(scale.round_trips)),
        ];
        compare(settings, report, name, Metric::Latency, rounds, sides)?;
    }
    Ok(())
}

/// Run a raw side and a zpattern side interleaved; add the comparison to `report`
/// (unless `--side` left only one of them to run).
fn compare(
    settings: &Settings,
    report: &mut Report,
    name: String,
    metric: Metric,
    rounds: usize,
    mut sides: Vec<Side>,
) -> BenchResult<()> {
    sides.retain(|side| settings.selects_side(side.name));
    let samples = interleave(&name, rounds, &mut sides)?;
    if samples.len() < 2 {
        return Ok(());
    }
    let figure = |s: &Sample| match metric {
        Metric::Throughput => s.rate(),
        Metric::Latency => s.latency.map_or(f64::NAN, |l| l.p50.as_secs_f64()),
    };
    let round_ratios = samples[0]
        .iter()
        .zip(&samples[1])
        .map(|(raw, ours)| figure(ours) / figure(raw));
    if let Some(unencrypted) = samples.get(2) {
        // A third side: the zpattern side without encryption, against which the
        // second one's encryption is weighed.
        let costs = samples[1]
            .iter()
            .zip(unencrypted)
            .map(|(curve, null)| figure(curve) / figure(null));
        report.encryption.push(EncryptionCost {
            name: name.clone(),
            encrypted: Summary::of(&samples[1])?,
            unencrypted: Summary::of(unencrypted)?,
            round_ratios: Spread::of(costs).ok_or("a case has no rounds")?,
        });
    }
    report.library.push(Comparison {
        name,
        metric,
        raw: Summary::of(&samples[0])?,
        ours: Summary::of(&samples[1])?,
        round_ratios: Spread::of(round_ratios).ok_or("a case has no rounds")?,
    });
    Ok(())
}

/// Cases 4 and 5.
fn binary_cases(
    settings: &Settings,
    scale: &Scale,
    rounds: usize,
    dir: &Path,
    report: &mut Report,
) -> BenchResult<()> {
    let mut names = vec!["zpush→zpull", "zpub→zsub", "pyzmq push→pull"];
    if !binaries::pyzmq_available() {
        names.pop();
        report.notes.push(
            "pyzmq push→pull skipped: `python3 -c 'import zmq'` fails (pip install pyzmq)".into(),
        );
    }
    let zeromq_pipe = binaries::zeromq_pipe();
    match zeromq_pipe {
        Some(_) => names.push("zeromq-crate push→pull"),
        None => report.notes.push(
            "zeromq-crate push→pull skipped: benches/zeromq_pipe is not built (make bench builds it)"
                .into(),
        ),
    }
    names.retain(|name| settings.selects(name) && settings.selects_side(name));
    if names.is_empty() {
        return Ok(());
    }
    let lines = dir.join("lines.txt");
    binaries::Pipes::write_lines(&lines, scale.lines)?;
    let pipes = binaries::Pipes {
        lines,
        count: scale.lines,
        output: if settings.smoke {
            dir.join("received.txt")
        } else {
            PathBuf::from("/dev/null")
        },
        check_output: settings.smoke,
    };
    let mut sides: Vec<Side> = names
        .iter()
        .map(|&name| match name {
            "zpush→zpull" => Side::new(name, || pipes.zpush_zpull()),
            "zpub→zsub" => Side::new(name, || pipes.zpub_zsub()),
            "zeromq-crate push→pull" => Side::new(name, || match &zeromq_pipe {
                Some(path) => pipes.zeromq_crate(path),
                None => Err("zeromq_pipe is not built".into()),
            }),
            _ => Side::new(name, || pipes.pyzmq()),
        })
        .collect();
    let case = format!("{} lines of {} B", scale.lines, binaries::LINE_SIZE);
    let samples = interleave(&case, rounds, &mut sides)?;
    for (name, taken) in names.into_iter().zip(&samples) {
        report.pipelines.push(Pipeline {
            name,
            summary: Summary::of(taken)?,
        });
    }
    Ok(())
}

/// Where a receiver binds.
#[derive(Clone, Debug)]
pub enum Place {
    /// A free TCP port on the loopback interface.
    Tcp,
    /// A fresh unix socket in this directory.
    Ipc(PathBuf),
}

impl Place {
    /// An address to bind, fresh for each run.
    pub fn bind_address(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        match self {
            Place::Tcp => "tcp://127.0.0.1:*".into(),
            Place::Ipc(dir) => {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                format!("ipc://{}/{n}.sock", dir.display())
            }
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Place::Tcp => "tcp",
            Place::Ipc(_) => "ipc",
        })
    }
}

fn size_name(size: usize) -> String {
    match size {
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// The endpoint a raw socket bound, wildcard port resolved.
pub fn bound_endpoint(socket: &zmq::Socket) -> BenchResult<String> {
    socket
        .get_last_endpoint()?
        .map_err(|_| "the bound endpoint is not UTF-8".into())
}

/// The result of a receiving or serving thread.
pub fn joined<T>(thread: JoinHandle<BenchResult<T>>) -> BenchResult<T> {
    thread.join().map_err(|_| "a receiving thread panicked")?
}

/// A receive that gave up before `count` messages arrived.
pub fn lost(
    received: u64,
    count: u64,
    cause: impl fmt::Display,
) -> Box<dyn std::error::Error + Send + Sync> {
    format!("only {received} of {count} messages arrived ({cause})").into()
}
