//! Integration tests of the zpattern role binaries: each test starts the real
//! executables, often with a foreign ZeroMQ peer (a socket of the `zmq` crate, or a
//! pyzmq program in `interop`), and checks what they print, what arrives on the wire
//! and how they exit.
//!
//! Every test is hermetic and bounded: endpoints are ephemeral loopback ports or ipc
//! sockets in a fresh temporary directory, every wait has a deadline, and processes
//! are killed when a test ends.

mod accounting;
mod backlog;
mod errors;
mod exhaust;
mod formats;
mod hostile;
mod house;
mod interop;
mod lab;
mod pipeline;
mod pubsub;
mod reliability;
mod reqrep;
mod secured;
mod security;
mod seeing;
mod signals;
mod slow;
mod support;
