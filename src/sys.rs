//! The only unsafe code in zpattern: two operating-system and libzmq calls that the
//! safe crates do not wrap.
//!
//! * the kernel's count of bytes a connection has sent but its peer has not yet read
//!   (`SIOCOUTQ`), which confirms delivery before a sender closes (see
//!   `Socket::close`);
//! * integer socket options missing from the `zmq` crate (`ZMQ_XPUB_NODROP`);
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
        // SAFETY: zmq_errno only reads the calling thread's errno.
        Err(zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }))
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

/// Whether we run as root (network namespaces and tc need it).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
