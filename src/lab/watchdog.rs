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
//! The limit: a process that leaves its group (`setsid`, `setpgid`) escapes.

use crate::error::{Error, Result};
use crate::sys::{self, WatchdogOp};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How long the watchdog may take to exit at the end of a normal run.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// A run's watchdog process, and our end of its socket.
pub(crate) struct Watchdog {
    socket: Option<OwnedFd>,
    pid: u32,
}

impl Watchdog {
    /// Start the watchdog.
    pub(crate) fn start() -> Result<Watchdog> {
        let (socket, pid) = sys::start_watchdog()
            .map_err(|e| Error::io("cannot start the lab's watchdog process", e))?;
        Ok(Watchdog {
            socket: Some(socket),
            pid,
        })
    }

    /// The socket a starting node registers its process group on.
    pub(crate) fn fd(&self) -> Option<RawFd> {
        self.socket.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Group `group` is gone (killed and its leader reaped): forget it, so that the
    /// watchdog never signals a group id the system has given to someone else.
    pub(crate) fn forget(&self, group: u32) {
        if let Some(fd) = self.fd() {
            // A watchdog that is gone has nothing to forget.
            let _ = sys::watchdog_send(fd, WatchdogOp::Forget, group);
        }
    }
}

impl Drop for Watchdog {
    /// The run is over and its groups forgotten: closing the socket ends the
    /// watchdog; reap it (bounded).
    fn drop(&mut self) {
        drop(self.socket.take());
        let deadline = Instant::now() + EXIT_WAIT;
        while !sys::reap(self.pid) {
            if Instant::now() >= deadline {
                sys::signal_process(self.pid, libc::SIGKILL);
                let kill_deadline = Instant::now() + EXIT_WAIT;
                while !sys::reap(self.pid) && Instant::now() < kill_deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
