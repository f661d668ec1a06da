//! Bad input and unusable endpoints: each is reported as one clear line on stderr with
//! the documented exit code, and never as a panic (every finished process is checked
//! for "panicked" by the harness).

use crate::support::{bind_ephemeral, frames, recv_frames, run, zmq_socket, Bin, TempDir, ANY};
use std::net::TcpListener;

const ALL: [Bin; 6] = [
    Bin::Zpub,
    Bin::Zsub,
    Bin::Zreq,
    Bin::Zrep,
    Bin::Zpush,
    Bin::Zpull,
];

/// Run `bin` with `args` and no stdin, expect exit `code`; its stderr lines.
fn fails(bin: Bin, args: &[&str], code: i32) -> Vec<String> {
    let out = run(bin, args).start().finish().expect(code);
    assert!(out.stdout.is_empty(), "{out:?}");
    out.stderr
}

/// The single stderr line of a failed run, checked to start with the binary's name.
fn one_line(bin: Bin, args: &[&str], code: i32) -> String {
    let stderr = fails(bin, args, code);
    assert_eq!(stderr.len(), 1, "{} {args:?}: {stderr:?}", bin.name());
    let line = stderr.into_iter().next().unwrap();
    assert!(line.starts_with(&format!("{}: ", bin.name())), "{line}");
    line
}

#[test]
fn a_malformed_endpoint_is_named() {
    for bin in ALL {
        for (flag, endpoint, why) in [
            ("--connect", "localhost:5555", "expected tcp://HOST:PORT"),
            ("--bind", "tcp://127.0.0.1", "needs a port"),
            (
                "--connect",
                "udp://127.0.0.1:5555",
                "unsupported transport 'udp'",
            ),
            ("--connect", "tcp://127.0.0.1:99999", "port '99999'"),
        ] {
            let line = one_line(bin, &[flag, endpoint], 2);
            assert!(
                line.contains(&format!("invalid endpoint '{endpoint}'")) && line.contains(why),
                "{line}"
            );
        }
    }
}

#[test]
fn a_wildcard_cannot_be_connected_to() {
    let line = one_line(Bin::Zsub, &["--connect", "tcp://127.0.0.1:*"], 2);
    assert!(line.contains("a wildcard is only valid for bind"), "{line}");
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    for bin in ALL {
        let stderr = fails(bin, &["--bind", ANY, "--format", "xml"], 2);
        let text = stderr.join("\n");
        assert!(
            text.contains("unknown format 'xml' (expected one of: text, escaped, hex, json, raw)"),
            "{text}"
        );
    }
}

#[test]
fn an_endpoint_is_required() {
    for bin in ALL {
        let text = fails(bin, &[], 2).join("\n");
        assert!(
            text.contains("--bind") && text.contains("--connect"),
            "{text}"
        );
    }
}

#[test]
fn a_port_in_use_is_a_runtime_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", taken.local_addr().unwrap());
    for bin in ALL {
        let line = one_line(bin, &["--bind", &endpoint], 1);
        assert!(
            line.ends_with(&format!("cannot bind {endpoint}: Address already in use")),
            "{line}"
        );
    }
}

#[test]
fn a_missing_ipc_directory_is_named() {
    let dir = TempDir::new();
    let missing = dir.path().join("missing");
    let endpoint = format!("ipc://{}/pull.sock", missing.display());
    let line = one_line(Bin::Zpull, &["--bind", &endpoint], 2);
    assert_eq!(
        line,
        format!(
            "zpull: cannot bind {endpoint}: directory {} does not exist",
            missing.display()
        )
    );
    let line = one_line(Bin::Zsub, &["--connect", &endpoint], 2);
    assert_eq!(
        line,
        format!(
            "zsub: cannot connect to {endpoint}: directory {} does not exist",
            missing.display()
        )
    );
}

#[test]
fn an_unresolvable_host_is_named() {
    let line = one_line(Bin::Zsub, &["--connect", "tcp://nohost.invalid:5555"], 2);
    assert!(
        line.starts_with(
            "zsub: cannot connect to tcp://nohost.invalid:5555: cannot resolve host 'nohost.invalid'"
        ),
        "{line}"
    );
}

#[test]
fn an_unreadable_file_is_a_runtime_error() {
    let dir = TempDir::new();
    let missing = dir.path().join("missing.txt");
    let nobody = dir.ipc("nobody.sock");
    let line = one_line(
        Bin::Zpush,
        &["--connect", &nobody, "--file", missing.to_str().unwrap()],
        1,
    );
    assert!(
        line.starts_with(&format!("zpush: cannot open {}: ", missing.display())),
        "{line}"
    );
    // A directory opens, but cannot be read.
    let line = one_line(
        Bin::Zpub,
        &[
            "--connect",
            &nobody,
            "--no-wait",
            "--file",
            dir.path().to_str().unwrap(),
        ],
        1,
    );
    assert!(
        line.starts_with(&format!("zpub: cannot read {}: ", dir.path().display())),
        "{line}"
    );
}

#[test]
fn a_bad_input_line_is_named_by_its_number() {
    let context = zmq::Context::new();
    let pull = zmq_socket(&context, zmq::PULL);
    let endpoint = bind_ephemeral(&pull);
    // Blank lines count: the bad record is on line 3.
    let zpush = run(Bin::Zpush, &["--connect", &endpoint, "--format", "hex"])
        .stdin_bytes(&b"00ff\n\nzz\n41\n"[..])
        .start();
    let out = zpush.finish().expect(2);
    assert_eq!(
        out.stderr,
        ["zpush: stdin line 3: invalid hex digit 'z' at position 1"]
    );
    // What came before the bad line was sent.
    assert_eq!(recv_frames(&pull), frames(&[b"\x00\xff"]));
}

#[test]
fn bad_data_and_option_values_are_usage_errors() {
    let line = one_line(
        Bin::Zpub,
        &["--bind", ANY, "--format", "hex", "--data", "zz"],
        2,
    );
    assert_eq!(line, "zpub: --data: invalid hex digit 'z' at position 1");
    let text = fails(Bin::Zsub, &["--bind", ANY, "--timeout", "soon"], 2).join("\n");
    assert!(text.contains("invalid duration 'soon'"), "{text}");
}

#[test]
fn an_ipc_path_in_use_is_refused_and_left_to_its_owner() {
    let dir = TempDir::new();
    let endpoint = dir.ipc("taken.sock");
    let (owner, _) = run(Bin::Zpull, &["--bind", &endpoint, "--count", "1"]).bound();
    for bin in ALL {
        let line = one_line(bin, &["--bind", &endpoint], 1);
        assert_eq!(
            line,
            format!(
                "{}: cannot bind {endpoint}: Address already in use (a process is listening there)",
                bin.name()
            )
        );
    }
    // The owner still has its endpoint.
    run(
        Bin::Zpush,
        &["--connect", &endpoint, "--data", "still mine"],
    )
    .start()
    .finish()
    .expect(0);
    assert_eq!(owner.finish().expect(0).lines(), ["still mine"]);
    assert!(
        !dir.path().join("taken.sock").exists(),
        "the ipc file outlived its owner"
    );
}

#[test]
fn bind_takes_host_names_and_interfaces_and_explains_the_rest() {
    for (host, resolved) in [("localhost", "127.0.0.1"), ("lo", "127.0.0.1")] {
        let endpoint = format!("tcp://{host}:*");
        let (zsub, bound) = run(Bin::Zsub, &["--bind", &endpoint, "--timeout", "10ms"]).bound();
        assert!(bound.starts_with(&format!("tcp://{resolved}:")), "{bound}");
        zsub.finish().expect(0);
    }
    let line = one_line(Bin::Zsub, &["--bind", "tcp://nohost.invalid:*"], 2);
    assert!(
        line.contains("'nohost.invalid' is neither an address nor an interface"),
        "{line}"
    );
    let line = one_line(Bin::Zsub, &["--bind", "tcp://192.0.2.254:*"], 1);
    assert!(
        line.ends_with("(the address is not one of this machine's)"),
        "{line}"
    );
}

#[test]
fn option_values_that_cannot_work_are_refused_up_front() {
    for (args, why) in [
        (&["--max-size", "20"][..], "20 bytes is too small"),
        (&["--stats", "0s"][..], "'0s' must be longer than zero"),
        (
            &["--heartbeat-timeout", "2h"][..],
            "longer than the most a heartbeat can say",
        ),
        (&["--reconnect", "0s"][..], "'0s' must be longer than zero"),
    ] {
        let mut all = vec!["--bind", ANY];
        all.extend_from_slice(args);
        let line = one_line(Bin::Zsub, &all, 2);
        assert!(line.contains(why), "{line}");
        assert!(line.ends_with("(see zsub --help)"), "{line}");
    }
    let line = one_line(
        Bin::Zpub,
        &["--bind", ANY, "--no-wait", "--wait-timeout", "1s"],
        2,
    );
    assert!(line.contains("cannot be used with"), "{line}");
}

#[test]
fn a_duration_needs_its_unit_and_a_timeout_cannot_be_zero() {
    for bin in ALL {
        let line = one_line(bin, &["--bind", ANY, "--linger", "2"], 2);
        assert!(
            line.contains("'2': a duration needs a unit (2s, 2ms)"),
            "{line}"
        );
    }
    for (bin, flag) in [
        (Bin::Zsub, "--timeout"),
        (Bin::Zpull, "--timeout"),
        (Bin::Zrep, "--timeout"),
        (Bin::Zreq, "--timeout"),
        (Bin::Zpub, "--wait-timeout"),
        (Bin::Zpush, "--wait-timeout"),
    ] {
        for zero in ["0", "0s"] {
            let line = one_line(bin, &["--bind", ANY, flag, zero], 2);
            assert!(line.contains("would give up at once"), "{line}");
        }
    }
    let line = one_line(
        Bin::Zpull,
        &["--bind", ANY, "--sink", "--deadline", "0ms"],
        2,
    );
    assert!(line.contains("would give up at once"), "{line}");
}
