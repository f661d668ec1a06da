//! The only unsafe code in zpattern: two operating-system and libzmq calls that the
//! safe crates do not wrap.
//!
//! * the kernel's count of bytes a connection has sent but its peer has not yet read
//!   (`SIOCOUTQ`), which confirms delivery before a sender closes (see
//!   `Socket::close`);
//! * integer socket options missing from the `zmq` crate (`ZMQ_XPUB_NODROP`);
//! * a libzmq message that stays ours when a send cannot queue it ([`RawMessage`]):
//!   `zmq_msg_send` leaves such a message with its caller, but the `zmq` crate's
//!   send drops it, so a send could not wait in slices (to see a stop) without
//!   losing its message;
//! * the addresses of a network interface (`getifaddrs`), to bind to it by name;
//! * process control for `zlab`: signalling a process group, children that die with
//!   their parent (`PR_SET_PDEATHSIG`), new network namespaces (`unshare`) and
//!   starting a child inside one (`setns`), and the watchdog process that kills a
//!   lab's process groups when zlab dies (`fork`), with which a node registers the
//!   groups of its `--exec` commands (`pre_exec`).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Bytes written on connection `fd` that the peer has not consumed yet (unix sockets)
/// or not acknowledged yet (TCP). `None` if the descriptor is not a socket any more.
pub(crate) fn unsent_bytes(fd: RawFd) -> Option<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ for sockets) stores one c_int through the pointer,
    // which points at a live, writable c_int. The descriptor is only queried; an
    // invalid or unrelated one makes the call fail, which is reported as None.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued as *mut libc::c_int) };
    (rc == 0).then(|| usize::try_from(queued).unwrap_or(0))
}

/// Set an integer socket option by its libzmq number.
pub(crate) fn set_int_option(socket: &mut zmq::Socket, option: u32, value: i32) -> zmq::Result<()> {
    let value: libc::c_int = value;
    // SAFETY: the socket pointer comes from a live zmq::Socket we borrow mutably, so
    // no other thread uses it; libzmq reads exactly size_of::<c_int>() bytes from a
    // pointer to a live c_int.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            socket.as_mut_ptr(),
            option as libc::c_int,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_zmq_error())
    }
}

/// A libzmq message (`zmq_msg_t`) owned by zpattern: one frame.
///
/// Unlike `zmq::Message`, it can be sent without being given up: a send that cannot
/// queue it (`EAGAIN`, `EINTR`) leaves it here to send again.
pub(crate) struct RawMessage(zmq_sys::zmq_msg_t);

/// Frees the vector a zero-copy message was made from, when libzmq is done with it.
unsafe extern "C" fn free_vec(_data: *mut libc::c_void, hint: *mut libc::c_void) {
    // SAFETY: `hint` is the Box<Vec<u8>> leaked by RawMessage::from_vec, and libzmq
    // calls this exactly once per message made with it.
    drop(unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) });
}

/// The error libzmq set for this thread. The zmq crate panics on an errno it does
/// not know (EPIPE, ECONNRESET...): those become the nearest it knows.
fn last_zmq_error() -> zmq::Error {
    // SAFETY: zmq_errno only reads the calling thread's errno.
    let errno = unsafe { zmq_sys::zmq_errno() };
    match errno {
        libc::EPIPE | libc::ECONNRESET | libc::ECONNABORTED => zmq::Error::ENOTCONN,
        libc::ETIMEDOUT => zmq::Error::EAGAIN,
        libc::ENETUNREACH => zmq::Error::EHOSTUNREACH,
        libc::EAFNOSUPPORT => zmq::Error::EPROTONOSUPPORT,
        _ if is_known_errno(errno) => zmq::Error::from_raw(errno),
        _ => zmq::Error::EINVAL,
    }
}

/// Whether the zmq crate has an error for `errno` (it panics on the others).
fn is_known_errno(errno: i32) -> bool {
    use zmq_sys::errno as e;
    [
        e::EACCES,
        e::EADDRINUSE,
        e::EAGAIN,
        e::EBUSY,
        e::ECONNREFUSED,
        e::EFAULT,
        e::EHOSTUNREACH,
        e::EINPROGRESS,
        e::EINVAL,
        e::EMFILE,
        e::EMSGSIZE,
        e::ENAMETOOLONG,
        e::ENODEV,
        e::ENOENT,
        e::ENOMEM,
        e::ENOTCONN,
        e::ENOTSOCK,
        e::EPROTO,
        e::EPROTONOSUPPORT,
        e::ENOTSUP,
        e::ENOBUFS,
        e::ENETDOWN,
        e::EADDRNOTAVAIL,
        e::EINTR,
        e::EFSM,
        e::ENOCOMPATPROTO,
        e::ETERM,
        e::EMTHREAD,
    ]
    .contains(&errno)
}

impl RawMessage {
    /// An empty message.
    pub(crate) fn new() -> RawMessage {
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: zmq_msg_init initialises the zmq_msg_t we own; it always returns 0
        // (it allocates nothing).
        let rc = unsafe { zmq_sys::zmq_msg_init(&mut msg) };
        debug_assert_eq!(rc, 0);
        RawMessage(msg)
    }

    /// A message holding a copy of `bytes`. Running out of memory ends the process
    /// the way any failed Rust allocation does.
    pub(crate) fn copy_of(bytes: &[u8]) -> RawMessage {
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: zmq_msg_init_size initialises our zmq_msg_t with a buffer of
        // bytes.len() bytes, or returns -1 (ENOMEM) and leaves no buffer; nothing is
        // written into the message unless it succeeded.
        let rc = unsafe { zmq_sys::zmq_msg_init_size(&mut msg, bytes.len()) };
        if rc != 0 {
            let layout = std::alloc::Layout::array::<u8>(bytes.len())
                .unwrap_or_else(|_| std::alloc::Layout::new::<u8>());
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the message now owns a buffer of bytes.len() bytes; the copy writes
        // exactly that many bytes into it, from a slice that cannot overlap it.
        unsafe {
            let data = zmq_sys::zmq_msg_data(&mut msg).cast::<u8>();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        RawMessage(msg)
    }

    /// A message that takes `bytes` over without copying them.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> RawMessage {
        let len = bytes.len();
        let data = bytes.as_ptr().cast_mut();
        let hint = Box::into_raw(Box::new(bytes));
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: `data` points at `len` bytes owned by the boxed vector, which stays
        // put (moving a Vec does not move its buffer) until libzmq calls free_vec with
        // `hint`, once, when the message is done.
        let rc = unsafe {
            zmq_sys::zmq_msg_init_data(&mut msg, data.cast(), len, Some(free_vec), hint.cast())
        };
        if rc != 0 {
            // libzmq did not take the buffer (it could not allocate its own record).
            // SAFETY: `hint` came from Box::into_raw above and was not handed over.
            let bytes = unsafe { Box::from_raw(hint) };
            return RawMessage::copy_of(&bytes);
        }
        RawMessage(msg)
    }

    /// The message's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let msg = (&self.0 as *const zmq_sys::zmq_msg_t).cast_mut();
        // SAFETY: zmq_msg_data and zmq_msg_size only read the initialised message
        // (the pointer is mutable in the C signature alone); the bytes live as long
        // as the message, which the returned borrow of self keeps alive and unchanged.
        unsafe {
            let data = zmq_sys::zmq_msg_data(msg).cast::<u8>();
            let len = zmq_sys::zmq_msg_size(&self.0);
            if len == 0 {
                return &[];
            }
            std::slice::from_raw_parts(data, len)
        }
    }

    /// The descriptor of the connection this received frame came from, if libzmq
    /// knows it (tcp and ipc connections; not inproc).
    pub(crate) fn source_fd(&self) -> Option<RawFd> {
        // ZMQ_SRCFD, which zmq-sys does not re-export.
        const ZMQ_SRCFD: libc::c_int = 2;
        let msg = (&self.0 as *const zmq_sys::zmq_msg_t).cast_mut();
        // SAFETY: zmq_msg_get only reads the initialised message (the pointer is
        // mutable in the C signature alone); it returns -1 when the message has no
        // source descriptor.
        let fd = unsafe { zmq_sys::zmq_msg_get(msg, ZMQ_SRCFD) };
        (fd >= 0).then_some(fd)
    }

    /// Whether another frame of the same message follows this received one.
    pub(crate) fn more(&self) -> bool {
        // SAFETY: zmq_msg_more reads the initialised message.
        unsafe { zmq_sys::zmq_msg_more(&self.0) != 0 }
    }

    /// Send this frame on `socket` with `flags`. On success the message is empty
    /// (libzmq took its contents); on failure it is unchanged.
    pub(crate) fn send(&mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<()> {
        // SAFETY: both pointers are live: the message is ours, the socket is
        // borrowed mutably so no other thread uses it.
        let rc = unsafe { zmq_sys::zmq_msg_send(&mut self.0, socket.as_mut_ptr(), flags) };
        if rc >= 0 {
            Ok(())
        } else {
            Err(last_zmq_error())
        }
    }

    /// Receive the next frame from `socket` into this message, replacing what it
    /// held.
    pub(crate) fn recv(&mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<()> {
        // SAFETY: as for send; zmq_msg_recv releases the old contents itself.
        let rc = unsafe { zmq_sys::zmq_msg_recv(&mut self.0, socket.as_mut_ptr(), flags) };
        if rc >= 0 {
            Ok(())
        } else {
            Err(last_zmq_error())
        }
    }
}

impl Drop for RawMessage {
    fn drop(&mut self) {
        // SAFETY: the message was initialised and is closed exactly once, here.
        let rc = unsafe { zmq_sys::zmq_msg_close(&mut self.0) };
        // zmq_msg_close fails only for a message that was never initialised (EFAULT),
        // which a RawMessage cannot be.
        debug_assert_eq!(rc, 0);
    }
}

extern "C" {
    /// In zpattern's libzmq (src/libzmq): raise the process-wide limits on one
    /// incoming message (frames, bytes over all frames) to at least these.
    fn zpattern_raise_message_limits(frames: u64, bytes: u64);
}

/// Make libzmq drop a peer that sends a message of more than `frames` frames or
/// `bytes` bytes in all, over tcp and ipc. Process-wide: the largest limits any
/// caller asked for hold.
pub(crate) fn raise_message_limits(frames: usize, bytes: usize) {
    let frames = u64::try_from(frames).unwrap_or(u64::MAX);
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    // SAFETY: the function only updates two atomic integers.
    unsafe { zpattern_raise_message_limits(frames, bytes) };
}

/// Shut connection `fd` down both ways: its owner (libzmq) then sees it end and
/// closes it. Used to cut off a peer that broke a limit.
pub(crate) fn shut_down(fd: RawFd) -> io::Result<()> {
    // SAFETY: shutdown has no memory effects; on a descriptor that is not a socket
    // it fails with ENOTSOCK.
    if unsafe { libc::shutdown(fd, libc::SHUT_RDWR) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Send `signal` to every process of process group `group`.
pub(crate) fn signal_group(group: u32, signal: i32) -> io::Result<()> {
    let group =
        libc::pid_t::try_from(group).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: kill has no memory effects; a negative pid addresses the process
    // group, and group > 0 (a pid) so this never means "every process" (-1).
    let rc = unsafe { libc::kill(-group, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Make the child `command` starts die with us, run it in network namespace `netns`
/// if given, and register its process group (its pid) with a lab's watchdog if
/// given: its socket `watchdog.life`, and `watchdog.registry`, left open in the
/// child (and named in its environment) so that the zpattern binaries can register
/// the process groups of their `--exec` commands.
///
/// The kernel sends SIGKILL to the child when the thread that spawned it ends, so a
/// killed `zlab` leaves no orphans; the parent check closes the window where we die
/// between fork and prctl. The child registers itself before it runs any code of its
/// own, so the watchdog knows its group before the group can have other members.
pub(crate) fn supervise(command: &mut Command, netns: Option<RawFd>, watchdog: Option<Sockets>) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    if let Some(sockets) = watchdog {
        command.env(LAB_WATCHDOG_ENV, sockets.registry.to_string());
    }
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe system calls (prctl, getppid, getpid, send, setns, fcntl),
    // allocating nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            if let Some(sockets) = watchdog {
                let group = u32::try_from(libc::getpid()).unwrap_or(0);
                watchdog_send(sockets.life, WatchdogOp::Watch, group, 0)?;
                // Only the child's copy loses close-on-exec: zlab's stays as it was.
                if libc::fcntl(sockets.registry, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(fd) = netns {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The environment variable that names, in a lab's node, the descriptor of the
/// lab watchdog's registry socket.
pub(crate) const LAB_WATCHDOG_ENV: &str = "ZPATTERN_LAB_WATCHDOG";

/// The two sockets of a lab's watchdog that zlab hands to a starting node.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sockets {
    /// zlab's own: its end of file tells the watchdog that zlab is gone.
    pub(crate) life: RawFd,
    /// Shared with the nodes, which register their commands' groups on it.
    pub(crate) registry: RawFd,
}

/// What a message to the watchdog asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchdogOp {
    /// Kill this process group if zlab dies, or when its owner group is forgotten.
    Watch = 1,
    /// The group is gone (killed and reaped, or ended): forget it (its id may be
    /// reused), and kill and forget every group it owns.
    Forget = 2,
}

/// The most process groups one watchdog keeps (a lab has at most a thousand
/// processes, and each `--exec` command is a group only while it runs); a
/// registration beyond it is not kept.
const WATCHED: usize = 8192;

/// How long a watchdog whose zlab is gone goes on killing the groups that register
/// late (a command a node started at the moment zlab died), unless every holder of
/// the registry socket is gone before.
const LATE_MS: i64 = 1000;

/// Start a watchdog process: a fork of this one that takes `Watch`/`Forget`
/// messages on two sockets and, when the first (`life`) reaches end of file (every
/// copy of our end closed: on our normal end, or by the kernel when we die, SIGKILL
/// included), sends SIGKILL to every group still registered, then exits. The
/// second (`registry`) is for the nodes: a zpattern binary in a lab registers there
/// the process group of each `--exec` command it runs, owned by its own group, so
/// that the command dies with zlab, and with its node when zlab forgets the node's
/// group. Returns our ends of the sockets (close-on-exec, so nodes do not hold them
/// unless [`supervise`] gives them the registry) and the watchdog's pid.
///
/// A fork, not a program: it works the same for zlab and for any program running a
/// lab through the library, and needs nothing installed.
pub(crate) fn start_watchdog() -> io::Result<(OwnedFd, OwnedFd, u32)> {
    let (life, life_theirs) = seqpacket_pair()?;
    let (registry, registry_theirs) = seqpacket_pair()?;
    // SAFETY: in the child of a possibly multi-threaded process only the calling
    // thread exists; `watch` makes only async-signal-safe system calls on memory of
    // its own stack, takes no lock, allocates nothing and never returns.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe { watch(life_theirs.as_raw_fd(), registry_theirs.as_raw_fd()) },
        pid => Ok((life, registry, u32::try_from(pid).unwrap_or(0))),
    }
}

/// A connected pair of close-on-exec unix sequenced-packet sockets.
fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: socketpair writes two descriptors into the array, which we own.
    if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded: both descriptors are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The groups a watchdog knows: (group, owner group or 0).
struct Watched {
    groups: [(libc::pid_t, libc::pid_t); WATCHED],
    count: usize,
}

impl Watched {
    /// Take in one message; async-signal-safe (no allocation, only kill).
    fn apply(&mut self, op: i32, group: libc::pid_t, owner: libc::pid_t) {
        if op == WatchdogOp::Watch as i32 {
            if self.count < WATCHED {
                self.groups[self.count] = (group, owner.max(0));
                self.count += 1;
            }
            return;
        }
        if op != WatchdogOp::Forget as i32 {
            return;
        }
        let mut k = 0;
        while k < self.count {
            let (watched, its_owner) = self.groups[k];
            if watched == group || its_owner == group {
                if its_owner == group {
                    // SAFETY: kill has no memory effects; watched > 0 (checked on
                    // receipt), so this names one process group.
                    unsafe { libc::kill(-watched, libc::SIGKILL) };
                }
                self.count -= 1;
                self.groups[k] = self.groups[self.count];
            } else {
                k += 1;
            }
        }
    }

    fn kill_all(&mut self) {
        for &(group, _) in self.groups.iter().take(self.count) {
            // SAFETY: as in apply.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        self.count = 0;
    }
}

/// One message from socket `fd`: `Some((op, group, owner))`, `None` at end of file
/// or on an error other than an interruption (`Some((0, 0, 0))`, ignored).
///
/// # Safety
///
/// Async-signal-safe; `fd` is a socket of the watchdog.
unsafe fn receive(fd: RawFd) -> Option<(i32, libc::pid_t, libc::pid_t)> {
    let mut message = [0u8; 12];
    let n = libc::recv(
        fd,
        message.as_mut_ptr().cast(),
        message.len(),
        libc::MSG_DONTWAIT,
    );
    if n == 0 {
        return None;
    }
    if n < 0 {
        let errno = *libc::__errno_location();
        return (errno == libc::EINTR || errno == libc::EAGAIN).then_some((0, 0, 0));
    }
    let [a, b, c, d, e, f, g, h, i, j, k, l] = message;
    let op = i32::from_ne_bytes([a, b, c, d]);
    let group = i32::from_ne_bytes([e, f, g, h]);
    let owner = i32::from_ne_bytes([i, j, k, l]);
    Some(if n == 12 && group > 0 {
        (op, group, owner)
    } else {
        (0, 0, 0)
    })
}

/// Milliseconds on the monotonic clock (async-signal-safe).
///
/// # Safety
///
/// None beyond the call itself; marked unsafe for use in the forked watchdog only.
unsafe fn now_ms() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// The watchdog's whole life (in the forked child).
///
/// # Safety
///
/// Only in the child of `fork`, with `life` and `registry` its ends of the
/// watchdog's sockets.
unsafe fn watch(life: RawFd, registry: RawFd) -> ! {
    // Its own process group, deaf to the signals a terminal or a stop sends to
    // zlab's group: it must outlive zlab to do its job.
    for signal in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ] {
        libc::signal(signal, libc::SIG_IGN);
    }
    libc::setpgid(0, 0);
    // Keep only the sockets, as descriptors 0 and 1: no copy of zlab's other
    // descriptors (our ends of these sockets, pipes, namespaces, the terminal) stays
    // open here.
    if libc::dup2(life, 0) < 0 || libc::dup2(registry, 1) < 0 {
        libc::_exit(1);
    }
    if libc::syscall(libc::SYS_close_range, 2u32, u32::MAX, 0u32) != 0 {
        for other in 2..65_536 {
            libc::close(other);
        }
    }
    let mut watched = Watched {
        groups: [(0, 0); WATCHED],
        count: 0,
    };
    // Until zlab is gone: messages from zlab (0) and from the nodes (1).
    let mut fds = [
        libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: 1,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    'alive: loop {
        if libc::poll(fds.as_mut_ptr(), 2, -1) < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break;
        }
        for k in 0..2 {
            if fds[k].revents == 0 {
                continue;
            }
            match receive(fds[k].fd) {
                Some((op, group, owner)) => watched.apply(op, group, owner),
                None if k == 0 => break 'alive,
                // Nobody holds the registry any more: stop looking at it.
                None => fds[1].fd = -1,
            }
        }
    }
    watched.kill_all();
    // A node may have started a command as zlab died: kill each latecomer at once,
    // until nobody can register any more, or for LATE_MS.
    let deadline = now_ms() + LATE_MS;
    while fds[1].fd >= 0 {
        let left = deadline - now_ms();
        if left <= 0 {
            break;
        }
        let wait = libc::c_int::try_from(left).unwrap_or(0);
        if libc::poll(fds[1..].as_mut_ptr(), 1, wait) <= 0 || fds[1].revents == 0 {
            continue;
        }
        match receive(1) {
            Some((op, group, _)) if op == WatchdogOp::Watch as i32 => {
                libc::kill(-group, libc::SIGKILL);
            }
            Some(_) => {}
            None => break,
        }
    }
    libc::_exit(0)
}

/// Send `op` about process group `group` (owned by group `owner`, 0 for none) to
/// the watchdog on socket `fd`. Safe to call between fork and exec (one `send`, no
/// allocation).
pub(crate) fn watchdog_send(fd: RawFd, op: WatchdogOp, group: u32, owner: u32) -> io::Result<()> {
    let mut message = [0u8; 12];
    let (head, tail) = message.split_at_mut(4);
    let (middle, last) = tail.split_at_mut(4);
    head.copy_from_slice(&(op as i32).to_ne_bytes());
    middle.copy_from_slice(&i32::try_from(group).unwrap_or(0).to_ne_bytes());
    last.copy_from_slice(&i32::try_from(owner).unwrap_or(0).to_ne_bytes());
    // SAFETY: send reads `message.len()` bytes from a live array; MSG_NOSIGNAL makes
    // a gone watchdog an EPIPE error instead of a SIGPIPE.
    let sent = unsafe {
        libc::send(
            fd,
            message.as_ptr().cast(),
            message.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if sent == 12 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// In a lab's node: the watchdog registry socket zlab left open and named in the
/// environment, made close-on-exec here so that the commands we run do not hold
/// it. `None` outside a lab, or when the variable does not name a unix
/// sequenced-packet socket (then nothing is ever sent on it).
fn lab_registry() -> Option<RawFd> {
    static REGISTRY: std::sync::OnceLock<Option<RawFd>> = std::sync::OnceLock::new();
    *REGISTRY.get_or_init(|| {
        let fd: RawFd = std::env::var(LAB_WATCHDOG_ENV).ok()?.parse().ok()?;
        if fd < 3 {
            return None;
        }
        let (mut kind, mut domain): (libc::c_int, libc::c_int) = (0, 0);
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let mut domain_len = len;
        // SAFETY: getsockopt stores at most `len` bytes into a live c_int; a
        // descriptor that is not a socket makes it fail. fcntl changes only the
        // descriptor's close-on-exec flag.
        let ours = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut kind as *mut libc::c_int).cast(),
                &mut len,
            ) == 0
                && libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_DOMAIN,
                    (&mut domain as *mut libc::c_int).cast(),
                    &mut domain_len,
                ) == 0
                && kind == libc::SOCK_SEQPACKET
                && domain == libc::AF_UNIX
                && libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0
        };
        ours.then_some(fd)
    })
}

/// In a lab's node: have the child `command` starts (the leader of a new process
/// group) register its group with the lab's watchdog, owned by our own group,
/// before it runs. Outside a lab, nothing changes.
pub(crate) fn lab_watch(command: &mut Command) {
    let Some(fd) = lab_registry() else {
        return;
    };
    command.env_remove(LAB_WATCHDOG_ENV);
    // SAFETY: getpgrp has no preconditions and cannot fail.
    let owner = u32::try_from(unsafe { libc::getpgrp() }).unwrap_or(0);
    // SAFETY: the closure runs in the forked child before exec and calls only
    // getpid and send (async-signal-safe), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            let group = u32::try_from(libc::getpid()).unwrap_or(0);
            // A watchdog that is gone (zlab ended) has nothing to watch.
            let _ = watchdog_send(fd, WatchdogOp::Watch, group, owner);
            Ok(())
        });
    }
}

/// In a lab's node: group `group`, registered by [`lab_watch`], is over.
pub(crate) fn lab_forget(group: u32) {
    if let Some(fd) = lab_registry() {
        let _ = watchdog_send(fd, WatchdogOp::Forget, group, 0);
    }
}

/// Whether child `pid` has exited (and is now reaped); does not wait.
pub(crate) fn reap(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    let mut status = 0;
    // SAFETY: waitpid writes the status into a live c_int; WNOHANG never blocks.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    rc == pid || rc < 0
}

/// Send `signal` to process `pid`.
pub(crate) fn signal_process(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill has no memory effects; pid > 0 names one process.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// A new, empty network namespace, alive as long as the descriptor (or a process
/// inside it) is: nothing to clean up if we are killed.
pub(crate) fn new_network_namespace() -> io::Result<OwnedFd> {
    // unshare moves only the calling thread; a short-lived thread keeps the rest of
    // the process where it was.
    std::thread::spawn(|| {
        // SAFETY: unshare has no memory effects; it changes this thread's network
        // namespace, and this thread does nothing else but open the handle and end.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        File::open("/proc/thread-self/ns/net").map(OwnedFd::from)
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

/// The addresses of network interface `name` (IPv4 first), for binding to an
/// interface by name: the vendored libzmq is built without interface lookup.
pub(crate) fn interface_addresses(name: &str) -> Vec<std::net::IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list and stores its head in `list`; we only read
    // it, then hand it back to freeifaddrs exactly once.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs made, alive until
        // freeifaddrs; its name is a NUL-terminated string, its address (when not
        // null) a sockaddr of the family it states.
        unsafe {
            let ifa = &*entry;
            let matches = std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() == name.as_bytes();
            if matches && !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*ifa.ifa_addr.cast::<libc::sockaddr_in>();
                        let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                        found.insert(0, ip.into());
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*ifa.ifa_addr.cast::<libc::sockaddr_in6>();
                        found.push(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into());
                    }
                    _ => {}
                }
            }
            entry = ifa.ifa_next;
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// The effective user id of this process.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether we run as root (network namespaces and tc need it).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Raise this process's soft limit of open files to `want` if it is lower (up to
/// the hard limit); returns the soft limit in force afterwards.
pub(crate) fn raise_open_files(want: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into a live, writable struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= want {
        return Ok(limit.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: want.min(limit.rlim_max),
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit reads one rlimit from a live struct; lowering nothing, it
    // only raises the soft limit within the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Ok(limit.rlim_cur);
    }
    Ok(raised.rlim_cur)
}
