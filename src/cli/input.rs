//! Where a sender's messages come from: `--data` repeated `--count` times, a file, or
//! stdin, one record per line in the chosen format (or all of it as one frame with
//! `--format raw`).
//!
//! Stdin is read by a helper thread in large chunks, so a Ctrl-C is noticed while the
//! terminal is silent (a blocked `read` would otherwise be restarted after the
//! signal), and reading overlaps with sending. Stdin redirected from a regular file
//! never blocks, and is read directly.

use crate::cli::args::SourceArgs;
use crate::error::{Error, Result};
use crate::frame::{Format, Message};
use crate::stop::Stop;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

const CHUNK: usize = 64 * 1024;

/// A stream of messages for a sender.
pub struct MessageSource {
    origin: Origin,
    format: Format,
    limit: Option<u64>,
    produced: u64,
}

enum Origin {
    /// `--data`: the same message, again and again.
    Repeat(Message),
    /// Records read from a named input.
    Records {
        reader: Box<dyn BufRead + Send>,
        name: String,
        line: u64,
        buf: Vec<u8>,
        done: bool,
    },
}

impl MessageSource {
    /// The source that `args` describe, decoding with `format`.
    pub fn open(args: &SourceArgs, format: Format, stop: &Stop) -> Result<MessageSource> {
        let origin = match (&args.data, &args.file) {
            (Some(data), _) => Origin::Repeat(
                format
                    .decode(data.as_bytes())
                    .map_err(|e| e.context("--data"))?,
            ),
            (None, Some(path)) if path != Path::new("-") => {
                let file = File::open(path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                Origin::records(
                    BufReader::with_capacity(CHUNK, file),
                    path.display().to_string(),
                )
            }
            _ => match stdin_file() {
                Some(file) => {
                    Origin::records(BufReader::with_capacity(CHUNK, file), "stdin".into())
                }
                None => Origin::records(stdin_reader(stop.clone()), "stdin".to_string()),
            },
        };
        let limit = match origin {
            Origin::Repeat(_) => Some(args.count.unwrap_or(1)),
            Origin::Records { .. } => args.count,
        };
        Ok(MessageSource {
            origin,
            format,
            limit,
            produced: 0,
        })
    }

    /// Messages read from `reader` (named `name` in errors), decoded with `format`.
    pub fn from_reader(
        reader: impl BufRead + Send + 'static,
        name: &str,
        format: Format,
    ) -> MessageSource {
        MessageSource {
            origin: Origin::records(reader, name.to_string()),
            format,
            limit: None,
            produced: 0,
        }
    }

    /// The next message, or `None` at the end of the input (or of `--count`).
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        if self.limit.is_some_and(|limit| self.produced >= limit) {
            return Ok(None);
        }
        let next = match &mut self.origin {
            Origin::Repeat(msg) => Some(msg.clone()),
            Origin::Records { .. } if self.format == Format::Raw => self.origin.read_all()?,
            Origin::Records { .. } => self.origin.read_record(self.format)?,
        };
        self.produced += u64::from(next.is_some());
        Ok(next)
    }
}

impl Origin {
    fn records(reader: impl BufRead + Send + 'static, name: String) -> Origin {
        Origin::Records {
            reader: Box::new(reader),
            name,
            line: 0,
            buf: Vec::with_capacity(256),
            done: false,
        }
    }

    /// The next non-empty line, decoded.
    fn read_record(&mut self, format: Format) -> Result<Option<Message>> {
        let Origin::Records {
            reader,
            name,
            line,
            buf,
            done,
        } = self
        else {
            return Ok(None);
        };
        loop {
            let decoded = with_next_line(reader.as_mut(), buf, |record| {
                (!record.is_empty()).then(|| format.decode(record))
            })
            .map_err(|e| read_error(name, e))?;
            let Some(decoded) = decoded else {
                *done = true;
                return Ok(None);
            };
            *line += 1;
            if let Some(decoded) = decoded {
                return decoded
                    .map(Some)
                    .map_err(|e| e.context(format_args!("{name} line {line}")));
            }
        }
    }

    /// All remaining input as one frame (`--format raw`), once.
    fn read_all(&mut self) -> Result<Option<Message>> {
        let Origin::Records {
            reader,
            name,
            buf,
            done,
            ..
        } = self
        else {
            return Ok(None);
        };
        if *done {
            return Ok(None);
        }
        buf.clear();
        reader.read_to_end(buf).map_err(|e| read_error(name, e))?;
        *done = true;
        Ok(Some(Message::new(&buf[..])))
    }
}

/// Call `decode` with the next line of `reader`, line end removed; `Ok(None)` at the
/// end of the input. A line that lies whole in the reader's buffer is decoded where
/// it lies; only a line cut by the buffer's end is gathered in `spill` first. This
/// runs once per input line, so the common case copies nothing.
fn with_next_line<T>(
    reader: &mut dyn BufRead,
    spill: &mut Vec<u8>,
    decode: impl FnOnce(&[u8]) -> T,
) -> io::Result<Option<T>> {
    match reader.fill_buf() {
        Ok(available) => {
            if let Some(end) = memchr::memchr(b'\n', available) {
                let value = decode(trim_line_end(&available[..end]));
                reader.consume(end + 1);
                return Ok(Some(value));
            }
        }
        // read_until below retries an interrupted read.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
    }
    spill.clear();
    if reader.read_until(b'\n', spill)? == 0 {
        return Ok(None);
    }
    Ok(Some(decode(trim_line_end(spill))))
}

fn trim_line_end(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

fn read_error(name: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::Other && e.to_string() == STOPPED {
        return Error::interrupted();
    }
    Error::io(format!("cannot read {name}"), e)
}

const STOPPED: &str = "stopped while waiting for input";

/// Stdin, when it is a regular file (`zpush < lines`): read directly, since a read
/// from a file never waits for a typist and a stop is seen between lines. This
/// spares the reader thread and its hand-over of every chunk.
fn stdin_file() -> Option<File> {
    let file = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    file.metadata().ok()?.is_file().then_some(file)
}

/// Stdin through a reader thread: chunks arrive over a bounded channel, and a wait
/// for the next chunk gives up when the stop is requested.
fn stdin_reader(stop: Stop) -> impl BufRead + Send {
    let (sender, chunks) = mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut chunk = vec![0; CHUNK];
            let result = match stdin.read(&mut chunk) {
                Ok(n) => {
                    chunk.truncate(n);
                    Ok(chunk)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let end = !matches!(&result, Ok(c) if !c.is_empty());
            if sender.send(result).is_err() || end {
                return;
            }
        }
    });
    ChunkReader {
        chunks,
        current: Vec::new(),
        offset: 0,
        stop,
        ended: false,
    }
}

struct ChunkReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
    stop: Stop,
    ended: bool,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.offset == self.current.len() && !self.ended {
            if self.stop.is_requested() {
                return Err(io::Error::other(STOPPED));
            }
            match self.chunks.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(chunk)) => {
                    self.ended = chunk.is_empty();
                    self.current = chunk;
                    self.offset = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
            }
        }
        Ok(&self.current[self.offset..])
    }

    fn consume(&mut self, n: usize) {
        self.offset = (self.offset + n).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(input: &'static [u8], format: Format) -> MessageSource {
        MessageSource::from_reader(io::Cursor::new(input), "test", format)
    }

    fn all(mut s: MessageSource) -> Result<Vec<Vec<Vec<u8>>>> {
        let mut out = Vec::new();
        while let Some(m) = s.next_message()? {
            out.push(m.to_vecs());
        }
        Ok(out)
    }

    #[test]
    fn one_message_per_line_and_tabs_split_frames() {
        let got = all(source(b"persian\tfedora\r\n\nsiamese\n", Format::Text)).unwrap();
        assert_eq!(
            got,
            vec![
                vec![b"persian".to_vec(), b"fedora".to_vec()],
                vec![b"siamese".to_vec()]
            ]
        );
    }

    /// Messages from `input` read through a buffer of `capacity` bytes.
    fn through_buffer(input: &'static [u8], capacity: usize) -> Result<Vec<Vec<Vec<u8>>>> {
        let reader = BufReader::with_capacity(capacity, io::Cursor::new(input));
        all(MessageSource::from_reader(reader, "test", Format::Text))
    }

    #[test]
    fn lines_cut_by_the_buffer_end_decode_as_whole_lines() {
        let input: &[u8] = b"persian\tfedora\r\n\nsiamese\tbowler\nmaine coon\n\nlast";
        let whole = through_buffer(input, 64 * 1024).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[3], vec![b"last".to_vec()]);
        // Every buffer size cuts the lines somewhere else; the messages never change.
        for capacity in 1..input.len() + 2 {
            assert_eq!(
                through_buffer(input, capacity).unwrap(),
                whole,
                "{capacity}"
            );
        }
    }

    #[test]
    fn line_numbers_count_across_buffer_ends() {
        let input: &[u8] = b"00\n\n0a0b\nzz\n";
        for capacity in 1..input.len() + 2 {
            let source = MessageSource::from_reader(
                BufReader::with_capacity(capacity, io::Cursor::new(input)),
                "test",
                Format::Hex,
            );
            let err = all(source).unwrap_err().to_string();
            assert!(err.starts_with("test line 4:"), "{capacity}: {err}");
        }
    }

    #[test]
    fn a_last_line_without_newline_still_counts() {
        assert_eq!(all(source(b"a\nb", Format::Text)).unwrap().len(), 2);
    }

    #[test]
    fn bad_records_name_the_line() {
        let err = all(source(b"00\nzz\n", Format::Hex))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test line 2:"), "{err}");
    }

    #[test]
    fn raw_takes_everything_as_one_frame() {
        let got = all(source(b"a\tb\nc\n", Format::Raw)).unwrap();
        assert_eq!(got, vec![vec![b"a\tb\nc\n".to_vec()]]);
    }

    #[test]
    fn chunk_reader_gives_up_when_stopped() {
        let (_keep_open, chunks) = mpsc::sync_channel(1);
        let stop = Stop::new();
        stop.request();
        let mut reader = ChunkReader {
            chunks,
            current: Vec::new(),
            offset: 0,
            stop,
            ended: false,
        };
        let mut line = Vec::new();
        let err = reader.read_until(b'\n', &mut line).unwrap_err();
        assert_eq!(
            read_error("stdin", err).kind(),
            crate::ErrorKind::Interrupted
        );
    }
}
