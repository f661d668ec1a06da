//! Foreign peers: sockets of the `zmq` crate in the test process, and small pyzmq
//! programs doing what the project's seed programs do. Messages are plain ZeroMQ
//! multipart on the wire, so each side must see exactly the frames the other sent.
//!
//! The pyzmq tests run when `python3 -c 'import zmq'` works (CI installs pyzmq);
//! otherwise they print a note and pass.

use crate::support::{
    bind_ephemeral, frames, python, recv_frames, run, zmq_socket, Bin, ANY, DEADLINE,
};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[test]
fn zpub_topic_and_data_arrive_as_exactly_two_frames() {
    let context = zmq::Context::new();
    let sub = zmq_socket(&context, zmq::SUB);
    sub.set_subscribe(b"persian").unwrap();
    let endpoint = bind_ephemeral(&sub);
    let zpub = run(
        Bin::Zpub,
        &[
            "--connect",
            &endpoint,
            "--topic",
            "persian",
            "--data",
            "fedora",
        ],
    )
    .start();
    assert_eq!(recv_frames(&sub), frames(&[b"persian", b"fedora"]));
    zpub.finish().expect(0);
}

#[test]
fn zsub_prints_a_multipart_message_from_a_plain_pub() {
    let context = zmq::Context::new();
    let publisher = zmq_socket(&context, zmq::PUB);
    let endpoint = bind_ephemeral(&publisher);
    let mut zsub = run(Bin::Zsub, &["--connect", &endpoint, "--count", "1"]).start();
    // A PUB cannot tell when a subscriber has joined: publish until zsub prints.
    let deadline = Instant::now() + DEADLINE;
    let line = loop {
        assert!(Instant::now() < deadline, "zsub printed nothing");
        publisher.send_multipart([&b"cat"[..], b"hat"], 0).unwrap();
        if let Some(line) = zsub.line_within(Duration::from_millis(10)) {
            break line;
        }
    };
    assert_eq!(line, "cat\that");
    let out = zsub.finish().expect(0);
    assert_eq!(out.lines(), ["cat\that"]);
}

/// Whether pyzmq can be imported; prints the skip note when not.
fn pyzmq() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        python("python3", "import zmq", &[])
            .try_start()
            .is_ok_and(|probe| probe.finish().code == Some(0))
    });
    if !available {
        eprintln!("pyzmq not installed: skipping");
    }
    available
}

/// Socket setup shared by the Python peers: every wait has a deadline, and closing
/// does not wait unless a script says so.
const PRELUDE: &str = r#"
import sys, time, select, zmq
context = zmq.Context()
def socket(kind):
    s = context.socket(kind)
    s.linger = 0
    s.rcvtimeo = 20000
    s.sndtimeo = 20000
    return s
def bind(s):
    port = s.bind_to_random_port("tcp://127.0.0.1")
    print("tcp://127.0.0.1:%d" % port, flush=True)
"#;

fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

#[test]
fn zsub_reads_a_pyzmq_publisher() {
    if !pyzmq() {
        return;
    }
    let mut publisher = python(
        "pub.py",
        &script(
            r#"
pub = socket(zmq.PUB)
bind(pub)
cat_bytes, hat_bytes = b"cat", b"hat"
# A PUB cannot see its subscribers: publish until stdin ends (the test has what it
# needs), within a deadline.
deadline = time.monotonic() + 20
while not select.select([sys.stdin], [], [], 0.01)[0]:
    if time.monotonic() > deadline:
        sys.exit("the test never closed stdin")
    pub.send_multipart([cat_bytes, hat_bytes])
"#,
        ),
        &[],
    )
    .stdin_piped()
    .start();
    let endpoint = publisher.line();
    let zsub = run(Bin::Zsub, &["--connect", &endpoint, "--count", "1"]).start();
    assert_eq!(zsub.finish().expect(0).lines(), ["cat\that"]);
    publisher.close_stdin();
    publisher.finish().expect(0);
}

#[test]
fn a_pyzmq_subscriber_gets_exactly_the_topic_and_data_frames() {
    if !pyzmq() {
        return;
    }
    let mut subscriber = python(
        "sub.py",
        &script(
            r#"
sub = socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"persian")
bind(sub)
print(repr(sub.recv_multipart()), flush=True)
"#,
        ),
        &[],
    )
    .start();
    let endpoint = subscriber.line();
    let zpub = run(
        Bin::Zpub,
        &[
            "--connect",
            &endpoint,
            "--topic",
            "persian",
            "--data",
            "fedora",
        ],
    )
    .start();
    let out = subscriber.finish().expect(0);
    assert_eq!(out.lines()[1..], ["[b'persian', b'fedora']"]);
    zpub.finish().expect(0);
}

#[test]
fn zreq_asks_a_pyzmq_replier() {
    if !pyzmq() {
        return;
    }
    let mut server = python(
        "rep.py",
        &script(
            r#"
rep = socket(zmq.REP)
bind(rep)
for _ in range(int(sys.argv[1])):
    message = rep.recv()
    rep.send(b"Stop saying %s" % message)
context.destroy(linger=20000)  # deliver the last reply before exiting
"#,
        ),
        &["3"],
    )
    .start();
    let endpoint = server.line();
    let zreq = run(Bin::Zreq, &["--connect", &endpoint, "--timeout", "20s"])
        .stdin_lines(&["message #1", "message #2", "message #3"])
        .start();
    assert_eq!(
        zreq.finish().expect(0).lines(),
        [
            "Stop saying message #1",
            "Stop saying message #2",
            "Stop saying message #3"
        ]
    );
    server.finish().expect(0);
}

#[test]
fn a_pyzmq_requester_asks_zrep() {
    if !pyzmq() {
        return;
    }
    let (zrep, endpoint) = run(
        Bin::Zrep,
        &["--bind", ANY, "--reply", "Stop saying {}", "--count", "2"],
    )
    .bound();
    let client = python(
        "req.py",
        &script(
            r#"
req = socket(zmq.REQ)
req.connect(sys.argv[1])
for request in [b"message #1", b"message #2"]:
    req.send(request)
    print(repr(req.recv_multipart()), flush=True)
"#,
        ),
        &[&endpoint],
    )
    .start();
    assert_eq!(
        client.finish().expect(0).lines(),
        ["[b'Stop saying message #1']", "[b'Stop saying message #2']"]
    );
    assert_eq!(
        zrep.finish().expect(0).lines(),
        ["message #1", "message #2"]
    );
}

#[test]
fn zpull_takes_work_from_a_pyzmq_pusher() {
    if !pyzmq() {
        return;
    }
    let (zpull, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--count", "3"]).bound();
    let pusher = python(
        "push.py",
        &script(
            r#"
push = socket(zmq.PUSH)
push.connect(sys.argv[1])
for n in [b"1", b"2", b"3"]:
    push.send_multipart([b"job", n])
context.destroy(linger=20000)  # deliver everything before exiting
"#,
        ),
        &[&endpoint],
    )
    .start();
    pusher.finish().expect(0);
    assert_eq!(
        zpull.finish().expect(0).lines(),
        ["job\t1", "job\t2", "job\t3"]
    );
}

#[test]
fn zpush_hands_work_to_a_pyzmq_puller() {
    if !pyzmq() {
        return;
    }
    let mut puller = python(
        "pull.py",
        &script(
            r#"
pull = socket(zmq.PULL)
bind(pull)
for _ in range(int(sys.argv[1])):
    print(repr(pull.recv_multipart()), flush=True)
"#,
        ),
        &["2"],
    )
    .start();
    let endpoint = puller.line();
    let zpush = run(Bin::Zpush, &["--connect", &endpoint])
        .stdin_lines(&["job\t1", "job\t2"])
        .start();
    zpush.finish().expect(0);
    let out = puller.finish().expect(0);
    assert_eq!(out.lines()[1..], ["[b'job', b'1']", "[b'job', b'2']"]);
}

#[test]
fn a_pyzmq_ventilator_stamping_headers_by_the_documented_recipe_feeds_zpull_sink() {
    if !pyzmq() {
        return;
    }
    let (sink, endpoint) = run(Bin::Zpull, &["--bind", ANY, "--sink", "--timeout", "20s"]).bound();
    let ventilator = python(
        "ventilator.py",
        &script(
            r#"
import struct
def header(flags, seq, size):
    # zpattern's batch header, version 1 (see zpattern::frame::Header)
    return struct.pack(">3sBB3xQQQQ", b"ZPH", 1, flags, 77, seq, size, int(time.time() * 1e6))
push = socket(zmq.PUSH)
push.connect(sys.argv[1])
for seq in range(10):
    push.send_multipart([b"image %d" % seq, header(0, seq, 0)])
push.send_multipart([b"", header(1, 10, 10)])  # end of stream: 10 items
context.destroy(linger=20000)
"#,
        ),
        &[&endpoint],
    )
    .start();
    ventilator.finish().expect(0);
    let out = sink.finish().expect(0);
    let images: Vec<String> = (0..10).map(|i| format!("image {i}")).collect();
    assert_eq!(out.lines(), images);
    assert_eq!(
        out.errors(),
        ["zpull: batch 77: complete: 10 of 10 items, each exactly once"]
    );
}

#[test]
fn a_pyzmq_sink_reads_the_headers_of_zpush() {
    if !pyzmq() {
        return;
    }
    let mut sink = python(
        "sink.py",
        &script(
            r#"
import struct
pull = socket(zmq.PULL)
bind(pull)
while True:
    payload, header = pull.recv_multipart()
    magic, version, flags, batch, seq, size, micros = struct.unpack(">3sBB3xQQQQ", header)
    print(payload.decode(), magic.decode(), version, flags, batch, seq, size, micros > 0, flush=True)
    if flags & 1:
        break
"#,
        ),
        &[],
    )
    .start();
    let endpoint = sink.line();
    let zpush = run(
        Bin::Zpush,
        &["--connect", &endpoint, "--header", "--batch-id", "5"],
    )
    .stdin_lines(&["a", "b"])
    .start();
    zpush.finish().expect(0);
    let out = sink.finish().expect(0);
    assert_eq!(
        out.lines()[1..],
        [
            "a ZPH 1 0 5 0 0 True",
            "b ZPH 1 0 5 1 0 True",
            " ZPH 1 1 5 2 2 True"
        ]
    );
}
