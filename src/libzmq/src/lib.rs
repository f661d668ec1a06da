//! zpattern's libzmq build, called by zmq-sys's build script through the
//! `zeromq_src::Build` API it expects (see Cargo.toml for why).
//!
//! What it builds, and why it differs from the upstream `zeromq-src` build:
//!
//! * **CURVE**: libzmq is compiled against libsodium (built by `libsodium-sys-stable`
//!   from its bundled sources), whatever zmq-sys asks for.
//! * **Platform facts**: the upstream build leaves libzmq's `platform.hpp` empty,
//!   which compiles `ZMQ_TCP_KEEPALIVE*` into silent no-ops and gives ipc messages no
//!   metadata. The Linux facts they depend on are defined here.
//! * **Five changes to the stream engine** (`stream_engine_base.cpp`), applied to a copy
//!   of the upstream source and compiled in place of the original object (see
//!   [`ENGINE_FIXES`]). Without them, libzmq 4.3.5 loses what a peer sent before it
//!   went away whenever the receiver was behind, and can be made to abort by a peer.
//!
//! The fixes are modifications of libzmq, so they are under libzmq's licence, the
//! Mozilla Public License 2.0.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Linux facts libzmq's build system would have found, as compiler flags: TCP
/// keepalive and its three parameters, and the credentials of a unix-socket peer
/// (which also gives messages over ipc their metadata: the peer's address and the
/// connection they came by).
const PLATFORM_FLAGS: &[&str] = &[
    "-DZMQ_HAVE_SO_KEEPALIVE=1",
    "-DZMQ_HAVE_TCP_KEEPCNT=1",
    "-DZMQ_HAVE_TCP_KEEPIDLE=1",
    "-DZMQ_HAVE_TCP_KEEPINTVL=1",
    "-DZMQ_HAVE_SO_PEERCRED=1",
];

/// Where the upstream source of a fix is, what it replaces there (exactly once) and
/// what with.
struct Fix {
    why: &'static str,
    find: &'static str,
    replace: &'static str,
}

/// The changes to `src/stream_engine_base.cpp` of libzmq 4.3.5.
///
/// 1. **Keep reading after the peer went away.** While a receiver is behind (its
///    queue at the high-water mark), the engine stops reading its socket. If the
///    connection then fails (the peer closed it, as ipc reports at once, or reset it,
///    as TCP does when anything is written to a peer that has exited, such as a
///    heartbeat), libzmq takes the socket off its poller and, once the queue has
///    room again, closes the connection without reading what the kernel still holds:
///    everything the peer sent that was not yet read is lost, and neither end is
///    told (libzmq issue #4660). Fixed: when the queue has room again, the socket goes
///    back on the poller and is read to its end; the error is reported after that.
/// 2. **No heartbeat on a failed connection.** The heartbeat timer kept firing after
///    that error and wrote to the failed socket, which fails an assertion and aborts
///    the whole process (`Assertion failed: !_io_error`): one peer could end any
///    process that uses heartbeats by filling its queue and resetting its
///    connection. Fixed: no heartbeat is written while the socket is failed.
/// 3. **Backpressure is not death.** A heartbeat's time-to-live, and the timeout
///    after our own PING, ran out when nothing had been *decoded* for that long. A
///    receiver whose queue is full stops reading, so it timed out a live sender; and
///    a sender whose PING waited behind data its slow receiver was not taking yet
///    timed that receiver out. Either way a live peer was cut off and what was queued
///    for it was lost, unseen. Fixed: while our reading is stopped, or our own
///    writing is (data the peer's kernel does not take yet), those timers are looked
///    at again later instead. A peer whose host is gone is noticed by TCP, whose
///    retransmission limit zpattern sets (`ZMQ_TCP_MAXRT`, `TCP_USER_TIMEOUT`).
/// 4. **Say why a connection ended.** A peer that closes its end with data it has
///    not read resets the connection: what was sent to it is lost. A peer dropped
///    for a frame over `ZMQ_MAXMSGSIZE` (or a message over the limits of change 5)
///    was dropped in silence. The disconnect event now says either (bits 30 and 29
///    of its value), so that a sender can tell a peer that left with messages
///    unread from one that read everything first, and a receiver can say why it
///    dropped a peer.
/// 5. **Bound what one message may hold.** libzmq hands a multipart message over
///    only once its last frame has arrived, and `ZMQ_MAXMSGSIZE` bounds each frame,
///    not their number: one peer could make a receiver hold a message of millions of
///    empty frames (about 64 bytes each) before anything looked at it. The engine
///    now counts the frames and bytes of the message it is decoding and drops the
///    connection (a protocol error) past the limits the process set through
///    `zpattern_raise_message_limits(frames, bytes)` (the largest any socket asked
///    for; none until then).
///
/// The same file also gives libzmq's version 2 socket monitor, which is compiled
/// into every build but declared (as a C function) only with the draft API, a C
/// name: `zpattern_socket_monitor_v2(socket, endpoint, events)`. Its events carry
/// both addresses of a connection, so a monitor learns the peer's address from
/// libzmq instead of asking the kernel later about a descriptor that may be gone.
const ENGINE_FIXES: &[Fix] = &[
    Fix {
        why: "bound what one message may hold (1 of 4)",
        find: "#include \"wire.hpp\"",
        replace: "#include \"wire.hpp\"

#include <atomic>
#include <unordered_map>

//  zpattern: the most frames, and bytes over all frames, one incoming message may
//  hold (0: no limit), for the whole process; the largest any socket asked for.
//  Each engine's count for the message it is decoding lives in a table of its I/O
//  thread (an engine stays in one), so the engine's layout does not change.
static std::atomic<uint64_t> zpattern_max_frames (0);
static std::atomic<uint64_t> zpattern_max_bytes (0);
struct zpattern_message_count
{
    uint64_t frames;
    uint64_t bytes;
};
static thread_local std::unordered_map<const void *, zpattern_message_count>
  zpattern_counts;

//  zpattern: libzmq's versioned socket monitor, compiled in but declared only
//  with the draft API (so with C++ linkage), under a C name: version 2 events
//  carry both addresses of a connection, so the peer's is known.
int zmq_socket_monitor_versioned (
  void *s_, const char *addr_, uint64_t events_, int event_version_, int type_);

extern \"C\" int zpattern_socket_monitor_v2 (void *s_,
                                           const char *addr_,
                                           uint64_t events_)
{
    return zmq_socket_monitor_versioned (s_, addr_, events_, 2, ZMQ_PAIR);
}

extern \"C\" void zpattern_raise_message_limits (uint64_t frames_,
                                               uint64_t bytes_)
{
    uint64_t seen = zpattern_max_frames.load ();
    while (seen < frames_
           && !zpattern_max_frames.compare_exchange_weak (seen, frames_)) {
    }
    seen = zpattern_max_bytes.load ();
    while (seen < bytes_
           && !zpattern_max_bytes.compare_exchange_weak (seen, bytes_)) {
    }
}",
    },
    Fix {
        why: "bound what one message may hold (2 of 4)",
        find: "zmq::stream_engine_base_t::~stream_engine_base_t ()
{
    zmq_assert (!_plugged);
",
        replace: "zmq::stream_engine_base_t::~stream_engine_base_t ()
{
    zmq_assert (!_plugged);
    zpattern_counts.erase (this);
",
    },
    Fix {
        why: "bound what one message may hold (3 of 4)",
        find: "int zmq::stream_engine_base_t::decode_and_push (msg_t *msg_)
{
    zmq_assert (_mechanism != NULL);

    if (_mechanism->decode (msg_) == -1)
        return -1;
",
        replace: "int zmq::stream_engine_base_t::decode_and_push (msg_t *msg_)
{
    zmq_assert (_mechanism != NULL);

    if (_mechanism->decode (msg_) == -1)
        return -1;

    //  zpattern: libzmq hands a message over only once its last frame is in, so
    //  a peer could otherwise make us hold a message of any number of frames.
    if (!(msg_->flags () & msg_t::command)) {
        const uint64_t max_frames = zpattern_max_frames.load ();
        const uint64_t max_bytes = zpattern_max_bytes.load ();
        if (max_frames > 0 || max_bytes > 0) {
            zpattern_message_count &count = zpattern_counts[this];
            count.frames += 1;
            count.bytes += msg_->size ();
            if ((max_frames > 0 && count.frames > max_frames)
                || (max_bytes > 0 && count.bytes > max_bytes)) {
                zpattern_counts.erase (this);
                errno = EMSGSIZE;
                return -1;
            }
            if (!(msg_->flags () & msg_t::more))
                zpattern_counts.erase (this);
        }
    }
",
    },
    Fix {
        why: "bound what one message may hold (4 of 4)",
        find: "void zmq::stream_engine_base_t::plug (io_thread_t *io_thread_,
                                      session_base_t *session_)
{",
        replace: "void zmq::stream_engine_base_t::plug (io_thread_t *io_thread_,
                                      session_base_t *session_)
{
    zpattern_counts.erase (this);",
    },
    Fix {
        why: "say when the peer reset the connection (1 of 2)",
        find: "void zmq::stream_engine_base_t::error (error_reason_t reason_)
{
    zmq_assert (_session);
",
        replace: "void zmq::stream_engine_base_t::error (error_reason_t reason_)
{
    zmq_assert (_session);

    //  zpattern: a peer that closes with data it has not read resets the
    //  connection (TCP sends a reset, a unix socket reports ECONNRESET): what
    //  was sent to it is lost. A peer that sent a frame over ZMQ_MAXMSGSIZE, or
    //  a message over the limits above, is dropped for it (EMSGSIZE). The
    //  disconnect event carries these in bits 30 and 29 of its value (file
    //  descriptors are far smaller).
    const bool peer_reset = reason_ == connection_error && errno == ECONNRESET;
    const bool too_big = reason_ == protocol_error && errno == EMSGSIZE;
",
    },
    Fix {
        why: "say when the peer reset the connection (2 of 2)",
        find: "    _socket->event_disconnected (_endpoint_uri_pair, _s);
    _session->flush ();",
        replace: "    _socket->event_disconnected (
      _endpoint_uri_pair,
      _s | (peer_reset ? (1 << 30) : 0) | (too_big ? (1 << 29) : 0));
    _session->flush ();",
    },
    Fix {
        why: "keep reading after the peer went away (1 of 2)",
        find: "    if (rc == -1 && errno == EAGAIN)
        _session->flush ();
    else if (_io_error) {
        error (connection_error);
        return false;
    } else if (rc == -1) {
        error (protocol_error);
        return false;
    }

    else {
        _input_stopped = false;",
        replace: "    if (rc == -1 && errno == EAGAIN)
        _session->flush ();
    else if (rc == -1) {
        error (protocol_error);
        return false;
    }

    else {
        //  zpattern: the peer went away while we were not reading; what it sent
        //  may still wait in the kernel. Poll the socket again and read it to its
        //  end: the error comes after the data.
        if (_io_error) {
            _io_error = false;
            _handle = add_fd (_s);
        }
        _input_stopped = false;",
    },
    Fix {
        why: "keep reading after the peer went away (2 of 2)",
        find: "    //  If there has been an I/O error, stop polling.
    if (_input_stopped) {",
        replace: "    //  If there has been an I/O error, stop polling (zpattern: until the queue
    //  has room again, see restart_input).
    if (_input_stopped) {",
    },
    Fix {
        why: "no heartbeat on a failed connection",
        find: "    } else if (id_ == heartbeat_ivl_timer_id) {
        _next_msg = &stream_engine_base_t::produce_ping_message;
        out_event ();
        add_timer (_options.heartbeat_interval, heartbeat_ivl_timer_id);",
        replace: "    } else if (id_ == heartbeat_ivl_timer_id) {
        //  zpattern: a failed socket is off the poller and cannot be written.
        if (!_io_error) {
            _next_msg = &stream_engine_base_t::produce_ping_message;
            out_event ();
        }
        add_timer (_options.heartbeat_interval, heartbeat_ivl_timer_id);",
    },
    Fix {
        why: "a receiver that is behind does not time its peer out",
        find: "    } else if (id_ == heartbeat_ttl_timer_id) {
        _has_ttl_timer = false;
        error (timeout_error);
    } else if (id_ == heartbeat_timeout_timer_id) {
        _has_timeout_timer = false;
        error (timeout_error);",
        replace: "    } else if ((id_ == heartbeat_ttl_timer_id && _input_stopped)
               || (id_ == heartbeat_timeout_timer_id
                   && (_input_stopped || _outsize > 0))) {
        //  zpattern: nothing was decoded because we stopped reading (our queue
        //  is full), or our PING waits behind data the peer is not taking yet
        //  (its queue is full): backpressure, not a dead peer. Look again later;
        //  the timer is cancelled as soon as a message is decoded. A peer that is
        //  really gone is TCP's to notice (ZMQ_TCP_MAXRT).
        add_timer (stalled_recheck_ms, id_);
    } else if (id_ == heartbeat_ttl_timer_id) {
        _has_ttl_timer = false;
        error (timeout_error);
    } else if (id_ == heartbeat_timeout_timer_id) {
        _has_timeout_timer = false;
        error (timeout_error);",
    },
    Fix {
        why: "the recheck interval of fix 3",
        find: "void zmq::stream_engine_base_t::timer_event (int id_)
{",
        replace: "//  zpattern: how often a heartbeat timer that ran out while reading was
//  stopped looks again.
static const int stalled_recheck_ms = 1000;

void zmq::stream_engine_base_t::timer_event (int id_)
{",
    },
];

/// Where a prebuilt library is (kept for the API zmq-sys calls; unused).
#[derive(Debug, Clone)]
pub struct LibLocation {
    include_dir: PathBuf,
    lib_dir: PathBuf,
}

impl LibLocation {
    /// A library in `lib_dir` with its headers in `include_dir`.
    pub fn new<L: Into<PathBuf>, I: Into<PathBuf>>(lib_dir: L, include_dir: I) -> Self {
        LibLocation {
            include_dir: include_dir.into(),
            lib_dir: lib_dir.into(),
        }
    }

    /// The headers.
    pub fn include_dir(&self) -> &Path {
        &self.include_dir
    }

    /// The library.
    pub fn lib_dir(&self) -> &Path {
        &self.lib_dir
    }
}

/// The build zmq-sys asks for.
#[derive(Debug, Default)]
pub struct Build {
    _private: (),
}

impl Build {
    /// A build of libzmq with CURVE.
    pub fn new() -> Self {
        Build::default()
    }

    /// zmq-sys asks for no libsodium; this build always uses the vendored one.
    pub fn with_libsodium(&mut self, _ignored: Option<LibLocation>) -> &mut Self {
        self
    }

    /// Build libzmq into `OUT_DIR` and tell cargo to link it (and libsodium).
    pub fn build(&mut self) {
        let sodium = upstream::LibLocation::new(
            env!("ZPATTERN_SODIUM_LIB"),
            env!("ZPATTERN_SODIUM_INCLUDE"),
        );
        let flags = PLATFORM_FLAGS.join(" ");
        // The cc crate adds CXXFLAGS to every compilation, the upstream build's
        // included. This runs in a build script before any thread is started.
        let cxxflags = match env::var("CXXFLAGS") {
            Ok(given) if !given.is_empty() => format!("{given} {flags}"),
            _ => flags,
        };
        env::set_var("CXXFLAGS", cxxflags);
        upstream::Build::new().with_libsodium(Some(sodium)).build();
        replace_engine();
        // This runs in zmq-sys's build script: the line becomes zmq-sys's metadata
        // (it `links = "zmq"`), DEP_ZMQ_ZPATTERN_BUILD in zpattern's build script,
        // which then compiles in what only this build has (the message limits).
        println!("cargo:zpattern_build=4.3.5");
    }
}

/// Compile the fixed `stream_engine_base.cpp` and put it in `libzmq.a` in place of the
/// upstream object.
fn replace_engine() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    let source = out.join("source");
    let original = source.join("src/stream_engine_base.cpp");
    let mut text = fs::read_to_string(&original)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", original.display()));
    for fix in ENGINE_FIXES {
        let found = text.matches(fix.find).count();
        assert!(
            found == 1,
            "libzmq's stream_engine_base.cpp is not the 4.3.5 this fix was written for: \
             the text to replace for '{}' appears {found} times, not once",
            fix.why
        );
        text = text.replacen(fix.find, fix.replace, 1);
    }
    let fixed_dir = out.join("fixed");
    fs::create_dir_all(&fixed_dir).expect("cannot create the directory of the fixed source");
    let fixed = fixed_dir.join("stream_engine_base.cpp");
    fs::write(&fixed, text).expect("cannot write the fixed source");

    let objects = cc::Build::new()
        .cpp(true)
        .std("c++11")
        .warnings(false)
        .file(&fixed)
        .include(source.join("include"))
        .include(source.join("src"))
        .include(&out) // the empty platform.hpp of the upstream build
        .include(env!("ZPATTERN_SODIUM_INCLUDE"))
        .define("ZMQ_BUILD_TESTS", "OFF")
        .define("ZMQ_USE_CV_IMPL_STL11", "1")
        .define("ZMQ_STATIC", "1")
        .define("ZMQ_USE_BUILTIN_SHA1", "1")
        .define("ZMQ_HAVE_WS", "1")
        .define("ZMQ_USE_LIBSODIUM", "1")
        .define("ZMQ_HAVE_CURVE", "1")
        .define("ZMQ_HAVE_LINUX", "1")
        .define("ZMQ_IOTHREAD_POLLER_USE_EPOLL", "1")
        .define("ZMQ_POLL_BASED_ON_POLL", "1")
        .define("ZMQ_HAVE_IPC", "1")
        .define("HAVE_STRNLEN", "1")
        .define("ZMQ_HAVE_UIO", "1")
        .define("ZMQ_HAVE_STRUCT_SOCKADDR_UN", "1")
        .out_dir(&fixed_dir)
        .compile_intermediates();
    let [object] = objects.as_slice() else {
        panic!("compiling the fixed engine gave {} objects", objects.len());
    };

    let archive = out.join("lib/libzmq.a");
    let archiver = || cc::Build::new().get_archiver();
    let listing = archiver()
        .arg("t")
        .arg(&archive)
        .output()
        .expect("cannot run the archiver");
    let members = String::from_utf8_lossy(&listing.stdout);
    let upstream_member = members
        .lines()
        .find(|name| name.ends_with("stream_engine_base.o"))
        .unwrap_or_else(|| panic!("no stream_engine_base object in {}", archive.display()))
        .to_string();
    run(archiver().arg("d").arg(&archive).arg(&upstream_member));
    run(archiver().arg("rs").arg(&archive).arg(object));
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed: {status}");
}
