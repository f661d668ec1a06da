//! [`Retry`]: how a [`crate::Requester`] resends a request whose reply does not come
//! (the zguide's Lazy Pirate).

use rand::RngExt;
use std::time::Duration;

/// The retry policy of a [`crate::Requester`]: how often to resend a request whose
/// reply did not arrive within the per-attempt timeout, and how long to pause first.
///
/// The pause before resend number `n` (from 1) is `backoff * 2^(n-1)`, capped at
/// `max_backoff`, of which the last `jitter` fraction is drawn at random: with the
/// default jitter of 0.5 a nominal pause of 400 ms becomes 200-400 ms. The jitter
/// keeps many clients of one restarted server from resending in lockstep.
///
/// ```
/// use std::time::Duration;
/// use zpattern::reqrep::Retry;
///
/// let retry = Retry::new(3).backoff(Duration::from_millis(100));
/// assert_eq!(retry.retries, 3);
/// assert_eq!(retry.nominal_pause(1), Duration::from_millis(100));
/// assert_eq!(retry.nominal_pause(3), Duration::from_millis(400));
/// let pause = retry.pause(3);
/// assert!(pause >= Duration::from_millis(200) && pause <= Duration::from_millis(400));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Retry {
    /// Resends after the first attempt (0: a single attempt).
    pub retries: u32,
    /// The pause before the first resend; doubled for each further one.
    pub backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
    /// The fraction of each pause drawn at random, from 0.0 (none) to 1.0.
    pub jitter: f64,
}

impl Retry {
    /// Default pause before the first resend.
    pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);
    /// Default longest pause.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
    /// Default jitter fraction.
    pub const DEFAULT_JITTER: f64 = 0.5;

    /// Resend up to `retries` times, with the default backoff (100 ms, doubling, at
    /// most 5 s) and jitter (0.5).
    pub fn new(retries: u32) -> Retry {
        Retry {
            retries,
            backoff: Retry::DEFAULT_BACKOFF,
            max_backoff: Retry::DEFAULT_MAX_BACKOFF,
            jitter: Retry::DEFAULT_JITTER,
        }
    }

    /// No resend: one attempt, then the timeout error.
    pub fn none() -> Retry {
        Retry::new(0)
    }

    /// Set the pause before the first resend.
    pub fn backoff(mut self, backoff: Duration) -> Retry {
        self.backoff = backoff;
        self
    }

    /// Set the longest pause.
    pub fn max_backoff(mut self, max_backoff: Duration) -> Retry {
        self.max_backoff = max_backoff;
        self
    }

    /// Set the random fraction of each pause (clamped to 0.0..=1.0).
    pub fn jitter(mut self, jitter: f64) -> Retry {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// The pause before resend number `resend` (from 1), without jitter.
    pub fn nominal_pause(&self, resend: u32) -> Duration {
        let doublings = resend.saturating_sub(1).min(31);
        self.backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// The pause before resend number `resend` (from 1), jitter drawn.
    pub fn pause(&self, resend: u32) -> Duration {
        let nominal = self.nominal_pause(resend);
        let random = nominal.mul_f64(self.jitter * rand::rng().random::<f64>());
        nominal - random
    }
}

impl Default for Retry {
    /// [`Retry::none`].
    fn default() -> Retry {
        Retry::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap() {
        let retry = Retry::new(10)
            .backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(500));
        let pauses: Vec<u128> = (1..=5)
            .map(|n| retry.nominal_pause(n).as_millis())
            .collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        assert_eq!(retry.nominal_pause(u32::MAX), Duration::from_millis(500));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let retry = Retry::new(1)
            .backoff(Duration::from_millis(100))
            .jitter(0.5);
        let pauses: Vec<Duration> = (0..200).map(|_| retry.pause(1)).collect();
        assert!(pauses
            .iter()
            .all(|p| *p >= Duration::from_millis(50) && *p <= Duration::from_millis(100)));
        // Random, not constant.
        assert!(pauses.iter().any(|p| *p != pauses[0]));
        let steady = Retry::new(1).jitter(0.0);
        assert_eq!(steady.pause(1), steady.nominal_pause(1));
        assert_eq!(Retry::new(1).jitter(7.0).jitter, 1.0);
        assert_eq!(Retry::new(1).jitter(f64::NAN).jitter, 0.0);
    }
}
