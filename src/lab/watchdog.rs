//! "No orphans, ever": the watchdog of a run. Each node runs in its own process
//! group and gets SIGKILL from the kernel when zlab dies (`PR_SET_PDEATHSIG`), but
//! that reaches only the node's own process, not what it started (a shell node's
//! background jobs). So every run has a watchdog, a small process forked from the
//! runner that each node registers its process group with before it starts. When
//! the runner dies, however it dies, the kernel closes its end of the watchdog's
//! socket; the watchdog then kills every group still registered, and the lab's
//! network namespaces, held only by the runner and the processes inside, go with
//! them.
//!
//! The zpattern binaries run each `--exec` command in a process group of its own
//! (so that a stop ends it with everything it started), out of reach of a kill of
//! the node's group. So each node also inherits a second socket of the watchdog,
//! its registry, named by the environment variable `ZPATTERN_LAB_WATCHDOG`: a
//! zpattern binary registers there the group of each command before the command
//! runs, as owned by its own group, and forgets it when the command is over. The
//! watchdog kills those groups when the runner dies, like the nodes' own, and, when
//! the runner forgets a node's group (the node ended, by a fault or otherwise, and
//! its group was killed), every group that node's group owned.
//!
//! Why registration rather than making the runner a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`, so that a dead node's orphans come to it): a
//! subreaper sees orphans only while it lives, so it cannot help when zlab itself
//! is killed, which needs the watchdog anyway; and it would change, for its whole
//! life, how a program that runs a lab through the library is sent the orphans of
//! all its other children. Registration gives one mechanism for both ways a node's
//! command can be left behind.
//!
//! The limit: a process that leaves its group (`setsid`, `setpgid`) escapes, and so
//! does a command's group started by a program other than the zpattern binaries.

use crate::error::{Error, Result};
use crate::os::{self, Sockets, WatchdogOp};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long the watchdog may take to exit at the end of a normal run.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// A run's watchdog process, and our ends of its sockets.
pub(crate) struct Watchdog {
    /// Ours alone: its end of file tells the watchdog that the run is over.
    socket: Option<OwnedFd>,
    /// The nodes' (each gets a copy): they register their commands' groups on it.
    registry: Option<OwnedFd>,
    pid: u32,
}

impl Watchdog {
    /// Start the watchdog.
    pub(crate) fn start() -> Result<Watchdog> {
        let (socket, registry, pid) = os::start_watchdog()
            .map_err(|e| Error::io("cannot start the lab's watchdog process", e))?;
        Ok(Watchdog {
            socket: Some(socket),
            registry: Some(registry),
            pid,
        })
    }

    /// The sockets a starting node registers its process group on, and inherits for
    /// its commands' groups.
    pub(crate) fn sockets(&self) -> Option<Sockets> {
        match (&self.socket, &self.registry) {
            (Some(life), Some(registry)) => Some(Sockets {
                life: life.as_raw_fd(),
                registry: registry.as_raw_fd(),
            }),
            _ => None,
        }
    }

    /// Group `group` is gone (killed and its leader reaped): forget it, so that the
    /// watchdog never signals a group id the system has given to someone else, and
    /// have it kill the groups of the commands the node had registered and not yet
    /// forgotten (the node died while they ran).
    pub(crate) fn forget(&self, group: u32) {
        if let Some(socket) = &self.socket {
            // A watchdog that is gone has nothing to forget.
            let _ = os::watchdog_send(socket.as_raw_fd(), WatchdogOp::Forget, group, 0);
        }
    }
}

impl Drop for Watchdog {
    /// The run is over and its groups forgotten: closing the socket ends the
    /// watchdog; reap it (bounded).
    fn drop(&mut self) {
        drop(self.registry.take());
        drop(self.socket.take());
        let deadline = Instant::now() + EXIT_WAIT;
        while !os::reap(self.pid) {
            if Instant::now() >= deadline {
                os::signal_process(self.pid, libc::SIGKILL);
                let kill_deadline = Instant::now() + EXIT_WAIT;
                while !os::reap(self.pid) && Instant::now() < kill_deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
