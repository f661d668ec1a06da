//! The processes of a lab: each node replica runs in its own process group, dies
//! with zlab (even when zlab is killed with SIGKILL: the kernel's parent-death
//! signal for the node, the [watchdog](super::watchdog) for its whole group), and
//! has its stdout and stderr read line by line on threads that send [`Output`] to
//! the runner.

use super::instance::Input;
use super::limits::check_input_file;
use super::watchdog::Watchdog;
use crate::os;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::RawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// A line, or the end of a stream, from one run (`generation`) of an instance.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) instance: usize,
    pub(crate) generation: u32,
    pub(crate) stream: Stream,
    /// `None` at the end of the stream.
    pub(crate) line: Option<String>,
}

/// What to start.
pub(crate) struct Launch<'a> {
    pub(crate) program: &'a Path,
    pub(crate) args: &'a [String],
    pub(crate) input: Option<&'a Input>,
    pub(crate) netns: Option<RawFd>,
    pub(crate) watchdog: &'a Arc<Watchdog>,
    pub(crate) instance: usize,
    pub(crate) generation: u32,
}

/// A running process group.
pub(crate) struct Child {
    child: std::process::Child,
    group: u32,
    watchdog: Arc<Watchdog>,
}

impl Child {
    /// Start `launch`, its output going to `output`.
    pub(crate) fn spawn(launch: &Launch, output: &Sender<Output>) -> std::io::Result<Child> {
        let mut command = Command::new(launch.program);
        let stdin = match launch.input {
            None => Stdio::null(),
            Some(Input::Text(_)) => Stdio::piped(),
            Some(Input::File(path)) => Stdio::from(open_input(path)?),
        };
        command
            .args(launch.args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        os::supervise(&mut command, launch.netns, launch.watchdog.sockets());
        let mut child = command.spawn()?;
        if let (Some(mut stdin), Some(Input::Text(input))) = (child.stdin.take(), launch.input) {
            let input = std::sync::Arc::clone(input);
            // A node that stops reading early is judged by its exit code, not here.
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let tag = |stream| (launch.instance, launch.generation, stream, output.clone());
        if let Some(stdout) = child.stdout.take() {
            read_lines(stdout, tag(Stream::Stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            read_lines(stderr, tag(Stream::Stderr));
        }
        let group = child.id();
        Ok(Child {
            child,
            group,
            watchdog: Arc::clone(launch.watchdog),
        })
    }

    /// The process id (also its process group id).
    pub(crate) fn id(&self) -> u32 {
        self.group
    }

    /// Send `signal` to the whole process group.
    pub(crate) fn signal(&self, signal: i32) {
        // The group may be gone already: nothing left to signal.
        let _ = os::signal_group(self.group, signal);
    }

    /// The exit status, if the process has exited.
    pub(crate) fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Child {
    /// Nothing a lab started outlives it: kill the group, reap the leader, and tell
    /// the watchdog the group is done with.
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        } else {
            // The leader is gone; its children, if any, go with the group.
            self.signal(libc::SIGKILL);
        }
        self.watchdog.forget(self.group);
    }
}

/// Open a node's `input_file` to hand it over as its stdin, checked again as the
/// plan checked it: it may have changed since. Opened without blocking, so that a
/// file replaced by a named pipe is refused rather than waited on.
fn open_input(path: &Path) -> std::io::Result<File> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    check_input_file(path, &file.metadata()?).map_err(std::io::Error::other)?;
    Ok(file)
}

fn read_lines(
    stream: impl Read + Send + 'static,
    (instance, generation, which, output): (usize, u32, Stream, Sender<Output>),
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            let line = match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => None,
                Ok(_) => {
                    if buffer.last() == Some(&b'\n') {
                        buffer.pop();
                    }
                    Some(String::from_utf8_lossy(&buffer).into_owned())
                }
            };
            let end = line.is_none();
            let sent = output.send(Output {
                instance,
                generation,
                stream: which,
                line,
            });
            if end || sent.is_err() {
                return;
            }
        }
    });
}
