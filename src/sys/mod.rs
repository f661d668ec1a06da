//! The only unsafe code in zpattern: the operating-system and libzmq calls that the
//! safe crates do not wrap, by what they wrap: [`libzmq`] (messages, socket
//! options, zpattern's libzmq build), [`net`] (sockets' kernel queues, interfaces,
//! descriptors) and [`process`] (signals, process groups, namespaces, the lab's
//! watchdog). Each unsafe block says why it is sound (`SAFETY:`).
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
//!   lab's process groups when zlab dies (`fork`), with which a node registers the
//!   groups of its `--exec` commands (`pre_exec`).
#![allow(unsafe_code)]

mod libzmq;
mod net;
#[cfg(feature = "cli")]
mod process;

pub(crate) use libzmq::*;
pub(crate) use net::*;
#[cfg(feature = "cli")]
pub use process::*;
