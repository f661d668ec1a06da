//! How a run is configured ([`RunOptions`]) and followed as it happens
//! ([`Observer`]): the live view of `zlab` is one observer, [`Quiet`] another.

use crate::stop::Stop;
use std::path::PathBuf;
use std::time::Duration;

/// How the runner behaves; [`RunOptions::default`] suits most uses.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunOptions {
    /// The directory of the zpattern binaries. Default (`None`): next to the
    /// running program, else in the directory above it (cargo's `examples/` and
    /// `deps/` are one level below the binaries), else in `PATH`.
    pub bin_dir: Option<PathBuf>,
    /// How often zpattern nodes report their counts (`--stats`).
    pub stats_every: Duration,
    /// How long a node may take to exit after SIGTERM before it gets SIGKILL.
    pub grace: Duration,
    /// Requesting this stop ends the run early (the report says "interrupted").
    pub stop: Stop,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            bin_dir: None,
            stats_every: Duration::from_millis(200),
            grace: Duration::from_secs(2),
            stop: Stop::new(),
        }
    }
}

/// What a node is doing, for a live view.
#[derive(Clone, Debug)]
pub struct Row {
    /// Instance name (`NAME` or `NAME.N`).
    pub name: String,
    /// `waiting`, `running`, `exited 0`, `killed (fault)`, ...
    pub state: String,
    /// Messages sent so far (zpattern binaries only).
    pub sent: Option<u64>,
    /// Messages received so far.
    pub received: Option<u64>,
}

/// Follows a run as it happens. Both methods do nothing by default.
pub trait Observer {
    /// Something happened: a node started, bound, exited, a fault was applied.
    fn note(&mut self, at: Duration, node: Option<&str>, text: &str) {
        let _ = (at, node, text);
    }

    /// The state and counts of every instance now: a few times a second, after
    /// each event (so a state shown is never older than the last event), and once
    /// at the end, after everything stopped.
    fn tick(&mut self, at: Duration, rows: &[Row]) {
        let _ = (at, rows);
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}
