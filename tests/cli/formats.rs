//! The terminal formats, checked against the bytes on the wire: a foreign peer (the
//! `zmq` crate) sends or receives the frames, zpush or zpull reads or prints them.

use crate::support::{bind_ephemeral, frames, recv_frames, run, zmq_socket, Bin};

/// Send `messages` from a foreign PUSH to a zpull started with `zpull_args`; what
/// zpull printed.
fn printed_by_zpull(zpull_args: &[&str], messages: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let context = zmq::Context::new();
    let push = zmq_socket(&context, zmq::PUSH);
    let endpoint = bind_ephemeral(&push);
    let count = messages.len().to_string();
    let mut args = vec!["--connect", endpoint.as_str(), "--count", count.as_str()];
    args.extend_from_slice(zpull_args);
    let zpull = run(Bin::Zpull, &args).start();
    for message in messages {
        // Blocks until zpull has connected (bounded by the send timeout).
        push.send_multipart(message, 0).expect("send to zpull");
    }
    zpull.finish().expect(0).stdout
}

/// Feed `input` to a zpush started with `zpush_args`; the `count` messages a foreign
/// PULL received.
fn received_from_zpush(zpush_args: &[&str], input: &[u8], count: usize) -> Vec<Vec<Vec<u8>>> {
    let context = zmq::Context::new();
    let pull = zmq_socket(&context, zmq::PULL);
    let endpoint = bind_ephemeral(&pull);
    let mut args = vec!["--connect", endpoint.as_str()];
    args.extend_from_slice(zpush_args);
    let zpush = run(Bin::Zpush, &args).stdin_bytes(input).start();
    let received = (0..count).map(|_| recv_frames(&pull)).collect();
    zpush.finish().expect(0);
    received
}

#[test]
fn json_output_keeps_a_frame_that_is_not_utf8_as_hex() {
    let printed = printed_by_zpull(
        &["--format", "json"],
        &[frames(&[b"cat", b"\xff\xfe\x00x", "한글".as_bytes()])],
    );
    assert_eq!(
        printed,
        [r#"{"frames":["cat",{"hex":"fffe0078"},"한글"]}"#.as_bytes()]
    );
    let value: serde_json::Value = serde_json::from_slice(&printed[0]).expect("valid JSON");
    assert_eq!(value["frames"][1]["hex"], "fffe0078");
}

#[test]
fn hex_output_shows_every_byte() {
    let printed = printed_by_zpull(
        &["--format", "hex"],
        &[frames(&[b"\x00\xff", b"AB"]), frames(&[b"\n", b"", b"\t"])],
    );
    assert_eq!(printed, [b"00ff\t4142".to_vec(), b"0a\t\t09".to_vec()]);
}

#[test]
fn hex_input_becomes_the_bytes_it_spells() {
    let received = received_from_zpush(&["--format", "hex"], b"00FF\t4142\ndeadbeef\n", 2);
    assert_eq!(
        received,
        [
            frames(&[b"\x00\xff", b"AB"]),
            frames(&[b"\xde\xad\xbe\xef"])
        ]
    );
}

#[test]
fn escaped_round_trips_awkward_bytes() {
    let line = "tab\\there\tline\\nfeed\\\\\t\\xff\\x01\t한글\t";
    let bytes = frames(&[
        b"tab\there",
        b"line\nfeed\\",
        b"\xff\x01",
        "한글".as_bytes(),
        b"",
    ]);
    // Escaped text in, the exact bytes on the wire...
    let received = received_from_zpush(&["--format", "escaped"], format!("{line}\n").as_bytes(), 1);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0], bytes);
    // ...and those bytes back out as the same escaped text.
    let printed = printed_by_zpull(&["--format", "escaped"], &[bytes]);
    assert_eq!(printed, [line.as_bytes()]);
}

#[test]
fn json_input_in_its_three_shapes() {
    let input = concat!(
        r#"{"frames":["persian",{"hex":"00ff"}]}"#,
        "\n",
        r#"["a","b","c"]"#,
        "\n",
        r#""solo""#,
        "\n",
        r#"{"frames":["tab\there","quote\"d"]}"#,
        "\n",
    );
    let received = received_from_zpush(&["--format", "json"], input.as_bytes(), 4);
    assert_eq!(
        received,
        [
            frames(&[b"persian", b"\x00\xff"]),
            frames(&[b"a", b"b", b"c"]),
            frames(&[b"solo"]),
            frames(&[b"tab\there", b"quote\"d"]),
        ]
    );
}

#[test]
fn raw_input_is_one_frame() {
    let received = received_from_zpush(&["--format", "raw"], b"a\tb\nc\n", 1);
    assert_eq!(received, [frames(&[b"a\tb\nc\n"])]);
}
