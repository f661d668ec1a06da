//! The optional batch header: one extra frame that lets receivers account for every
//! message (which batch, which position, how many in all, when sent).
//!
//! It is explicit: both ends switch it on (a flag on the binaries, an option in the
//! library). It is never guessed from payload bytes, and the default, plain mode adds
//! nothing to the wire, so foreign ZeroMQ peers keep working. When on, the header is
//! the **last** frame of every message, so a pub/sub topic stays in frame 0 and prefix
//! filtering is unaffected.
//!
//! # Layout, version 1 (40 bytes, integers big-endian)
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0  | 3 | magic `ZPH` |
//! | 3  | 1 | version, `1` |
//! | 4  | 1 | flags: bit 0 = end of stream; other bits must be 0 |
//! | 5  | 3 | reserved, `0` |
//! | 8  | 8 | batch id (also identifies the sending stream) |
//! | 16 | 8 | sequence number: items are numbered from 0; the end-of-stream message carries the number of items sent |
//! | 24 | 8 | size: on an item, the batch size if known in advance, else 0; on the end-of-stream message, the number of items again (the same as its sequence number; 0 for an empty batch) |
//! | 32 | 8 | send time, microseconds since the Unix epoch |
//!
//! A size of 0 decodes as "not known" ([`Header::size`] is `None`); a receiver takes
//! the size of a batch from an item's size field or from the end-of-stream message's
//! sequence number, whichever it sees first.
//!
//! The header frame never stands alone: a message in header mode is one or more
//! payload frames, then the header (an end-of-stream message has one empty payload
//! frame, or for pub/sub its topic). A message whose only frame is a valid header
//! carries no item and is rejected ([`HeaderError::NoPayload`]), as is any message of
//! a single frame ([`HeaderError::Missing`]): counted and reported, never taken as an
//! empty item, so that a sender that lost its payload frames shows up as an error
//! rather than as an item that arrived.
//!
//! From Python: `struct.pack(">3sBB3xQQQQ", b"ZPH", 1, flags, batch, seq, size, micros)`.
//!
//! ```
//! use zpattern::frame::{Header, HEADER_LEN};
//! use zpattern::Message;
//!
//! let mut msg = Message::new("resize me");
//! msg.push_header(&Header::item(7, 0, Some(3)));
//! assert_eq!(msg.frame_count(), 2);
//! assert_eq!(msg.frames()[1].len(), HEADER_LEN);
//!
//! let header = msg.pop_header().unwrap();
//! assert_eq!((header.batch, header.seq, header.size), (7, 0, Some(3)));
//! assert_eq!(msg, Message::new("resize me"));
//! ```

use super::{Frame, Message};
use crate::error::Error;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of a version-1 header frame.
pub const HEADER_LEN: usize = 40;
/// The current header version.
pub const HEADER_VERSION: u8 = 1;
const MAGIC: &[u8; 3] = b"ZPH";
const FLAG_END: u8 = 0b0000_0001;

/// A decoded batch header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Batch id; a sender uses one id per batch (and per run), so it also tells
    /// senders apart.
    pub batch: u64,
    /// Position of an item in its batch (from 0); on an end-of-stream message, the
    /// number of items the batch holds.
    pub seq: u64,
    /// The batch size when known before sending.
    pub size: Option<u64>,
    /// Whether this message ends the batch. It carries no item; its payload is one
    /// empty frame (or, for pub/sub, the topic), since a message is never empty.
    pub end: bool,
    /// When the message was sent, in microseconds since the Unix epoch.
    pub sent_micros: u64,
}

/// Why a frame is not a valid header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The message had only one frame, and it is not a header: no header to take.
    Missing,
    /// The message's only frame is a valid header: there is no payload frame, so it
    /// carries no item (not even the empty frame of an end-of-stream message).
    NoPayload,
    /// The frame does not start with `ZPH`: not a header at all.
    NotAHeader,
    /// A header of a version this build does not know.
    UnknownVersion(u8),
    /// A version-1 header of the wrong length.
    BadLength(usize),
    /// Flag bits that version 1 does not define (the flags byte as sent).
    BadFlags(u8),
    /// Reserved bytes 5-7 that are not zero (the three bytes as sent).
    BadReserved([u8; 3]),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing => write!(f, "message has no header frame"),
            HeaderError::NoPayload => write!(f, "message has only a header frame, no payload"),
            HeaderError::NotAHeader => write!(f, "last frame is not a zpattern header"),
            HeaderError::UnknownVersion(v) => write!(f, "header version {v} is not supported"),
            HeaderError::BadLength(n) => {
                write!(f, "header is {n} bytes, expected {HEADER_LEN}")
            }
            HeaderError::BadFlags(b) => write!(f, "header has unknown flag bits {b:#04x}"),
            HeaderError::BadReserved([a, b, c]) => write!(
                f,
                "header has non-zero reserved bytes {a:02x} {b:02x} {c:02x}"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

impl Header {
    /// The header of item `seq` of `batch`, stamped now.
    pub fn item(batch: u64, seq: u64, size: Option<u64>) -> Header {
        Header {
            batch,
            seq,
            size,
            end: false,
            sent_micros: now_micros(),
        }
    }

    /// The end-of-stream header of `batch`, which held `count` items, stamped now.
    pub fn end_of_stream(batch: u64, count: u64) -> Header {
        Header {
            batch,
            seq: count,
            size: Some(count),
            end: true,
            sent_micros: now_micros(),
        }
    }

    /// The 40-byte wire form.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..3].copy_from_slice(MAGIC);
        out[3] = HEADER_VERSION;
        out[4] = if self.end { FLAG_END } else { 0 };
        out[8..16].copy_from_slice(&self.batch.to_be_bytes());
        out[16..24].copy_from_slice(&self.seq.to_be_bytes());
        out[24..32].copy_from_slice(&self.size.unwrap_or(0).to_be_bytes());
        out[32..40].copy_from_slice(&self.sent_micros.to_be_bytes());
        out
    }

    /// Decode a header frame; anything else is a [`HeaderError`], never a guess.
    pub fn decode(bytes: &[u8]) -> Result<Header, HeaderError> {
        if bytes.len() < 4 || &bytes[..3] != MAGIC {
            return Err(HeaderError::NotAHeader);
        }
        if bytes[3] != HEADER_VERSION {
            return Err(HeaderError::UnknownVersion(bytes[3]));
        }
        if bytes.len() != HEADER_LEN {
            return Err(HeaderError::BadLength(bytes.len()));
        }
        let flags = bytes[4];
        if flags & !FLAG_END != 0 {
            return Err(HeaderError::BadFlags(flags));
        }
        let reserved = [bytes[5], bytes[6], bytes[7]];
        if reserved != [0, 0, 0] {
            return Err(HeaderError::BadReserved(reserved));
        }
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        Ok(Header {
            batch: word(8),
            seq: word(16),
            size: Some(word(24)).filter(|&n| n != 0),
            end: flags & FLAG_END != 0,
            sent_micros: word(32),
        })
    }
}

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The sending side of a batch: stamps each message with the batch id and the next
/// sequence number, and makes the end-of-stream message that closes the batch.
///
/// ```
/// use zpattern::frame::Batch;
/// use zpattern::Message;
///
/// let mut batch = Batch::new(7, None); // size unknown in advance
/// let mut first = batch.stamp(Message::new("image 0"));
/// assert_eq!(first.pop_header().unwrap().seq, 0);
/// let _second = batch.stamp(Message::new("image 1"));
///
/// let mut end = batch.end();
/// let header = end.pop_header().unwrap();
/// assert!(header.end);
/// assert_eq!(header.seq, 2); // the batch held two items
/// assert_eq!(end, Message::new(""));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    id: u64,
    size: Option<u64>,
    next: u64,
}

impl Batch {
    /// A batch with id `id`, of `size` items if known in advance.
    pub fn new(id: u64, size: Option<u64>) -> Batch {
        Batch { id, size, next: 0 }
    }

    /// A batch with a random id, so that separate runs never share one.
    pub fn random(size: Option<u64>) -> Batch {
        Batch::new(rand::random(), size)
    }

    /// The batch id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// How many items have been stamped so far.
    pub fn stamped(&self) -> u64 {
        self.next
    }

    /// Append the header of the next item to `msg`.
    pub fn stamp(&mut self, mut msg: Message) -> Message {
        msg.push_header(&Header::item(self.id, self.next, self.size));
        self.next += 1;
        msg
    }

    /// The end-of-stream message: one empty frame, then a header that says how many
    /// items the batch held.
    pub fn end(&self) -> Message {
        self.end_with(Frame::empty())
    }

    /// The end-of-stream message with `first` as its payload frame, for example the
    /// topic a subscriber has subscribed to.
    pub fn end_with(&self, first: impl Into<Frame>) -> Message {
        let mut msg = Message::new(first);
        msg.push_header(&Header::end_of_stream(self.id, self.next));
        msg
    }
}

impl Message {
    /// Append `header` as the last frame.
    pub fn push_header(&mut self, header: &Header) {
        self.push(Frame::new(&header.encode()));
    }

    /// What this message, received in batch-header mode, is: an item, the end of a
    /// batch, or a message without a valid header. The header frame is taken off
    /// (see [`Message::pop_header`]). Every receiver in header mode judges its
    /// messages with this, so that they all judge alike.
    ///
    /// ```
    /// use zpattern::frame::{Arrival, Header};
    /// use zpattern::Message;
    ///
    /// let mut item = Message::new("image 7");
    /// item.push_header(&Header::item(5, 7, None));
    /// assert!(matches!(item.arrival(), Arrival::Item(h) if h.seq == 7));
    /// assert_eq!(item.topic(), b"image 7");
    ///
    /// let mut junk = Message::from_frames(["no", "header"])?;
    /// let Arrival::Malformed(e) = junk.arrival() else { panic!() };
    /// assert_eq!(Arrival::dropped(&e).to_string(), "dropped a message: last frame is not a zpattern header");
    /// # Ok::<(), zpattern::Error>(())
    /// ```
    pub fn arrival(&mut self) -> Arrival {
        match self.pop_header() {
            Ok(header) if header.end => Arrival::End(header),
            Ok(header) => Arrival::Item(header),
            Err(e) => Arrival::Malformed(e),
        }
    }

    /// Remove the last frame and decode it as a header. The frame is removed even
    /// when it does not decode, so a bad header never reaches the payload. A message
    /// with a single frame is left alone: [`HeaderError::NoPayload`] if that frame
    /// is a valid header, [`HeaderError::Missing`] if not.
    pub fn pop_header(&mut self) -> Result<Header, HeaderError> {
        if self.frame_count() < 2 {
            return Err(match Header::decode(self.topic()) {
                Ok(_) => HeaderError::NoPayload,
                Err(_) => HeaderError::Missing,
            });
        }
        let last = self.frames.pop().ok_or(HeaderError::Missing)?;
        Header::decode(&last)
    }
}

/// What a message received in batch-header mode is (see [`Message::arrival`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// An item of a batch, with its header.
    Item(Header),
    /// The end of a batch: its header's sequence number is the batch size.
    End(Header),
    /// No valid header: the message is dropped and counted, never guessed at.
    Malformed(HeaderError),
}

impl Arrival {
    /// The error that reports a message dropped for `why`, in the same words
    /// wherever it is dropped: `dropped a message: ...`.
    pub fn dropped(why: &HeaderError) -> Error {
        Error::protocol(format!("dropped a message: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: [u8; HEADER_LEN] = *b"ZPH\x01\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x07\
        \x00\x00\x00\x00\x00\x00\x01\x00\
        \x00\x00\x00\x00\x00\x00\x00\x03\
        \x00\x00\x00\x00\x00\x00\x00\x2a";

    #[test]
    fn encodes_to_the_documented_bytes() {
        let h = Header {
            batch: 7,
            seq: 256,
            size: Some(3),
            end: false,
            sent_micros: 42,
        };
        assert_eq!(h.encode(), ITEM);
        assert_eq!(Header::decode(&ITEM), Ok(h));
    }

    #[test]
    fn end_of_stream_sets_bit_zero() {
        let h = Header::end_of_stream(9, 10_000);
        let bytes = h.encode();
        assert_eq!(bytes[4], 1);
        let back = Header::decode(&bytes).unwrap();
        assert!(back.end);
        assert_eq!((back.seq, back.size), (10_000, Some(10_000)));
    }

    #[test]
    fn unknown_size_is_zero_on_the_wire() {
        let bytes = Header::item(1, 0, None).encode();
        assert_eq!(&bytes[24..32], &[0; 8]);
        assert_eq!(Header::decode(&bytes).unwrap().size, None);
    }

    #[test]
    fn junk_is_reported_not_guessed() {
        assert_eq!(Header::decode(b"hello"), Err(HeaderError::NotAHeader));
        assert_eq!(Header::decode(b""), Err(HeaderError::NotAHeader));
        let mut v2 = ITEM;
        v2[3] = 2;
        assert_eq!(Header::decode(&v2), Err(HeaderError::UnknownVersion(2)));
        assert_eq!(Header::decode(&ITEM[..39]), Err(HeaderError::BadLength(39)));
        let mut flags = ITEM;
        flags[4] = 0x80;
        assert_eq!(Header::decode(&flags), Err(HeaderError::BadFlags(0x80)));
        let mut reserved = ITEM;
        reserved[6] = 1;
        assert_eq!(
            Header::decode(&reserved),
            Err(HeaderError::BadReserved([0, 1, 0]))
        );
        assert_eq!(
            HeaderError::BadReserved([0, 1, 0]).to_string(),
            "header has non-zero reserved bytes 00 01 00"
        );
        let mut v99 = ITEM;
        v99[3] = 99;
        assert_eq!(Header::decode(&v99), Err(HeaderError::UnknownVersion(99)));
    }

    #[test]
    fn the_end_of_stream_carries_its_count_as_size_too() {
        let mut batch = Batch::new(4, None);
        batch.stamp(Message::new("a"));
        batch.stamp(Message::new("b"));
        let bytes = batch.end().frames()[1].to_vec();
        assert_eq!(&bytes[16..24], &2u64.to_be_bytes());
        assert_eq!(&bytes[24..32], &2u64.to_be_bytes());
        // An empty batch: a size of 0 is "unknown"; the sequence number says 0 items.
        let empty = Header::decode(&Batch::new(4, None).end().frames()[1]).unwrap();
        assert_eq!((empty.seq, empty.size, empty.end), (0, None, true));
    }

    #[test]
    fn a_lone_header_frame_is_no_item() {
        let mut lone = Message::new(Frame::new(&ITEM));
        assert_eq!(lone.pop_header(), Err(HeaderError::NoPayload));
        assert_eq!(lone.frame_count(), 1);
        assert_eq!(
            HeaderError::NoPayload.to_string(),
            "message has only a header frame, no payload"
        );
        let mut plain = Message::new("ZPH but not a header");
        assert_eq!(plain.pop_header(), Err(HeaderError::Missing));
    }

    #[test]
    fn pop_header_always_removes_the_last_frame() {
        let mut m = Message::from_frames(["payload", "garbage"]).unwrap();
        assert_eq!(m.pop_header(), Err(HeaderError::NotAHeader));
        assert_eq!(m, Message::new("payload"));
        assert_eq!(m.pop_header(), Err(HeaderError::Missing));
        assert_eq!(m.frame_count(), 1);
    }
}
