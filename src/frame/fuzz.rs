//! Fuzzing the framing decoders with proptest: whatever bytes arrive on stdin or
//! from a peer, decoding returns a message or an error, never a panic, and every
//! binary-safe format reads back exactly what it wrote. Case counts are bounded so
//! this runs in every `cargo test`.

use super::{Format, Frame, Header, Message, HEADER_LEN};
use proptest::collection::vec;
use proptest::prelude::*;

/// Arbitrary frames, biased towards the bytes the formats treat specially.
fn frame_bytes() -> impl Strategy<Value = Vec<u8>> {
    let special = prop::sample::select(vec![
        b'\t', b'\n', b'\r', b'\\', b'\0', b'"', b'{', b'x', 0xff, 0xc3, 0x80,
    ]);
    vec(prop_oneof![any::<u8>(), special], 0..24)
}

fn message() -> impl Strategy<Value = Message> {
    vec(frame_bytes(), 1..6).prop_map(|frames| {
        Message::from_frames(frames.into_iter().map(Frame::from)).expect("at least one frame")
    })
}

fn record_of(format: Format, msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    format.encode(msg, &mut out);
    if format.is_line_based() {
        assert_eq!(out.pop(), Some(b'\n'));
    }
    out
}

/// Bytes that look like a header often enough to reach its later checks.
fn header_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..48),
        (any::<u8>(), any::<u8>(), vec(any::<u8>(), 0..44)).prop_map(|(version, flags, rest)| {
            let mut bytes = b"ZPH".to_vec();
            bytes.extend([version % 3, flags % 4]);
            bytes.extend(rest);
            bytes
        }),
        vec(any::<u8>(), 32..=32).prop_map(|mut rest| {
            let mut bytes = b"ZPH\x01".to_vec();
            bytes.extend([rest[0] % 2, 0, 0, 0]);
            rest.truncate(HEADER_LEN - 8);
            bytes.extend(rest);
            bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_record_makes_a_decoder_panic(record in frame_bytes(), json in ".{0,40}") {
        for format in Format::ALL {
            let _ = format.decode(&record);
            let _ = format.decode(json.as_bytes());
            let wrapped = format!("{{\"frames\":[{json}]}}");
            let _ = format.decode(wrapped.as_bytes());
        }
    }

    #[test]
    fn binary_safe_formats_read_back_what_they_wrote(msg in message()) {
        for format in [Format::Escaped, Format::Hex, Format::Json] {
            let record = record_of(format, &msg);
            prop_assert_eq!(format.decode(&record).ok(), Some(msg.clone()), "{}", format);
        }
    }

    #[test]
    fn text_reads_back_frames_without_tab_or_newline(msg in message()) {
        // Text is not binary-safe: TAB and LF are its separators.
        let frames = msg.frames().iter().map(|f| {
            f.iter().map(|&b| if b == b'\t' || b == b'\n' { b' ' } else { b }).collect::<Vec<u8>>()
        });
        let msg = Message::from_frames(frames).expect("at least one frame");
        let record = record_of(Format::Text, &msg);
        prop_assert_eq!(Format::Text.decode(&record).ok(), Some(msg));
    }

    #[test]
    fn escaped_and_json_output_is_valid_utf8(msg in message()) {
        for format in [Format::Escaped, Format::Json] {
            let record = record_of(format, &msg);
            prop_assert!(std::str::from_utf8(&record).is_ok(), "{}", format);
        }
    }

    #[test]
    fn no_frame_makes_the_header_decoder_panic(bytes in header_like()) {
        if let Ok(header) = Header::decode(&bytes) {
            // Whatever decodes, encodes back to the same bytes.
            prop_assert_eq!(header.encode().to_vec(), bytes.clone());
        }
        let mut msg = Message::new("payload");
        msg.push(Frame::from(bytes));
        let _ = msg.pop_header();
    }

    #[test]
    fn headers_read_back_what_they_wrote(
        batch in any::<u64>(), seq in any::<u64>(), size in any::<u64>(),
        end in any::<bool>(), sent_micros in any::<u64>(),
    ) {
        let header = Header { batch, seq, size: Some(size).filter(|&n| n != 0), end, sent_micros };
        prop_assert_eq!(Header::decode(&header.encode()), Ok(header));
    }
}
