//! The process harness: spawn the zpattern binaries (or a foreign peer) with piped
//! stdio, read their output on threads, wait for everything with a deadline, and kill
//! whatever is still running when a test ends, also when it panics.
//!
//! `benches/zbench` uses it too, for its whole-process runs: there stdout goes to a
//! file ([`Spawn::stdout_file`]) and exits are awaited with their peak memory
//! ([`wait_all_with_usage`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single wait may take before the test fails. Generous so that a
/// loaded machine does not fail a correct test; a passing test never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Bind to an ephemeral port on the loopback interface.
pub const ANY: &str = "tcp://127.0.0.1:*";

/// How often a polling loop looks again (always inside a loop with a deadline).
const POLL: Duration = Duration::from_millis(5);

/// How often [`wait_all_with_usage`] looks for exits: finer than [`POLL`], since
/// benchmarks time them.
const EXIT_POLL: Duration = Duration::from_millis(1);

/// How often [`wait_all_with_usage`] reads memory high-water marks.
const RSS_POLL: Duration = Duration::from_millis(5);

/// The six zpattern binaries, zlab and zkeygen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    Zpub,
    Zsub,
    Zreq,
    Zrep,
    Zpush,
    Zpull,
    Zlab,
    Zkeygen,
}

impl Bin {
    pub fn name(self) -> &'static str {
        match self {
            Bin::Zpub => "zpub",
            Bin::Zsub => "zsub",
            Bin::Zreq => "zreq",
            Bin::Zrep => "zrep",
            Bin::Zpush => "zpush",
            Bin::Zpull => "zpull",
            Bin::Zlab => "zlab",
            Bin::Zkeygen => "zkeygen",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Bin::Zpub => env!("CARGO_BIN_EXE_zpub"),
            Bin::Zsub => env!("CARGO_BIN_EXE_zsub"),
            Bin::Zreq => env!("CARGO_BIN_EXE_zreq"),
            Bin::Zrep => env!("CARGO_BIN_EXE_zrep"),
            Bin::Zpush => env!("CARGO_BIN_EXE_zpush"),
            Bin::Zpull => env!("CARGO_BIN_EXE_zpull"),
            Bin::Zlab => env!("CARGO_BIN_EXE_zlab"),
            Bin::Zkeygen => env!("CARGO_BIN_EXE_zkeygen"),
        }
    }
}

/// What a spawned process reads on stdin.
enum Input {
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
    Piped,
}

/// Where a spawned process's stdout goes.
enum Output {
    /// Read line by line on a thread ([`Proc::line`]).
    Lines,
    /// Handed to the test ([`Proc::take_stdout`]).
    Raw,
    /// Written to a file, as `cmd > path` does; nothing reads it.
    File(PathBuf),
}

/// A process about to be started: `run(Bin::Zsub, &[...]).start()`.
pub struct Spawn {
    name: String,
    command: Command,
    stdin: Input,
    stdout: Output,
}

/// The path of one of the zpattern binaries, for a test that runs it through
/// another program.
pub fn bin_path(bin: Bin) -> &'static str {
    bin.path()
}

/// Prepare one of the zpattern binaries with `args`.
pub fn run(bin: Bin, args: &[&str]) -> Spawn {
    let mut command = Command::new(bin.path());
    command.args(args);
    Spawn::new(bin.name(), command)
}

/// Prepare any program, called `name` in failure messages.
pub fn program(name: &str, program: &str, args: &[&str]) -> Spawn {
    let mut command = Command::new(program);
    command.args(args);
    Spawn::new(name, command)
}

/// Prepare a Python program given as source text, with `args` in `sys.argv[1:]`.
pub fn python(name: &str, script: &str, args: &[&str]) -> Spawn {
    let mut command = Command::new("python3");
    command.arg("-c").arg(script).args(args);
    Spawn::new(name, command)
}

impl Spawn {
    fn new(name: &str, command: Command) -> Spawn {
        Spawn {
            name: name.to_string(),
            command,
            stdin: Input::Null,
            stdout: Output::Lines,
        }
    }

    /// Set environment variable `name` for the process.
    pub fn env(mut self, name: &str, value: &str) -> Spawn {
        self.command.env(name, value);
        self
    }

    /// Remove environment variable `name` for the process.
    pub fn env_remove(mut self, name: &str) -> Spawn {
        self.command.env_remove(name);
        self
    }

    /// Feed `lines`, each followed by a newline, then close stdin.
    pub fn stdin_lines<S: AsRef<str>>(self, lines: &[S]) -> Spawn {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line.as_ref().as_bytes());
            bytes.push(b'\n');
        }
        self.stdin_bytes(bytes)
    }

    /// Feed `bytes`, then close stdin.
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Spawn {
        self.stdin = Input::Bytes(bytes.into());
        self
    }

    /// Redirect stdin from a file, as `cmd < path` does.
    pub fn stdin_file(mut self, path: &Path) -> Spawn {
        self.stdin = Input::File(path.to_path_buf());
        self
    }

    /// Keep stdin open as a pipe the test writes to ([`Proc::write_stdin`]).
    pub fn stdin_piped(mut self) -> Spawn {
        self.stdin = Input::Piped;
        self
    }

    /// Hand stdout to the test ([`Proc::take_stdout`]) instead of reading it on a
    /// thread, for tests that read slowly or close the pipe.
    pub fn raw_stdout(mut self) -> Spawn {
        self.stdout = Output::Raw;
        self
    }

    /// Redirect stdout to a file (`/dev/null` included), as `cmd > path` does: for
    /// output too large to read line by line.
    pub fn stdout_file(mut self, path: &Path) -> Spawn {
        self.stdout = Output::File(path.to_path_buf());
        self
    }

    /// Start, and wait for the `NAME: bound EP` line; returns the process and EP.
    pub fn bound(self) -> (Proc, String) {
        let mut proc = self.start();
        let endpoint = proc.bound();
        (proc, endpoint)
    }

    pub fn start(self) -> Proc {
        let name = self.name.clone();
        self.try_start()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
    }

    /// Start, or say why the program could not be started.
    pub fn try_start(mut self) -> std::io::Result<Proc> {
        let stdin = match &self.stdin {
            Input::Null => Stdio::null(),
            Input::Bytes(_) | Input::Piped => Stdio::piped(),
            Input::File(path) => Stdio::from(
                File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display())),
            ),
        };
        let stdout = match &self.stdout {
            Output::Lines | Output::Raw => Stdio::piped(),
            Output::File(path) => Stdio::from(
                File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
            ),
        };
        let mut child = self
            .command
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take();
        if let Input::Bytes(bytes) = std::mem::replace(&mut self.stdin, Input::Null) {
            let mut pipe = stdin.take().expect("piped stdin");
            // A process that exits without reading everything is not the writer's
            // problem: the test judges the process by its output and exit code.
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let (stdout, raw_stdout) = match (self.stdout, child.stdout.take()) {
            (Output::Lines, Some(pipe)) => (Lines::read(pipe), None),
            (Output::Raw, pipe) => (Lines::closed(), pipe),
            _ => (Lines::closed(), None),
        };
        let stderr = Lines::read(child.stderr.take().expect("piped stderr"));
        Ok(Proc {
            name: self.name,
            child,
            stdin,
            raw_stdout,
            stdout,
            stderr,
            status: None,
        })
    }
}

/// The lines of one output stream, read by a thread and kept for the final report.
struct Lines {
    lines: Receiver<Vec<u8>>,
    seen: Vec<Vec<u8>>,
    ended: bool,
}

enum Next {
    Line(Vec<u8>),
    End,
    Timeout,
}

impl Lines {
    fn read(stream: impl Read + Send + 'static) -> Lines {
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if sender.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Lines {
            lines,
            seen: Vec::new(),
            ended: false,
        }
    }

    fn closed() -> Lines {
        let (_, lines) = mpsc::channel();
        Lines {
            lines,
            seen: Vec::new(),
            ended: true,
        }
    }

    fn next(&mut self, deadline: Instant) -> Next {
        if self.ended {
            return Next::End;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                self.seen.push(line.clone());
                Next::Line(line)
            }
            Err(RecvTimeoutError::Timeout) => Next::Timeout,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Next::End
            }
        }
    }

    /// Read up to the end of the stream; `false` if the deadline came first.
    fn read_to_end(&mut self, deadline: Instant) -> bool {
        loop {
            match self.next(deadline) {
                Next::Line(_) => {}
                Next::End => return true,
                Next::Timeout => return false,
            }
        }
    }
}

/// A running process. Dropping it kills the process if it is still running.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    raw_stdout: Option<ChildStdout>,
    stdout: Lines,
    stderr: Lines,
    status: Option<ExitStatus>,
}

impl Proc {
    /// The endpoint of the first `NAME: bound EP` line on stderr.
    pub fn bound(&mut self) -> String {
        let prefix = format!("{}: bound ", self.name);
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.stderr.next(deadline) {
                Next::Line(line) => {
                    let line = String::from_utf8_lossy(&line);
                    if let Some(endpoint) = line.strip_prefix(&prefix) {
                        return endpoint.to_string();
                    }
                }
                Next::End => panic!("{}", self.failure("ended its stderr without a bound line")),
                Next::Timeout => panic!(
                    "{}",
                    self.failure(&format!("printed no bound line within {DEADLINE:?}"))
                ),
            }
        }
    }

    /// The next stdout line; fails the test at the end of stdout or at the deadline.
    pub fn line(&mut self) -> String {
        match self.line_within(DEADLINE) {
            Some(line) => line,
            None => panic!(
                "{}",
                self.failure(&format!("printed no further line within {DEADLINE:?}"))
            ),
        }
    }

    /// The next stdout line, or `None` at the end of stdout or after `wait`.
    pub fn line_within(&mut self, wait: Duration) -> Option<String> {
        match self.stdout.next(Instant::now() + wait) {
            Next::Line(line) => Some(String::from_utf8_lossy(&line).into_owned()),
            Next::End | Next::Timeout => None,
        }
    }

    /// The stdin pipe of a process started with [`Spawn::stdin_piped`].
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().expect("started with stdin_piped")
    }

    /// Write `bytes` to the stdin pipe of a process started with
    /// [`Spawn::stdin_piped`].
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let name = self.name.clone();
        let stdin = self.stdin();
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot write to the stdin of {name}: {e}"));
    }

    /// Close stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The stdout pipe of a process started with [`Spawn::raw_stdout`].
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.raw_stdout.take().expect("started with raw_stdout")
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Wait up to `wait` for the process to exit.
    pub fn wait_with_deadline(&mut self, wait: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }

    /// The next stderr line, or `None` at the end of stderr or after `wait`.
    pub fn stderr_line_within(&mut self, wait: Duration) -> Option<String> {
        match self.stderr.next(Instant::now() + wait) {
            Next::Line(line) => Some(String::from_utf8_lossy(&line).into_owned()),
            Next::End | Next::Timeout => None,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGKILL.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Send `signal` (SIGSTOP freezes the process, SIGCONT resumes it, SIGKILL ends
    /// it without a chance to clean up).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill only sends a signal to our own child, which has not been
        // reaped yet (we hold its Child), so the pid cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill -{signal} {}", self.name);
    }

    /// Wait (up to [`DEADLINE`]) for the process to exit and for the end of its
    /// output, and check that it did not panic.
    pub fn finish(mut self) -> Finished {
        self.stdin = None;
        let Some(status) = self.wait_with_deadline(DEADLINE) else {
            panic!(
                "{}",
                self.failure(&format!("did not exit within {DEADLINE:?}"))
            );
        };
        let deadline = Instant::now() + DEADLINE;
        let stdout_ended = self.stdout.read_to_end(deadline);
        let stderr_ended = self.stderr.read_to_end(deadline);
        if !(stdout_ended && stderr_ended) {
            panic!("{}", self.failure("exited but its output did not end"));
        }
        let finished = Finished {
            name: self.name.clone(),
            code: status.code(),
            stdout: std::mem::take(&mut self.stdout.seen),
            stderr: self
                .stderr
                .seen
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect(),
        };
        assert!(
            !finished.stderr_text().contains("panicked"),
            "{} panicked: {finished:?}",
            finished.name
        );
        finished
    }

    /// A failure message: the process, `what` went wrong, and all it printed so far.
    fn failure(&mut self, what: &str) -> String {
        let status = self.try_exit();
        // Pick up whatever has already arrived, without waiting.
        let now = Instant::now();
        self.stdout.read_to_end(now);
        self.stderr.read_to_end(now);
        let text = |lines: &[Vec<u8>]| {
            lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>()
        };
        format!(
            "{} {what}: status {status:?}, stdout {:?}, stderr {:?}",
            self.name,
            text(&self.stdout.seen),
            text(&self.stderr.seen)
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What [`wait_all_with_usage`] saw of a process that has exited.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Peak resident set size in KiB (`VmHWM`).
    pub peak_rss_kib: u64,
}

/// Wait up to `wait` for every process of `procs` to exit, watching their peak
/// resident memory on the way; `None` if one is still running at the deadline.
///
/// The peak is the kernel's high-water mark of a process's memory (`VmHWM` in
/// `/proc/PID/status`), read every [`RSS_POLL`] while it runs; the mark only grows,
/// so the last reading is the peak up to then. (`wait4`'s `ru_maxrss` would be
/// simpler but is wrong here: a child spawned with vfork starts from its parent's
/// high-water mark.)
pub fn wait_all_with_usage(procs: &mut [&mut Proc], wait: Duration) -> Option<Vec<Usage>> {
    let deadline = Instant::now() + wait;
    let mut usage = vec![Usage::default(); procs.len()];
    let mut next_look = Instant::now();
    loop {
        let look = Instant::now() >= next_look;
        let mut running = 0;
        for (proc, usage) in procs.iter_mut().zip(&mut usage) {
            if proc.try_exit().is_some() {
                continue;
            }
            running += 1;
            if look {
                let status_file = format!("/proc/{}/status", proc.child.id());
                usage.peak_rss_kib = usage.peak_rss_kib.max(high_water_kib(&status_file));
            }
        }
        if look {
            next_look = Instant::now() + RSS_POLL;
        }
        if running == 0 {
            return Some(usage);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(EXIT_POLL);
    }
}

/// The `VmHWM` of a `/proc/PID/status` file in KiB; 0 once the process has exited.
pub fn high_water_kib(status_file: &str) -> u64 {
    std::fs::read_to_string(status_file)
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// A process that has exited, with everything it printed.
pub struct Finished {
    pub name: String,
    /// The exit code; `None` if a signal ended the process.
    pub code: Option<i32>,
    /// Every stdout line, without its newline.
    pub stdout: Vec<Vec<u8>>,
    /// Every stderr line.
    pub stderr: Vec<String>,
}

impl Finished {
    /// Check the exit code.
    pub fn expect(self, code: i32) -> Finished {
        assert_eq!(
            self.code,
            Some(code),
            "{} exited with {:?}, expected {code}: {self:?}",
            self.name,
            self.code
        );
        self
    }

    /// The stdout lines as text.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// All of stderr as one string.
    pub fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }

    /// The stderr lines other than the `bound` reports and the notices of a
    /// connection that closed or came back (whether a process sees its peer leave
    /// before it ends is a matter of timing).
    pub fn errors(&self) -> Vec<&str> {
        let bound = format!("{}: bound ", self.name);
        let reconnected = format!("{}: reconnected to ", self.name);
        self.stderr
            .iter()
            .map(String::as_str)
            .filter(|l| !l.starts_with(&bound) && !l.starts_with(&reconnected))
            .filter(|l| !l.ends_with(" closed; reconnecting"))
            .collect()
    }
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("name", &self.name)
            .field("code", &self.code)
            .field("stdout", &self.lines())
            .field("stderr", &self.stderr)
            .finish()
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("zpattern-{}-{n}", std::process::id()));
        // A directory left by an earlier process with the same pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// An `ipc://` endpoint for a socket file `name` in this directory.
    pub fn ipc(&self, name: &str) -> String {
        format!("ipc://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A libzmq socket of the `zmq` crate, as a foreign peer: short linger, and receive
/// and send deadlines so that no test can hang on it.
pub fn zmq_socket(context: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let socket = context.socket(kind).expect("zmq socket");
    let millis = i32::try_from(DEADLINE.as_millis()).expect("deadline in ms");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(millis).expect("rcvtimeo");
    socket.set_sndtimeo(millis).expect("sndtimeo");
    socket
}

/// Bind `socket` to an ephemeral loopback port and return the endpoint.
pub fn bind_ephemeral(socket: &zmq::Socket) -> String {
    socket.bind(ANY).expect("bind");
    socket
        .get_last_endpoint()
        .expect("last endpoint")
        .expect("endpoint is UTF-8")
}

/// Receive one multipart message, failing the test at the socket's deadline.
pub fn recv_frames(socket: &zmq::Socket) -> Vec<Vec<u8>> {
    socket
        .recv_multipart(0)
        .unwrap_or_else(|e| panic!("nothing received within {DEADLINE:?}: {e}"))
}

/// Convert a list of byte strings for comparisons.
pub fn frames(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}
