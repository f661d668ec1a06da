//! The sink: when a batch is over, what it reads after that, what it reports about
//! duplicates, malformed headers and batches it did not wait for.

use super::{foreign_pusher, items, lines, report, send_item, sink};
use crate::support::{run, Bin, Finished, TempDir, ANY};
use zpattern::frame::{Header, HEADER_LEN};

/// A sink bound to an ipc socket file in `dir` after a foreign PUSH connected to it
/// sent every message of `sent`: libzmq queues them until the connection is up, then
/// writes them at once, so the sink finds them all queued together.
fn sink_after_the_fact(dir: &TempDir, sent: &[(&str, Header)], args: &[&str]) -> Finished {
    let endpoint = dir.ipc("sink.sock");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for (payload, header) in sent {
        send_item(&peer, payload, header);
    }
    let mut sink_args = vec!["--bind", &endpoint, "--sink", "--timeout", "20s"];
    sink_args.extend(["--report", "json"]);
    sink_args.extend(args);
    run(Bin::Zpull, &sink_args).start().finish()
}

#[test]
fn a_duplicate_queued_behind_the_last_item_is_reported() {
    let dir = TempDir::new();
    let known = [0, 1, 2, 1].map(|seq| ("item", Header::item(11, seq, Some(3))));
    let unknown = [
        ("item", Header::item(12, 0, None)),
        ("item", Header::item(12, 1, None)),
        ("", Header::end_of_stream(12, 2)),
        ("item", Header::item(12, 0, None)),
    ];
    for (sent, duplicate) in [(&known[..], 1), (&unknown[..], 0)] {
        // No grace period: the duplicate is already queued when the batch is whole.
        let out = sink_after_the_fact(&dir, sent, &["--grace", "0s"]).expect(3);
        let report = report(&out);
        let batch = &report["batches"][0];
        assert_eq!(report["verdict"], "inconsistent", "{report}");
        assert_eq!(batch["duplicates"], 1, "{report}");
        assert_eq!(
            batch["duplicate_ranges"],
            serde_json::json!([[duplicate, duplicate]])
        );
        assert_eq!(
            out.lines().len(),
            sent.len() - 1 - usize::from(duplicate == 0)
        );
    }
}

#[test]
fn a_duplicate_in_flight_when_the_batch_is_whole_is_reported() {
    let (mut sink, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--timeout", "20s", "--grace", "2s"],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for seq in 0..3 {
        send_item(
            &peer,
            &format!("item {seq:04}"),
            &Header::item(13, seq, Some(3)),
        );
    }
    // The batch is whole once the last item is printed: the duplicate comes after.
    assert_eq!(lines(&mut sink, 3), items(3));
    send_item(&peer, "item 0001", &Header::item(13, 1, Some(3)));
    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(3));
    assert_eq!(
        out.errors(),
        [
            "zpull: batch 13: inconsistent: 3 of 3 items; 1 duplicates: 1",
            "zpull: batch inconsistent: 1 of 1 batches seen, 1 duplicates",
        ]
    );
}

#[test]
fn a_second_batch_keeps_the_sink_collecting_until_it_is_whole() {
    let (mut sink, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--timeout", "20s", "--grace", "0s"],
    )
    .bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    send_item(&peer, "b0", &Header::item(2, 0, Some(2)));
    send_item(&peer, "a0", &Header::item(1, 0, Some(1)));
    // Batch 1 is whole, and one batch is wanted; batch 2 is still on its way.
    assert_eq!(lines(&mut sink, 2), ["b0", "a0"]);
    send_item(&peer, "b1", &Header::item(2, 1, Some(2)));
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), ["b0", "a0", "b1"]);
    assert_eq!(
        out.errors(),
        [
            "zpull: batch 1: complete: 1 of 1 items, each exactly once",
            "zpull: batch 2: complete: 2 of 2 items, each exactly once",
        ]
    );
}

#[test]
fn duplicates_are_reported_and_printed_once() {
    let (sink, endpoint) = sink("20s");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    for seq in [0, 1, 1, 2, 1] {
        send_item(
            &peer,
            &format!("item {seq:04}"),
            &Header::item(8, seq, None),
        );
    }
    send_item(&peer, "", &Header::end_of_stream(8, 3));
    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(3));
    let batch = &report(&out)["batches"][0];
    assert_eq!(batch["verdict"], "inconsistent");
    assert_eq!(batch["duplicates"], 2);
    assert_eq!(batch["duplicate_ranges"], serde_json::json!([[1, 1]]));
}

#[test]
fn the_end_may_overtake_items_and_the_sink_keeps_waiting() {
    let (mut sink, endpoint) =
        run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "20s"]).bound();
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    send_item(&peer, "item 0000", &Header::item(5, 0, None));
    send_item(&peer, "item 0001", &Header::item(5, 1, None));
    send_item(&peer, "", &Header::end_of_stream(5, 4));
    send_item(&peer, "item 0002", &Header::item(5, 2, None));
    // One connection delivers in order: the end has been counted when item 2 is
    // printed, and the sink is still waiting for item 3.
    assert_eq!(lines(&mut sink, 3), ["item 0000", "item 0001", "item 0002"]);
    assert_eq!(sink.try_exit(), None);
    send_item(&peer, "item 0003", &Header::item(5, 3, None));
    let out = sink.finish().expect(0);
    assert_eq!(out.lines(), items(4));
}

#[test]
fn a_sink_that_sees_nothing_gives_up_at_its_timeout() {
    let (sink, _) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "300ms"]).bound();
    let out = sink.finish().expect(3);
    assert_eq!(
        out.errors(),
        [
            "zpull: 0 of 1 batches seen",
            "zpull: batch incomplete: 0 of 1 batches seen"
        ]
    );
}

#[test]
fn an_interrupted_sink_still_reports() {
    let (sink, _) = run(Bin::Zpull, &["--bind", ANY, "--sink"]).bound();
    sink.terminate();
    let out = sink.finish().expect(130);
    assert_eq!(
        out.errors(),
        [
            "zpull: 0 of 1 batches seen",
            "zpull: interrupted: sent 0, received 0, dropped 0"
        ]
    );
}

#[test]
fn the_sink_deadline_bounds_a_stream_that_never_ends() {
    let (sink, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--deadline", "2s"]).bound();
    // Items keep coming, so the idle timeout would never end this sink.
    let zpush = run(
        Bin::Zpush,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--batch-id",
            "2",
            "--data",
            "x",
            "--count",
            "1000000",
            "--interval",
            "1ms",
        ],
    )
    .start();
    let out = sink.finish().expect(3);
    let errors = out.errors();
    assert!(
        errors[0].starts_with("zpull: batch 2: incomplete: ")
            && errors[0].contains(" of 1000000 items; missing "),
        "{errors:?}"
    );
    drop(zpush);
}

#[test]
fn malformed_headers_from_a_foreign_peer_are_counted_and_reported() {
    let (sink, endpoint) = sink("20s");
    let context = zmq::Context::new();
    let peer = foreign_pusher(&context, &endpoint);
    let valid = Header::item(3, 0, Some(2)).encode();
    let mut version_2 = valid;
    version_2[3] = 2;
    let mut version_99 = valid;
    version_99[3] = 99;
    let mut bad_flags = valid;
    bad_flags[4] = 0x80;
    let mut reserved = valid;
    reserved[6] = 0x01;
    let junk: [Vec<&[u8]>; 8] = [
        vec![b"no header"],
        vec![b"not a header", b"hello"],
        vec![b"from the future", &version_2],
        vec![b"from far in the future", &version_99],
        vec![b"too short", &valid[..HEADER_LEN - 1]],
        vec![b"bad flags", &bad_flags],
        vec![b"reserved bytes set", &reserved],
        // A valid header, but nothing else: no item.
        vec![&valid],
    ];
    for frames in &junk {
        peer.send_multipart(frames.iter().copied(), 0)
            .expect("send");
    }
    send_item(&peer, "item 0000", &Header::item(3, 0, Some(2)));
    send_item(&peer, "item 0001", &Header::item(3, 1, Some(2)));

    let out = sink.finish().expect(3);
    assert_eq!(out.lines(), items(2));
    let report = report(&out);
    assert_eq!(report["verdict"], "inconsistent", "{report}");
    assert_eq!(report["malformed"], junk.len());
    assert_eq!(report["batches"][0]["verdict"], "complete");
    let warnings: Vec<&str> = out
        .errors()
        .into_iter()
        .filter(|l| l.starts_with("zpull: warning: dropped a message: "))
        .collect();
    assert_eq!(
        warnings.len(),
        junk.len(),
        "one warning per malformed message: {out:?}"
    );
    for why in [
        "message has no header frame",
        "last frame is not a zpattern header",
        "header version 2 is not supported",
        "header version 99 is not supported",
        "header is 39 bytes, expected 40",
        "header has unknown flag bits 0x80",
        "header has non-zero reserved bytes 00 01 00",
        "message has only a header frame, no payload",
    ] {
        assert!(
            warnings.iter().any(|w| w.ends_with(why)),
            "{why}: {warnings:?}"
        );
    }
}
