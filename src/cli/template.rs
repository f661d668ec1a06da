//! `--template STR`: what a receiver prints for each message, field by field, in
//! place of `--format`, like mosquitto_sub's `-F` and kcat's `-f`, and aware of
//! frames.
//!
//! A template is compiled once, when the arguments are parsed, into literal bytes
//! and fields; an unknown field is a usage error then, before anything runs.
//! Rendering appends to the writer's buffer: no allocation per message or field.
//!
//! | field | what it prints |
//! |-------|----------------|
//! | `{0}`, `{1}`, `{-1}` | frame 0, frame 1, the last frame (as raw bytes); a frame the message does not have prints nothing |
//! | `{topic}`, `{body}` | frame 0; the frames after it joined by TAB (nothing for a one-frame message), so `{topic}\t{body}` is the `text` format |
//! | `{N:FMT}`, `{topic:FMT}`, `{body:FMT}` | the same in FMT: `text` (raw bytes), `escaped`, `hex` or `json` (a JSON string, or `{"hex":...}`) |
//! | `{text}`, `{escaped}`, `{hex}`, `{json}` | the whole message in that format, without its newline |
//! | `{frames}`, `{size}` | how many frames; how many bytes in all |
//! | `{time}`, `{time_us}` | when it arrived: RFC 3339 in UTC with milliseconds (`2026-12-03T10:00:00.123Z`); microseconds since the Unix epoch |
//! | `{peer}` | the address of the peer it came from (libzmq's `Peer-Address`: the IP address over tcp); nothing over inproc |
//! | `{batch}`, `{seq}` | with `--header`: its batch id and sequence number |
//! | `{sent}`, `{sent_us}` | with `--header`: its send time, as `{time}` and `{time_us}` |
//! | `{latency}`, `{latency_us}` | with `--header`: arrival minus send time, as `84µs`, `1.25ms`, `2.50s`; in microseconds (negative when the sender's clock is ahead of ours) |
//!
//! Escapes: `\t` (TAB), `\n` (newline), `\\` (a backslash), `{{` and `}}` (braces).
//! Each message's rendering ends with a newline.

use crate::cli::latency;
use crate::frame::{Format, Header, Message};
use clap::Args;
use std::io::Write as _;

/// The `--template` option, shared by the binaries that print messages.
#[derive(Args, Debug, Clone)]
pub struct TemplateArgs {
    /// Print each message as STR, one line each, instead of in --format (which
    /// still reads the input). Fields: {0} {1} {-1} (frames; {N:hex}, {N:escaped},
    /// {N:json} encode one), {topic}, {body} (the frames after the topic, joined by
    /// TAB), {frames}, {size}, {text} {escaped} {hex} {json} (the whole message),
    /// {time} (arrival, RFC 3339 UTC), {time_us}, {peer} (the sender's address);
    /// with --header: {batch}, {seq}, {sent}, {sent_us}, {latency}, {latency_us}.
    /// Escapes: \t, \n, \\, {{ and }}.
    #[arg(long, value_name = "STR", value_parser = template_arg)]
    pub template: Option<Template>,
}

impl TemplateArgs {
    /// Check, before anything runs, that every field of the template can be
    /// filled: a header field needs batch header mode (`header`); `hint` says how
    /// to get it, or that this binary has none.
    pub fn check(&self, header: bool, hint: &str) -> crate::Result<()> {
        match self.template.as_ref().and_then(Template::header_field) {
            Some(field) if !header => Err(crate::Error::usage(format!(
                "--template field {{{field}}} needs the batch header: {hint}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Parse `--template` for clap.
pub fn template_arg(text: &str) -> Result<Template, String> {
    Template::parse(text)
}

/// A compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a message came with, beside its frames.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen<'a> {
    /// When it arrived, in microseconds since the Unix epoch.
    pub arrived_us: u64,
    /// Its batch header, in header mode.
    pub header: Option<&'a Header>,
    /// The address of the peer it came from.
    pub peer: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    /// A frame by index; negative counts from the end.
    Frame(i64, Format),
    Body(Format),
    Whole(Format),
    Frames,
    Size,
    Time,
    TimeUs,
    Peer,
    Batch,
    Seq,
    Sent,
    SentUs,
    Latency,
    LatencyUs,
}

/// Every field name, for the error that names an unknown one.
const FIELDS: &str = "{0} {1} {-1} (any frame), {topic}, {body}, {frames}, {size}, {text}, {escaped}, {hex}, {json}, {time}, {time_us}, {peer}, {batch}, {seq}, {sent}, {sent_us}, {latency}, {latency_us}";

impl Template {
    /// Compile `text`; an unknown field or escape, or an unpaired brace, is an
    /// error naming it.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = Vec::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            match c {
                '\\' => {
                    let escaped = rest.chars().next();
                    literal.push(match escaped {
                        Some('t') => b'\t',
                        Some('n') => b'\n',
                        Some('\\') => b'\\',
                        Some(other) => {
                            return Err(format!(
                                "unknown escape '\\{other}' (known: \\t \\n \\\\; {{{{ and }}}} for braces)"
                            ))
                        }
                        None => return Err("a lone '\\' ends the template (write \\\\ for one)".into()),
                    });
                    rest = &rest[1..];
                }
                '{' if rest.starts_with('{') => {
                    literal.push(b'{');
                    rest = &rest[1..];
                }
                '}' if rest.starts_with('}') => {
                    literal.push(b'}');
                    rest = &rest[1..];
                }
                '}' => return Err("a lone '}' (write }} for a brace)".into()),
                '{' => {
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "'{{{rest}' has no closing '}}' (write {{{{ for a brace)"
                        ));
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(field(&rest[..end])?);
                    rest = &rest[end + 1..];
                }
                c => {
                    let mut buf = [0; 4];
                    literal.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The first field that needs a batch header, if any.
    pub fn header_field(&self) -> Option<&'static str> {
        self.parts.iter().find_map(|part| match part {
            Part::Batch => Some("batch"),
            Part::Seq => Some("seq"),
            Part::Sent => Some("sent"),
            Part::SentUs => Some("sent_us"),
            Part::Latency => Some("latency"),
            Part::LatencyUs => Some("latency_us"),
            _ => None,
        })
    }

    /// Whether a field needs the arrival time.
    pub fn needs_time(&self) -> bool {
        self.parts.iter().any(|part| {
            matches!(
                part,
                Part::Time | Part::TimeUs | Part::Latency | Part::LatencyUs
            )
        })
    }

    /// Append `msg`, seen as `seen` says, and a newline, to `out`.
    pub fn render(&self, msg: &Message, seen: &Seen, out: &mut Vec<u8>) {
        for part in &self.parts {
            self.render_part(part, msg, seen, out);
        }
        out.push(b'\n');
    }

    fn render_part(&self, part: &Part, msg: &Message, seen: &Seen, out: &mut Vec<u8>) {
        let latency = |h: &Header| {
            let us = i128::from(seen.arrived_us) - i128::from(h.sent_micros);
            i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
        };
        let header = seen.header;
        match part {
            Part::Literal(bytes) => out.extend_from_slice(bytes),
            Part::Frame(index, format) => {
                if let Some(frame) = frame_at(msg, *index) {
                    format.encode_frame(frame, out);
                }
            }
            Part::Body(format) => {
                for (i, frame) in msg.body().iter().enumerate() {
                    if i > 0 {
                        out.push(b'\t');
                    }
                    format.encode_frame(frame, out);
                }
            }
            Part::Whole(format) => {
                format.encode(msg, out);
                out.pop(); // the newline of a line format
            }
            Part::Frames => number(out, msg.frame_count()),
            Part::Size => number(out, msg.byte_len()),
            Part::Time => write_time(out, seen.arrived_us),
            Part::TimeUs => number(out, seen.arrived_us),
            Part::Peer => out.extend_from_slice(seen.peer.unwrap_or_default().as_bytes()),
            Part::Batch => header.map_or((), |h| number(out, h.batch)),
            Part::Seq => header.map_or((), |h| number(out, h.seq)),
            Part::Sent => header.map_or((), |h| write_time(out, h.sent_micros)),
            Part::SentUs => header.map_or((), |h| number(out, h.sent_micros)),
            Part::Latency => header.map_or((), |h| {
                let mut text = LatencyText::default();
                latency::write_micros(&mut text, latency(h));
                out.extend_from_slice(text.as_bytes());
            }),
            Part::LatencyUs => header.map_or((), |h| number(out, latency(h))),
        }
    }
}

/// Frame `index` of `msg`, counting from the end when negative.
fn frame_at(msg: &Message, index: i64) -> Option<&[u8]> {
    let frames = msg.frames();
    let at = if index < 0 {
        frames
            .len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    } else {
        usize::try_from(index).ok()?
    };
    frames.get(at).map(|f| &f[..])
}

/// The part a field name (between the braces) stands for.
fn field(name: &str) -> Result<Part, String> {
    let (name, format) = match name.split_once(':') {
        Some((name, format)) => (name, Some(frame_format(name, format)?)),
        None => (name, None),
    };
    let encoded = format.unwrap_or(Format::Text);
    let part = match name {
        "topic" => Part::Frame(0, encoded),
        "body" => Part::Body(encoded),
        n if n.parse::<i64>().is_ok() => Part::Frame(n.parse().unwrap_or(0), encoded),
        _ if format.is_some() => {
            return Err(format!(
                "{{{name}:...}}: only a frame, {{topic}} or {{body}} takes a format"
            ))
        }
        "text" => Part::Whole(Format::Text),
        "escaped" => Part::Whole(Format::Escaped),
        "hex" => Part::Whole(Format::Hex),
        "json" => Part::Whole(Format::Json),
        "frames" => Part::Frames,
        "size" => Part::Size,
        "time" => Part::Time,
        "time_us" => Part::TimeUs,
        "peer" => Part::Peer,
        "batch" => Part::Batch,
        "seq" => Part::Seq,
        "sent" => Part::Sent,
        "sent_us" => Part::SentUs,
        "latency" => Part::Latency,
        "latency_us" => Part::LatencyUs,
        _ => return Err(format!("unknown field {{{name}}} (fields: {FIELDS})")),
    };
    Ok(part)
}

/// The format after the colon of `{name:format}`: a line format.
fn frame_format(name: &str, format: &str) -> Result<Format, String> {
    match format.parse::<Format>() {
        Ok(format) if format != Format::Raw => Ok(format),
        _ => Err(format!(
            "{{{name}:{format}}}: unknown format '{format}' (text, escaped, hex or json)"
        )),
    }
}

fn number(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

/// A few bytes of latency text, on the stack.
#[derive(Default)]
struct LatencyText {
    bytes: [u8; 32],
    len: usize,
}

impl LatencyText {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for LatencyText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Write `micros` since the Unix epoch as RFC 3339 in UTC with milliseconds:
/// `2026-12-03T10:00:00.123Z`.
pub fn write_time(out: &mut Vec<u8>, micros: u64) {
    let secs = micros / 1_000_000;
    let millis = micros / 1_000 % 1_000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
}

/// The Gregorian date of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-03T10:00:00.123Z, in microseconds since the Unix epoch.
    const DEC_3: u64 = 1_796_292_000_123_456;

    fn render(template: &str, msg: &Message, seen: &Seen) -> String {
        let mut out = Vec::new();
        Template::parse(template)
            .unwrap()
            .render(msg, seen, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn cat() -> Message {
        Message::from_frames(["persian", "fedora", "grey"]).unwrap()
    }

    #[test]
    fn the_example_of_the_issue() {
        let header = Header {
            batch: 7,
            seq: 3,
            size: None,
            end: false,
            sent_micros: DEC_3 - 84,
        };
        let seen = Seen {
            arrived_us: DEC_3,
            header: Some(&header),
            peer: Some("127.0.0.1"),
        };
        let msg = Message::with_topic("persian", "fedora");
        assert_eq!(
            render("{time} {0} {1} {latency}", &msg, &seen),
            "2026-12-03T10:00:00.123Z persian fedora 84µs\n"
        );
        assert_eq!(
            render(
                "{batch}/{seq} {sent} {sent_us} {latency_us} {peer}",
                &msg,
                &seen
            ),
            "7/3 2026-12-03T10:00:00.123Z 1796292000123372 84 127.0.0.1\n"
        );
    }

    #[test]
    fn frames_topic_and_body() {
        let seen = Seen::default();
        assert_eq!(
            render("{0}|{1}|{-1}|{5}|{-9}", &cat(), &seen),
            "persian|fedora|grey||\n"
        );
        assert_eq!(
            render("{topic}\\t{body}", &cat(), &seen),
            "persian\tfedora\tgrey\n"
        );
        assert_eq!(render("[{body}]", &Message::new("alone"), &seen), "[]\n");
        assert_eq!(render("{frames} {size}", &cat(), &seen), "3 17\n");
        let binary = Message::from_frames([&b"k"[..], b"\xff\t"]).unwrap();
        assert_eq!(
            render(
                "{1:hex} {1:escaped} {1:json} {topic:json} {body:hex}",
                &binary,
                &seen
            ),
            "ff09 \\xff\\t {\"hex\":\"ff09\"} \"k\" ff09\n"
        );
    }

    #[test]
    fn the_whole_message_in_each_format() {
        let seen = Seen::default();
        let msg = Message::with_topic("a", "b c");
        assert_eq!(render("{text}", &msg, &seen), "a\tb c\n");
        assert_eq!(render("{escaped}", &msg, &seen), "a\tb c\n");
        assert_eq!(render("{hex}", &msg, &seen), "61\t622063\n");
        assert_eq!(
            render("{json}", &msg, &seen),
            "{\"frames\":[\"a\",\"b c\"]}\n"
        );
    }

    #[test]
    fn escapes_and_braces() {
        let seen = Seen::default();
        let msg = Message::new("x");
        assert_eq!(render("{{{0}}}\\n\\\\", &msg, &seen), "{x}\n\\\n");
        assert_eq!(render("naïve {0}", &msg, &seen), "naïve x\n");
    }

    #[test]
    fn mistakes_are_named() {
        let error = |t: &str| Template::parse(t).unwrap_err();
        assert!(error("{nope}").starts_with("unknown field {nope} (fields: {0}"));
        assert!(error("{0").contains("no closing '}'"));
        assert!(error("a}b").contains("lone '}'"));
        assert!(error("\\q").contains("unknown escape '\\q'"));
        assert!(error("end\\").contains("lone '\\'"));
        assert!(error("{0:raw}").contains("unknown format 'raw'"));
        assert!(error("{time:hex}").contains("only a frame"));
        assert!(error("{}").starts_with("unknown field {}"));
    }

    #[test]
    fn header_fields_and_time_are_known_in_advance() {
        let t = Template::parse("{0} {latency}").unwrap();
        assert_eq!(t.header_field(), Some("latency"));
        assert!(t.needs_time());
        let t = Template::parse("{0} {peer}").unwrap();
        assert_eq!(t.header_field(), None);
        assert!(!t.needs_time());
        assert!(Template::parse("{seq}").unwrap().header_field().is_some());
    }

    #[test]
    fn negative_and_long_latencies() {
        let header = Header {
            batch: 1,
            seq: 0,
            size: None,
            end: false,
            sent_micros: 5_000_000,
        };
        let seen = |arrived_us| Seen {
            arrived_us,
            header: Some(&header),
            peer: None,
        };
        let msg = Message::new("x");
        assert_eq!(
            render("{latency} {latency_us}", &msg, &seen(4_999_000)),
            "-1.00ms -1000\n"
        );
        assert_eq!(render("{latency}", &msg, &seen(7_500_000)), "2.50s\n");
    }

    #[test]
    fn dates_in_utc() {
        let time = |us| {
            let mut out = Vec::new();
            write_time(&mut out, us);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(DEC_3), "2026-12-03T10:00:00.123Z");
        assert_eq!(time(951_782_400_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(time(4_107_542_399_999_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(time(4_107_542_400_000_000), "2100-03-01T00:00:00.000Z");
    }
}
