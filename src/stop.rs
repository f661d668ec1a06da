//! Shutdown as a value: [`Stop`] is a cloneable flag that loops check and waits wake on.
//!
//! Give a clone to a role through [`crate::Options::stop`] and every blocking wait of
//! that role returns [`crate::ErrorKind::Interrupted`] soon after [`Stop::request`].
//! [`Stop::on_signals`] wires Ctrl-C and SIGTERM to it. What a program does when the
//! user insists (a second Ctrl-C) is the program's business: the library never ends
//! the process.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A cloneable stop request. All clones share one flag.
///
/// ```
/// use zpattern::Stop;
/// use std::time::Duration;
///
/// let stop = Stop::new();
/// let worker = stop.clone();
/// std::thread::spawn(move || worker.request());
/// // Wakes as soon as the other thread requests the stop.
/// assert!(!stop.sleep(Duration::from_secs(10)));
/// assert!(stop.is_requested());
/// ```
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    requested: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

static SIGNAL_STOP: OnceLock<Stop> = OnceLock::new();

impl Stop {
    /// A fresh, unrequested stop.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// The process-wide stop requested by SIGINT or SIGTERM. The first call installs
    /// the handler; later calls return clones of the same stop. Every signal
    /// requests the stop; `on_repeat`, if given to [`Stop::on_signals_with`], is
    /// called from the second one on.
    pub fn on_signals() -> Result<Stop> {
        Stop::on_signals_with(|_| {})
    }

    /// [`Stop::on_signals`], calling `on_repeat` with the number of signals so far
    /// (2, 3, ...) when the user insists: a program may end itself there.
    pub fn on_signals_with(on_repeat: impl Fn(u32) + Send + 'static) -> Result<Stop> {
        if let Some(stop) = SIGNAL_STOP.get() {
            return Ok(stop.clone());
        }
        let stop = Stop::new();
        let handler_stop = stop.clone();
        let seen = AtomicU32::new(0);
        ctrlc::set_handler(move || {
            let signals = seen.fetch_add(1, Ordering::SeqCst) + 1;
            handler_stop.request();
            if signals > 1 {
                on_repeat(signals);
            }
        })
        .map_err(|e| {
            Error::new(crate::ErrorKind::Io, "cannot install the signal handler").with_source(e)
        })?;
        Ok(SIGNAL_STOP.get_or_init(|| stop).clone())
    }

    /// Ask everything holding a clone to stop, and wake any [`Stop::sleep`].
    pub fn request(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        let _guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.wake.notify_all();
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once a stop was requested.
    pub fn check(&self) -> Result<()> {
        if self.is_requested() {
            Err(Error::interrupted())
        } else {
            Ok(())
        }
    }

    /// Sleep for `duration` unless a stop is requested first. Returns `true` when the
    /// whole duration passed, `false` when woken by a stop.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = self.inner.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.is_requested() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            guard = match self.inner.wake.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("requested", &self.is_requested())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_runs_out_without_a_request() {
        let stop = Stop::new();
        assert!(stop.sleep(Duration::from_millis(5)));
        assert!(stop.check().is_ok());
    }

    #[test]
    fn clones_share_the_flag() {
        let stop = Stop::new();
        stop.clone().request();
        assert!(stop.is_requested());
        assert!(!stop.sleep(Duration::from_secs(60)));
        assert_eq!(
            stop.check().unwrap_err().kind(),
            crate::ErrorKind::Interrupted
        );
    }
}
