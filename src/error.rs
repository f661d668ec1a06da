//! One error type for the whole crate.
//!
//! An [`Error`] carries a [`ErrorKind`] (which decides the process exit code of the
//! binaries) and a message that names the input at fault: the endpoint, the input line,
//! the option. Network and user input never panic; they come back as an `Error`.

use std::fmt;

/// The result type used throughout zpattern.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the terms a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad user input: an endpoint that does not parse, an unknown format, a malformed
    /// input line, conflicting options. Exit code 2.
    Usage,
    /// A deadline passed: no reply within the timeout, no subscriber in time, a receive
    /// count not reached before the idle timeout. Exit code 2.
    Timeout,
    /// A ZeroMQ operation failed: address in use, unreachable host, bad peer. Exit code 1.
    Network,
    /// Local input or output failed: a file that cannot be read, a command that cannot
    /// be started. Exit code 1.
    Io,
    /// A message from the network broke a limit or a format: too many frames, a
    /// malformed header. Exit code 1.
    Protocol,
    /// A batch did not arrive exactly once before its deadline: items missing or
    /// duplicated, or messages without a valid batch header (see
    /// [`crate::accounting`]). Exit code 3.
    Incomplete,
    /// Stopped on request (Ctrl-C, SIGTERM, or [`crate::Stop::request`]). Exit code 130.
    Interrupted,
    /// Our standard output was closed by its reader (`zsub | head -1`): a normal end.
    /// Exit code 0.
    BrokenPipe,
}

impl ErrorKind {
    /// The process exit code the binaries use for this kind of error.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::BrokenPipe => 0,
            ErrorKind::Network | ErrorKind::Io | ErrorKind::Protocol => 1,
            ErrorKind::Usage | ErrorKind::Timeout => 2,
            ErrorKind::Incomplete => 3,
            ErrorKind::Interrupted => 130,
        }
    }
}

/// An error with its kind, a message naming what was being done, and the cause.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A usage error: bad input from the user.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    /// A deadline passed.
    pub fn timeout(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Timeout, message)
    }

    /// A message from the network broke a limit or a format.
    pub fn protocol(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    /// Stopped on request.
    pub fn interrupted() -> Error {
        Error::new(ErrorKind::Interrupted, "interrupted")
    }

    /// A failed ZeroMQ call while doing `what`. `EINTR` becomes [`ErrorKind::Interrupted`].
    pub fn zmq(what: impl Into<String>, cause: zmq::Error) -> Error {
        let kind = match cause {
            zmq::Error::EINTR => ErrorKind::Interrupted,
            zmq::Error::EAGAIN => ErrorKind::Timeout,
            _ => ErrorKind::Network,
        };
        Error::new(kind, what).with_source(cause)
    }

    /// A failed local I/O operation while doing `what`. A broken pipe becomes
    /// [`ErrorKind::BrokenPipe`].
    pub fn io(what: impl Into<String>, cause: std::io::Error) -> Error {
        let kind = match cause.kind() {
            std::io::ErrorKind::BrokenPipe => ErrorKind::BrokenPipe,
            std::io::ErrorKind::Interrupted => ErrorKind::Interrupted,
            _ => ErrorKind::Io,
        };
        Error::new(kind, what).with_source(cause)
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(cause));
        self
    }

    /// Prefix the message with where it happened, e.g. `"stdin line 3"`.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether a receive loop reports this error and goes on: one message broke a
    /// limit or a format ([`ErrorKind::Protocol`]), the next may be fine.
    pub fn is_recoverable(&self) -> bool {
        self.kind == ErrorKind::Protocol
    }

    /// The process exit code for this error (see [`ErrorKind::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {self}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::timeout("x").exit_code(), 2);
        assert_eq!(Error::zmq("bind", zmq::Error::EADDRINUSE).exit_code(), 1);
        assert_eq!(Error::interrupted().exit_code(), 130);
        assert_eq!(Error::new(ErrorKind::Incomplete, "x").exit_code(), 3);
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(Error::io("write", pipe).exit_code(), 0);
    }

    #[test]
    fn message_names_context_and_cause() {
        let e = Error::zmq("cannot bind tcp://127.0.0.1:1", zmq::Error::EADDRINUSE).context("zpub");
        assert_eq!(
            e.to_string(),
            "zpub: cannot bind tcp://127.0.0.1:1: Address already in use"
        );
    }
}
