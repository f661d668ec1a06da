//! The same placement of threads on cores for both sides of a library case.
//!
//! A library case runs four busy threads on this machine's two cores: the sender,
//! the receiver, and one libzmq I/O thread for each (each side has its own
//! context, as two processes would). Left to the scheduler, which threads share a
//! core changes from run to run, and with it the throughput by a factor of up to
//! two, so a ratio of two runs says more about the scheduler than about the code.
//! Pinned, the sending side (its thread and its context's I/O thread) runs on one
//! core and the receiving side on the other, in every run of either side: the two
//! processes of a real pipeline, each on a core of its own.
//!
//! With fewer than two cores nothing is pinned.

use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The cores of the two sides.
#[derive(Clone, Copy, Debug)]
pub struct Cores {
    /// The sending side's core.
    pub sender: usize,
    /// The receiving side's core.
    pub receiver: usize,
}

/// The cores to use, if this process may run on at least two.
pub fn cores() -> Option<Cores> {
    static CORES: OnceLock<Option<Cores>> = OnceLock::new();
    *CORES.get_or_init(|| {
        let allowed = allowed_cpus();
        match allowed[..] {
            [sender, receiver, ..] => Some(Cores { sender, receiver }),
            _ => None,
        }
    })
}

/// The CPUs this process may run on, in order.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills the set we own.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: pid 0 is the calling thread; the pointer and size describe `set`.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads the set within its size.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Pin thread `tid` (0: the calling thread) to `cpus`.
fn pin(tid: libc::pid_t, cpus: &[usize]) {
    // SAFETY: as in allowed_cpus; CPU_SET writes within the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        // A thread that cannot be pinned runs where the scheduler puts it.
        let _ = libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The libzmq I/O threads of this process (named `ZMQbg/IO/N` by libzmq).
fn io_threads() -> BTreeSet<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            comm.starts_with("ZMQbg/IO").then_some(tid)
        })
        .collect()
}

/// Run `open` (which creates a side's context and sockets) and pin the I/O
/// threads it started to `cpu`.
pub fn opened_on<T>(cpu: Option<usize>, open: impl FnOnce() -> T) -> T {
    let Some(cpu) = cpu else {
        return open();
    };
    let before = io_threads();
    let opened = open();
    for tid in io_threads().difference(&before) {
        pin(*tid, &[cpu]);
    }
    opened
}

/// Pin the calling thread to `cpu` until the guard is dropped; then it may run on
/// every allowed core again (the main thread also starts the whole-process cases,
/// whose children inherit its placement).
pub fn this_thread_on(cpu: Option<usize>) -> Unpin {
    if let Some(cpu) = cpu {
        pin(0, &[cpu]);
    }
    Unpin(cpu.is_some())
}

/// Restores the calling thread's placement when dropped.
pub struct Unpin(bool);

impl Drop for Unpin {
    fn drop(&mut self) {
        if self.0 {
            pin(0, &allowed_cpus_of_process());
        }
    }
}

/// The CPUs the process was allowed at the start (the main thread's own set may
/// have been narrowed since).
fn allowed_cpus_of_process() -> Vec<usize> {
    static ALLOWED: OnceLock<Vec<usize>> = OnceLock::new();
    ALLOWED.get_or_init(allowed_cpus).clone()
}

/// Record the process's allowed CPUs before any thread is pinned.
pub fn init() {
    let _ = allowed_cpus_of_process();
    let _ = cores();
}
