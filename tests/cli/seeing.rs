//! Seeing what flows: `--template` on every binary that prints messages, one-way
//! latency percentiles in the summary, the stats lines and zlab's reports.

use crate::support::{run, zmq_socket, Bin, Finished, TempDir, ANY};
use serde_json::Value;
use std::time::Duration;
use zpattern::frame::Header;

/// Whether `text` is an RFC 3339 UTC time with milliseconds, `2026-12-03T10:00:00.123Z`.
fn is_time(text: &str) -> bool {
    let shape = text
        .bytes()
        .map(|b| if b.is_ascii_digit() { b'9' } else { b })
        .collect::<Vec<u8>>();
    shape == b"9999-99-99T99:99:99.999Z"
}

/// Whether `text` is a latency as printed: `84µs`, `1.25ms`, `2.50s`.
fn is_latency(text: &str) -> bool {
    let number = text
        .strip_suffix("µs")
        .or_else(|| text.strip_suffix("ms"))
        .or_else(|| text.strip_suffix('s'));
    number.is_some_and(|n| n.parse::<f64>().is_ok())
}

/// The `"final":true` stats line of a run, as JSON.
fn final_stats(done: &Finished) -> Value {
    let prefix = format!("{}: stats ", done.name);
    let line = done
        .stderr
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no stats line: {done:?}"));
    let stats: Value = serde_json::from_str(line).unwrap();
    assert_eq!(stats["final"], true, "{line}");
    stats
}

/// The latency percentiles of a stats line, checked to come in order.
fn percentiles(stats: &Value) -> [u64; 4] {
    let latency = &stats["latency"];
    let p = ["p50_us", "p90_us", "p99_us", "max_us"].map(|k| {
        latency[k]
            .as_u64()
            .unwrap_or_else(|| panic!("no {k}: {stats}"))
    });
    assert!(p[0] <= p[1] && p[1] <= p[2] && p[2] <= p[3], "{stats}");
    p
}

#[test]
fn zsub_prints_the_arrival_frames_latency_and_peer_of_each_message() {
    let template = "{time} {0} {1} {latency} {peer} {seq} {frames}";
    let (sub, endpoint) = run(
        Bin::Zsub,
        &[
            "--bind",
            ANY,
            "--header",
            "--count",
            "2",
            "--template",
            template,
        ],
    )
    .bound();
    run(Bin::Zpub, &["--connect", &endpoint, "--header"])
        .stdin_lines(&["persian\tfedora", "siamese\tbowler"])
        .start()
        .finish()
        .expect(0);
    let done = sub.finish().expect(0);
    let lines = done.lines();
    assert_eq!(lines.len(), 2, "{done:?}");
    for (line, (cat, hat, seq)) in lines
        .iter()
        .zip([("persian", "fedora", "0"), ("siamese", "bowler", "1")])
    {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 7, "{line}");
        assert!(is_time(fields[0]), "{line}");
        assert_eq!(fields[1..3], [cat, hat], "{line}");
        assert!(is_latency(fields[3]), "{line}");
        assert_eq!(fields[4..], ["127.0.0.1", seq, "2"], "{line}");
    }
}

#[test]
fn zpull_prints_by_template_plain_as_a_stage_and_as_a_sink() {
    // plain
    let (plain, endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--count",
            "3",
            "--template",
            "{seq}:{body}|{frames}|{1:hex}",
        ],
    )
    .bound();
    run(
        Bin::Zpush,
        &["--connect", &endpoint, "--header", "-d", "a\tb", "-n", "3"],
    )
    .start()
    .finish()
    .expect(0);
    let done = plain.finish().expect(0);
    assert_eq!(done.lines(), ["0:b|2|62", "1:b|2|62", "2:b|2|62"]);

    // a stage: it prints what --exec made, with the header and peer of what came in
    let (sink, sink_endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--sink",
            "--timeout",
            "20s",
            "--template",
            "{seq} {0} {latency_us}",
        ],
    )
    .bound();
    let (stage, stage_endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--push",
            &sink_endpoint,
            "--exec",
            "tr a-z A-Z",
            "--timeout",
            "3s",
            "--template",
            "{seq} {0} {peer} {sent}",
        ],
    )
    .bound();
    run(
        Bin::Zpush,
        &[
            "--connect",
            &stage_endpoint,
            "--header",
            "-d",
            "cat",
            "-n",
            "3",
        ],
    )
    .start()
    .finish()
    .expect(0);
    let staged = stage.finish().expect(0);
    for (i, line) in staged.lines().iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[..3], [&i.to_string(), "CAT", "127.0.0.1"], "{line}");
        assert!(is_time(fields[3]), "{line}");
    }
    assert_eq!(staged.lines().len(), 3, "{staged:?}");
    let sunk = sink.finish().expect(0);
    assert_eq!(sunk.lines().len(), 3, "{sunk:?}");
    for (i, line) in sunk.lines().iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[..2], [&i.to_string(), "CAT"], "{line}");
        assert!(fields[2].parse::<i64>().is_ok(), "{line}");
    }
}

#[test]
fn zreq_and_zrep_print_replies_and_requests_by_template() {
    let (rep, endpoint) = run(
        Bin::Zrep,
        &[
            "--bind",
            ANY,
            "--count",
            "2",
            "--template",
            "request {0} from {peer}",
        ],
    )
    .bound();
    let req = run(
        Bin::Zreq,
        &[
            "--connect",
            &endpoint,
            "--timeout",
            "20s",
            "--template",
            "reply [{escaped}] {frames}\\t{{done}}",
        ],
    )
    .stdin_lines(&["hello", "a\tb"])
    .start()
    .finish()
    .expect(0);
    assert_eq!(
        req.lines(),
        ["reply [hello] 1\t{done}", "reply [a\tb] 2\t{done}"]
    );
    let rep = rep.finish().expect(0);
    assert_eq!(
        rep.lines(),
        ["request hello from 127.0.0.1", "request a from 127.0.0.1"]
    );
}

#[test]
fn a_template_that_cannot_be_filled_is_a_usage_error_before_anything_runs() {
    for bin in [Bin::Zsub, Bin::Zpull, Bin::Zreq, Bin::Zrep] {
        let done = run(bin, &["--bind", ANY, "--template", "{0} {nope}"])
            .start()
            .finish()
            .expect(2);
        assert_eq!(done.stderr.len(), 1, "{done:?}");
        assert!(
            done.stderr[0].contains("unknown field {nope} (fields: {0} {1} {-1}"),
            "{done:?}"
        );
        let done = run(bin, &["--bind", ANY, "--template", "{latency}"])
            .start()
            .finish()
            .expect(2);
        assert_eq!(done.stderr.len(), 1, "no bound line: {done:?}");
        assert!(
            done.stderr[0].contains("--template field {latency} needs the batch header"),
            "{done:?}"
        );
    }
    // With --sink the header is implied.
    let args = ["--bind", ANY, "--sink", "--template", "{latency}"];
    let (sink, _) = run(Bin::Zpull, &args).bound();
    drop(sink);
}

/// Items stamped, held back for a known time, then sent: each one-way latency is
/// at least its hold, whatever the machine's speed.
#[test]
fn latency_percentiles_are_at_least_a_controlled_delay_and_negatives_apart() {
    let (puller, endpoint) = run(
        Bin::Zpull,
        &[
            "--bind",
            ANY,
            "--header",
            "--count",
            "21",
            "--verbose",
            "--stats",
            "1h",
        ],
    )
    .bound();
    let context = zmq::Context::new();
    let push = zmq_socket(&context, zmq::PUSH);
    push.connect(&endpoint).unwrap();
    const HOLD: Duration = Duration::from_millis(300);
    const STEP: Duration = Duration::from_millis(10);
    let mut items = Vec::new();
    for seq in 0..20 {
        let mut item = zpattern::Message::new(format!("item {seq}"));
        item.push_header(&Header::item(9, seq, Some(21)));
        items.push(item);
        std::thread::sleep(STEP); // item k is stamped (19 - k) steps before the last
    }
    std::thread::sleep(HOLD); // the controlled delay, not a synchronisation
                              // One stamped an hour ahead: by our clock it arrives before it was sent.
    let mut ahead = zpattern::Message::new("from the future");
    let mut header = Header::item(9, 20, Some(21));
    header.sent_micros += 3_600_000_000;
    ahead.push_header(&header);
    items.push(ahead);
    for item in items {
        push.send_multipart(item.to_vecs(), 0).unwrap();
    }
    let done = puller.finish().expect(0);
    let stats = final_stats(&done);
    assert_eq!(stats["received"], 21, "{stats}");
    assert_eq!(stats["latency"]["count"], 20, "{stats}");
    assert_eq!(stats["negative_latency"], 1, "{stats}");
    let [p50, _, _, max] = percentiles(&stats);
    // The histogram keeps three significant digits: allow 0.1%.
    let at_least = |d: Duration| d.as_micros() as u64 * 999 / 1000;
    assert!(p50 >= at_least(HOLD + STEP * 9), "{stats}");
    assert!(max >= at_least(HOLD + STEP * 19), "{stats}");
    let summary = done
        .stderr
        .iter()
        .find(|l| l.starts_with("zpull: received 21 messages"))
        .unwrap_or_else(|| panic!("{done:?}"));
    assert!(summary.contains("; latency p50 "), "{summary}");
    assert!(
        summary.ends_with("; 1 with a negative latency (the sender's clock is ahead of ours)"),
        "{summary}"
    );
}

#[test]
fn a_slow_subscriber_and_a_sink_report_latency_in_their_stats() {
    let (sub, endpoint) = run(
        Bin::Zsub,
        &[
            "--bind", ANY, "--header", "--rate", "500", "--count", "100", "--stats", "1h",
        ],
    )
    .bound();
    run(
        Bin::Zpub,
        &[
            "--connect",
            &endpoint,
            "--header",
            "--no-drop",
            "-d",
            "x",
            "-n",
            "100",
        ],
    )
    .start()
    .finish()
    .expect(0);
    let stats = final_stats(&sub.finish().expect(0));
    assert_eq!(stats["latency"]["count"], 100, "{stats}");
    percentiles(&stats);

    let (sink, endpoint) = run(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--timeout", "20s", "--stats", "1h"],
    )
    .bound();
    run(
        Bin::Zpush,
        &["--connect", &endpoint, "--header", "-d", "x", "-n", "100"],
    )
    .start()
    .finish()
    .expect(0);
    let stats = final_stats(&sink.finish().expect(0));
    assert_eq!(stats["latency"]["count"], 100, "{stats}");
    percentiles(&stats);
}

#[test]
fn zlab_shows_each_nodes_latency_in_its_reports() {
    let dir = TempDir::new();
    let lab = dir.path().join("latency.lab");
    std::fs::write(
        &lab,
        r#"name = "latency"
description = "a sink that measures latency"
time_limit = "30s"
[endpoints]
sink = { transport = "tcp" }

[[node]]
name = "sink"
run = ["zpull", "--bind", "{sink}", "--sink", "--timeout", "10s"]
expect = { received = 200 }

[[node]]
name = "source"
run = ["zpush", "--connect", "{sink}", "--header", "--data", "x", "--count", "200"]
"#,
    )
    .unwrap();
    let html = dir.path().join("lab.html");
    let done = run(
        Bin::Zlab,
        &[
            "run",
            "--quiet",
            "--json",
            "--report",
            html.to_str().unwrap(),
            lab.to_str().unwrap(),
        ],
    )
    .start()
    .finish()
    .expect(0);
    let json: Value = serde_json::from_str(&done.lines().join("\n")).unwrap();
    let sink = &json["nodes"][0];
    assert_eq!(sink["name"], "sink");
    assert_eq!(sink["latency"]["count"], 200, "{sink}");
    let p = ["p50_us", "p90_us", "p99_us", "max_us"].map(|k| sink["latency"][k].as_u64().unwrap());
    assert!(p[0] <= p[1] && p[1] <= p[2] && p[2] <= p[3], "{sink}");
    assert_eq!(json["nodes"][1]["latency"], Value::Null);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<th>latency p50</th>"), "{page}");
    assert!(page.contains("<td>-</td><td>-</td><td>-</td><td>-</td>"));
}

const EVERY_BINARY: [Bin; 8] = [
    Bin::Zpub,
    Bin::Zsub,
    Bin::Zreq,
    Bin::Zrep,
    Bin::Zpush,
    Bin::Zpull,
    Bin::Zkeygen,
    Bin::Zlab,
];

/// What `bin --generate kind` writes, checked to exit 0 with nothing on stderr.
fn generated(bin: Bin, kind: &str) -> String {
    let done = run(bin, &["--generate", kind]).start().finish().expect(0);
    assert!(done.stderr.is_empty(), "{done:?}");
    done.lines().join("\n")
}

#[test]
fn every_binary_writes_its_completions_for_bash_zsh_fish_and_its_man_page() {
    let dir = TempDir::new();
    for bin in EVERY_BINARY {
        let name = bin.name();
        let bash = generated(bin, "completions-bash");
        assert!(
            bash.contains(&format!("complete -F _{name}")),
            "{name}: {bash}"
        );
        let script = dir.path().join(name);
        std::fs::write(&script, &bash).unwrap();
        crate::support::program("bash", "bash", &["-n", script.to_str().unwrap()])
            .start()
            .finish()
            .expect(0);
        let zsh = generated(bin, "completions-zsh");
        assert!(
            zsh.starts_with(&format!("#compdef {name}")),
            "{name}: {zsh}"
        );
        let fish = generated(bin, "completions-fish");
        assert!(
            fish.contains(&format!("complete -c {name}")),
            "{name}: {fish}"
        );
        let man = generated(bin, "man");
        assert!(man.contains(&format!(".TH {name} 1")), "{name}: {man}");
        assert!(man.contains(".SH SYNOPSIS"), "{name}: {man}");
    }
    // They follow the options: a new option is in them at once.
    assert!(generated(Bin::Zsub, "completions-fish").contains("-l template"));
    assert!(generated(Bin::Zpull, "man").contains("\\-\\-template"));
    // zlab's subcommands are sections of its one page.
    let zlab = generated(Bin::Zlab, "man");
    assert!(zlab.contains(".SH \"ZLAB RUN\"") && zlab.contains(".SH \"ZLAB CHECK\""));
}

#[test]
fn generate_is_hidden_and_an_unknown_kind_is_a_usage_error() {
    let help = run(Bin::Zsub, &["--help"]).start().finish().expect(0);
    assert!(!help.lines().join("\n").contains("--generate"));
    let done = run(Bin::Zpush, &["--generate", "pdf"])
        .start()
        .finish()
        .expect(2);
    assert_eq!(
        done.stderr,
        ["zpush: --generate: unknown kind 'pdf' (one of: completions-bash, completions-zsh, completions-fish, man)"]
    );
}

/// Runs `sys.argv[1:]` with its stderr on a pseudo-terminal, and prints what the
/// terminal received (carriage returns as newlines) once the program has exited,
/// with its exit code.
const ON_A_TERMINAL: &str = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the child's end closed
        break
    if not chunk:
        break
    seen += chunk
code = child.wait()
sys.stdout.write(seen.decode("utf-8", "replace").replace("\r", "\n"))
sys.exit(code)
"#;

/// Whether `text` has a progress line's rate (`1234/s`) or time left (`ETA`).
fn shows_progress(text: &str) -> bool {
    let rate = text.match_indices("/s").any(|(at, _)| {
        text[..at].ends_with(|c: char| c.is_ascii_digit())
            && text[at + 2..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
    });
    rate || text.contains("ETA")
}

fn on_a_terminal(bin: Bin, args: &[&str]) -> Finished {
    let path = crate::support::bin_path(bin);
    let mut argv = vec![path];
    argv.extend_from_slice(args);
    crate::support::python("pty", ON_A_TERMINAL, &argv)
        .start()
        .finish()
}

#[test]
fn a_sender_reading_a_file_shows_its_progress_on_a_terminal_only() {
    let dir = TempDir::new();
    let file = dir.path().join("lines.txt");
    let lines: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let file = file.to_str().unwrap();

    let (puller, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "20000"])
        .stdout_file(&dir.path().join("out"))
        .bound();
    let terminal = on_a_terminal(Bin::Zpush, &["--connect", &endpoint, "-f", file]).expect(0);
    puller.finish().expect(0);
    let shown = terminal.lines().join("\n");
    assert!(
        shown.contains("zpush: 1 message, ") && shown.contains("% ETA"),
        "{shown}"
    );

    let (puller, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "20000"])
        .stdout_file(&dir.path().join("out"))
        .bound();
    let piped = run(Bin::Zpush, &["--connect", &endpoint, "-f", file])
        .start()
        .finish()
        .expect(0);
    puller.finish().expect(0);
    let said = piped.stderr_text();
    assert!(!shows_progress(&said), "{said}");
}

#[test]
fn a_sink_shows_its_progress_on_a_terminal_only() {
    let dir = TempDir::new();
    let endpoint = dir.ipc("sink");
    let sink_args = ["--bind", endpoint.as_str(), "--sink", "--timeout", "20s"];
    let source_args = [
        "--connect",
        endpoint.as_str(),
        "--header",
        "-d",
        "x",
        "-n",
        "5000",
    ];
    let source = run(Bin::Zpush, &source_args).start();
    let terminal = on_a_terminal(Bin::Zpull, &sink_args).expect(0);
    source.finish().expect(0);
    let shown = terminal.lines().join("\n");
    assert!(
        shown.contains("zpull: ") && shown.contains(" items, "),
        "{shown}"
    );
    assert!(shown.contains("% ETA"), "a batch of known size: {shown}");

    let (sink, _) = run(Bin::Zpull, &sink_args).bound();
    run(Bin::Zpush, &source_args).start().finish().expect(0);
    let piped = sink.finish().expect(0);
    let said = piped.stderr_text();
    assert!(!shows_progress(&said), "{said}");
}
