//! What libzmq offers that the `zmq` crate does not wrap: integer socket options by
//! number, a message that stays ours when a send cannot queue it, the connection a
//! received message came by (and its properties, such as the peer's address), and
//! the message limits of zpattern's libzmq build.

use std::ffi::CStr;
use std::os::fd::RawFd;

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
        Err(last_zmq_error())
    }
}

/// Set a socket option whose value is bytes (a subscription prefix) by its libzmq
/// number.
pub(crate) fn set_bytes_option(
    socket: &mut zmq::Socket,
    option: u32,
    value: &[u8],
) -> zmq::Result<()> {
    // SAFETY: the socket pointer comes from a live zmq::Socket we borrow mutably, so
    // no other thread uses it; libzmq reads exactly value.len() bytes from a live
    // slice (a null pointer is never passed: an empty slice's pointer is dangling
    // but valid for zero bytes, which libzmq does not read).
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            socket.as_mut_ptr(),
            option as libc::c_int,
            value.as_ptr().cast(),
            value.len(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_zmq_error())
    }
}

/// A libzmq message (`zmq_msg_t`) owned by zpattern: one frame.
///
/// Unlike `zmq::Message`, it can be sent without being given up: a send that cannot
/// queue it (`EAGAIN`, `EINTR`) leaves it here to send again.
pub(crate) struct RawMessage(zmq_sys::zmq_msg_t);

/// Frees the vector a zero-copy message was made from, when libzmq is done with it.
unsafe extern "C" fn free_vec(_data: *mut libc::c_void, hint: *mut libc::c_void) {
    // SAFETY: `hint` is the Box<Vec<u8>> leaked by RawMessage::from_vec, and libzmq
    // calls this exactly once per message made with it.
    drop(unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) });
}

/// The error libzmq set for this thread. The zmq crate panics on an errno it does
/// not know (EPIPE, ECONNRESET...): those become the nearest it knows.
fn last_zmq_error() -> zmq::Error {
    // SAFETY: zmq_errno only reads the calling thread's errno.
    let errno = unsafe { zmq_sys::zmq_errno() };
    match errno {
        libc::EPIPE | libc::ECONNRESET | libc::ECONNABORTED => zmq::Error::ENOTCONN,
        libc::ETIMEDOUT => zmq::Error::EAGAIN,
        libc::ENETUNREACH => zmq::Error::EHOSTUNREACH,
        libc::EAFNOSUPPORT => zmq::Error::EPROTONOSUPPORT,
        _ if is_known_errno(errno) => zmq::Error::from_raw(errno),
        _ => zmq::Error::EINVAL,
    }
}

/// Whether the zmq crate has an error for `errno` (it panics on the others).
fn is_known_errno(errno: i32) -> bool {
    use zmq_sys::errno as e;
    [
        e::EACCES,
        e::EADDRINUSE,
        e::EAGAIN,
        e::EBUSY,
        e::ECONNREFUSED,
        e::EFAULT,
        e::EHOSTUNREACH,
        e::EINPROGRESS,
        e::EINVAL,
        e::EMFILE,
        e::EMSGSIZE,
        e::ENAMETOOLONG,
        e::ENODEV,
        e::ENOENT,
        e::ENOMEM,
        e::ENOTCONN,
        e::ENOTSOCK,
        e::EPROTO,
        e::EPROTONOSUPPORT,
        e::ENOTSUP,
        e::ENOBUFS,
        e::ENETDOWN,
        e::EADDRNOTAVAIL,
        e::EINTR,
        e::EFSM,
        e::ENOCOMPATPROTO,
        e::ETERM,
        e::EMTHREAD,
    ]
    .contains(&errno)
}

impl RawMessage {
    /// An empty message.
    pub(crate) fn new() -> RawMessage {
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: zmq_msg_init initialises the zmq_msg_t we own; it always returns 0
        // (it allocates nothing).
        let rc = unsafe { zmq_sys::zmq_msg_init(&mut msg) };
        debug_assert_eq!(rc, 0);
        RawMessage(msg)
    }

    /// A message holding a copy of `bytes`. Running out of memory ends the process
    /// the way any failed Rust allocation does.
    pub(crate) fn copy_of(bytes: &[u8]) -> RawMessage {
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: zmq_msg_init_size initialises our zmq_msg_t with a buffer of
        // bytes.len() bytes, or returns -1 (ENOMEM) and leaves no buffer; nothing is
        // written into the message unless it succeeded.
        let rc = unsafe { zmq_sys::zmq_msg_init_size(&mut msg, bytes.len()) };
        if rc != 0 {
            let layout = std::alloc::Layout::array::<u8>(bytes.len())
                .unwrap_or_else(|_| std::alloc::Layout::new::<u8>());
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the message now owns a buffer of bytes.len() bytes; the copy writes
        // exactly that many bytes into it, from a slice that cannot overlap it.
        unsafe {
            let data = zmq_sys::zmq_msg_data(&mut msg).cast::<u8>();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        RawMessage(msg)
    }

    /// A message that takes `bytes` over without copying them.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> RawMessage {
        let len = bytes.len();
        let data = bytes.as_ptr().cast_mut();
        let hint = Box::into_raw(Box::new(bytes));
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: `data` points at `len` bytes owned by the boxed vector, which stays
        // put (moving a Vec does not move its buffer) until libzmq calls free_vec with
        // `hint`, once, when the message is done.
        let rc = unsafe {
            zmq_sys::zmq_msg_init_data(&mut msg, data.cast(), len, Some(free_vec), hint.cast())
        };
        if rc != 0 {
            // libzmq did not take the buffer (it could not allocate its own record).
            // SAFETY: `hint` came from Box::into_raw above and was not handed over.
            let bytes = unsafe { Box::from_raw(hint) };
            return RawMessage::copy_of(&bytes);
        }
        RawMessage(msg)
    }

    /// The message's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let msg = (&self.0 as *const zmq_sys::zmq_msg_t).cast_mut();
        // SAFETY: zmq_msg_data and zmq_msg_size only read the initialised message
        // (the pointer is mutable in the C signature alone); the bytes live as long
        // as the message, which the returned borrow of self keeps alive and unchanged.
        unsafe {
            let data = zmq_sys::zmq_msg_data(msg).cast::<u8>();
            let len = zmq_sys::zmq_msg_size(&self.0);
            if len == 0 {
                return &[];
            }
            std::slice::from_raw_parts(data, len)
        }
    }

    /// The descriptor of the connection this received frame came from, if libzmq
    /// knows it (tcp and ipc connections; not inproc).
    pub(crate) fn source_fd(&self) -> Option<RawFd> {
        // ZMQ_SRCFD, which zmq-sys does not re-export.
        const ZMQ_SRCFD: libc::c_int = 2;
        let msg = (&self.0 as *const zmq_sys::zmq_msg_t).cast_mut();
        // SAFETY: zmq_msg_get only reads the initialised message (the pointer is
        // mutable in the C signature alone); it returns -1 when the message has no
        // source descriptor.
        let fd = unsafe { zmq_sys::zmq_msg_get(msg, ZMQ_SRCFD) };
        (fd >= 0).then_some(fd)
    }

    /// The metadata property `name` of this received frame (`Peer-Address`,
    /// `Socket-Type`...), if libzmq gave it one: frames that came over tcp or ipc
    /// carry their connection's properties, frames made here or over inproc none.
    pub(crate) fn property(&self, name: &CStr) -> Option<&str> {
        // SAFETY: zmq_msg_gets only reads the initialised message and the
        // NUL-terminated name; it returns NULL (EINVAL) when the message has no
        // metadata or no such property.
        let value = unsafe { zmq_sys::zmq_msg_gets(&self.0, name.as_ptr()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: a non-NULL value is a NUL-terminated string owned by the message's
        // metadata, which the message holds a reference to until it is closed or
        // received into again; both need `&mut self` (or its drop), so the string
        // outlives the returned borrow of `self` and does not change meanwhile.
        unsafe { CStr::from_ptr(value) }.to_str().ok()
    }

    /// Whether another frame of the same message follows this received one.
    pub(crate) fn more(&self) -> bool {
        // SAFETY: zmq_msg_more reads the initialised message.
        unsafe { zmq_sys::zmq_msg_more(&self.0) != 0 }
    }

    /// Send this frame on `socket` with `flags`. On success the message is empty
    /// (libzmq took its contents); on failure it is unchanged.
    pub(crate) fn send(&mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<()> {
        // SAFETY: both pointers are live: the message is ours, the socket is
        // borrowed mutably so no other thread uses it.
        let rc = unsafe { zmq_sys::zmq_msg_send(&mut self.0, socket.as_mut_ptr(), flags) };
        if rc >= 0 {
            Ok(())
        } else {
            Err(last_zmq_error())
        }
    }

    /// Receive the next frame from `socket` into this message, replacing what it
    /// held.
    pub(crate) fn recv(&mut self, socket: &mut zmq::Socket, flags: i32) -> zmq::Result<()> {
        // SAFETY: as for send; zmq_msg_recv releases the old contents itself.
        let rc = unsafe { zmq_sys::zmq_msg_recv(&mut self.0, socket.as_mut_ptr(), flags) };
        if rc >= 0 {
            Ok(())
        } else {
            Err(last_zmq_error())
        }
    }
}

impl Drop for RawMessage {
    fn drop(&mut self) {
        // SAFETY: the message was initialised and is closed exactly once, here.
        let rc = unsafe { zmq_sys::zmq_msg_close(&mut self.0) };
        // zmq_msg_close fails only for a message that was never initialised (EFAULT),
        // which a RawMessage cannot be.
        debug_assert_eq!(rc, 0);
    }
}

#[cfg(zpattern_libzmq)]
extern "C" {
    /// In zpattern's libzmq (src/libzmq): raise the process-wide limits on one
    /// incoming message (frames, bytes over all frames) to at least these.
    fn zpattern_raise_message_limits(frames: u64, bytes: u64);
    /// In zpattern's libzmq: `zmq_socket_monitor_versioned(socket, endpoint,
    /// events, 2, ZMQ_PAIR)`.
    fn zpattern_socket_monitor_v2(
        socket: *mut std::ffi::c_void,
        endpoint: *const std::ffi::c_char,
        events: u64,
    ) -> std::ffi::c_int;
}

/// Publish `socket`'s `events` on the PAIR endpoint `endpoint` (`inproc://`),
/// in libzmq's monitor format version 2: per event, frames of the event number
/// (u64), the count of values (u64), each value (u64), the local and the remote
/// address.
pub(crate) fn monitor_v2(socket: &mut zmq::Socket, endpoint: &str, events: u64) -> zmq::Result<()> {
    let endpoint = std::ffi::CString::new(endpoint).map_err(|_| zmq::Error::EINVAL)?;
    // SAFETY: the socket pointer is live for the call (we hold a reference to its
    // owner), and the endpoint is a NUL-terminated string that outlives it.
    let rc = unsafe { zpattern_socket_monitor_v2(socket.as_mut_ptr(), endpoint.as_ptr(), events) };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_zmq_error())
    }
}

/// Make libzmq drop a peer that sends a message of more than `frames` frames or
/// `bytes` bytes in all, over tcp and ipc. Process-wide: the largest limits any
/// caller asked for hold.
///
/// Only zpattern's libzmq build has these limits (see `build.rs`); linked with
/// another libzmq, this does nothing, and `ZMQ_MAXMSGSIZE` bounds each frame alone.
pub(crate) fn raise_message_limits(frames: usize, bytes: usize) {
    let frames = u64::try_from(frames).unwrap_or(u64::MAX);
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    #[cfg(zpattern_libzmq)]
    // SAFETY: the function only updates two atomic integers.
    unsafe {
        zpattern_raise_message_limits(frames, bytes)
    };
    #[cfg(not(zpattern_libzmq))]
    let _ = (frames, bytes);
}
