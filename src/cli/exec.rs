//! Running a shell command as a message filter (`zrep --exec`): the message goes to
//! the command's stdin as one record, its stdout comes back as the reply.

use crate::error::{Error, Result};
use crate::frame::{Format, Message};
use std::io::Write;
use std::process::{Command, Stdio};

/// A shell command that turns one message into another.
#[derive(Clone, Debug)]
pub struct Filter {
    command: String,
    format: Format,
}

/// What a filter run produced.
pub struct Filtered {
    /// The command's standard output, decoded as one record.
    pub message: Message,
    /// `None` when the command exited 0, else a description of how it failed.
    pub failure: Option<String>,
}

impl Filter {
    /// A filter running `command` with `sh -c`, exchanging records in `format`.
    pub fn new(command: &str, format: Format) -> Filter {
        Filter {
            command: command.to_string(),
            format,
        }
    }

    /// Run the command once with `input` on its stdin.
    pub fn run(&self, input: &Message) -> Result<Filtered> {
        let mut record = Vec::new();
        self.format.encode(input, &mut record);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(format!("cannot run '{}'", self.command), e))?;
        // Feed stdin from a thread so a command that writes a lot before reading all of
        // its input cannot deadlock against us.
        let stdin = child.stdin.take();
        let feeder = std::thread::spawn(move || {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input is not an error.
                let _ = stdin.write_all(&record);
            }
        });
        let output = child
            .wait_with_output()
            .map_err(|e| Error::io(format!("cannot run '{}'", self.command), e))?;
        let _ = feeder.join();
        let stdout = output.stdout.strip_suffix(b"\n").unwrap_or(&output.stdout);
        let message = self
            .format
            .decode(stdout)
            .map_err(|e| e.context(format_args!("output of '{}'", self.command)))?;
        let failure = (!output.status.success())
            .then(|| format!("'{}' failed ({})", self.command, output.status));
        Ok(Filtered { message, failure })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_becomes_the_message() {
        let f = Filter::new("tr a-z A-Z", Format::Text);
        let out = f
            .run(&Message::from_frames(["cat", "hat"]).unwrap())
            .unwrap();
        assert_eq!(out.message, Message::from_frames(["CAT", "HAT"]).unwrap());
        assert!(out.failure.is_none());
    }

    #[test]
    fn a_failing_command_is_reported_with_its_output() {
        let f = Filter::new("echo partial; exit 3", Format::Text);
        let out = f.run(&Message::new("x")).unwrap();
        assert_eq!(out.message, Message::new("partial"));
        assert!(out.failure.unwrap().contains("exit status: 3"));
    }

    #[test]
    fn a_command_that_ignores_its_input_still_works() {
        let f = Filter::new("echo fixed", Format::Text);
        let big = Message::new(vec![b'x'; 1 << 20]);
        assert_eq!(f.run(&big).unwrap().message, Message::new("fixed"));
    }
}
