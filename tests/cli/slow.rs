//! Slow consumers: a publisher floods a subscriber that reads at `--rate`. By
//! default PUB drops at the high-water mark and `zsub --header` reports the gaps;
//! `zpub --no-drop` loses nothing; and the subscriber's memory stays bounded by its
//! HWM whatever the flood.

use crate::support::{
    bind_ephemeral, run, wait_all_with_usage, zmq_socket, Bin, Finished, ANY, DEADLINE,
};

/// Publish `count` messages of `size` bytes as fast as `zpub_args` allow into a
/// zsub reading at `rate` per second; zsub's and zpub's endings, and zsub's peak
/// resident memory in KiB.
fn flood(
    count: u64,
    size: usize,
    rate: &str,
    zsub_args: &[&str],
    zpub_args: &[&str],
) -> (Finished, Finished, u64) {
    let mut args = vec!["--bind", ANY, "--header", "--rate", rate, "--timeout", "1s"];
    args.extend_from_slice(zsub_args);
    let (mut zsub, endpoint) = run(Bin::Zsub, &args).bound();
    let data = "x".repeat(size);
    let count = count.to_string();
    let mut args = vec![
        "--connect",
        &endpoint,
        "--header",
        "--batch-id",
        "7",
        "--data",
        &data,
        "--count",
        &count,
        "--linger",
        "30s",
    ];
    args.extend_from_slice(zpub_args);
    let mut zpub = run(Bin::Zpub, &args).start();
    let usage = wait_all_with_usage(&mut [&mut zsub, &mut zpub], DEADLINE).expect("both end");
    (zsub.finish(), zpub.finish(), usage[0].peak_rss_kib)
}

/// The numbers of `zsub: batch 7: incomplete: R of N items; missing M: ...`.
fn received_and_missing(out: &Finished) -> Option<(u64, u64)> {
    let line = out
        .stderr
        .iter()
        .find(|l| l.starts_with("zsub: batch 7: "))?;
    let rest = line.strip_prefix("zsub: batch 7: incomplete: ")?;
    let (received, rest) = rest.split_once(" of ")?;
    let missing = rest.split_once("; missing ")?.1.split_once(':')?.0;
    Some((received.parse().ok()?, missing.parse().ok()?))
}

#[test]
fn the_default_drops_for_a_slow_subscriber_and_zsub_reports_the_gaps() {
    let (zsub, zpub, _) = flood(40_000, 1000, "20000", &["--stats", "1h"], &[]);
    let zsub = zsub.expect(0);
    zpub.expect(0);
    let (received, missing) =
        received_and_missing(&zsub).unwrap_or_else(|| panic!("no gap report: {zsub:?}"));
    assert!(missing > 0, "{zsub:?}");
    assert_eq!(received + missing, 40_000, "{zsub:?}");
    assert_eq!(zsub.stdout.len() as u64, received);
    let stats = zsub
        .stderr
        .iter()
        .find_map(|l| l.strip_prefix("zsub: stats "))
        .expect("a final stats line");
    let stats: serde_json::Value = serde_json::from_str(stats).unwrap();
    assert_eq!(stats["gaps"], missing, "{stats}");
    assert_eq!(stats["dropped"], missing, "{stats}");
}

#[test]
fn no_drop_makes_the_publisher_wait_and_loses_nothing() {
    let (zsub, zpub, _) = flood(20_000, 1000, "20000", &[], &["--no-drop"]);
    let zsub = zsub.expect(0);
    zpub.expect(0);
    assert_eq!(zsub.stdout.len(), 20_000);
    assert_eq!(
        zsub.errors(),
        Vec::<&str>::new(),
        "nothing lost, nothing to report"
    );
}

#[test]
fn a_flooded_slow_subscriber_keeps_its_memory_bounded() {
    // 100 MB at the pace of the subscriber: the publisher waits (--no-drop), so
    // everything that is not yet read queues up somewhere. With the default HWM it
    // queues in the publisher, not in the subscriber (which reaches about 33 MiB
    // here; with --hwm 0 it takes in the whole flood, about 160 MiB).
    let (zsub, zpub, peak_kib) = flood(10_000, 10_000, "5000", &[], &["--no-drop"]);
    let zsub = zsub.expect(0);
    zpub.expect(0);
    assert_eq!(zsub.stdout.len(), 10_000);
    assert!(peak_kib > 0, "the peak memory was not read");
    assert!(peak_kib < 64 * 1024, "zsub peaked at {peak_kib} KiB");
}

#[test]
fn late_join_and_drops_are_in_the_json_report() {
    // A foreign XPUB, so the test decides exactly which sequence numbers go out.
    let context = zmq::Context::new();
    let publisher = zmq_socket(&context, zmq::XPUB);
    let endpoint = bind_ephemeral(&publisher);
    let zsub = run(
        Bin::Zsub,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--format",
            "json",
            "--count",
            "3",
        ],
    )
    .start();
    publisher.recv_bytes(0).expect("zsub subscribes");
    for seq in [5u64, 6, 8] {
        let mut header = b"ZPH\x01\0\0\0\0".to_vec();
        header.extend(9u64.to_be_bytes());
        header.extend(seq.to_be_bytes());
        header.extend([0u8; 16]);
        publisher
            .send_multipart([b"tick".to_vec(), header], 0)
            .unwrap();
    }
    let out = zsub.finish().expect(0);
    assert_eq!(out.lines(), [r#"{"frames":["tick"]}"#; 3]);
    let report = out
        .stderr
        .iter()
        .find_map(|l| l.strip_prefix("zsub: report "))
        .unwrap_or_else(|| panic!("no report: {out:?}"));
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    let batch = &report["batches"][0];
    assert_eq!(batch["batch"], 9);
    assert_eq!(batch["received"], 3);
    assert_eq!(batch["missing_ranges"], serde_json::json!([[0, 4], [7, 7]]));
}
