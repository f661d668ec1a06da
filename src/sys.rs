//! The only unsafe code in zpattern: two operating-system and libzmq calls that the
//! safe crates do not wrap.
//!
//! * the kernel's count of bytes a connection has sent but its peer has not yet read
//!   (`SIOCOUTQ`), which confirms delivery before a sender closes (see
//!   `Socket::close`);
//! * integer socket options missing from the `zmq` crate (`ZMQ_XPUB_NODROP`).
#![allow(unsafe_code)]

use std::os::fd::RawFd;

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
