//! [`WorkerTally`]: what a worker's threads did, added up.

/// What a worker did, over all its threads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerTally {
    /// Items given to the work function.
    pub handled: u64,
    /// Results pushed on.
    pub forwarded: u64,
    /// Items the work function failed on: reported, not forwarded.
    pub failed: u64,
    /// End-of-stream messages passed on (the first of each batch, per thread).
    pub ends: u64,
    /// Later end-of-stream copies of a batch already ended, dropped.
    pub repeated_ends: u64,
    /// Messages dropped because they had no valid header (or broke a size limit).
    pub malformed: u64,
    /// Items handled by each thread, in thread order.
    pub per_thread: Vec<u64>,
}

impl WorkerTally {
    /// Add one thread's tally.
    pub(super) fn add(&mut self, thread: &WorkerTally) {
        self.handled += thread.handled;
        self.forwarded += thread.forwarded;
        self.failed += thread.failed;
        self.ends += thread.ends;
        self.repeated_ends += thread.repeated_ends;
        self.malformed += thread.malformed;
        self.per_thread.push(thread.handled);
    }
}
