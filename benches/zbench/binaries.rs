//! Cases 4 and 5: whole processes. `zpush < lines` into `zpull --format text`, the
//! same through `zpub --no-drop` and `zsub`, and a pyzmq script and a program on the
//! pure-Rust `zeromq` crate (`benches/zeromq_pipe`) doing zpush's and zpull's job,
//! on the same file of 64-byte lines over TCP.
//!
//! The receiver is started first and bound (off the clock); the clock runs from
//! spawning the sender until both processes have exited, so it covers process
//! start, reading, sending, delivery-confirming close, receiving and writing.
//! The peak resident memory of each process is its `VmHWM`, watched while it runs
//! (see `support::wait_all_with_usage`).

use crate::measure::Sample;
use crate::support::{
    high_water_kib, program, python, run, wait_all_with_usage, Bin, Spawn, ANY, DEADLINE,
};
use crate::BenchResult;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes in each line, newline excluded: each line is one message of this size.
pub const LINE_SIZE: usize = 64;

/// The pyzmq script, run as `python3 -c SCRIPT`.
const PYZMQ_PIPE: &str = include_str!("../pyzmq_pipe.py");

/// The input and output of the whole-process runs.
pub struct Pipes {
    /// A file of `count` lines of [`LINE_SIZE`] bytes.
    pub lines: PathBuf,
    /// How many lines.
    pub count: u64,
    /// Where receivers write (`/dev/null` for timing).
    pub output: PathBuf,
    /// Whether to check, after each run, that the output equals the input.
    pub check_output: bool,
}

impl Pipes {
    /// Write `count` distinct lines of [`LINE_SIZE`] bytes to `lines`.
    pub fn write_lines(lines: &Path, count: u64) -> BenchResult<()> {
        let mut out = BufWriter::new(File::create(lines)?);
        for i in 0..count {
            let head = format!("{i:010} ");
            let fill = "x".repeat(LINE_SIZE - head.len());
            writeln!(out, "{head}{fill}")?;
        }
        out.flush()?;
        Ok(())
    }

    /// `zpush < lines` connected to `zpull --bind`.
    pub fn zpush_zpull(&self) -> BenchResult<Sample> {
        let count = self.count.to_string();
        let receiver = run(Bin::Zpull, &["--bind", ANY, "--count", &count, "-W", "30s"]);
        self.timed(["zpush", "zpull"], receiver, |endpoint| {
            run(Bin::Zpush, &["--connect", endpoint])
        })
    }

    /// `zpub --no-drop < lines` connected to `zsub --bind` (every topic).
    pub fn zpub_zsub(&self) -> BenchResult<Sample> {
        let count = self.count.to_string();
        let receiver = run(Bin::Zsub, &["--bind", ANY, "--count", &count, "-W", "30s"]);
        self.timed(["zpub", "zsub"], receiver, |endpoint| {
            run(Bin::Zpub, &["--connect", endpoint, "--no-drop"])
        })
    }

    /// `pyzmq_pipe.py push < lines` connected to `pyzmq_pipe.py pull`.
    pub fn pyzmq(&self) -> BenchResult<Sample> {
        let count = self.count.to_string();
        let receiver = python("pyzmq_pipe", PYZMQ_PIPE, &["pull", ANY, &count]);
        self.timed(["pyzmq push", "pyzmq pull"], receiver, |endpoint| {
            python("pyzmq_pipe", PYZMQ_PIPE, &["push", endpoint])
        })
    }

    /// `zeromq_pipe push < lines` connected to `zeromq_pipe pull`. The crate's close
    /// drops what is still queued, so its pusher holds on after its input and is
    /// stopped once the puller has everything: the clock stops when the puller exits.
    pub fn zeromq_crate(&self, zeromq_pipe: &Path) -> BenchResult<Sample> {
        let count = self.count.to_string();
        let path = zeromq_pipe
            .to_str()
            .ok_or("zeromq_pipe: path is not UTF-8")?;
        let receiver = program("zeromq_pipe", path, &["pull", ANY, &count]);
        let (mut receiving, endpoint) = receiver.stdout_file(&self.output).bound();
        let start = Instant::now();
        let mut sending = program("zeromq_pipe push", path, &["push", &endpoint])
            .stdin_file(&self.lines)
            .start();
        let usage = wait_all_with_usage(&mut [&mut receiving], DEADLINE)
            .ok_or_else(|| format!("zeromq_pipe pull did not exit within {DEADLINE:?}"))?;
        let elapsed = start.elapsed();
        let sender_peak = high_water_kib(&format!("/proc/{}/status", sending.id()));
        sending.kill();
        sending.finish();
        let finished = receiving.finish();
        if finished.code != Some(0) || !finished.errors().is_empty() {
            return Err(format!("zeromq_pipe pull failed: {finished:?}").into());
        }
        self.check(&["zeromq_pipe pull"])?;
        Ok(Sample {
            peak_rss: vec![
                ("zeromq push", sender_peak),
                ("zeromq pull", usage[0].peak_rss_kib),
            ],
            ..Sample::throughput(elapsed, self.count, self.count * LINE_SIZE as u64)
        })
    }

    /// With `check_output`, fail unless the receiver wrote exactly the lines sent.
    fn check(&self, roles: &[&str]) -> BenchResult<()> {
        if self.check_output && std::fs::read(&self.output)? != std::fs::read(&self.lines)? {
            return Err(format!("{} did not write exactly the lines sent", roles[0]).into());
        }
        Ok(())
    }

    /// Start `receiver`, then time `sender` (given the bound endpoint) and the
    /// receiver until both have exited.
    fn timed(
        &self,
        roles: [&'static str; 2],
        receiver: Spawn,
        sender: impl FnOnce(&str) -> Spawn,
    ) -> BenchResult<Sample> {
        let (mut receiving, endpoint) = receiver.stdout_file(&self.output).bound();
        let start = Instant::now();
        let mut sending = sender(&endpoint).stdin_file(&self.lines).start();
        let usage = wait_all_with_usage(&mut [&mut sending, &mut receiving], DEADLINE).ok_or_else(
            || {
                format!(
                    "{} and {} did not exit within {DEADLINE:?}",
                    roles[0], roles[1]
                )
            },
        )?;
        let elapsed = start.elapsed();
        for (proc, role) in [(sending, roles[0]), (receiving, roles[1])] {
            let finished = proc.finish();
            if finished.code != Some(0) || !finished.errors().is_empty() {
                return Err(format!("{role} failed: {finished:?}").into());
            }
        }
        self.check(&roles[1..])?;
        Ok(Sample {
            peak_rss: vec![
                (roles[0], usage[0].peak_rss_kib),
                (roles[1], usage[1].peak_rss_kib),
            ],
            ..Sample::throughput(elapsed, self.count, self.count * LINE_SIZE as u64)
        })
    }
}

/// The `zeromq` crate's program, if built (`make bench` builds it; `ZEROMQ_PIPE`
/// names another path).
pub fn zeromq_pipe() -> Option<PathBuf> {
    let path = std::env::var_os("ZEROMQ_PIPE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/zeromq_pipe/release/zeromq_pipe")
        });
    path.is_file().then_some(path)
}

/// Whether `python3 -c 'import zmq'` works.
pub fn pyzmq_available() -> bool {
    python("python3", "import zmq", &[])
        .try_start()
        .is_ok_and(|probe| probe.finish().code == Some(0))
}
