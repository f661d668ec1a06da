//! zreq and zrep: the three ways of replying, ordering, and when each side stops.

use crate::support::{run, Bin, Finished, TempDir, ANY};
use std::time::{Duration, Instant};

/// Serve with `zrep_args` at `bind`, send `requests` with zreq (`zreq_args` added);
/// what zrep and zreq printed.
fn exchange(
    bind: &str,
    zrep_args: &[&str],
    zreq_args: &[&str],
    requests: &[&str],
) -> (Finished, Finished) {
    let mut args = vec!["--bind", bind];
    args.extend_from_slice(zrep_args);
    let (zrep, endpoint) = run(Bin::Zrep, &args).bound();
    let mut args = vec!["--connect", endpoint.as_str(), "--timeout", "20s"];
    args.extend_from_slice(zreq_args);
    let zreq = run(Bin::Zreq, &args).stdin_lines(requests).start();
    let zreq = zreq.finish().expect(0);
    let zrep = zrep.finish().expect(0);
    (zrep, zreq)
}

#[test]
fn zrep_echoes_by_default_and_prints_each_request() {
    let requests = ["hello", "persian\tfedora", "last one"];
    let (zrep, zreq) = exchange(ANY, &["--count", "3"], &[], &requests);
    assert_eq!(zreq.lines(), requests);
    assert_eq!(zrep.lines(), requests);
    assert!(zrep.errors().is_empty() && zreq.errors().is_empty());
}

#[test]
fn zrep_replies_from_a_template() {
    let dir = TempDir::new();
    let (zrep, zreq) = exchange(
        &dir.ipc("rep.sock"),
        &["--reply", "Stop saying {}", "--count", "2"],
        &[],
        &["message #1", "message #2"],
    );
    assert_eq!(
        zreq.lines(),
        ["Stop saying message #1", "Stop saying message #2"]
    );
    assert_eq!(zrep.lines(), ["message #1", "message #2"]);
}

#[test]
fn zrep_replies_with_the_output_of_a_command() {
    // JSON shows the frames: the command's TAB-separated output is two of them.
    let (zrep, zreq) = exchange(
        ANY,
        &["--exec", "tr a-z A-Z", "--count", "2"],
        &["--format", "json"],
        &[r#"{"frames":["hello"]}"#, r#"["persian","fedora"]"#],
    );
    assert_eq!(
        zreq.lines(),
        [
            r#"{"frames":["HELLO"]}"#,
            r#"{"frames":["PERSIAN","FEDORA"]}"#
        ]
    );
    assert_eq!(zrep.lines(), ["hello", "persian\tfedora"]);
}

#[test]
fn each_line_of_input_gets_its_reply_in_order() {
    let requests: Vec<String> = (1..=50).map(|i| format!("request {i}")).collect();
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    let (zrep, zreq) = exchange(
        ANY,
        &["--reply", "answer to {}", "--count", "50"],
        &[],
        &requests,
    );
    let expected: Vec<String> = requests.iter().map(|r| format!("answer to {r}")).collect();
    assert_eq!(zreq.lines(), expected);
    assert_eq!(zrep.lines(), requests);
}

#[test]
fn zrep_count_stops_after_n_requests() {
    // ipc, so that nothing else can take the endpoint once zrep has gone.
    let dir = TempDir::new();
    let (zrep, endpoint) =
        run(Bin::Zrep, &["--bind", &dir.ipc("rep.sock"), "--count", "2"]).bound();
    for word in ["first", "second"] {
        let zreq = run(Bin::Zreq, &["--connect", &endpoint, "--data", word]).start();
        assert_eq!(zreq.finish().expect(0).lines(), [word]);
    }
    let out = zrep.finish().expect(0);
    assert_eq!(out.lines(), ["first", "second"]);
    // Nobody answers a third request.
    let zreq = run(
        Bin::Zreq,
        &[
            "--connect",
            &endpoint,
            "--data",
            "third",
            "--timeout",
            "300ms",
        ],
    )
    .start();
    assert_eq!(
        zreq.finish().expect(2).errors(),
        ["zreq: no reply within 300ms"]
    );
}

#[test]
fn zreq_without_a_server_gives_up_at_its_timeout() {
    let dir = TempDir::new();
    let nobody = dir.ipc("nobody.sock");
    let started = Instant::now();
    let zreq = run(
        Bin::Zreq,
        &[
            "--connect",
            &nobody,
            "--data",
            "hello",
            "--timeout",
            "300ms",
        ],
    )
    .start();
    let out = zreq.finish().expect(2);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(out.errors(), ["zreq: no reply within 300ms"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn zrep_timeout_ends_an_idle_server() {
    let (zrep, _) = run(Bin::Zrep, &["--bind", ANY, "--timeout", "300ms"]).bound();
    let out = zrep.finish().expect(0);
    assert!(out.errors().is_empty(), "{out:?}");
    // With a count that is not reached, the same timeout is an error.
    let (zrep, _) = run(
        Bin::Zrep,
        &["--bind", ANY, "--count", "1", "--timeout", "300ms"],
    )
    .bound();
    let out = zrep.finish().expect(2);
    assert_eq!(
        out.errors(),
        ["zrep: answered 0 of 1 requests; none arrived for 300ms"]
    );
}

#[test]
fn a_reply_template_works_on_bytes_whatever_the_format() {
    // zrep prints the requests as JSON; the template fills in their bytes, TABs
    // between frames, and a TAB in the result separates reply frames.
    let (zrep, zreq) = exchange(
        ANY,
        &[
            "--format",
            "json",
            "--reply",
            "Stop saying {}\tdone",
            "--count",
            "2",
        ],
        &["--format", "hex"],
        &["6d6573736167652031", "ff\tfe"],
    );
    assert_eq!(
        zreq.lines(),
        [
            "53746f7020736179696e67206d6573736167652031\t646f6e65",
            "53746f7020736179696e6720ff\tfe\t646f6e65"
        ]
    );
    assert_eq!(
        zrep.lines(),
        [
            r#"{"frames":["message 1"]}"#,
            r#"{"frames":[{"hex":"ff"},{"hex":"fe"}]}"#
        ]
    );
}

#[test]
fn output_an_exec_command_cannot_encode_is_replied_raw_with_a_warning() {
    let (zrep, zreq) = exchange(
        ANY,
        &["--format", "hex", "--exec", "echo notHex", "--count", "1"],
        &[],
        &["6869"],
    );
    assert_eq!(zreq.lines(), ["notHex"]);
    let warning = zrep.errors().join("\n");
    assert!(warning.contains("is not a valid hex record"), "{warning}");
}

#[test]
fn zrep_goes_on_answering_when_its_reader_goes_away() {
    let (mut zrep, endpoint) = run(Bin::Zrep, &["--bind", ANY, "--count", "3"])
        .raw_stdout()
        .bound();
    drop(zrep.take_stdout());
    let zreq = run(Bin::Zreq, &["--connect", &endpoint, "--timeout", "20s"])
        .stdin_lines(&["one", "two", "three"])
        .start();
    assert_eq!(zreq.finish().expect(0).lines(), ["one", "two", "three"]);
    zrep.finish().expect(0);
}
