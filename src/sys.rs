//! The only unsafe code in zpattern: two operating-system and libzmq calls that the
//! safe crates do not wrap.
//!
//! * the kernel's count of bytes a connection has sent but its peer has not yet read
//!   (`SIOCOUTQ`), which confirms delivery before a sender closes (see
//!   `Socket::close`);
//! * integer socket options missing from the `zmq` crate (`ZMQ_XPUB_NODROP`);
//! * process control for `zlab`: signalling a process group, children that die with
//!   their parent (`PR_SET_PDEATHSIG`), new network namespaces (`unshare`) and
//!   starting a child inside one (`setns`).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
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

/// Make the child `command` starts die with us, and run it in network namespace
/// `netns` if given.
///
/// The kernel sends SIGKILL to the child when the thread that spawned it ends, so a
/// killed `zlab` leaves no orphans; the parent check closes the window where we die
/// between fork and prctl.
pub(crate) fn supervise(command: &mut Command, netns: Option<RawFd>) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe system calls (prctl, getppid, setns), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
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
