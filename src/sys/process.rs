//! Process control: signalling processes and process groups, children that die
//! with their parent, network namespaces, the watchdog that kills a lab's process
//! groups when zlab dies, and the open-files limit. Used by the binaries and the
//! lab only (feature `cli`).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Send `signal` to every process of process group `group`.
pub fn signal_group(group: u32, signal: i32) -> io::Result<()> {
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
pub fn supervise(command: &mut Command, netns: Option<RawFd>, watchdog: Option<Sockets>) {
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
pub const LAB_WATCHDOG_ENV: &str = "ZPATTERN_LAB_WATCHDOG";

/// The two sockets of a lab's watchdog that zlab hands to a starting node.
#[derive(Clone, Copy, Debug)]
pub struct Sockets {
    /// zlab's own: its end of file tells the watchdog that zlab is gone.
    pub(crate) life: RawFd,
    /// Shared with the nodes, which register their commands' groups on it.
    pub(crate) registry: RawFd,
}

/// What a message to the watchdog asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchdogOp {
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
pub fn start_watchdog() -> io::Result<(OwnedFd, OwnedFd, u32)> {
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
pub fn watchdog_send(fd: RawFd, op: WatchdogOp, group: u32, owner: u32) -> io::Result<()> {
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
pub fn lab_watch(command: &mut Command) {
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
pub fn lab_forget(group: u32) {
    if let Some(fd) = lab_registry() {
        let _ = watchdog_send(fd, WatchdogOp::Forget, group, 0);
    }
}

/// Whether child `pid` has exited (and is now reaped); does not wait.
pub fn reap(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    let mut status = 0;
    // SAFETY: waitpid writes the status into a live c_int; WNOHANG never blocks.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    rc == pid || rc < 0
}

/// Send `signal` to process `pid`.
pub fn signal_process(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill has no memory effects; pid > 0 names one process.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// A new, empty network namespace, alive as long as the descriptor (or a process
/// inside it) is: nothing to clean up if we are killed.
pub fn new_network_namespace() -> io::Result<OwnedFd> {
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

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether we run as root (network namespaces and tc need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Raise this process's soft limit of open files to `want` if it is lower (up to
/// the hard limit); returns the soft limit in force afterwards.
pub fn raise_open_files(want: u64) -> io::Result<u64> {
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
