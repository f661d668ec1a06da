//! Running a shell command as a message filter (`zrep --exec`, `zpull --exec`): the
//! message goes to the command's stdin as one record, its stdout comes back as the
//! reply or the result.
//!
//! The command runs in a process group of its own, so that a stop, or a second
//! Ctrl-C that ends us at once, ends it with everything it started. In a `zlab`
//! lab the group is registered with the lab's watchdog while the command runs, so
//! that it also dies with our node, and with zlab, however they end.

use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::frame::{Format, Frame, Message};
use crate::os;
use crate::stop::Stop;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

/// Process groups of commands running for us (`--exec`), killed when a second
/// signal ends the process at once: they would otherwise outlive it.
static CHILD_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The stop of a binary, requested by Ctrl-C or SIGTERM; a second signal ends the
/// process at once (status 130), killing the commands it runs first.
pub(crate) fn stop_on_signals() -> Result<Stop> {
    Stop::on_signals_with(|_| {
        for group in CHILD_GROUPS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = os::signal_group(*group, libc::SIGKILL);
        }
        std::process::exit(i32::from(ErrorKind::Interrupted.exit_code()));
    })
}

/// A command's process group (its leader's pid), killed if the process is ended at
/// once by a second signal; dropping the guard forgets it.
struct ChildGroup(u32);

impl ChildGroup {
    /// Track the process group led by `pid`.
    fn track(pid: u32) -> ChildGroup {
        CHILD_GROUPS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(pid);
        ChildGroup(pid)
    }

    /// Kill every process of the group.
    fn kill(&self) {
        let _ = os::signal_group(self.0, libc::SIGKILL);
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        let mut groups = CHILD_GROUPS.lock().unwrap_or_else(|p| p.into_inner());
        groups.retain(|group| *group != self.0);
        drop(groups);
        os::lab_forget(self.0);
    }
}

/// How often a wait for the command looks at the stop.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// A shell command that turns one message into another.
#[derive(Clone, Debug)]
pub struct Filter {
    command: String,
    format: Format,
    stop: Stop,
}

/// What a filter run produced.
pub struct Filtered {
    /// The command's standard output, decoded as one record (or, if it is not a
    /// valid record in the format, as one frame of raw bytes).
    pub message: Message,
    /// `None` when the command exited 0 with a valid record, else what went wrong.
    pub failure: Option<String>,
}

impl Filter {
    /// A filter running `command` with `sh -c`, exchanging records in `format`,
    /// killing the command (and what it started) when `stop` is requested.
    pub fn new(command: &str, format: Format, stop: Stop) -> Filter {
        Filter {
            command: command.to_string(),
            format,
            stop,
        }
    }

    /// Run the command once with `input` on its stdin.
    pub fn run(&self, input: &Message) -> Result<Filtered> {
        let mut record = Vec::new();
        self.format.encode(input, &mut record);
        let cannot = |e| Error::io(format!("cannot run '{}'", self.command), e);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        os::lab_watch(&mut command);
        let mut child = command.spawn().map_err(cannot)?;
        let group = ChildGroup::track(child.id());
        // Feed stdin and drain stdout from threads, so a command that writes a lot
        // before reading all of its input cannot deadlock against us.
        let stdin = child.stdin.take();
        let feeder = std::thread::spawn(move || {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input is not an error.
                let _ = stdin.write_all(&record);
            }
        });
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut output = Vec::new();
            if let Some(mut stdout) = stdout {
                let _ = stdout.read_to_end(&mut output);
            }
            output
        });
        let (done, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait());
        });
        let status = self.wait(&exited, &group)?.map_err(cannot)?;
        let _ = feeder.join();
        let output = reader.join().unwrap_or_default();
        Ok(self.filtered(&output, status))
    }

    /// Wait for the command to exit; on a stop, kill its group first.
    fn wait(
        &self,
        exited: &mpsc::Receiver<std::io::Result<ExitStatus>>,
        group: &ChildGroup,
    ) -> Result<std::io::Result<ExitStatus>> {
        loop {
            match exited.recv_timeout(STOP_CHECK) {
                Ok(status) => return Ok(status),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Ok(Err(std::io::Error::other("the command's waiter is gone")))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.stop.is_requested() {
                group.kill();
                let _ = exited.recv();
                return Err(Error::interrupted());
            }
        }
    }

    fn filtered(&self, output: &[u8], status: ExitStatus) -> Filtered {
        let record = output.strip_suffix(b"\n").unwrap_or(output);
        let (message, bad_record) = match self.format.decode(record) {
            Ok(message) => (message, None),
            Err(e) => (Message::new(Frame::new(record)), Some(e)),
        };
        let failure = match (status.success(), bad_record) {
            (true, None) => None,
            (false, _) => Some(format!("'{}' failed ({status})", self.command)),
            (true, Some(e)) => Some(format!(
                "the output of '{}' is not a valid {} record ({e})",
                self.command,
                self.format.name()
            )),
        };
        Filtered { message, failure }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_becomes_the_message() {
        let f = Filter::new("tr a-z A-Z", Format::Text, Stop::new());
        let out = f
            .run(&Message::from_frames(["cat", "hat"]).unwrap())
            .unwrap();
        assert_eq!(out.message, Message::from_frames(["CAT", "HAT"]).unwrap());
        assert!(out.failure.is_none());
    }

    #[test]
    fn a_failing_command_is_reported_with_its_output() {
        let f = Filter::new("echo partial; exit 3", Format::Text, Stop::new());
        let out = f.run(&Message::new("x")).unwrap();
        assert_eq!(out.message, Message::new("partial"));
        assert!(out.failure.unwrap().contains("exit status: 3"));
    }

    #[test]
    fn output_that_is_not_a_record_comes_back_raw_as_a_failure() {
        let f = Filter::new("echo notHex", Format::Hex, Stop::new());
        let out = f.run(&Message::new("x")).unwrap();
        assert_eq!(out.message, Message::new("notHex"));
        assert!(out.failure.unwrap().contains("not a valid hex record"));
    }

    #[test]
    fn a_stop_kills_the_command_and_what_it_started() {
        let stop = Stop::new();
        let f = Filter::new("sleep 30 & sleep 30; wait", Format::Text, stop.clone());
        let stopper = std::thread::spawn(move || {
            // Not synchronisation: the run must end on the stop whenever it comes.
            std::thread::sleep(Duration::from_millis(100));
            stop.request();
        });
        let started = std::time::Instant::now();
        let outcome = f.run(&Message::new("x"));
        assert_eq!(
            outcome.err().map(|e| e.kind()),
            Some(crate::ErrorKind::Interrupted)
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        stopper.join().unwrap();
    }

    #[test]
    fn a_command_that_ignores_its_input_still_works() {
        let f = Filter::new("echo fixed", Format::Text, Stop::new());
        let big = Message::new(vec![b'x'; 1 << 20]);
        assert_eq!(f.run(&big).unwrap().message, Message::new("fixed"));
    }
}
