//! Terminal formats: how a [`Message`] is written as a record and read back (the
//! table is on [`Format`]).

use super::{hex, Frame, Message};
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A terminal format for messages: how each is written as one record and read back.
///
/// | format    | one record                                   | binary-safe |
/// |-----------|----------------------------------------------|-------------|
/// | `text`    | frames as raw bytes, joined by TAB, then LF   | no (a TAB or LF inside a frame splits it) |
/// | `escaped` | frames with `\\ \t \n \r \0 \xHH` escapes, joined by TAB, then LF | yes |
/// | `hex`     | frames in lowercase hex, joined by TAB, then LF | yes |
/// | `json`    | `{"frames":["cat",{"hex":"ff00"}]}` then LF   | yes |
/// | `raw`     | output: frame bytes back to back, no separators; input: all of it is one frame | output no, input yes |
///
/// In every line format an empty line carries no message: readers skip it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Frames as raw bytes joined by TAB, one message per line (the default).
    #[default]
    Text,
    /// Like `text`, with backslash escapes for TAB, LF, CR, NUL, backslash, control
    /// characters and bytes that are not UTF-8. Reversible.
    Escaped,
    /// Each frame in lowercase hex, joined by TAB, one message per line.
    Hex,
    /// One JSON object per line: `{"frames":[...]}`. A frame that is not UTF-8 is
    /// written as `{"hex":"..."}`.
    Json,
    /// Output: frame bytes with no separators. Input: the whole input is one frame.
    Raw,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Escaped,
        Format::Hex,
        Format::Json,
        Format::Raw,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Escaped => "escaped",
            Format::Hex => "hex",
            Format::Json => "json",
            Format::Raw => "raw",
        }
    }

    /// Whether records are lines (every format but `raw`).
    pub fn is_line_based(self) -> bool {
        self != Format::Raw
    }

    /// Append `msg` as one record, with its line terminator, to `out`.
    pub fn encode(self, msg: &Message, out: &mut Vec<u8>) {
        match self {
            Format::Text => join(msg, out, |f, out| out.extend_from_slice(f)),
            Format::Escaped => join(msg, out, escape_into),
            Format::Hex => join(msg, out, hex::encode_into),
            Format::Json => json_encode(msg, out),
            Format::Raw => {
                for frame in msg {
                    out.extend_from_slice(frame);
                }
            }
        }
    }

    /// Append one frame as it appears inside a record of this format: its raw bytes
    /// (`text`, `raw`), escaped, in hex, or as a JSON value (a string, or
    /// `{"hex":"..."}` when it is not UTF-8). No separator, no line terminator.
    ///
    /// ```
    /// use zpattern::Format;
    /// let mut out = Vec::new();
    /// Format::Json.encode_frame(b"fedora", &mut out);
    /// out.push(b' ');
    /// Format::Escaped.encode_frame(b"a\tb", &mut out);
    /// assert_eq!(out, b"\"fedora\" a\\tb");
    /// ```
    pub fn encode_frame(self, frame: &[u8], out: &mut Vec<u8>) {
        match self {
            Format::Text | Format::Raw => out.extend_from_slice(frame),
            Format::Escaped => escape_into(frame, out),
            Format::Hex => hex::encode_into(frame, out),
            Format::Json => json_frame_into(frame, out),
        }
    }

    /// Decode one record (without its line terminator) into a message.
    ///
    /// Errors are usage errors that say what is wrong; callers add where (the line).
    pub fn decode(self, record: &[u8]) -> Result<Message> {
        match self {
            Format::Text => Ok(split(record, |f| Ok(Frame::new(f)))?),
            Format::Escaped => split(record, |f| Ok(Frame::from(unescape(f)?))),
            Format::Hex => split(record, |f| Ok(Frame::from(hex::decode(f)?))),
            Format::Json => json_decode(record),
            Format::Raw => Ok(Message::new(record)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(name: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                Error::usage(format!(
                    "unknown format '{name}' (expected one of: {})",
                    names.join(", ")
                ))
            })
    }
}

fn join(msg: &Message, out: &mut Vec<u8>, mut frame_into: impl FnMut(&[u8], &mut Vec<u8>)) {
    for (i, frame) in msg.frames().iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        frame_into(frame, out);
    }
    out.push(b'\n');
}

/// One frame per TAB-separated field of `record`, built straight into the message:
/// this runs once per input line, so it collects nothing on the way.
fn split(record: &[u8], mut frame_of: impl FnMut(&[u8]) -> Result<Frame>) -> Result<Message> {
    let mut tabs = memchr::memchr_iter(b'\t', record);
    let Some(first_tab) = tabs.next() else {
        return Ok(Message::new(frame_of(record)?));
    };
    let mut msg = Message::new(frame_of(&record[..first_tab])?);
    let mut start = first_tab + 1;
    for tab in tabs {
        msg.push(frame_of(&record[start..tab])?);
        start = tab + 1;
    }
    msg.push(frame_of(&record[start..])?);
    Ok(msg)
}

fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\0' => out.extend_from_slice(b"\\0"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        hex_escape(b, out);
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex_escape(b, out);
        }
    }
}

fn hex_escape(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\x");
    hex::encode_into(&[b], out);
}

fn unescape(text: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b't') => out.push(b'\t'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b'0') => out.push(0),
            Some(b'x') => {
                let pair = [bytes.next(), bytes.next()];
                match pair {
                    [Some(hi), Some(lo)] => out.extend(hex::decode(&[hi, lo])?),
                    _ => return Err(Error::usage("\\x needs two hex digits")),
                }
            }
            Some(other) => {
                return Err(Error::usage(format!(
                    "unknown escape '\\{}' (known: \\\\ \\t \\n \\r \\0 \\xHH)",
                    other.escape_ascii()
                )))
            }
            None => return Err(Error::usage("a lone backslash ends the line")),
        }
    }
    Ok(out)
}

fn json_encode(msg: &Message, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"frames\":[");
    for (i, frame) in msg.frames().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_frame_into(frame, out);
    }
    out.extend_from_slice(b"]}\n");
}

/// One frame as a JSON value: a string, or `{"hex":"..."}` when it is not UTF-8.
fn json_frame_into(frame: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(frame) {
        Ok(text) => json_string_into(text, out),
        Err(_) => {
            out.extend_from_slice(b"{\"hex\":\"");
            hex::encode_into(frame, out);
            out.extend_from_slice(b"\"}");
        }
    }
}

/// Append `text` as a JSON string literal (RFC 8259 escapes).
pub(crate) fn json_string_into(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in text.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                hex::encode_into(&[b], out);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn json_decode(record: &[u8]) -> Result<Message> {
    use serde_json::Value;
    let value: Value =
        serde_json::from_slice(record).map_err(|e| Error::usage(format!("invalid JSON: {e}")))?;
    let frames = match value {
        Value::Object(mut object) => match object.remove("frames") {
            Some(Value::Array(frames)) => frames,
            _ => return Err(Error::usage("a JSON message needs a \"frames\" array")),
        },
        Value::Array(frames) => frames,
        Value::String(text) => vec![Value::String(text)],
        _ => {
            return Err(Error::usage(
                "expected {\"frames\":[...]}, an array of frames or a string",
            ))
        }
    };
    let frames = frames
        .into_iter()
        .enumerate()
        .map(|(i, v)| json_frame(v).map_err(|e| e.context(format_args!("frame {}", i + 1))))
        .collect::<Result<Vec<Frame>>>()?;
    Message::from_frames(frames)
}

fn json_frame(value: serde_json::Value) -> Result<Frame> {
    use serde_json::Value;
    match value {
        Value::String(text) => Ok(Frame::from(text)),
        Value::Object(object) => match object.get("hex") {
            Some(Value::String(digits)) if object.len() == 1 => {
                Ok(Frame::from(hex::decode(digits.as_bytes())?))
            }
            _ => Err(Error::usage("a frame object must be {\"hex\":\"...\"}")),
        },
        _ => Err(Error::usage(
            "a frame must be a string or {\"hex\":\"...\"}",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(frames: &[&[u8]]) -> Message {
        Message::from_frames(frames.iter().copied()).unwrap()
    }

    fn encoded(format: Format, m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        format.encode(m, &mut out);
        out
    }

    #[test]
    fn text_splits_on_tab_and_joins_with_tab() {
        let m = Format::Text.decode(b"persian\tfedora").unwrap();
        assert_eq!(m, msg(&[b"persian", b"fedora"]));
        assert_eq!(encoded(Format::Text, &m), b"persian\tfedora\n");
        assert_eq!(Format::Text.decode(b"a\t\tb").unwrap().frame_count(), 3);
    }

    #[test]
    fn every_tab_separates_two_frames_even_at_the_ends() {
        let records: [&[u8]; 7] = [
            b"",
            b"\t",
            b"a",
            b"\ta",
            b"a\t",
            b"\t\ta\t\tb\t",
            b"x\ty\tz",
        ];
        for record in records {
            let expected: Vec<Vec<u8>> =
                record.split(|&b| b == b'\t').map(<[u8]>::to_vec).collect();
            for format in [Format::Text, Format::Escaped] {
                let got = format.decode(record).unwrap().to_vecs();
                assert_eq!(got, expected, "{format} {:?}", record.escape_ascii());
            }
        }
    }

    #[test]
    fn text_passes_any_bytes_through() {
        let m = msg(&[&[0xff, 0x00, b'x']]);
        assert_eq!(encoded(Format::Text, &m), b"\xff\x00x\n");
    }

    #[test]
    fn escaped_round_trips_awkward_bytes() {
        let m = msg(&[
            b"tab\there",
            b"line\nfeed\\",
            &[0xff, 0x01],
            "한글".as_bytes(),
        ]);
        let line = encoded(Format::Escaped, &m);
        assert_eq!(
            line,
            "tab\\there\tline\\nfeed\\\\\t\\xff\\x01\t한글\n".as_bytes()
        );
        assert_eq!(Format::Escaped.decode(&line[..line.len() - 1]).unwrap(), m);
    }

    #[test]
    fn escaped_rejects_unknown_escapes() {
        let err = Format::Escaped.decode(b"a\\q").unwrap_err().to_string();
        assert!(err.contains("unknown escape '\\q'"), "{err}");
        assert!(Format::Escaped.decode(b"a\\").is_err());
        assert!(Format::Escaped.decode(b"a\\x4").is_err());
    }

    #[test]
    fn hex_round_trips() {
        let m = msg(&[b"\x00\xff", b"AB"]);
        assert_eq!(encoded(Format::Hex, &m), b"00ff\t4142\n");
        assert_eq!(Format::Hex.decode(b"00FF\t4142").unwrap(), m);
        assert!(Format::Hex.decode(b"zz").is_err());
    }

    #[test]
    fn json_keeps_non_utf8_frames() {
        let m = msg(&[b"cat \"q\"\n", &[0xff, 0xfe]]);
        let line = encoded(Format::Json, &m);
        assert_eq!(
            line,
            b"{\"frames\":[\"cat \\\"q\\\"\\n\",{\"hex\":\"fffe\"}]}\n"
        );
        assert_eq!(Format::Json.decode(&line).unwrap(), m);
    }

    #[test]
    fn json_output_is_valid_json_for_control_characters() {
        let m = msg(&[b"\x01\x1f\t"]);
        let line = encoded(Format::Json, &m);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["frames"][0], "\u{1}\u{1f}\t");
    }

    #[test]
    fn json_accepts_arrays_and_strings() {
        assert_eq!(
            Format::Json.decode(br#"["a","b"]"#).unwrap(),
            msg(&[b"a", b"b"])
        );
        assert_eq!(Format::Json.decode(br#""solo""#).unwrap(), msg(&[b"solo"]));
        assert!(Format::Json.decode(b"[]").is_err());
        assert!(Format::Json.decode(b"{}").is_err());
        let err = Format::Json.decode(br#"[1]"#).unwrap_err().to_string();
        assert!(err.starts_with("frame 1:"), "{err}");
        assert!(Format::Json.decode(b"{not json").is_err());
    }

    #[test]
    fn raw_is_one_frame_in_and_bare_bytes_out() {
        assert_eq!(Format::Raw.decode(b"a\tb\n").unwrap(), msg(&[b"a\tb\n"]));
        assert_eq!(encoded(Format::Raw, &msg(&[b"a", b"b"])), b"ab");
    }

    #[test]
    fn names_parse_back() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("text, escaped, hex, json, raw"), "{err}");
    }
}
