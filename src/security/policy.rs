//! What the ZAP handler lets in: a [`Policy`] of address filters, PLAIN passwords
//! and CURVE client keys, and the pure decision on one ZAP request (RFC 27), apart
//! from any socket so that it is tested frame by frame.

use super::address::{AddressFilter, AddressRange};
use super::cert::{Certificate, CertificateDir};
use super::keys::PublicKey;
use super::passwords::{PasswordCheck, Passwords};
use super::report::{printable, RateLimit, Reason};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The CURVE client keys let in, each with the metadata of its certificate (which
/// the handler returns to libzmq, so that a received message's
/// `zmq::Message::gets("name")` reads the sender's certificate).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientKeys {
    keys: HashMap<PublicKey, Vec<(String, String)>>,
}

impl ClientKeys {
    /// No keys: every CURVE client is refused.
    pub fn new() -> ClientKeys {
        ClientKeys::default()
    }

    /// These keys and `key`.
    pub fn with(mut self, key: PublicKey) -> ClientKeys {
        self.insert(key);
        self
    }

    /// Let `key` in.
    pub fn insert(&mut self, key: PublicKey) {
        self.keys.entry(key).or_default();
    }

    /// Let the key of `cert` in, with its metadata.
    pub fn insert_certificate(&mut self, cert: &Certificate) {
        self.keys
            .insert(*cert.public_key(), cert.metadata().to_vec());
    }

    /// The keys of the public certificates (`*.key`) in `dir` (see
    /// [`Certificate::load_dir`]), and the files skipped with why: the caller
    /// decides whether to go on without them and says so.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<(ClientKeys, Vec<(PathBuf, Error)>)> {
        let CertificateDir {
            certificates,
            skipped,
        } = Certificate::load_dir(dir)?;
        let mut keys = ClientKeys::new();
        for (_, cert) in &certificates {
            keys.insert_certificate(cert);
        }
        Ok((keys, skipped))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `key` is let in.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains_key(key)
    }
}

impl fmt::Debug for ClientKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Which CURVE clients pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CurveClients {
    /// Any client that completes the handshake (it knows the server's public key):
    /// encryption without client authentication.
    Any,
    /// Only these keys.
    Allowed(ClientKeys),
}

/// What an [`super::Authenticator`] lets in.
///
/// Every request first passes the [`AddressFilter`]. Then NULL passes; PLAIN passes
/// with a user and password from [`Policy::passwords`] (none configured: refused);
/// CURVE passes per [`Policy::curve_clients`] (default: any client). Other
/// mechanisms (GSSAPI) are refused.
///
/// ```
/// use zpattern::security::{ClientKeys, Keypair, Passwords, Policy};
///
/// let client = Keypair::generate()?;
/// let policy = Policy::new()
///     .allow("127.0.0.1".parse()?)
///     .passwords(Passwords::parse("admin=secret", "inline")?)
///     .curve_clients(ClientKeys::new().with(*client.public()));
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) addresses: AddressFilter,
    pub(crate) passwords: Option<Passwords>,
    pub(crate) curve: CurveClients,
    pub(crate) rate_limit: RateLimit,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::new()
    }
}

impl Policy {
    /// Every address, NULL and any CURVE client pass; PLAIN is refused (no
    /// passwords); refusals reported within [`RateLimit::default`].
    pub fn new() -> Policy {
        Policy {
            addresses: AddressFilter::new(),
            passwords: None,
            curve: CurveClients::Any,
            rate_limit: RateLimit::default(),
        }
    }

    /// Use this address filter (replacing earlier `allow` and `deny` calls).
    pub fn addresses(mut self, filter: AddressFilter) -> Policy {
        self.addresses = filter;
        self
    }

    /// Allow `range`: once anything is allowed, nothing else is.
    pub fn allow(mut self, range: AddressRange) -> Policy {
        self.addresses = self.addresses.allow(range);
        self
    }

    /// Deny `range` (not consulted once anything is allowed).
    pub fn deny(mut self, range: AddressRange) -> Policy {
        self.addresses = self.addresses.deny(range);
        self
    }

    /// PLAIN clients log in with these users and passwords.
    pub fn passwords(mut self, passwords: Passwords) -> Policy {
        self.passwords = Some(passwords);
        self
    }

    /// Only CURVE clients with these keys pass.
    pub fn curve_clients(mut self, keys: ClientKeys) -> Policy {
        self.curve = CurveClients::Allowed(keys);
        self
    }

    /// Any CURVE client passes (the default).
    pub fn any_curve_client(mut self) -> Policy {
        self.curve = CurveClients::Any;
        self
    }

    /// Report at most `limit.reports` refusals per `limit.per`.
    pub fn rate_limit(mut self, limit: RateLimit) -> Policy {
        self.rate_limit = limit;
        self
    }

    /// Decide on a request of at most [`MAX_FRAMES`] frames.
    pub(crate) fn decide(&self, frames: &[&[u8]]) -> Verdict {
        let [version, _id, _domain, address, _identity, mechanism, credentials @ ..] = frames
        else {
            return Verdict::Malformed("fewer than 6 frames");
        };
        if *version != b"1.0" {
            return Verdict::Malformed("version is not 1.0");
        }
        let shape_ok = match *mechanism {
            b"NULL" => credentials.is_empty(),
            b"PLAIN" => credentials.len() == 2,
            b"CURVE" => credentials.len() == 1 && credentials[0].len() == 32,
            _ => true,
        };
        if !shape_ok {
            return Verdict::Malformed("wrong credentials for its mechanism");
        }
        let address = String::from_utf8_lossy(address);
        if let Err(refusal) = self.addresses.check(&address) {
            return Verdict::Refuse(Reason::Address(refusal));
        }
        match (*mechanism, credentials) {
            (b"NULL", _) => Verdict::allow(Vec::new(), Vec::new()),
            (b"PLAIN", [user, password]) => self.plain(user, password),
            (b"CURVE", [key]) => self.curve(key),
            _ => Verdict::Refuse(Reason::UnsupportedMechanism),
        }
    }

    fn plain(&self, user: &[u8], password: &[u8]) -> Verdict {
        let Some(passwords) = &self.passwords else {
            return Verdict::Refuse(Reason::NoPasswords);
        };
        match passwords.check(user, password) {
            PasswordCheck::Accepted => Verdict::allow(user.to_vec(), Vec::new()),
            PasswordCheck::UnknownUser => Verdict::Refuse(Reason::UnknownUser(printable(user))),
            PasswordCheck::WrongPassword => Verdict::Refuse(Reason::WrongPassword(printable(user))),
        }
    }

    fn curve(&self, key: &[u8]) -> Verdict {
        let Ok(bytes) = <[u8; 32]>::try_from(key) else {
            return Verdict::Malformed("a CURVE key is not 32 bytes");
        };
        let key = PublicKey::from_bytes(bytes);
        let user_id = key.to_z85().into_bytes();
        match &self.curve {
            CurveClients::Any => Verdict::allow(user_id, Vec::new()),
            CurveClients::Allowed(keys) => match keys.keys.get(&key) {
                Some(metadata) => Verdict::allow(user_id, encode_metadata(metadata)),
                None => Verdict::Refuse(Reason::UnknownKey(key)),
            },
        }
    }
}

/// The most frames of a request that is answered: PLAIN's 8.
pub(crate) const MAX_FRAMES: usize = 8;

/// The decision on one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 200, with the user id and the metadata to return.
    Allow { user_id: Vec<u8>, metadata: Vec<u8> },
    /// 400.
    Refuse(Reason),
    /// 500: the request breaks RFC 27.
    Malformed(&'static str),
}

impl Verdict {
    fn allow(user_id: Vec<u8>, metadata: Vec<u8>) -> Verdict {
        Verdict::Allow { user_id, metadata }
    }
}

/// Property names libzmq reserves or gives a meaning (a `Socket-Type` from a
/// certificate would make libzmq check it and fail the handshake).
const RESERVED: &[&str] = &[
    "socket-type",
    "identity",
    "routing-id",
    "user-id",
    "peer-address",
];

/// Metadata as ZMTP properties: a name of 1-255 bytes after its length byte, a
/// value after its 4-byte big-endian length.
fn encode_metadata(metadata: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in metadata {
        let (Ok(name_len), Ok(value_len)) = (u8::try_from(name.len()), u32::try_from(value.len()))
        else {
            continue;
        };
        if name.is_empty() || RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        out.push(name_len);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::address::AddressRefusal;
    use crate::security::Keypair;

    fn request<'a>(
        address: &'a [u8],
        mechanism: &'a [u8],
        credentials: &[&'a [u8]],
    ) -> Vec<&'a [u8]> {
        let mut frames: Vec<&[u8]> = vec![b"1.0", b"1", b"global", address, b"", mechanism];
        frames.extend_from_slice(credentials);
        frames
    }

    #[test]
    fn null_passes_the_address_filter_only() {
        let policy = Policy::new().deny("10.0.0.0/8".parse().unwrap());
        let ok = Verdict::allow(Vec::new(), Vec::new());
        assert_eq!(policy.decide(&request(b"127.0.0.1", b"NULL", &[])), ok);
        assert_eq!(
            policy.decide(&request(b"10.9.9.9", b"NULL", &[])),
            Verdict::Refuse(Reason::Address(AddressRefusal::Denied))
        );
        let policy = policy.allow("10.9.9.9".parse().unwrap());
        assert_eq!(policy.decide(&request(b"10.9.9.9", b"NULL", &[])), ok);
        assert_eq!(
            policy.decide(&request(b"127.0.0.1", b"NULL", &[])),
            Verdict::Refuse(Reason::Address(AddressRefusal::NotAllowed))
        );
    }

    #[test]
    fn plain_needs_a_known_user_and_the_right_password() {
        let policy = Policy::new();
        assert_eq!(
            policy.decide(&request(b"::1", b"PLAIN", &[b"admin", b"secret"])),
            Verdict::Refuse(Reason::NoPasswords)
        );
        let policy = policy.passwords(Passwords::parse("admin=secret", "pw").unwrap());
        assert_eq!(
            policy.decide(&request(b"::1", b"PLAIN", &[b"admin", b"secret"])),
            Verdict::allow(b"admin".to_vec(), Vec::new())
        );
        assert_eq!(
            policy.decide(&request(b"::1", b"PLAIN", &[b"admin", b"guess"])),
            Verdict::Refuse(Reason::WrongPassword("admin".into()))
        );
        assert_eq!(
            policy.decide(&request(b"::1", b"PLAIN", &[b"root\n", b"secret"])),
            Verdict::Refuse(Reason::UnknownUser("root\\n".into()))
        );
        // The address filter comes first, for every mechanism.
        let policy = policy.allow("10.0.0.1".parse().unwrap());
        assert_eq!(
            policy.decide(&request(b"::1", b"PLAIN", &[b"admin", b"secret"])),
            Verdict::Refuse(Reason::Address(AddressRefusal::NotAllowed))
        );
    }

    #[test]
    fn curve_lets_in_any_client_or_the_allowed_keys_with_their_metadata() {
        let known = Keypair::generate().unwrap();
        let stranger = Keypair::generate().unwrap();
        let z85 = known.public().to_z85().into_bytes();
        let frame = |k: &Keypair| k.public().as_bytes().to_vec();
        let (known_key, stranger_key) = (frame(&known), frame(&stranger));
        assert_eq!(
            Policy::new().decide(&request(b"::1", b"CURVE", &[&stranger_key])),
            Verdict::allow(stranger.public().to_z85().into_bytes(), Vec::new())
        );
        let mut cert = Certificate::new(known.clone());
        cert.set_meta("name", "cat").unwrap();
        cert.set_meta("Socket-Type", "PUB").unwrap();
        let mut keys = ClientKeys::new();
        keys.insert_certificate(&cert);
        let policy = Policy::new().curve_clients(keys);
        let mut metadata = vec![4];
        metadata.extend_from_slice(b"name\0\0\0\x03cat");
        assert_eq!(
            policy.decide(&request(b"::1", b"CURVE", &[&known_key])),
            Verdict::allow(z85, metadata)
        );
        assert_eq!(
            policy.decide(&request(b"::1", b"CURVE", &[&stranger_key])),
            Verdict::Refuse(Reason::UnknownKey(*stranger.public()))
        );
    }

    #[test]
    fn client_keys_come_from_a_directory_of_certificates() {
        let dir = std::env::temp_dir().join(format!("zpattern-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let mut cert = Certificate::generate().unwrap();
        cert.set_meta("name", "cat").unwrap();
        cert.save(&dir, "cat").unwrap();
        std::fs::write(dir.join("broken.key"), "curve\n").unwrap();
        let (keys, skipped) = ClientKeys::from_dir(&dir).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains(cert.public_key()));
        assert_eq!(
            keys.keys[cert.public_key()],
            [("name".into(), "cat".into())]
        );
        assert_eq!(skipped.len(), 1);
        assert_eq!(format!("{keys:?}"), "ClientKeys { keys: 1 }");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_requests_and_other_mechanisms() {
        let policy = Policy::new();
        let short: &[&[u8]] = &[b"1.0", b"1", b"", b"::1", b""];
        assert_eq!(
            policy.decide(short),
            Verdict::Malformed("fewer than 6 frames")
        );
        let mut frames = request(b"::1", b"NULL", &[]);
        frames[0] = b"2.0";
        assert_eq!(
            policy.decide(&frames),
            Verdict::Malformed("version is not 1.0")
        );
        for bad in [
            request(b"::1", b"NULL", &[b"x"]),
            request(b"::1", b"PLAIN", &[b"admin"]),
            request(b"::1", b"CURVE", &[b"short"]),
        ] {
            assert_eq!(
                policy.decide(&bad),
                Verdict::Malformed("wrong credentials for its mechanism")
            );
        }
        assert_eq!(
            policy.decide(&request(b"::1", b"GSSAPI", &[b"principal"])),
            Verdict::Refuse(Reason::UnsupportedMechanism)
        );
    }
}
