//! The role binaries with their security options: CURVE, PLAIN and address
//! filters end to end, the refusals each side reports, secrets kept off stderr,
//! `--events`, what crosses the wire under CURVE, and pyzmq peers with the same
//! certificate files.
//!
//! The pyzmq tests run when `python3 -c 'import zmq'` works; otherwise they print a
//! note and pass.

use crate::support::{python, run, Bin, Proc, TempDir, ANY, DEADLINE};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Whether pyzmq can be imported; prints the skip note when not.
fn pyzmq() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        python("python3", "import zmq, zmq.auth", &[])
            .try_start()
            .is_ok_and(|probe| probe.finish().code == Some(0))
    });
    if !available {
        eprintln!("pyzmq not installed: skipping");
    }
    available
}

/// Keys for a test: `server`, `client` and `intruder` certificates made by
/// zkeygen, and `allowed/` holding the client's public certificate.
struct Keys {
    dir: TempDir,
}

impl Keys {
    fn new() -> Keys {
        let dir = TempDir::new();
        for name in ["server", "client", "intruder"] {
            let path = dir.path().to_str().unwrap();
            run(Bin::Zkeygen, &[name, "--dir", path, "--quiet"])
                .start()
                .finish()
                .expect(0);
        }
        let allowed = dir.path().join("allowed");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::copy(dir.path().join("client.key"), allowed.join("client.key")).unwrap();
        Keys { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// A file holding `text`, with mode `mode`.
    fn file(&self, name: &str, text: &str, mode: u32) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// The Z85 text of a key in a certificate file.
    fn z85(&self, file: &str, field: &str) -> String {
        let text = std::fs::read_to_string(self.path(file)).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(field))
            .unwrap();
        line.split('"').nth(1).unwrap().to_string()
    }
}

/// Read `proc`'s stderr until a line contains `needle`; the lines seen.
fn stderr_until(proc: &mut Proc, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(line) = proc.stderr_line_within(Duration::from_millis(100)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }
    panic!("no stderr line with {needle:?} within {DEADLINE:?}: {seen:?}");
}

#[test]
fn the_vendored_libzmq_has_curve() {
    assert!(zmq::has("curve").unwrap_or(false));
}

#[test]
fn an_encrypted_pub_sub_pair_lets_its_client_in_and_refuses_intruders_on_both_sides() {
    let keys = Keys::new();
    let (server, allowed) = (keys.path("server.key_secret"), keys.path("allowed"));
    let mut zpub = run(
        Bin::Zpub,
        &[
            "-b",
            ANY,
            "--curve-server",
            &server,
            "--curve-allow",
            &allowed,
            "-d",
            "hats fedora",
            "-i",
            "20ms",
            "-n",
            "100000",
        ],
    )
    .start();
    let endpoint = zpub.bound();

    // Knows the server key, but its own key is not allowed.
    let intruder = keys.path("intruder.key_secret");
    let server_key = keys.path("server.key");
    let out = run(
        Bin::Zsub,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "--curve-client",
            &intruder,
            "-n",
            "1",
        ],
    )
    .start()
    .finish()
    .expect(1);
    assert_eq!(
        out.errors(),
        [format!(
            "zsub: {endpoint}: the server refused our credentials (CURVE)"
        )]
    );
    stderr_until(
        &mut zpub,
        "refused CURVE from 127.0.0.1 (domain zpattern): client key ",
    );

    // Has the wrong server key: every handshake ends.
    let wrong_key = keys.path("intruder.key");
    let out = run(
        Bin::Zsub,
        &["-c", &endpoint, "--curve-serverkey", &wrong_key, "-n", "1"],
    )
    .start()
    .finish()
    .expect(1);
    assert_eq!(
        out.errors().last().unwrap().to_string(),
        format!("zsub: {endpoint}: the server ends every CURVE handshake: is its public key right? (CURVE)")
    );
    stderr_until(
        &mut zpub,
        "failed the CURVE handshake (it has the wrong server key)",
    );

    // Speaks NULL: told that the security differs, not that the socket type does.
    let out = run(Bin::Zsub, &["-c", &endpoint, "-n", "1"])
        .start()
        .finish()
        .expect(1);
    assert_eq!(
        out.errors().last().unwrap().to_string(),
        format!("zsub: {endpoint}: the server speaks another security mechanism than ours (NULL)")
    );
    // (The server says so too when it reads the client's greeting before the
    // client, which sees the mismatch as soon, resets the connection.)

    // The allowed client still gets in, by key file or by key text.
    let client = keys.path("client.key_secret");
    let key_text = keys.z85("server.key", "public-key");
    let out = run(
        Bin::Zsub,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &key_text,
            "--curve-client",
            &client,
            "-n",
            "2",
        ],
    )
    .start()
    .finish()
    .expect(0);
    assert_eq!(out.lines(), ["hats fedora", "hats fedora"]);
    assert!(out.errors().is_empty(), "{out:?}");
    zpub.terminate();
    let out = zpub.finish();
    let secret = keys.z85("server.key_secret", "secret-key");
    assert!(!out.stderr_text().contains(&secret), "{out:?}");
}

#[test]
fn a_curve_server_without_allowed_keys_says_that_any_client_with_its_key_gets_in() {
    let keys = Keys::new();
    let server = keys.path("server.key_secret");
    let mut zpull = run(
        Bin::Zpull,
        &["-b", ANY, "--curve-server", &server, "-n", "1"],
    )
    .start();
    let endpoint = zpull.bound();
    let server_key = keys.path("server.key");
    run(
        Bin::Zpush,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "-d",
            "work",
        ],
    )
    .start()
    .finish()
    .expect(0);
    let out = zpull.finish().expect(0);
    assert_eq!(out.lines(), ["work"]);
    assert_eq!(
        out.errors(),
        ["zpull: any CURVE client that knows the server's public key is let in (--curve-allow DIR lets in known keys only)"]
    );
    let quiet = run(
        Bin::Zpull,
        &["-b", ANY, "--curve-server", &server, "-q", "-W", "100ms"],
    )
    .start()
    .finish()
    .expect(0);
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
}

#[test]
fn plain_clients_log_in_with_a_password_from_a_file_or_the_environment() {
    let keys = Keys::new();
    let passwords = keys.file("passwords", "admin=hunter2\n", 0o600);
    let mut zrep = run(
        Bin::Zrep,
        &[
            "-b",
            ANY,
            "--plain-passwords",
            &passwords,
            "-e",
            "tr a-z A-Z",
        ],
    )
    .start();
    let endpoint = zrep.bound();
    let right = keys.file("right", "hunter2\n", 0o600);
    let out = run(
        Bin::Zreq,
        &[
            "-c",
            &endpoint,
            "--plain-user",
            "admin",
            "--plain-password-file",
            &right,
            "-d",
            "hi",
        ],
    )
    .start()
    .finish()
    .expect(0);
    assert_eq!(out.lines(), ["HI"]);
    let out = run(
        Bin::Zreq,
        &["-c", &endpoint, "--plain-user", "admin", "-d", "env"],
    )
    .env("ZPATTERN_PASSWORD", "hunter2")
    .start()
    .finish()
    .expect(0);
    assert_eq!(out.lines(), ["ENV"]);

    let wrong = keys.file("wrong", "hunter3\n", 0o600);
    let out = run(
        Bin::Zreq,
        &[
            "-c",
            &endpoint,
            "--plain-user",
            "admin",
            "--plain-password-file",
            &wrong,
            "-d",
            "hi",
        ],
    )
    .start()
    .finish()
    .expect(1);
    assert_eq!(
        out.errors(),
        [format!(
            "zreq: {endpoint}: the server refused our credentials (PLAIN)"
        )]
    );
    let seen = stderr_until(&mut zrep, "refused PLAIN from 127.0.0.1");
    let line = seen.last().unwrap();
    assert!(
        line.ends_with("wrong password for user \"admin\""),
        "{line}"
    );
    zrep.terminate();
    let out = zrep.finish();
    assert!(!out.stderr_text().contains("hunter"), "{out:?}");
}

#[test]
fn secrets_open_to_others_and_missing_passwords_are_usage_errors() {
    let keys = Keys::new();
    let secret = keys.path("server.key_secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(Bin::Zpub, &["-b", ANY, "--curve-server", &secret])
        .start()
        .finish()
        .expect(2);
    assert_eq!(
        out.errors(),
        [format!(
            "zpub: --curve-server: {secret} is readable by others (mode 0644); chmod 600 it"
        )]
    );
    let public = keys.path("client.key");
    let out = run(Bin::Zpub, &["-b", ANY, "--curve-server", &public])
        .start()
        .finish()
        .expect(2);
    assert_eq!(
        out.errors(),
        [format!(
            "zpub: --curve-server: {public} holds no secret key: give the NAME.key_secret file"
        )]
    );
    let out = run(
        Bin::Zreq,
        &[
            "-c",
            "tcp://127.0.0.1:9",
            "--plain-user",
            "admin",
            "-d",
            "x",
        ],
    )
    .env_remove("ZPATTERN_PASSWORD")
    .start()
    .finish()
    .expect(2);
    assert_eq!(
        out.errors(),
        ["zreq: --plain-user needs a password: --plain-password-file FILE, or the environment variable ZPATTERN_PASSWORD (never on the command line)"]
    );
    let out = run(
        Bin::Zsub,
        &["-c", "tcp://127.0.0.1:9", "--curve-serverkey", "not-a-key"],
    )
    .start()
    .finish()
    .expect(2);
    assert!(
        out.errors()[0].starts_with("zsub: --curve-serverkey: cannot read not-a-key"),
        "{out:?}"
    );
    let out = run(
        Bin::Zsub,
        &[
            "-c",
            "tcp://127.0.0.1:9",
            "--curve-serverkey",
            &public,
            "--allow",
            "10.0.0.0/8",
        ],
    )
    .start()
    .finish()
    .expect(2);
    assert_eq!(
        out.errors(),
        ["zsub: --allow and --deny choose who may connect to a server; with --curve-serverkey this end is a client"]
    );
    let out = run(Bin::Zsub, &["-b", ANY, "--allow", "10.0.0.1/8"])
        .start()
        .finish()
        .expect(2);
    assert!(
        out.errors()[0].starts_with("zsub: invalid value '10.0.0.1/8' for '--allow <ADDR>'"),
        "{out:?}"
    );
}

#[test]
fn an_address_filter_refuses_null_peers_and_says_so_on_both_sides() {
    let mut zpull = run(
        Bin::Zpull,
        &["-b", ANY, "--allow", "10.0.0.0/8", "-W", "5s"],
    )
    .start();
    let endpoint = zpull.bound();
    let out = run(Bin::Zpush, &["-c", &endpoint, "-d", "x"])
        .start()
        .finish()
        .expect(1);
    assert_eq!(
        out.errors(),
        [format!("zpush: {endpoint}: the server refused us (NULL: it wants credentials, or our address is not allowed)")]
    );
    let seen = stderr_until(&mut zpull, "refused NULL from 127.0.0.1");
    assert!(
        seen.last()
            .unwrap()
            .ends_with("address not in the allow list"),
        "{seen:?}"
    );
    zpull.terminate();
    zpull.finish();

    let mut zpull = run(Bin::Zpull, &["-b", ANY, "--deny", "10.0.0.0/8", "-n", "1"]).start();
    let endpoint = zpull.bound();
    run(Bin::Zpush, &["-c", &endpoint, "-d", "let in"])
        .start()
        .finish()
        .expect(0);
    assert_eq!(zpull.finish().expect(0).lines(), ["let in"]);
}

/// The JSON objects of the `--events` lines among `stderr`.
fn events(stderr: &[String]) -> Vec<serde_json::Value> {
    stderr
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn events_show_connections_accepted_and_made_handshakes_and_refusals() {
    let keys = Keys::new();
    let server = keys.path("server.key_secret");
    let allowed = keys.path("allowed");
    let mut zpull = run(
        Bin::Zpull,
        &[
            "-b",
            ANY,
            "--curve-server",
            &server,
            "--curve-allow",
            &allowed,
            "--events",
            "-n",
            "1",
        ],
    )
    .start();
    let endpoint = zpull.bound();
    let server_key = keys.path("server.key");
    let intruder = keys.path("intruder.key_secret");
    run(
        Bin::Zpush,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "--curve-client",
            &intruder,
            "-d",
            "x",
        ],
    )
    .start()
    .finish()
    .expect(1);
    let client = keys.path("client.key_secret");
    let pushed = run(
        Bin::Zpush,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "--curve-client",
            &client,
            "-d",
            "y",
            "--events",
        ],
    )
    .start()
    .finish()
    .expect(0);
    let out = zpull.finish().expect(0);
    assert_eq!(out.lines(), ["y"]);

    let seen = events(&out.stderr);
    let kinds: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"listening"), "{out:?}");
    for event in &seen {
        assert_eq!(event["tool"], "zpull");
        assert_eq!(event["endpoint"], endpoint.as_str());
        let time = event["time"].as_str().unwrap();
        assert!(time.len() == 27 && time.ends_with('Z'), "{time}");
        if event["event"] != "listening" && event["event"] != "closed" {
            assert!(
                event["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
                "{event}"
            );
        }
    }
    let failed = seen
        .iter()
        .find(|e| e["event"] == "handshake failed")
        .unwrap();
    assert_eq!(
        failed["reason"],
        "refused by the authenticator (status 400)"
    );
    assert!(kinds.contains(&"accepted") && kinds.contains(&"handshake succeeded"));
    assert!(kinds.contains(&"disconnected"), "{kinds:?}");

    let made: Vec<String> = events(&pushed.stderr)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        &made[..2],
        ["connected", "handshake succeeded"],
        "{pushed:?}"
    );
}

/// A TCP relay that records every byte it passes, both ways.
struct Relay {
    endpoint: String,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn to(target: &str) -> Relay {
        let target = target.strip_prefix("tcp://").unwrap().to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("tcp://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&target) else {
                    return;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let recorded = Arc::clone(&recorded);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            recorded.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Relay { endpoint, seen }
    }

    fn contains(&self, needle: &[u8]) -> bool {
        let seen = self.seen.lock().unwrap();
        !seen.is_empty() && seen.windows(needle.len()).any(|w| w == needle)
    }

    fn bytes(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// Send `count` copies of a payload from zpush to zpull through a relay, with the
/// security `arguments` of each side; the relay.
fn through_relay(server: &[&str], client: &[&str], payload: &str) -> Relay {
    let mut args = vec!["-b", ANY, "-n", "3"];
    args.extend_from_slice(server);
    let mut zpull = run(Bin::Zpull, &args).start();
    let relay = Relay::to(&zpull.bound());
    let mut args = vec!["-c", &relay.endpoint, "-d", payload, "-n", "3"];
    args.extend_from_slice(client);
    run(Bin::Zpush, &args).start().finish().expect(0);
    assert_eq!(zpull.finish().expect(0).lines(), [payload; 3]);
    relay
}

#[test]
fn under_curve_the_payload_never_crosses_the_wire_in_clear() {
    let keys = Keys::new();
    let payload = "persian fedora 7f3a9c";
    let (server, server_key) = (keys.path("server.key_secret"), keys.path("server.key"));
    let clear = through_relay(&[], &[], payload);
    assert!(
        clear.contains(payload.as_bytes()),
        "the relay records what it passes"
    );
    let curve = through_relay(
        &["--curve-server", &server],
        &["--curve-serverkey", &server_key],
        payload,
    );
    assert!(curve.bytes() > 3 * payload.len(), "{} bytes", curve.bytes());
    assert!(!curve.contains(payload.as_bytes()));
    assert!(!curve.contains(b"fedora"));
}

/// A pyzmq CURVE PUB server: its certificate `argv[1]` (made by pyzmq), clients'
/// public certificates in `argv[2]`, publishing until killed.
const PYZMQ_CURVE_PUB: &str = r#"
import sys, time, zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
context = zmq.Context()
auth = ThreadAuthenticator(context)
auth.start()
auth.configure_curve(domain="*", location=sys.argv[2])
server = context.socket(zmq.PUB)
public, secret = zmq.auth.load_certificate(sys.argv[1])
server.curve_publickey = public
server.curve_secretkey = secret
server.curve_server = True
port = server.bind_to_random_port("tcp://127.0.0.1")
print("tcp://127.0.0.1:%d" % port, flush=True)
deadline = time.time() + 30
while time.time() < deadline:
    server.send_multipart([b"hats", b"from pyzmq"])
    time.sleep(0.02)
"#;

/// Make certificates `names` with pyzmq in `dir`, secrets made private.
fn pyzmq_certificates(dir: &Path, names: &[&str]) {
    let script = "import sys, zmq.auth\nfor name in sys.argv[2:]: zmq.auth.create_certificates(sys.argv[1], name)";
    let mut args = vec![dir.to_str().unwrap()];
    args.extend_from_slice(names);
    python("create.py", script, &args)
        .start()
        .finish()
        .expect(0);
    for name in names {
        let secret: PathBuf = dir.join(format!("{name}.key_secret"));
        std::fs::set_permissions(secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn zsub_with_pyzmq_certificates_reads_a_pyzmq_curve_publisher_and_is_refused_without_a_known_key() {
    if !pyzmq() {
        return;
    }
    let dir = TempDir::new();
    let (certs, trusted) = (dir.path().join("certs"), dir.path().join("trusted"));
    std::fs::create_dir(&certs).unwrap();
    std::fs::create_dir(&trusted).unwrap();
    pyzmq_certificates(&certs, &["server", "client", "stranger"]);
    std::fs::copy(certs.join("client.key"), trusted.join("client.key")).unwrap();
    let path = |name: &str| certs.join(name).to_str().unwrap().to_string();
    let mut server = python(
        "pub.py",
        PYZMQ_CURVE_PUB,
        &[&path("server.key_secret"), trusted.to_str().unwrap()],
    )
    .start();
    let endpoint = server.line();
    let (server_key, client) = (path("server.key"), path("client.key_secret"));
    let out = run(
        Bin::Zsub,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "--curve-client",
            &client,
            "-n",
            "2",
            "-t",
            "hats",
        ],
    )
    .start()
    .finish()
    .expect(0);
    assert_eq!(out.lines(), ["hats\tfrom pyzmq", "hats\tfrom pyzmq"]);
    let stranger = path("stranger.key_secret");
    let out = run(
        Bin::Zsub,
        &[
            "-c",
            &endpoint,
            "--curve-serverkey",
            &server_key,
            "--curve-client",
            &stranger,
            "-n",
            "1",
        ],
    )
    .start()
    .finish()
    .expect(1);
    assert_eq!(
        out.errors(),
        [format!(
            "zsub: {endpoint}: the server refused our credentials (CURVE)"
        )]
    );
    server.kill();
}

/// A pyzmq CURVE SUB client: its certificate `argv[1]`, the server's public
/// certificate `argv[2]`, connecting to `argv[3]`; prints one message, or
/// `refused: EVENT` when its handshake fails.
const PYZMQ_CURVE_SUB: &str = r#"
import sys, zmq, zmq.auth
from zmq.utils.monitor import recv_monitor_message
context = zmq.Context()
client = context.socket(zmq.SUB)
public, secret = zmq.auth.load_certificate(sys.argv[1])
server_public, _ = zmq.auth.load_certificate(sys.argv[2])
client.curve_publickey = public
client.curve_secretkey = secret
client.curve_serverkey = server_public
client.subscribe(b"")
monitor = client.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
client.connect(sys.argv[3])
poller = zmq.Poller()
poller.register(client, zmq.POLLIN)
poller.register(monitor, zmq.POLLIN)
ready = dict(poller.poll(20000))
if client in ready:
    print(b" ".join(client.recv_multipart()).decode(), flush=True)
elif monitor in ready:
    event = recv_monitor_message(monitor)
    print("refused: %d %d" % (event["event"], event["value"]), flush=True)
client.setsockopt(zmq.LINGER, 0)
monitor.setsockopt(zmq.LINGER, 0)
"#;

#[test]
fn a_pyzmq_curve_subscriber_reads_zpub_and_an_unknown_one_is_refused_and_logged() {
    if !pyzmq() {
        return;
    }
    let keys = Keys::new();
    let dir = TempDir::new();
    pyzmq_certificates(dir.path(), &["py", "stranger"]);
    let allowed = keys.path("allowed");
    std::fs::copy(
        dir.path().join("py.key"),
        Path::new(&allowed).join("py.key"),
    )
    .unwrap();
    let server = keys.path("server.key_secret");
    let mut zpub = run(
        Bin::Zpub,
        &[
            "-b",
            ANY,
            "--curve-server",
            &server,
            "--curve-allow",
            &allowed,
            "-d",
            "hats fedora",
            "-i",
            "20ms",
            "-n",
            "100000",
        ],
    )
    .start();
    let endpoint = zpub.bound();
    let server_public = keys.path("server.key");
    let client = |name: &str| {
        let cert = dir.path().join(format!("{name}.key_secret"));
        python(
            "sub.py",
            PYZMQ_CURVE_SUB,
            &[cert.to_str().unwrap(), &server_public, &endpoint],
        )
        .start()
        .finish()
        .expect(0)
    };
    assert_eq!(client("py").lines(), ["hats fedora"]);
    // EVENT_HANDSHAKE_FAILED_AUTH (0x4000), status 400.
    assert_eq!(client("stranger").lines(), ["refused: 16384 400"]);
    let seen = stderr_until(&mut zpub, "refused CURVE from 127.0.0.1");
    assert!(seen.last().unwrap().ends_with("is not allowed"), "{seen:?}");
    zpub.terminate();
    zpub.finish();
}

/// A pyzmq PLAIN REP server: users from `argv[1]` (`user=password`), answering
/// one request in capitals.
const PYZMQ_PLAIN_REP: &str = r#"
import sys, zmq
from zmq.auth.thread import ThreadAuthenticator
context = zmq.Context()
auth = ThreadAuthenticator(context)
auth.start()
users = dict(line.strip().split("=", 1) for line in open(sys.argv[1]) if "=" in line)
auth.configure_plain(domain="*", passwords=users)
server = context.socket(zmq.REP)
server.plain_server = True
server.rcvtimeo = 20000
port = server.bind_to_random_port("tcp://127.0.0.1")
print("tcp://127.0.0.1:%d" % port, flush=True)
server.send(server.recv().upper())
auth.stop()
"#;

/// A pyzmq PLAIN REQ client: user `argv[1]`, password `argv[2]`, to `argv[3]`.
const PYZMQ_PLAIN_REQ: &str = r#"
import sys, zmq
context = zmq.Context()
client = context.socket(zmq.REQ)
client.plain_username = sys.argv[1].encode()
client.plain_password = sys.argv[2].encode()
client.rcvtimeo = 3000
client.linger = 0
client.connect(sys.argv[3])
client.send(b"knock knock")
try:
    print(client.recv().decode(), flush=True)
except zmq.Again:
    print("no reply", flush=True)
"#;

#[test]
fn plain_works_both_ways_with_pyzmq() {
    if !pyzmq() {
        return;
    }
    let keys = Keys::new();
    let users = keys.file("users", "admin=hunter2\n", 0o600);
    let mut server = python("rep.py", PYZMQ_PLAIN_REP, &[&users]).start();
    let endpoint = server.line();
    let out = run(
        Bin::Zreq,
        &[
            "-c",
            &endpoint,
            "--plain-user",
            "admin",
            "-d",
            "who's there",
        ],
    )
    .env("ZPATTERN_PASSWORD", "hunter2")
    .start()
    .finish()
    .expect(0);
    assert_eq!(out.lines(), ["WHO'S THERE"]);
    server.finish().expect(0);

    let mut zrep = run(
        Bin::Zrep,
        &["-b", ANY, "--plain-passwords", &users, "-e", "tr a-z A-Z"],
    )
    .start();
    let endpoint = zrep.bound();
    let client = |password: &str| {
        python("req.py", PYZMQ_PLAIN_REQ, &["admin", password, &endpoint])
            .start()
            .finish()
            .expect(0)
            .lines()
    };
    assert_eq!(client("hunter2"), ["KNOCK KNOCK"]);
    assert_eq!(client("hunter3"), ["no reply"]);
    let seen = stderr_until(&mut zrep, "refused PLAIN from 127.0.0.1");
    assert!(
        seen.last()
            .unwrap()
            .ends_with("wrong password for user \"admin\""),
        "{seen:?}"
    );
    zrep.terminate();
    zrep.finish();
}
