//! Where a sender's messages come from: `--data` repeated `--count` times, a file, or
//! stdin, one record per line in the chosen format (or all of it as one frame with
//! `--format raw`).
//!
//! Stdin (and a `--file` that is not a regular file: a FIFO, a device) is read by a
//! helper thread in large chunks, so a Ctrl-C is noticed while the input is silent
//! (a blocked `read` would otherwise be restarted after the signal), and reading
//! overlaps with sending. A regular file never blocks, and is read directly.
//!
//! What is read is bounded by `--max-size`: a message larger than that in all is
//! refused before it is sent (`stdin line 3: 20000000 bytes, over --max-size
//! (16777216)`), and a line too long to hold such a message in its format is refused
//! without being read whole, so `-f /dev/zero` is an error, not a process that grows
//! until the machine runs out of memory.

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
    /// The largest message, in bytes (all frames), that may be sent.
    max_size: usize,
}

enum Origin {
    /// `--data`: the same message, again and again.
    Repeat(Message),
    /// Records read from a named input.
    Records {
        reader: Box<dyn Input>,
        /// The input's size, for a regular file.
        size: Option<u64>,
        name: String,
        line: u64,
        buf: Vec<u8>,
        done: bool,
    },
}

/// A buffered input that can tell whether its next read would wait.
trait Input: BufRead + Send {
    /// Whether nothing is buffered and the next read may wait for the writer.
    fn would_wait(&mut self) -> bool;

    /// How many bytes have been taken from the input so far, where that is
    /// counted (a regular file, for its progress).
    fn consumed(&self) -> u64 {
        0
    }
}

/// An input that never waits: a regular file, a buffer. It counts what is taken.
struct Ready<R> {
    inner: R,
    consumed: u64,
}

impl<R> Ready<R> {
    fn new(inner: R) -> Ready<R> {
        Ready { inner, consumed: 0 }
    }
}

impl<R: BufRead> Read for Ready<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Ready<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n)
    }
}

impl<R: BufRead + Send> Input for Ready<R> {
    fn would_wait(&mut self) -> bool {
        false
    }

    fn consumed(&self) -> u64 {
        self.consumed
    }
}

/// How much a sender has to send, when that is known in advance: for progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Total {
    /// The bytes of a regular file.
    Bytes(u64),
    /// Messages: `--data` sent `--count` times.
    Messages(u64),
}

impl MessageSource {
    /// The source that `args` describe, decoding with `format`, refusing messages
    /// larger than `max_size` bytes in all.
    pub fn open(
        args: &SourceArgs,
        format: Format,
        max_size: usize,
        stop: &Stop,
    ) -> Result<MessageSource> {
        let origin = match (&args.data, &args.file) {
            (Some(data), _) => {
                let msg = format
                    .decode(data.as_bytes())
                    .map_err(|e| e.context("--data"))?;
                check_size(&msg, max_size).map_err(|e| e.context("--data"))?;
                Origin::Repeat(msg)
            }
            (None, Some(path)) if path != Path::new("-") => {
                let file = File::open(path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                Origin::from_file(file, path.display().to_string(), stop)
            }
            _ => {
                let stdin = io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("cannot read stdin", e))?;
                Origin::from_file(File::from(stdin), "stdin".into(), stop)
            }
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
            max_size,
        })
    }

    /// Messages read from `reader` (named `name` in errors), decoded with `format`,
    /// with no size limit beyond what memory allows.
    pub fn from_reader(
        reader: impl BufRead + Send + 'static,
        name: &str,
        format: Format,
    ) -> MessageSource {
        MessageSource {
            origin: Origin::records(Ready::new(reader), None, name.to_string()),
            format,
            limit: None,
            produced: 0,
            max_size: usize::MAX,
        }
    }

    /// The next message, or `None` at the end of the input (or of `--count`).
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        if self.limit.is_some_and(|limit| self.produced >= limit) {
            return Ok(None);
        }
        let next = match &mut self.origin {
            Origin::Repeat(msg) => Some(msg.clone()),
            Origin::Records { .. } if self.format == Format::Raw => {
                self.origin.read_all(self.max_size)?
            }
            Origin::Records { .. } => self.origin.read_record(self.format, self.max_size)?,
        };
        self.produced += u64::from(next.is_some());
        Ok(next)
    }

    /// How much there is to send, when that is known in advance: the size of a
    /// regular file (also one on stdin), or `--count` messages of `--data`.
    pub fn total(&self) -> Option<Total> {
        match &self.origin {
            Origin::Repeat(_) => self.limit.map(Total::Messages),
            Origin::Records { size, .. } => size.map(Total::Bytes),
        }
    }

    /// How far the source is towards its [`MessageSource::total`]: bytes read
    /// from the file, or messages produced.
    pub fn position(&self) -> u64 {
        match &self.origin {
            Origin::Repeat(_) => self.produced,
            Origin::Records { reader, .. } => reader.consumed(),
        }
    }

    /// Whether the next message may have to wait for the input's writer (a pipe or
    /// a terminal with nothing buffered): the moment for a sender to look at its
    /// connections before it goes idle.
    pub fn would_wait(&mut self) -> bool {
        match &mut self.origin {
            Origin::Repeat(_) => false,
            Origin::Records { reader, done, .. } => !*done && reader.would_wait(),
        }
    }
}

/// `Err` if `msg` is larger than `max_size` bytes in all.
fn check_size(msg: &Message, max_size: usize) -> Result<()> {
    let size = msg.byte_len();
    if size > max_size {
        return Err(Error::usage(format!(
            "{size} bytes, over --max-size ({max_size})"
        )));
    }
    Ok(())
}

/// The longest line that can hold a message of `max_size` bytes in `format`: each
/// byte takes at most this many characters, plus room for frame separators and
/// JSON's framing.
fn line_limit(format: Format, max_size: usize) -> usize {
    let widest = match format {
        Format::Text | Format::Raw => 1,
        Format::Hex => 2,
        Format::Escaped => 4,
        Format::Json => 6,
    };
    max_size.saturating_mul(widest).saturating_add(64 * 1024)
}

impl Origin {
    fn records(reader: impl Input + 'static, size: Option<u64>, name: String) -> Origin {
        Origin::Records {
            reader: Box::new(reader),
            size,
            name,
            line: 0,
            buf: Vec::with_capacity(256),
            done: false,
        }
    }

    /// Records from `file`: read directly if it is a regular file, else (a pipe, a
    /// terminal, a device) through a reader thread that a stop interrupts.
    fn from_file(file: File, name: String, stop: &Stop) -> Origin {
        match file.metadata() {
            Ok(meta) if meta.is_file() => {
                let reader = Ready::new(BufReader::with_capacity(CHUNK, file));
                Origin::records(reader, Some(meta.len()), name)
            }
            _ => Origin::records(chunk_reader(file, stop.clone()), None, name),
        }
    }

    /// The next non-empty line, decoded.
    fn read_record(&mut self, format: Format, max_size: usize) -> Result<Option<Message>> {
        let Origin::Records {
            reader,
            name,
            line,
            buf,
            done,
            ..
        } = self
        else {
            return Ok(None);
        };
        let limit = line_limit(format, max_size);
        loop {
            let decoded = with_next_line(reader.as_mut(), buf, limit, |record| {
                (!record.is_empty()).then(|| {
                    let msg = format.decode(record)?;
                    check_size(&msg, max_size)?;
                    Ok(msg)
                })
            });
            let decoded = match decoded {
                Ok(decoded) => decoded,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(Error::usage(format!(
                        "{name} line {}: longer than {limit} bytes, too long for a message of --max-size ({max_size}) in {}",
                        *line + 1,
                        format.name()
                    )))
                }
                Err(e) => return Err(read_error(name, e)),
            };
            let Some(decoded) = decoded else {
                *done = true;
                return Ok(None);
            };
            *line += 1;
            if let Some(decoded) = decoded {
                return decoded
                    .map(Some)
                    .map_err(|e: Error| e.context(format_args!("{name} line {line}")));
            }
        }
    }

    /// All remaining input as one frame (`--format raw`), once; more than
    /// `max_size` bytes is refused.
    fn read_all(&mut self, max_size: usize) -> Result<Option<Message>> {
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
        let limit = u64::try_from(max_size)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        reader
            .take(limit)
            .read_to_end(buf)
            .map_err(|e| read_error(name, e))?;
        if buf.len() > max_size {
            return Err(Error::usage(format!(
                "{name}: more than {max_size} bytes, over --max-size"
            )));
        }
        *done = true;
        Ok(Some(Message::new(&buf[..])))
    }
}

/// Call `decode` with the next line of `reader`, line end removed; `Ok(None)` at the
/// end of the input. A line that lies whole in the reader's buffer is decoded where
/// it lies; only a line cut by the buffer's end is gathered in `spill` first. This
/// runs once per input line, so the common case copies nothing. A line longer than
/// `limit` bytes is an `InvalidData` error, found without reading more of it.
fn with_next_line<T>(
    reader: &mut dyn Input,
    spill: &mut Vec<u8>,
    limit: usize,
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
    let mut bounded = reader.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1));
    if bounded.read_until(b'\n', spill)? == 0 {
        return Ok(None);
    }
    if spill.len() > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
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

/// An input that may wait (a pipe, a terminal, a device) through a reader thread:
/// chunks arrive over a bounded channel, and a wait for the next chunk gives up when
/// the stop is requested.
fn chunk_reader(mut file: File, stop: Stop) -> ChunkReader {
    let (sender, chunks) = mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || loop {
        let mut chunk = vec![0; CHUNK];
        let result = match file.read(&mut chunk) {
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
    });
    ChunkReader {
        chunks,
        current: Vec::new(),
        offset: 0,
        stop,
        ended: false,
        pending: None,
    }
}

struct ChunkReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
    stop: Stop,
    ended: bool,
    /// A read error seen early (by `would_wait`), for the next read.
    pending: Option<io::Error>,
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

impl ChunkReader {
    /// Take in the next chunk (or the end, or an error).
    fn take(&mut self, next: io::Result<Vec<u8>>) -> io::Result<()> {
        let chunk = next?;
        self.ended = chunk.is_empty();
        self.current = chunk;
        self.offset = 0;
        Ok(())
    }
}

impl Input for ChunkReader {
    fn would_wait(&mut self) -> bool {
        if self.offset < self.current.len() || self.ended {
            return false;
        }
        match self.chunks.try_recv() {
            Ok(next) => {
                // An error stays for the next read to report.
                if let Err(e) = self.take(next) {
                    self.current = Vec::new();
                    self.pending = Some(e);
                }
                false
            }
            Err(mpsc::TryRecvError::Empty) => true,
            Err(mpsc::TryRecvError::Disconnected) => false,
        }
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        while self.offset == self.current.len() && !self.ended {
            if self.stop.is_requested() {
                return Err(io::Error::other(STOPPED));
            }
            match self.chunks.recv_timeout(Duration::from_millis(50)) {
                Ok(next) => self.take(next)?,
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
            pending: None,
        };
        let mut line = Vec::new();
        let err = reader.read_until(b'\n', &mut line).unwrap_err();
        assert_eq!(
            read_error("stdin", err).kind(),
            crate::ErrorKind::Interrupted
        );
    }
}
