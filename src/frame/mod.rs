//! The framing layer: [`Message`], [`Frame`], terminal codecs and size limits.
//!
//! Pure: nothing here touches a socket. On the wire a [`Message`] is plain ZeroMQ
//! multipart, one ZeroMQ frame per [`Frame`], nothing added or hidden, so pyzmq, CZMQ
//! and libzmq peers interoperate unchanged. For pub/sub the topic is frame 0.
//!
//! [`Format`] converts messages to and from terminal records (one line per message in
//! the line formats) for the role binaries.
//!
//! # Why a frame is a libzmq message
//!
//! A [`Frame`] holds its bytes in a libzmq message (`zmq_msg_t`), not a `Vec<u8>`:
//! a receive fills it in place and a send hands its buffer to libzmq, so a frame
//! crosses between the socket and the program without a copy (large owned buffers
//! are handed over whole too, see [`ZERO_COPY_THRESHOLD`]). That is the one libzmq
//! detail of this room: the codecs, the batch header and the limits below are pure
//! functions over bytes, and a `Frame` is only ever read as bytes (`Deref<[u8]>`).
//! The calls that make and fill such messages are in `sys` and `socket`.
//!
//! ```
//! use zpattern::{Format, Message};
//!
//! let msg = Format::Text.decode(b"persian\tfedora").unwrap();
//! assert_eq!(msg, Message::from_frames(["persian", "fedora"]).unwrap());
//! assert_eq!(msg.topic(), b"persian");
//!
//! let mut line = Vec::new();
//! Format::Json.encode(&msg, &mut line);
//! assert_eq!(line, b"{\"frames\":[\"persian\",\"fedora\"]}\n");
//! ```

#[cfg(test)]
mod corpus;
mod format;
#[cfg(test)]
mod fuzz;
mod header;
mod hex;

pub use format::Format;
pub use header::{now_micros, Arrival, Batch, Header, HeaderError, HEADER_LEN, HEADER_VERSION};

use crate::error::{Error, Result};
use crate::sys::RawMessage;
use smallvec::SmallVec;
use std::fmt;
use std::ops::Deref;

/// Frames at least this long, given as an owned `Vec<u8>`, are handed to libzmq without
/// copying; shorter ones are copied, which is cheaper than the bookkeeping of a
/// zero-copy buffer.
pub const ZERO_COPY_THRESHOLD: usize = 1024;

/// One frame of a [`Message`]: a byte string held in a libzmq buffer, so sending moves
/// it to libzmq and receiving fills it without an extra copy.
pub struct Frame(RawMessage);

impl Frame {
    /// A frame holding a copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Frame {
        Frame(RawMessage::copy_of(bytes))
    }

    /// An empty frame.
    pub fn empty() -> Frame {
        Frame(RawMessage::new())
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.bytes()
    }

    /// The frame's bytes as UTF-8 text, if they are valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The address of the peer a received frame came from, as libzmq's
    /// `Peer-Address` message property gives it: the IP address of a tcp peer
    /// (`127.0.0.1`, `::1`), and over ipc what libzmq knows of the peer process.
    /// `None` for a frame that was not received, or came over inproc.
    ///
    /// ```
    /// use zpattern::Frame;
    /// assert_eq!(Frame::from("made here").peer_address(), None);
    /// ```
    pub fn peer_address(&self) -> Option<&str> {
        self.0.property(c"Peer-Address")
    }

    /// The libzmq message, to send or receive in place.
    pub(crate) fn raw_mut(&mut self) -> &mut RawMessage {
        &mut self.0
    }

    /// The descriptor of the connection a received frame came from, if known.
    pub(crate) fn source_fd(&self) -> Option<std::os::fd::RawFd> {
        self.0.source_fd()
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Clone for Frame {
    fn clone(&self) -> Frame {
        Frame::new(self.as_bytes())
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Frame {}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl From<&[u8]> for Frame {
    fn from(bytes: &[u8]) -> Frame {
        Frame::new(bytes)
    }
}

impl<const N: usize> From<&[u8; N]> for Frame {
    fn from(bytes: &[u8; N]) -> Frame {
        Frame::new(bytes)
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Frame {
        Frame::new(text.as_bytes())
    }
}

impl From<&String> for Frame {
    fn from(text: &String) -> Frame {
        Frame::new(text.as_bytes())
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame::from(text.into_bytes())
    }
}

impl From<Vec<u8>> for Frame {
    /// Takes ownership without copying when the vector is at least
    /// [`ZERO_COPY_THRESHOLD`] bytes long.
    fn from(bytes: Vec<u8>) -> Frame {
        if bytes.len() >= ZERO_COPY_THRESHOLD {
            Frame(RawMessage::from_vec(bytes))
        } else {
            Frame::new(&bytes)
        }
    }
}

/// Frames a [`Message`] holds without a heap allocation of its own: a payload, or a
/// topic and a body, cost one allocation less per message sent.
const INLINE_FRAMES: usize = 2;

/// The frame list of a [`Message`].
type Frames = SmallVec<[Frame; INLINE_FRAMES]>;

/// A ZeroMQ message: one or more frames. It is never empty.
///
/// For pub/sub, frame 0 is the topic that subscriptions match by prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Invariant: at least one frame.
    frames: Frames,
}

impl Message {
    /// A message of one frame.
    pub fn new(frame: impl Into<Frame>) -> Message {
        let mut frames = Frames::new();
        frames.push(frame.into());
        Message { frames }
    }

    /// A message from a list of frames; an empty list is a usage error, since ZeroMQ
    /// cannot carry a message without frames.
    ///
    /// ```
    /// use zpattern::Message;
    /// let msg = Message::from_frames(["cat", "hat"]).unwrap();
    /// assert_eq!(msg.frame_count(), 2);
    /// assert!(Message::from_frames(Vec::<&str>::new()).is_err());
    /// ```
    pub fn from_frames<I, F>(frames: I) -> Result<Message>
    where
        I: IntoIterator<Item = F>,
        F: Into<Frame>,
    {
        let frames: Frames = frames.into_iter().map(Into::into).collect();
        if frames.is_empty() {
            return Err(Error::usage("a message needs at least one frame"));
        }
        Ok(Message { frames })
    }

    /// A pub/sub message: `topic` as frame 0, then `body`.
    pub fn with_topic(topic: impl Into<Frame>, body: impl Into<Frame>) -> Message {
        let mut frames = Frames::new();
        frames.push(topic.into());
        frames.push(body.into());
        Message { frames }
    }

    /// Frame 0: the topic for pub/sub.
    pub fn topic(&self) -> &[u8] {
        &self.frames[0]
    }

    /// Every frame, in order.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The address of the peer this received message came from: the
    /// [`Frame::peer_address`] of its first frame (every frame of a received message
    /// came by the same connection).
    ///
    /// ```
    /// use std::time::Duration;
    /// use zpattern::{Message, Options, Pusher, Puller, Receive, Transmit};
    ///
    /// let mut puller = Puller::bind("tcp://127.0.0.1:*")?;
    /// let endpoint = puller.endpoints()[0].to_string();
    /// let mut pusher = Pusher::open(Options::new().connect(&endpoint))?;
    /// pusher.send(Message::new("hello"))?;
    /// let msg = puller.recv_timeout(Some(Duration::from_secs(5)))?.expect("a message");
    /// assert_eq!(msg.peer_address(), Some("127.0.0.1"));
    /// assert_eq!(Message::new("made here").peer_address(), None);
    /// # Ok::<(), zpattern::Error>(())
    /// ```
    pub fn peer_address(&self) -> Option<&str> {
        self.frames[0].peer_address()
    }

    /// The frames after the topic (frame 0).
    pub fn body(&self) -> &[Frame] {
        &self.frames[1..]
    }

    /// How many frames the message has (at least one).
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// The total number of payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }

    /// Append a frame.
    pub fn push(&mut self, frame: impl Into<Frame>) {
        self.frames.push(frame.into());
    }

    /// Insert a frame before all others (for example a topic).
    pub fn push_front(&mut self, frame: impl Into<Frame>) {
        self.frames.insert(0, frame.into());
    }

    /// Remove and return frame 0 if at least one other frame remains.
    pub fn pop_front(&mut self) -> Option<Frame> {
        if self.frames.len() > 1 {
            Some(self.frames.remove(0))
        } else {
            None
        }
    }

    /// The frames, consuming the message.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames.into_vec()
    }

    /// The frames, to send in place.
    pub(crate) fn frames_mut(&mut self) -> &mut [Frame] {
        &mut self.frames
    }

    /// Each frame copied into a `Vec<u8>`.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.frames.iter().map(|f| f.to_vec()).collect()
    }

    /// Slots for a receive to fill in place; keeps the
    /// at-least-one-frame invariant by always holding frame 0.
    pub(crate) fn frame_slot(&mut self, index: usize) -> &mut Frame {
        if index == self.frames.len() {
            self.frames.push(Frame::empty());
        }
        &mut self.frames[index]
    }

    /// Drop the slots past `count` (at least one is kept).
    pub(crate) fn truncate_frames(&mut self, count: usize) {
        self.frames.truncate(count.max(1));
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.frames).finish()
    }
}

impl From<Frame> for Message {
    fn from(frame: Frame) -> Message {
        Message::new(frame)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::new(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::new(text)
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Message {
        Message::new(bytes)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Message {
        Message::new(bytes)
    }
}

impl<'a> IntoIterator for &'a Message {
    type Item = &'a Frame;
    type IntoIter = std::slice::Iter<'a, Frame>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

/// Bounds on what a receiver accepts from the network, and what a sender accepts from
/// its input. The defaults suit untrusted peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes, all frames together. Over tcp and ipc, libzmq
    /// (as zpattern builds it) enforces it as the message arrives, before it
    /// allocates more: a peer that sends a larger message, or a frame larger than
    /// this, is disconnected, and the receiver is told why.
    pub max_message_size: usize,
    /// Most frames in one message: enforced the same way.
    pub max_frames: usize,
}

impl Limits {
    /// Default largest message: 1 MiB (as nng's default; `--max-size` raises it).
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;
    /// Default most frames per message: 256.
    pub const DEFAULT_MAX_FRAMES: usize = 256;

    /// Check a message against the limits.
    pub fn check(&self, msg: &Message) -> Result<()> {
        if msg.frame_count() > self.max_frames {
            return Err(Error::protocol(format!(
                "message has {} frames, more than the limit of {}",
                msg.frame_count(),
                self.max_frames
            )));
        }
        if msg.byte_len() > self.max_message_size {
            return Err(Error::protocol(format!(
                "message of {} bytes is larger than the limit of {} bytes",
                msg.byte_len(),
                self.max_message_size
            )));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_size: Limits::DEFAULT_MAX_MESSAGE_SIZE,
            max_frames: Limits::DEFAULT_MAX_FRAMES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_never_empty() {
        assert!(Message::from_frames(Vec::<Frame>::new()).is_err());
        let mut m = Message::new("only");
        assert_eq!(m.pop_front(), None);
        m.truncate_frames(0);
        assert_eq!(m.frame_count(), 1);
    }

    #[test]
    fn topic_is_frame_zero() {
        let m = Message::with_topic("persian", "fedora");
        assert_eq!(m.topic(), b"persian");
        assert_eq!(m.body(), &[Frame::from("fedora")]);
        assert_eq!(m.byte_len(), 13);
    }

    #[test]
    fn push_front_prepends_a_topic() {
        let mut m = Message::new(&b"fedora"[..]);
        m.push_front("persian");
        assert_eq!(m.to_vecs(), vec![b"persian".to_vec(), b"fedora".to_vec()]);
    }

    /// Messages of `count` frames named `frame 0`, `frame 1`...
    fn numbered(count: usize) -> (Message, Vec<Vec<u8>>) {
        let parts: Vec<String> = (0..count).map(|i| format!("frame {i}")).collect();
        let mut msg = Message::new(parts[0].as_str());
        for part in &parts[1..] {
            msg.push(part.as_str());
        }
        (msg, parts.into_iter().map(String::into_bytes).collect())
    }

    #[test]
    fn frames_keep_their_order_held_inline_or_not() {
        for count in 1..=INLINE_FRAMES + 3 {
            let (msg, expected) = numbered(count);
            assert_eq!(msg.to_vecs(), expected);
            assert_eq!(
                Message::from_frames(expected.iter().map(|f| &f[..])).unwrap(),
                msg
            );
            let vecs: Vec<Vec<u8>> = msg
                .clone()
                .into_frames()
                .iter()
                .map(|f| f.to_vec())
                .collect();
            assert_eq!(vecs, expected);
            let mut msg = msg;
            let in_place = msg.frames_mut();
            assert_eq!(in_place.len(), count);
            assert_eq!(
                in_place.iter().map(|f| f.to_vec()).collect::<Vec<_>>(),
                expected
            );
        }
    }

    #[test]
    fn front_and_slot_edits_cross_the_inline_limit() {
        let (mut msg, mut expected) = numbered(INLINE_FRAMES);
        msg.push_front("topic");
        expected.insert(0, b"topic".to_vec());
        assert_eq!(msg.to_vecs(), expected);
        assert_eq!(msg.pop_front().map(|f| f.to_vec()), Some(b"topic".to_vec()));
        expected.remove(0);
        assert_eq!(msg.to_vecs(), expected);
        // Receive slots grow one at a time and truncate back.
        let slot = INLINE_FRAMES + 1;
        msg.frame_slot(INLINE_FRAMES);
        msg.frame_slot(slot);
        assert_eq!(msg.frame_count(), slot + 1);
        msg.truncate_frames(1);
        assert_eq!(msg.to_vecs(), [b"frame 0".to_vec()]);
    }

    #[test]
    fn large_vectors_and_small_ones_keep_their_bytes() {
        let big = vec![7u8; ZERO_COPY_THRESHOLD + 1];
        assert_eq!(Frame::from(big.clone()).as_bytes(), &big[..]);
        assert_eq!(Frame::from(vec![1, 2, 3]).as_bytes(), &[1, 2, 3]);
        assert_eq!(Frame::from(Vec::new()).as_bytes(), b"");
    }

    #[test]
    fn limits_name_the_broken_bound() {
        let limits = Limits {
            max_message_size: 4,
            max_frames: 2,
        };
        assert!(limits
            .check(&Message::from_frames(["ab", "cd"]).unwrap())
            .is_ok());
        let too_many = limits.check(&Message::from_frames(["a", "b", "c"]).unwrap());
        assert!(too_many.unwrap_err().to_string().contains("3 frames"));
        let too_big = limits.check(&Message::new("abcde"));
        assert!(too_big.unwrap_err().to_string().contains("5 bytes"));
    }

    #[test]
    fn debug_shows_escaped_bytes() {
        let m = Message::from_frames([&b"a\tb"[..], &[0xff]]).unwrap();
        assert_eq!(format!("{m:?}"), r#"[b"a\tb", b"\xff"]"#);
    }
}
