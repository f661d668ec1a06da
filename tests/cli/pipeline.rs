//! zpush and zpull: fan-out, delivery of everything to a slow consumer, and when a
//! puller stops.

use crate::support::{run, wait_all_with_usage, Bin, Proc, TempDir, ANY, DEADLINE};
use std::collections::BTreeSet;
use std::io::Read;
use std::process::ChildStdout;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn each_item_goes_to_exactly_one_of_two_pullers() {
    let (mut left, left_endpoint) = run(Bin::Zpull, &["--bind", ANY]).bound();
    let (mut right, right_endpoint) = run(Bin::Zpull, &["--bind", ANY]).bound();
    let items: Vec<String> = (1..=200).map(|i| format!("item {i}")).collect();
    // Connecting to both before the first send gives zpush a queue per puller from
    // the start, so its round robin hands items to both.
    let zpush = run(
        Bin::Zpush,
        &["--connect", &left_endpoint, "--connect", &right_endpoint],
    )
    .stdin_lines(&items)
    .start();
    zpush.finish().expect(0);

    let mut got = (Vec::new(), Vec::new());
    let deadline = Instant::now() + DEADLINE;
    while got.0.len() + got.1.len() < items.len() {
        assert!(
            left.try_exit().is_none() && right.try_exit().is_none(),
            "a puller exited"
        );
        assert!(
            Instant::now() < deadline,
            "only {} + {} of {} items arrived",
            got.0.len(),
            got.1.len(),
            items.len()
        );
        got.0.extend(left.line_within(Duration::from_millis(10)));
        got.1.extend(right.line_within(Duration::from_millis(10)));
    }
    // Nothing more may come (a duplicate would): stop both and collect the rest.
    let left = stop(left);
    let right = stop(right);
    assert_eq!(left, got.0);
    assert_eq!(right, got.1);

    assert!(!left.is_empty() && !right.is_empty(), "{left:?} {right:?}");
    let union: BTreeSet<&String> = left.iter().chain(&right).collect();
    assert_eq!(union.len(), left.len() + right.len(), "duplicates");
    assert_eq!(union, items.iter().collect());
    // Each puller sees its share in the order sent.
    for share in [&left, &right] {
        let positions: Vec<usize> = share
            .iter()
            .map(|item| items.iter().position(|i| i == item).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{share:?}");
    }
}

/// Stop an idle puller with SIGTERM; everything it printed.
fn stop(puller: Proc) -> Vec<String> {
    puller.terminate();
    let out = puller.finish().expect(130);
    assert_eq!(out.errors(), ["zpull: interrupted"]);
    out.lines()
}

/// Read `stdout` to its end in small pieces with pauses, as a slow consumer does;
/// the whole output arrives on the channel.
fn read_slowly(mut stdout: ChildStdout) -> Receiver<Vec<u8>> {
    let (sender, output) = mpsc::channel();
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut piece = [0u8; 1024];
        loop {
            match stdout.read(&mut piece) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&piece[..n]),
            }
            // Pacing, not synchronisation: keeps zpull blocked on its stdout so that
            // its queue stays at the high-water mark.
            thread::sleep(Duration::from_millis(1));
        }
        let _ = sender.send(all);
    });
    output
}

/// `zpush < file` of 10,000 lines to a zpull with a high-water mark of 10 whose output
/// is read slowly: every line must arrive, the last ones included.
fn a_slow_puller_gets_everything(bind: &str) {
    let dir = TempDir::new();
    let items: Vec<String> = (1..=10_000).map(|i| format!("item {i:05}")).collect();
    let input = dir.path().join("items.txt");
    std::fs::write(&input, items.join("\n") + "\n").unwrap();

    let (mut zpull, endpoint) = run(
        Bin::Zpull,
        &["--bind", bind, "--hwm", "10", "--count", "10000"],
    )
    .raw_stdout()
    .bound();
    let output = read_slowly(zpull.take_stdout());
    // The linger covers the slow reader: zpush exits once zpull has read everything.
    let zpush = run(Bin::Zpush, &["--connect", &endpoint, "--linger", "20s"])
        .stdin_file(&input)
        .start();
    zpush.finish().expect(0);
    // zpull has its count only if nothing was lost; if it is still waiting, stop it
    // and report how much arrived.
    let exited = zpull.wait_with_deadline(DEADLINE).is_some();
    if exited {
        zpull.finish().expect(0);
    } else {
        drop(zpull);
    }
    let output = output.recv_timeout(DEADLINE).expect("zpull output");
    let lines: Vec<&str> = std::str::from_utf8(&output).unwrap().lines().collect();
    assert_eq!(lines.len(), items.len(), "lines delivered over {bind}");
    assert_eq!(lines, items);
    assert!(exited);
}

#[test]
fn a_slow_puller_gets_everything_over_tcp() {
    a_slow_puller_gets_everything(ANY);
}

#[test]
fn a_slow_puller_gets_everything_over_ipc() {
    let dir = TempDir::new();
    a_slow_puller_gets_everything(&dir.ipc("pull.sock"));
}

/// `zpush < file` into `zpull > file`: every line comes out as it went in, whatever
/// its length (lines longer than zpush's 64 KiB read buffer included) and however
/// many frames it holds.
#[test]
fn lines_of_every_length_pass_through_unchanged() {
    let dir = TempDir::new();
    let mut input = Vec::new();
    for i in 0..2_000usize {
        let len = if i % 500 == 499 {
            150_000
        } else {
            i * 37 % 300 + 1
        };
        let mut line: Vec<u8> = (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect();
        if i % 7 == 0 {
            line[len / 2] = b'\t';
        }
        input.extend_from_slice(&line);
        input.push(b'\n');
    }
    let (input_path, output_path) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    std::fs::write(&input_path, &input).unwrap();

    let (mut zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "2000"])
        .stdout_file(&output_path)
        .bound();
    let mut zpush = run(Bin::Zpush, &["--connect", &endpoint])
        .stdin_file(&input_path)
        .start();
    let usage = wait_all_with_usage(&mut [&mut zpush, &mut zpull], DEADLINE);
    zpush.finish().expect(0);
    zpull.finish().expect(0);
    let usage = usage.expect("both exited");
    assert!(usage[1].peak_rss_kib > 0, "{usage:?}");
    let output = std::fs::read(&output_path).unwrap();
    assert!(
        output == input,
        "{} bytes in, {} out",
        input.len(),
        output.len()
    );
}

#[test]
fn zpull_count_stops_after_n_messages() {
    let (zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "3"]).bound();
    let zpush = run(Bin::Zpush, &["--connect", &endpoint])
        .stdin_lines(&["a", "b", "c", "d", "e"])
        .start();
    let out = zpull.finish().expect(0);
    assert_eq!(out.lines(), ["a", "b", "c"]);
    assert!(out.errors().is_empty(), "{out:?}");
    // What zpush does with the two items nobody takes is not this test's concern.
    drop(zpush);
}

#[test]
fn zpull_timeout_before_the_count_exits_2() {
    let started = Instant::now();
    let (zpull, _) = run(
        Bin::Zpull,
        &["--bind", ANY, "--count", "5", "--timeout", "300ms"],
    )
    .bound();
    let out = zpull.finish().expect(2);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        out.errors(),
        ["zpull: received 0 of 5 messages; nothing arrived for 300ms"]
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn zpull_timeout_without_a_count_ends_quietly_when_idle() {
    let started = Instant::now();
    let (zpull, _) = run(Bin::Zpull, &["--bind", ANY, "--timeout", "300ms"]).bound();
    let out = zpull.finish().expect(0);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(out.errors().is_empty(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}
