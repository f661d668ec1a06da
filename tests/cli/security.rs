//! `zkeygen` and CURVE certificates between zpattern and pyzmq: files written by one
//! are read by the other, and keys loaded from them complete CURVE handshakes
//! between a pyzmq socket and a socket of the `zmq` crate set up by
//! `zpattern::security` (with zpattern's ZAP handler, or pyzmq's).
//!
//! The pyzmq tests run when `python3 -c 'import zmq'` works, as in `interop`;
//! otherwise they print a note and pass.

use crate::support::{program, python, run, Bin, TempDir, DEADLINE};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{mpsc, OnceLock};
use zpattern::security::{
    Authenticator, Certificate, ClientKeys, CurveClient, CurveServer, Policy, PublicKey, Report,
};

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

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Run zkeygen with `args`; its stdout line (the public key).
fn zkeygen(args: &[&str]) -> String {
    let out = run(Bin::Zkeygen, args).start().finish().expect(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 1, "{out:?}");
    lines[0].clone()
}

#[test]
fn zkeygen_writes_a_certificate_pair_and_prints_its_public_key() {
    let dir = TempDir::new();
    let path = dir.path().to_str().unwrap();
    let out = run(
        Bin::Zkeygen,
        &["server", "--dir", path, "--meta", "name=front door"],
    )
    .start()
    .finish()
    .expect(0);
    let key = out.lines()[0].clone();
    assert_eq!(key.len(), 40);
    let public = dir.path().join("server.key");
    let secret = dir.path().join("server.key_secret");
    assert_eq!(
        out.stderr,
        [format!(
            "zkeygen: wrote {} and {}",
            public.display(),
            secret.display()
        )]
    );
    assert_eq!(mode(&secret), 0o600);
    let loaded = Certificate::load(&secret).unwrap();
    assert_eq!(loaded.public_key().to_z85(), key);
    assert!(loaded.secret_key().is_some());
    assert_eq!(loaded.meta("name"), Some("front door"));
    let public_cert = Certificate::load(&public).unwrap();
    assert_eq!(public_cert.public_key().to_z85(), key);
    assert!(public_cert.secret_key().is_none());
    assert!(!std::fs::read_to_string(&public)
        .unwrap()
        .contains("secret-key"));
    assert_eq!(
        PublicKey::from_arg(public.to_str().unwrap())
            .unwrap()
            .to_z85(),
        key
    );
}

#[test]
fn zkeygen_writes_in_the_current_directory_by_default() {
    let dir = TempDir::new();
    let script = format!(
        "cd \"$1\" && exec {} client --quiet",
        env!("CARGO_BIN_EXE_zkeygen")
    );
    let out = program(
        "zkeygen",
        "sh",
        &["-c", &script, "sh", dir.path().to_str().unwrap()],
    )
    .start()
    .finish()
    .expect(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    let cert = Certificate::load(dir.path().join("client.key_secret")).unwrap();
    assert_eq!(out.lines(), [cert.public_key().to_z85()]);
}

#[test]
fn zkeygen_replaces_existing_files_only_with_force() {
    let dir = TempDir::new();
    let path = dir.path().to_str().unwrap();
    let first = zkeygen(&["node", "--dir", path]);
    let secret = dir.path().join("node.key_secret");
    let out = run(Bin::Zkeygen, &["node", "--dir", path])
        .start()
        .finish()
        .expect(1);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        [format!(
            "zkeygen: {} exists; --force replaces it",
            dir.path().join("node.key").display()
        )]
    );
    assert_eq!(
        Certificate::load(&secret).unwrap().public_key().to_z85(),
        first
    );
    // A secret file left readable by others is replaced by a private one.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let second = zkeygen(&["node", "--dir", path, "--force"]);
    assert_ne!(first, second);
    assert_eq!(mode(&secret), 0o600);
    assert_eq!(
        Certificate::load(&secret).unwrap().public_key().to_z85(),
        second
    );
}

#[test]
fn zkeygen_refuses_bad_names_and_metadata_in_one_line() {
    let dir = TempDir::new();
    let path = dir.path().to_str().unwrap();
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["a/b", "--dir", path],
            2,
            "NAME \"a/b\" must be a plain file name",
        ),
        (
            &["..", "--dir", path],
            2,
            "NAME \"..\" must be a plain file name",
        ),
        (
            &["x", "--dir", path, "--meta", "novalue"],
            2,
            "expected NAME=VALUE",
        ),
        (
            &["x", "--dir", path, "--meta", "a b=c"],
            2,
            "metadata name \"a b\"",
        ),
        (
            &["x", "--dir", "/dev/null/dir"],
            1,
            "cannot create /dev/null/dir",
        ),
    ];
    for (args, code, text) in cases {
        let out = run(Bin::Zkeygen, args).start().finish().expect(code);
        assert_eq!(out.stderr.len(), 1, "{out:?}");
        assert!(out.stderr[0].starts_with("zkeygen: "), "{out:?}");
        assert!(out.stderr[0].contains(text), "{out:?}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn zkeygen_makes_a_missing_directory_private_to_its_owner() {
    let dir = TempDir::new();
    let keys = dir.path().join("keys/server");
    zkeygen(&["server", "--dir", keys.to_str().unwrap()]);
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join("server.key_secret")), 0o600);
}

/// pyzmq's `load_certificate` of each path, as `public secret-or-None` lines.
const LOAD: &str = r#"
import sys, zmq.auth
for path in sys.argv[1:]:
    public, secret = zmq.auth.load_certificate(path)
    print(public.decode(), secret.decode() if secret else None, flush=True)
"#;

#[test]
fn pyzmq_reads_what_zkeygen_writes() {
    if !pyzmq() {
        return;
    }
    let dir = TempDir::new();
    let key = zkeygen(&["server", "--dir", dir.path().to_str().unwrap()]);
    let public = dir.path().join("server.key");
    let secret = dir.path().join("server.key_secret");
    let out = python(
        "load.py",
        LOAD,
        &[public.to_str().unwrap(), secret.to_str().unwrap()],
    )
    .start()
    .finish()
    .expect(0);
    let ours = Certificate::load(&secret).unwrap();
    let secret_z85 = ours.secret_key().unwrap().expose_z85();
    assert_eq!(
        out.lines(),
        [format!("{key} None"), format!("{key} {secret_z85}")]
    );
}

#[test]
fn zpattern_reads_what_pyzmq_writes_once_its_secret_is_private() {
    if !pyzmq() {
        return;
    }
    let dir = TempDir::new();
    let script = r#"
import sys, zmq.auth
public, secret = zmq.auth.create_certificates(sys.argv[1], "py", metadata={"owner": "ops team"})
print(open(public).read().split('public-key = "')[1][:40], flush=True)
"#;
    let out = python("create.py", script, &[dir.path().to_str().unwrap()])
        .start()
        .finish()
        .expect(0);
    let key = out.lines()[0].clone();
    let public = Certificate::load(dir.path().join("py.key")).unwrap();
    assert_eq!(public.public_key().to_z85(), key);
    // pyzmq leaves the secret file's mode to the umask: refused until made private.
    let secret = dir.path().join("py.key_secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Certificate::load(&secret).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{} is readable by others (mode 0644); chmod 600 it",
            secret.display()
        )
    );
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cert = Certificate::load(&secret).unwrap();
    assert_eq!(cert.public_key().to_z85(), key);
    assert!(cert.secret_key().is_some());
    assert_eq!(cert.meta("owner"), Some("ops team"));
}

/// A pyzmq CURVE PULL server with pyzmq's own ZAP handler: its keys from
/// `argv[1]` (a secret certificate), clients allowed from the public certificates
/// in `argv[2]`; prints its endpoint, then the one message it receives.
const PYZMQ_SERVER: &str = r#"
import sys, zmq, zmq.auth
from zmq.auth.thread import ThreadAuthenticator
context = zmq.Context()
auth = ThreadAuthenticator(context)
auth.start()
auth.configure_curve(domain="*", location=sys.argv[2])
public, secret = zmq.auth.load_certificate(sys.argv[1])
server = context.socket(zmq.PULL)
server.linger = 0
server.rcvtimeo = 20000
server.curve_publickey = public
server.curve_secretkey = secret
server.curve_server = True
port = server.bind_to_random_port("tcp://127.0.0.1")
print("tcp://127.0.0.1:%d" % port, flush=True)
print(server.recv().decode(), flush=True)
auth.stop()
"#;

#[test]
fn a_zmq_crate_client_with_zkeygen_keys_talks_curve_to_a_pyzmq_server() {
    if !pyzmq() {
        return;
    }
    let dir = TempDir::new();
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let path = dir.path().to_str().unwrap();
    zkeygen(&["server", "--dir", path]);
    zkeygen(&["client", "--dir", clients.to_str().unwrap()]);
    let server_secret = dir.path().join("server.key_secret");
    let mut server = python(
        "server.py",
        PYZMQ_SERVER,
        &[server_secret.to_str().unwrap(), clients.to_str().unwrap()],
    )
    .start();
    let endpoint = server.line();

    let server_key = PublicKey::from_file(dir.path().join("server.key")).unwrap();
    let client_cert = Certificate::load(clients.join("client.key_secret")).unwrap();
    let curve = CurveClient::new(server_key, client_cert.keypair().unwrap());
    let context = zmq::Context::new();
    let mut push = crate::support::zmq_socket(&context, zmq::PUSH);
    curve.apply(&mut push).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("over curve", 0).unwrap();
    assert_eq!(server.line(), "over curve");
    server.finish().expect(0);
}

/// A pyzmq CURVE PUSH client: its keys from `argv[1]` (a secret certificate written
/// by pyzmq), the server's public key from `argv[2]`, connecting to `argv[3]`.
const PYZMQ_CLIENT: &str = r#"
import sys, zmq, zmq.auth
public, secret = zmq.auth.load_certificate(sys.argv[1])
server_public, _ = zmq.auth.load_certificate(sys.argv[2])
context = zmq.Context()
client = context.socket(zmq.PUSH)
client.linger = 5000
client.sndtimeo = 20000
client.curve_publickey = public
client.curve_secretkey = secret
client.curve_serverkey = server_public
client.connect(sys.argv[3])
client.send(b"from pyzmq")
client.close()
"#;

#[test]
fn a_pyzmq_client_with_its_own_certificate_passes_zpatterns_authenticator() {
    if !pyzmq() {
        return;
    }
    let dir = TempDir::new();
    let clients = dir.path().join("clients");
    std::fs::create_dir(&clients).unwrap();
    let create = r#"
import sys, zmq.auth
zmq.auth.create_certificates(sys.argv[1], "py", metadata={"owner": "ops"})
zmq.auth.create_certificates(sys.argv[1], "stranger")
"#;
    python("create.py", create, &[clients.to_str().unwrap()])
        .start()
        .finish()
        .expect(0);
    // The secret certificates stay with the clients; the server's directory holds
    // the public one it trusts.
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    for name in ["py.key_secret", "stranger.key_secret", "stranger.key"] {
        std::fs::rename(clients.join(name), secrets.join(name)).unwrap();
    }
    zkeygen(&["server", "--dir", dir.path().to_str().unwrap()]);
    let server_cert = Certificate::load(dir.path().join("server.key_secret")).unwrap();

    let (keys, skipped) = ClientKeys::from_dir(&clients).unwrap();
    assert_eq!((keys.len(), skipped.len()), (1, 0));
    let context = zmq::Context::new();
    let (tx, reports) = mpsc::channel();
    let _auth = Authenticator::start(
        &context,
        Policy::new().curve_clients(keys),
        move |r: &Report| {
            let _ = tx.send(r.to_string());
        },
    )
    .unwrap();
    let mut pull = crate::support::zmq_socket(&context, zmq::PULL);
    CurveServer::new(server_cert.keypair().unwrap())
        .apply(&mut pull)
        .unwrap();
    let endpoint = crate::support::bind_ephemeral(&pull);
    let server_public = dir.path().join("server.key");

    let client = |name: &str| {
        let cert = secrets.join(format!("{name}.key_secret"));
        let args = [
            cert.to_str().unwrap(),
            server_public.to_str().unwrap(),
            endpoint.as_str(),
        ];
        python("client.py", PYZMQ_CLIENT, &args).start()
    };
    // The stranger's key is not in the directory: refused, and told.
    let stranger = client("stranger");
    let refusal = reports.recv_timeout(DEADLINE).unwrap();
    assert!(
        refusal.starts_with("refused CURVE from 127.0.0.1 (domain zpattern): client key "),
        "{refusal}"
    );
    drop(stranger);

    let friend = client("py");
    let mut msg = pull.recv_msg(0).unwrap();
    assert_eq!(&msg[..], b"from pyzmq");
    // pyzmq writes metadata in the secret file only: the user id is the key.
    let key = Certificate::load(clients.join("py.key"))
        .unwrap()
        .public_key()
        .to_z85();
    assert_eq!(msg.gets("User-Id"), Some(key.as_str()));
    friend.finish().expect(0);
}
