//! Writing received messages, in a format or by a `--template`: buffered (a
//! million small messages must not mean a million `write` calls) yet prompt,
//! because the receive loops flush whenever no further message is waiting.

use crate::cli::template::{Seen, Template};
use crate::error::{Error, Result};
use crate::frame::{now_micros, Format, Message};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;

/// Flush once this much output is pending, even while messages keep coming.
const FLUSH_AT: usize = 64 * 1024;

/// Writes messages in a [`Format`], or by a [`Template`], to stdout (or any writer),
/// with explicit flushes.
pub struct MessageWriter<W: Write = File> {
    out: W,
    pending: Vec<u8>,
    format: Format,
    template: Option<Template>,
}

impl MessageWriter<File> {
    /// A writer to the process's standard output, bypassing the standard library's
    /// line buffering so that flushing is under our control.
    pub fn stdout(format: Format) -> Result<MessageWriter<File>> {
        let fd = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::io("cannot use stdout", e))?;
        Ok(MessageWriter::new(File::from(fd), format))
    }
}

impl<W: Write> MessageWriter<W> {
    /// A writer to `out`.
    pub fn new(out: W, format: Format) -> MessageWriter<W> {
        MessageWriter {
            out,
            pending: Vec::with_capacity(FLUSH_AT + 4096),
            format,
            template: None,
        }
    }

    /// Write each message by `template` instead of the format, if there is one.
    pub fn template(mut self, template: Option<Template>) -> MessageWriter<W> {
        self.template = template;
        self
    }

    /// Whether what is written shows the arrival time, which the caller then
    /// gives in [`Seen`].
    pub fn needs_time(&self) -> bool {
        self.template.as_ref().is_some_and(Template::needs_time)
    }

    /// Queue one message that has just arrived, without a batch header; writes out
    /// when enough is pending.
    pub fn write(&mut self, msg: &Message) -> Result<()> {
        let seen = Seen {
            arrived_us: if self.needs_time() { now_micros() } else { 0 },
            header: None,
            peer: msg.peer_address(),
        };
        self.write_seen(msg, &seen)
    }

    /// Queue one message seen as `seen` says (a template may show when it arrived,
    /// its header, its peer); writes out when enough is pending.
    pub fn write_seen(&mut self, msg: &Message, seen: &Seen) -> Result<()> {
        match &self.template {
            Some(template) => template.render(msg, seen, &mut self.pending),
            None => self.format.encode(msg, &mut self.pending),
        }
        if self.pending.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Write out everything pending.
    pub fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let result = self
                .out
                .write_all(&self.pending)
                .and_then(|()| self.out.flush());
            self.pending.clear();
            result.map_err(|e| Error::io("cannot write to stdout", e))?;
        }
        Ok(())
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records each write call, to count them.
    #[derive(Default)]
    struct Calls(Vec<Vec<u8>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn many_small_messages_make_few_writes() {
        let mut w = MessageWriter::new(Calls::default(), Format::Text);
        let msg = Message::from_frames(["persian", "fedora"]).unwrap();
        for _ in 0..10_000 {
            w.write(&msg).unwrap();
        }
        w.flush().unwrap();
        let calls = &w.get_ref().0;
        assert!(calls.len() <= 3, "{} writes", calls.len());
        let total: usize = calls.iter().map(Vec::len).sum();
        assert_eq!(total, 10_000 * b"persian\tfedora\n".len());
    }

    #[test]
    fn a_template_replaces_the_format() {
        let template = Template::parse("{1} of {0}").unwrap();
        let mut w = MessageWriter::new(Calls::default(), Format::Json).template(Some(template));
        assert!(!w.needs_time());
        w.write(&Message::with_topic("persian", "fedora")).unwrap();
        w.flush().unwrap();
        assert_eq!(w.get_ref().0, vec![b"fedora of persian\n".to_vec()]);
    }

    #[test]
    fn nothing_is_written_before_a_flush_of_a_small_batch() {
        let mut w = MessageWriter::new(Calls::default(), Format::Text);
        w.write(&Message::new("one")).unwrap();
        assert!(w.get_ref().0.is_empty());
        w.flush().unwrap();
        assert_eq!(w.get_ref().0, vec![b"one\n".to_vec()]);
    }

    #[test]
    fn a_closed_reader_is_a_broken_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = MessageWriter::new(Closed, Format::Text);
        w.write(&Message::new("x")).unwrap();
        assert_eq!(w.flush().unwrap_err().kind(), crate::ErrorKind::BrokenPipe);
    }
}
