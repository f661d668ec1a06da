//! ZeroMQ security: CURVE keys and certificates, PLAIN passwords, address filters,
//! and the ZAP handler that applies them to the peers of a context.
//!
//! | piece | what it is |
//! |-------|------------|
//! | [`Keypair`], [`PublicKey`], [`SecretKey`] | CURVE keys: 32 bytes, 40 Z85 characters; secrets never print |
//! | [`Certificate`] | `NAME.key` / `NAME.key_secret` files, as CZMQ and pyzmq write them |
//! | [`Passwords`] | the PLAIN `user=password` file of CZMQ's `zauth` |
//! | [`AddressFilter`], [`AddressRange`] | `--allow` / `--deny` by IP address or CIDR range |
//! | [`Authenticator`], [`Policy`] | the ZAP handler (RFC 27) of a context, and what it lets in |
//! | [`Security`] and its parts | how one socket takes part: the options to set on it |
//!
//! ## Configuring a socket
//!
//! Each part sets the libzmq options of its role on a socket, before it binds or
//! connects:
//!
//! | part | socket options | who decides who gets in |
//! |------|----------------|-------------------------|
//! | [`CurveServer::new`] | `ZMQ_CURVE_SERVER`, `ZMQ_CURVE_SECRETKEY`, a ZAP domain, ZAP enforced | the [`Authenticator`]; none running: every client refused |
//! | [`CurveServer::without_zap`] | the same, no ZAP | any client that knows the server key (encryption only) |
//! | [`CurveClient`] | `ZMQ_CURVE_SERVERKEY`, `ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY` | |
//! | [`PlainServer`] | `ZMQ_PLAIN_SERVER`, a ZAP domain, ZAP enforced | the [`Authenticator`]'s [`Passwords`] |
//! | [`Plain`] | `ZMQ_PLAIN_USERNAME`, `ZMQ_PLAIN_PASSWORD` | |
//! | [`NullServer`] | a ZAP domain, ZAP enforced | the [`Authenticator`]'s address filter |
//!
//! A server that asks ZAP sets `ZMQ_ZAP_ENFORCE_DOMAIN` too: with it, libzmq refuses
//! the peers of a server whose context has no ZAP handler bound, instead of letting
//! every CURVE client in. PLAIN sends passwords in clear: use it on trusted
//! networks, or under CURVE's encryption elsewhere.
//!
//! ```
//! use zpattern::security::{Keypair, Plain, PlainServer, Security};
//!
//! let context = zmq::Context::new();
//! let mut server = context.socket(zmq::REP)?;
//! Security::PlainServer(PlainServer::new()).apply(&mut server)?;
//! assert!(server.is_plain_server()?);
//!
//! let mut client = context.socket(zmq::REQ)?;
//! let plain = Plain::new("admin", "secret");
//! plain.apply(&mut client)?;
//! assert!(!format!("{plain:?}").contains("secret"));
//! # Ok::<(), zmq::Error>(())
//! ```

mod address;
mod cert;
mod files;
mod keys;
mod passwords;
mod policy;
mod report;
mod z85;
mod zap;
mod zpl;

pub use address::{peer_ip, AddressFilter, AddressRange, AddressRefusal};
pub use cert::{Certificate, CertificateDir, DirLimits, SavedCertificate, MAX_CERTIFICATE_BYTES};
pub use keys::{Keypair, PublicKey, SecretKey, KEY_BYTES, KEY_Z85_CHARS};
pub use passwords::{Password, PasswordCheck, PasswordLimits, Passwords, MAX_CREDENTIAL_BYTES};
pub use policy::{ClientKeys, CurveClients, Policy};
pub use report::{RateLimit, Reason, Refusal, Report};
pub use zap::{Authenticator, Counts, STOP_WAIT, ZAP_ENDPOINT};

/// The ZAP domain the server parts use unless told otherwise.
pub const DEFAULT_ZAP_DOMAIN: &str = "zpattern";

/// `ZMQ_ZAP_ENFORCE_DOMAIN` from libzmq's draft API, which the `zmq` crate does not
/// wrap; libzmq 4.3.5 takes it in every build.
const ZMQ_ZAP_ENFORCE_DOMAIN: u32 = 93;

/// Ask ZAP in `domain` (refusing every peer when no handler is bound), or with
/// `None`, never ask it.
fn apply_zap(socket: &mut zmq::Socket, domain: Option<&str>) -> zmq::Result<()> {
    match domain {
        // libzmq takes at most 255 bytes; an empty domain with enforcement on would
        // make a PLAIN server abort the process (a libzmq assertion).
        Some(domain) if domain.is_empty() || domain.len() > 255 => Err(zmq::Error::EINVAL),
        Some(domain) => {
            socket.set_zap_domain(domain)?;
            crate::sys::set_int_option(socket, ZMQ_ZAP_ENFORCE_DOMAIN, 1)
        }
        // Enforced with no domain (a new socket has none, and libzmq cannot set an
        // empty one): CURVE and NULL servers skip ZAP altogether, even if a
        // handler is bound in the context.
        None => crate::sys::set_int_option(socket, ZMQ_ZAP_ENFORCE_DOMAIN, 1),
    }
}

/// The server side of CURVE: its key pair, and the ZAP domain to authenticate
/// clients in (`None`: let in any client that knows the server's public key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurveServer {
    /// The server's keys; clients are given the public one.
    pub keypair: Keypair,
    /// Where clients are authenticated; see [`CurveServer::new`].
    pub zap_domain: Option<String>,
}

impl CurveServer {
    /// A CURVE server whose clients the context's [`Authenticator`] checks (in
    /// [`DEFAULT_ZAP_DOMAIN`]); with no authenticator running, every client is
    /// refused.
    pub fn new(keypair: Keypair) -> CurveServer {
        CurveServer {
            keypair,
            zap_domain: Some(DEFAULT_ZAP_DOMAIN.to_string()),
        }
    }

    /// A CURVE server that encrypts but lets in any client that knows its public
    /// key; no ZAP handler is asked, even if one runs in the context.
    pub fn without_zap(keypair: Keypair) -> CurveServer {
        CurveServer {
            keypair,
            zap_domain: None,
        }
    }

    /// Set `ZMQ_CURVE_SERVER`, the server's keys and the ZAP domain on `socket`,
    /// a new socket (libzmq cannot take a ZAP domain back).
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        socket.set_curve_server(true)?;
        socket.set_curve_publickey(self.keypair.public().as_bytes())?;
        socket.set_curve_secretkey(self.keypair.secret().expose_bytes())?;
        apply_zap(socket, self.zap_domain.as_deref())
    }
}

/// The client side of CURVE: the server's public key and the client's own pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurveClient {
    /// The public key of the server to talk to.
    pub server_key: PublicKey,
    /// The client's keys; a server that checks clients must know the public one.
    pub keypair: Keypair,
}

impl CurveClient {
    /// A client with these keys of this server.
    pub fn new(server_key: PublicKey, keypair: Keypair) -> CurveClient {
        CurveClient {
            server_key,
            keypair,
        }
    }

    /// A client with a fresh key pair of its own, for servers that let in any
    /// client.
    pub fn ephemeral(server_key: PublicKey) -> crate::Result<CurveClient> {
        Ok(CurveClient::new(server_key, Keypair::generate()?))
    }

    /// Set `ZMQ_CURVE_SERVERKEY` and the client's keys on `socket`.
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        socket.set_curve_serverkey(self.server_key.as_bytes())?;
        socket.set_curve_publickey(self.keypair.public().as_bytes())?;
        socket.set_curve_secretkey(self.keypair.secret().expose_bytes())
    }
}

/// The client side of PLAIN: a user name and password (at most 255 bytes each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plain {
    /// The user name.
    pub user: String,
    /// The password, shown nowhere.
    pub password: Password,
}

impl Plain {
    /// Log in as `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Plain {
        Plain {
            user: user.into(),
            password: Password::new(password),
        }
    }

    /// Set `ZMQ_PLAIN_USERNAME` and `ZMQ_PLAIN_PASSWORD` on `socket`.
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        socket.set_plain_username(Some(&self.user))?;
        socket.set_plain_password(Some(self.password.expose()))
    }
}

/// The server side of PLAIN: clients log in through the context's
/// [`Authenticator`] (its [`Policy::passwords`]), in a ZAP domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainServer {
    /// The ZAP domain (1 to 255 bytes).
    pub zap_domain: String,
}

impl PlainServer {
    /// A PLAIN server in [`DEFAULT_ZAP_DOMAIN`].
    pub fn new() -> PlainServer {
        PlainServer {
            zap_domain: DEFAULT_ZAP_DOMAIN.to_string(),
        }
    }

    /// Set `ZMQ_PLAIN_SERVER` and the ZAP domain on `socket`; `EINVAL` for an empty
    /// or longer than 255 byte domain.
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        if self.zap_domain.is_empty() {
            return Err(zmq::Error::EINVAL);
        }
        socket.set_plain_server(true)?;
        apply_zap(socket, Some(&self.zap_domain))
    }
}

impl Default for PlainServer {
    fn default() -> PlainServer {
        PlainServer::new()
    }
}

/// A server without encryption or credentials (the NULL mechanism) whose peers the
/// context's [`Authenticator`] still checks, by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullServer {
    /// The ZAP domain (1 to 255 bytes).
    pub zap_domain: String,
}

impl NullServer {
    /// A NULL server in [`DEFAULT_ZAP_DOMAIN`].
    pub fn new() -> NullServer {
        NullServer {
            zap_domain: DEFAULT_ZAP_DOMAIN.to_string(),
        }
    }

    /// Set the ZAP domain on `socket` (NULL is libzmq's default mechanism);
    /// `EINVAL` for an empty or longer than 255 byte domain.
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        apply_zap(socket, Some(&self.zap_domain))
    }
}

impl Default for NullServer {
    fn default() -> NullServer {
        NullServer::new()
    }
}

/// How one socket takes part in ZeroMQ security: one value for an options struct
/// to carry, applied to the socket before it binds or connects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// No security and no ZAP (libzmq's default).
    #[default]
    Null,
    /// NULL, with peers checked by address.
    NullServer(NullServer),
    /// PLAIN, checking clients' passwords.
    PlainServer(PlainServer),
    /// PLAIN, logging in.
    Plain(Plain),
    /// CURVE, serving.
    CurveServer(CurveServer),
    /// CURVE, connecting to a server.
    CurveClient(CurveClient),
}

impl Security {
    /// Set this part's options on `socket` (nothing for [`Security::Null`]).
    pub fn apply(&self, socket: &mut zmq::Socket) -> zmq::Result<()> {
        match self {
            Security::Null => Ok(()),
            Security::NullServer(part) => part.apply(socket),
            Security::PlainServer(part) => part.apply(socket),
            Security::Plain(part) => part.apply(socket),
            Security::CurveServer(part) => part.apply(socket),
            Security::CurveClient(part) => part.apply(socket),
        }
    }

    /// The mechanism this part speaks: `NULL`, `PLAIN` or `CURVE`.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Security::Null | Security::NullServer(_) => "NULL",
            Security::PlainServer(_) | Security::Plain(_) => "PLAIN",
            Security::CurveServer(_) | Security::CurveClient(_) => "CURVE",
        }
    }

    /// Whether this part needs an [`Authenticator`] running in the socket's
    /// context to let anyone in.
    pub fn needs_authenticator(&self) -> bool {
        match self {
            Security::NullServer(_) | Security::PlainServer(_) => true,
            Security::CurveServer(server) => server.zap_domain.is_some(),
            Security::Null | Security::Plain(_) | Security::CurveClient(_) => false,
        }
    }
}
