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
//!   lab's process groups when zlab dies (`fork`).
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
/// if given, and register its process group (its pid) with the watchdog on socket
/// `watchdog` if given.
///
/// The kernel sends SIGKILL to the child when the thread that spawned it ends, so a
/// killed `zlab` leaves no orphans; the parent check closes the window where we die
/// between fork and prctl. The child registers itself before it runs any code of its
/// own, so the watchdog knows its group before the group can have other members.
pub(crate) fn supervise(command: &mut Command, netns: Option<RawFd>, watchdog: Option<RawFd>) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe system calls (prctl, getppid, getpid, send, setns),
    // allocating nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            if let Some(fd) = watchdog {
                let group = u32::try_from(libc::getpid()).unwrap_or(0);
                watchdog_send(fd, WatchdogOp::Watch, group)?;
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

/// What a message to the watchdog asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchdogOp {
    /// Kill this process group if zlab dies.
    Watch = 1,
    /// The group was killed and reaped by zlab: forget it (its id may be reused).
    Forget = 2,
}

/// The most process groups one watchdog keeps (a lab has at most a few hundred).
const WATCHED: usize = 4096;

/// Start a watchdog process: a fork of this one that takes `Watch`/`Forget`
/// messages on a socket and, when the socket reaches end of file (every copy of our
/// end closed: on our normal end, or by the kernel when we die, SIGKILL included),
/// sends SIGKILL to every group still registered, then exits. Returns our end of
/// the socket (close-on-exec, so nodes do not hold it) and the watchdog's pid.
///
/// A fork, not a program: it works the same for zlab and for any program running a
/// lab through the library, and needs nothing installed.
pub(crate) fn start_watchdog() -> io::Result<(OwnedFd, u32)> {
    let mut fds = [0 as libc::c_int; 2];
    let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: socketpair writes two descriptors into the array, which we own.
    if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded: both descriptors are open and owned by nobody else.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: in the child of a possibly multi-threaded process only the calling
    // thread exists; `watch` makes only async-signal-safe system calls on memory of
    // its own stack, takes no lock, allocates nothing and never returns.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe { watch(theirs.as_raw_fd()) },
        pid => Ok((ours, u32::try_from(pid).unwrap_or(0))),
    }
}

/// The watchdog's whole life (in the forked child).
///
/// # Safety
///
/// Only in the child of `fork`, with `fd` its end of the watchdog socket.
unsafe fn watch(fd: RawFd) -> ! {
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
    // Keep only the socket, as descriptor 0: no copy of zlab's other descriptors
    // (our end of this socket, pipes, namespaces, the terminal) stays open here.
    if libc::dup2(fd, 0) < 0 {
        libc::_exit(1);
    }
    if libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32) != 0 {
        for other in 1..65_536 {
            libc::close(other);
        }
    }
    let mut groups = [0 as libc::pid_t; WATCHED];
    let mut count = 0;
    let mut message = [0u8; 8];
    loop {
        let n = libc::recv(0, message.as_mut_ptr().cast(), message.len(), 0);
        if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
            break;
        }
        let [a, b, c, d, e, f, g, h] = message;
        let (op, group) = (
            i32::from_ne_bytes([a, b, c, d]),
            i32::from_ne_bytes([e, f, g, h]),
        );
        if n != 8 || group <= 0 {
            continue;
        }
        if op == WatchdogOp::Watch as i32 && count < WATCHED {
            groups[count] = group;
            count += 1;
        } else if op == WatchdogOp::Forget as i32 {
            if let Some(k) = groups.iter().take(count).position(|&g| g == group) {
                count -= 1;
                groups[k] = groups[count];
            }
        }
    }
    for &group in groups.iter().take(count) {
        libc::kill(-group, libc::SIGKILL);
    }
    libc::_exit(0)
}

/// Send `op` about process group `group` to the watchdog on socket `fd`. Safe to
/// call between fork and exec (one `send`, no allocation).
pub(crate) fn watchdog_send(fd: RawFd, op: WatchdogOp, group: u32) -> io::Result<()> {
    let mut message = [0u8; 8];
    let (head, tail) = message.split_at_mut(4);
    head.copy_from_slice(&(op as i32).to_ne_bytes());
    tail.copy_from_slice(&i32::try_from(group).unwrap_or(0).to_ne_bytes());
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
    if sent == 8 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
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

/// Whether we run as root (network namespaces and tc need it).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
