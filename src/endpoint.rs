//! Endpoints: `tcp://host:port`, `ipc://path`, `inproc://name`.
//!
//! Parsing here gives a clear error naming the endpoint before libzmq sees it. A bind
//! may use port `*` (or `0`) for an ephemeral port; the socket then reports the
//! resolved endpoint (see `endpoints()` on every role).

use crate::error::{Error, ErrorKind, Result};
use std::fmt;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;
use std::str::FromStr;

/// The transport part of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP: `tcp://host:port`.
    Tcp,
    /// Unix domain sockets: `ipc://path`.
    Ipc,
    /// In-process (same ZeroMQ context): `inproc://name`.
    Inproc,
}

impl Transport {
    /// The scheme, e.g. `"tcp"`.
    pub fn scheme(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

/// A parsed endpoint.
///
/// ```
/// use zpattern::Endpoint;
/// let ep: Endpoint = "tcp://127.0.0.1:*".parse().unwrap();
/// assert!(ep.has_wildcard_port());
/// assert_eq!(ep.to_string(), "tcp://127.0.0.1:*");
/// assert!("tcp://127.0.0.1".parse::<Endpoint>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    transport: Transport,
    /// Everything after `://`, with a bind port `0` normalised to `*`.
    address: String,
}

/// Longest ipc path the kernel accepts (`sun_path` is 108 bytes with its NUL).
const MAX_IPC_PATH: usize = 107;

impl Endpoint {
    /// Parse an endpoint string.
    pub fn parse(text: &str) -> Result<Endpoint> {
        let (scheme, address) = text.split_once("://").ok_or_else(|| {
            invalid(
                text,
                "expected tcp://HOST:PORT, ipc://PATH or inproc://NAME",
            )
        })?;
        let transport = match scheme {
            "tcp" => Transport::Tcp,
            "ipc" => Transport::Ipc,
            "inproc" => Transport::Inproc,
            other => {
                return Err(invalid(
                    text,
                    &format!("unsupported transport '{other}' (use tcp, ipc or inproc)"),
                ))
            }
        };
        if address.is_empty() {
            return Err(invalid(text, "the address after :// is empty"));
        }
        let address = match transport {
            Transport::Tcp => parse_tcp(text, address)?,
            Transport::Ipc if address.len() > MAX_IPC_PATH => {
                return Err(invalid(
                    text,
                    &format!("ipc path is longer than {MAX_IPC_PATH} bytes"),
                ))
            }
            _ => address.to_string(),
        };
        Ok(Endpoint { transport, address })
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Everything after `://`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The TCP host part, for TCP endpoints.
    pub fn host(&self) -> Option<&str> {
        self.tcp_parts().map(|(host, _)| host)
    }

    /// The TCP port, unless it is the wildcard `*`.
    pub fn port(&self) -> Option<u16> {
        self.tcp_parts().and_then(|(_, port)| port.parse().ok())
    }

    /// Whether the port is `*` (bind to an ephemeral port), or the ipc path is `*`.
    pub fn has_wildcard_port(&self) -> bool {
        match self.transport {
            Transport::Tcp => self.tcp_parts().is_some_and(|(_, port)| port == "*"),
            Transport::Ipc => self.address == "*",
            Transport::Inproc => false,
        }
    }

    /// The path of an ipc endpoint.
    pub fn ipc_path(&self) -> Option<&Path> {
        (self.transport == Transport::Ipc).then(|| Path::new(&self.address))
    }

    fn tcp_parts(&self) -> Option<(&str, &str)> {
        if self.transport != Transport::Tcp {
            return None;
        }
        self.address.rsplit_once(':')
    }

    /// Check what libzmq would only report vaguely when binding, or not at all: a
    /// missing ipc directory, or an ipc path where another process is listening
    /// (libzmq would silently take the path over, cutting that process off).
    pub(crate) fn check_bindable(&self) -> Result<()> {
        let Some(path) = self.ipc_path().filter(|_| !self.has_wildcard_port()) else {
            return Ok(());
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.is_dir()) {
            return Err(Error::usage(format!(
                "cannot bind {self}: directory {} does not exist",
                dir.display()
            )));
        }
        // libzmq unlinks whatever is at the path before it binds: a regular file, a
        // directory entry of any kind, would be deleted. Only a socket may be there.
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if !meta.file_type().is_socket() {
                return Err(Error::usage(format!(
                    "cannot bind {self}: {} exists and is not a socket (it would be deleted)",
                    path.display()
                )));
            }
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::new(
                ErrorKind::Network,
                format!(
                    "cannot bind {self}: Address already in use (a process is listening there)"
                ),
            ));
        }
        Ok(())
    }

    /// The endpoint to hand libzmq for a bind: an address or `*`. An interface name
    /// (`lo`, `eth0`) becomes its first address, IPv4 first, and a host name such as
    /// `localhost` is resolved (libzmq would take it for an interface).
    pub(crate) fn for_bind(&self) -> Result<Endpoint> {
        let Some((host, port)) = self.tcp_parts() else {
            return Ok(self.clone());
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if host == "*" || bare.parse::<IpAddr>().is_ok() {
            return Ok(self.clone());
        }
        let interface = crate::sys::interface_addresses(bare);
        let addrs: Vec<IpAddr> = match (bare, 0).to_socket_addrs() {
            _ if !interface.is_empty() => interface,
            Ok(addrs) => addrs.map(|a| a.ip()).collect(),
            Err(e) => {
                return Err(Error::usage(format!(
                    "cannot bind {self}: '{bare}' is neither an address nor an interface, and does not resolve"
                ))
                .with_source(e))
            }
        };
        let Some(ip) = addrs.iter().find(|ip| ip.is_ipv4()).or(addrs.first()) else {
            return Err(Error::usage(format!(
                "cannot bind {self}: host '{bare}' has no address"
            )));
        };
        let address = match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        Ok(Endpoint {
            transport: Transport::Tcp,
            address,
        })
    }

    /// Check what libzmq would otherwise retry forever in silence: a wildcard where a
    /// concrete address is needed, or a host name that does not resolve.
    ///
    /// An ipc path may not exist yet (its binder may come later), but its directory
    /// must: a binder cannot create it.
    pub(crate) fn check_connectable(&self) -> Result<()> {
        let Some((host, port)) = self.tcp_parts() else {
            if self.has_wildcard_port() {
                return Err(Error::usage(format!(
                    "cannot connect to {self}: a wildcard is only valid for bind"
                )));
            }
            let dir = self.ipc_path().and_then(Path::parent);
            if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
                return Err(Error::usage(format!(
                    "cannot connect to {self}: directory {} does not exist",
                    dir.display()
                )));
            }
            return Ok(());
        };
        if host == "*" || port == "*" {
            return Err(Error::usage(format!(
                "cannot connect to {self}: a wildcard is only valid for bind"
            )));
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        let port: u16 = port.parse().unwrap_or(0);
        match (bare, port).to_socket_addrs().map(|mut addrs| addrs.next()) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Error::usage(format!(
                "cannot connect to {self}: host '{bare}' has no address"
            ))),
            Err(e) => Err(Error::usage(format!(
                "cannot connect to {self}: cannot resolve host '{bare}'"
            ))
            .with_source(e)),
        }
    }
}

fn invalid(text: &str, why: &str) -> Error {
    Error::usage(format!("invalid endpoint '{text}': {why}"))
}

fn parse_tcp(text: &str, address: &str) -> Result<String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| invalid(text, "a tcp endpoint needs a port: tcp://HOST:PORT"))?;
    if host.is_empty() {
        return Err(invalid(
            text,
            "the host is empty (use * or 0.0.0.0 for every interface)",
        ));
    }
    if host.starts_with('[') != host.ends_with(']') {
        return Err(invalid(text, "unbalanced brackets around an IPv6 address"));
    }
    let port = match port {
        "*" | "0" => "*",
        p => match p.parse::<u16>() {
            Ok(n) if n > 0 => p,
            _ => {
                return Err(invalid(
                    text,
                    &format!("port '{p}' is not a number from 1 to 65535 or *"),
                ))
            }
        },
    };
    Ok(format!("{host}:{port}"))
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(text: &str) -> Result<Endpoint> {
        Endpoint::parse(text)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.transport.scheme(), self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Endpoint::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_three_transports() {
        let tcp = Endpoint::parse("tcp://127.0.0.1:5555").unwrap();
        assert_eq!(tcp.transport(), Transport::Tcp);
        assert_eq!(tcp.host(), Some("127.0.0.1"));
        assert_eq!(tcp.port(), Some(5555));
        let ipc = Endpoint::parse("ipc:///tmp/x.sock").unwrap();
        assert_eq!(ipc.ipc_path(), Some(Path::new("/tmp/x.sock")));
        let inproc = Endpoint::parse("inproc://jobs").unwrap();
        assert_eq!(inproc.to_string(), "inproc://jobs");
    }

    #[test]
    fn port_zero_and_star_are_the_same_wildcard() {
        let a = Endpoint::parse("tcp://127.0.0.1:0").unwrap();
        assert_eq!(a.to_string(), "tcp://127.0.0.1:*");
        assert!(a.has_wildcard_port());
        assert_eq!(a.port(), None);
        assert!(Endpoint::parse("tcp://[::1]:*")
            .unwrap()
            .has_wildcard_port());
    }

    #[test]
    fn bad_endpoints_say_what_is_wrong() {
        assert!(err("localhost:5555").contains("expected tcp://HOST:PORT"));
        assert!(err("udp://x:1").contains("unsupported transport 'udp'"));
        assert!(err("tcp://127.0.0.1").contains("needs a port"));
        assert!(err("tcp://:5555").contains("host is empty"));
        assert!(err("tcp://h:70000").contains("port '70000'"));
        assert!(err("tcp://h:http").contains("port 'http'"));
        assert!(err("ipc://").contains("empty"));
        assert!(err(&format!("ipc:///{}", "x".repeat(120))).contains("longer than 107"));
        assert!(err("tcp://[::1:5").contains("brackets"));
    }

    #[test]
    fn wildcards_cannot_be_connected_to() {
        let e = Endpoint::parse("tcp://*:5555").unwrap();
        assert!(e.check_connectable().is_err());
        let e = Endpoint::parse("tcp://127.0.0.1:*").unwrap();
        assert!(e.check_connectable().is_err());
        assert!(Endpoint::parse("tcp://127.0.0.1:1")
            .unwrap()
            .check_connectable()
            .is_ok());
    }

    #[test]
    fn a_missing_ipc_directory_is_named() {
        let e = Endpoint::parse("ipc:///no/such/dir/x.sock").unwrap();
        let msg = e.check_bindable().unwrap_err().to_string();
        assert!(
            msg.contains("directory /no/such/dir does not exist"),
            "{msg}"
        );
        assert!(Endpoint::parse("ipc://*").unwrap().check_bindable().is_ok());
    }

    #[test]
    fn binding_an_ipc_path_that_is_a_regular_file_is_refused_and_the_file_kept() {
        let dir = std::env::temp_dir().join(format!("zpattern-ipc-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notes.txt");
        std::fs::write(&path, "keep me").unwrap();
        let e = Endpoint::parse(&format!("ipc://{}", path.display())).unwrap();
        let msg = e.check_bindable().unwrap_err().to_string();
        assert!(msg.contains("exists and is not a socket"), "{msg}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
