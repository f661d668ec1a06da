//! CURVE keys: a [`PublicKey`], a [`SecretKey`] that never prints itself, and the
//! [`Keypair`] of both. A key is 32 bytes; on the command line and in certificate
//! files it is 40 characters of Z85.

use super::z85;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The length of a CURVE key in bytes.
pub const KEY_BYTES: usize = 32;

/// The length of a CURVE key in Z85 characters.
pub const KEY_Z85_CHARS: usize = 40;

/// A CURVE public key: safe to show, print and exchange.
///
/// ```
/// use zpattern::security::PublicKey;
///
/// // The server key of the libzmq test suite.
/// let key: PublicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".parse()?;
/// assert_eq!(key.to_string(), "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
/// assert_eq!(key.as_bytes().len(), 32);
/// assert!("not a key".parse::<PublicKey>().is_err());
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; KEY_BYTES]);

impl PublicKey {
    /// The key of these 32 bytes.
    pub const fn from_bytes(bytes: [u8; KEY_BYTES]) -> PublicKey {
        PublicKey(bytes)
    }

    /// The 32 bytes of the key (what `ZMQ_CURVE_SERVERKEY` and ZAP requests carry).
    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The key as 40 Z85 characters (also its `Display`).
    pub fn to_z85(&self) -> String {
        z85::encode(&self.0)
    }

    /// Parse 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<PublicKey> {
        z85::decode(text).map(PublicKey).map_err(|e| {
            Error::usage(format!(
                "{text:?} is not a CURVE public key (40 Z85 characters): {e}"
            ))
        })
    }
}

impl FromStr for PublicKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<PublicKey> {
        PublicKey::from_z85(text)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_z85())
    }
}

/// A CURVE secret key. It has no `Display`, its `Debug` is `SecretKey(<redacted>)`,
/// and errors about it never quote it: the only ways out are
/// [`SecretKey::expose_bytes`] and [`SecretKey::expose_z85`], named so that every
/// use stands out. Its bytes are overwritten when it is dropped (best effort: copies
/// made by libzmq or by earlier moves are out of reach).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_BYTES]);

impl SecretKey {
    /// The key of these 32 bytes.
    pub const fn from_bytes(bytes: [u8; KEY_BYTES]) -> SecretKey {
        SecretKey(bytes)
    }

    /// Parse 40 Z85 characters; the error does not repeat them.
    pub fn from_z85(text: &str) -> Result<SecretKey> {
        z85::decode(text)
            .map(SecretKey)
            .map_err(|e| Error::usage(format!("not a CURVE secret key (40 Z85 characters): {e}")))
    }

    /// The 32 secret bytes, for `ZMQ_CURVE_SECRETKEY`.
    pub fn expose_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The key as 40 Z85 characters, for writing a secret certificate.
    pub fn expose_z85(&self) -> String {
        z85::encode(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0 = [0; KEY_BYTES];
        // Keep the stores above from being optimised away as dead.
        std::hint::black_box(&self.0);
    }
}

/// A CURVE key pair: what a server needs, and what a client presents.
///
/// ```
/// use zpattern::security::Keypair;
///
/// let pair = Keypair::generate()?;
/// assert_eq!(pair.public().to_z85().len(), 40);
/// // The secret never shows in Debug output.
/// assert!(format!("{pair:?}").contains("<redacted>"));
/// assert!(!format!("{pair:?}").contains(&pair.secret().expose_z85()));
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Keypair {
    public: PublicKey,
    secret: SecretKey,
}

impl Keypair {
    /// A fresh key pair from libzmq's generator (libsodium's random source).
    ///
    /// Fails when libzmq was built without CURVE (`zmq::has("curve")` is false).
    pub fn generate() -> Result<Keypair> {
        let pair = zmq::CurveKeyPair::new().map_err(|e| {
            Error::zmq(
                "cannot generate a CURVE key pair (libzmq without CURVE support?)",
                e,
            )
        })?;
        let keypair = Keypair {
            public: PublicKey(pair.public_key),
            secret: SecretKey(pair.secret_key),
        };
        // The zmq crate's struct is plain data: clear its copy of the secret.
        let mut pair = pair;
        pair.secret_key = [0; KEY_BYTES];
        std::hint::black_box(&pair.secret_key);
        Ok(keypair)
    }

    /// The pair of these two keys. They are not checked against each other: a
    /// mismatched pair fails at the CURVE handshake.
    pub fn new(public: PublicKey, secret: SecretKey) -> Keypair {
        Keypair { public, secret }
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The secret half.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public)
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_round_trip() {
        let a = Keypair::generate().unwrap();
        let b = Keypair::generate().unwrap();
        assert_ne!(a.public(), b.public());
        let text = a.public().to_z85();
        assert_eq!(text.parse::<PublicKey>().unwrap(), *a.public());
        let secret = SecretKey::from_z85(&a.secret().expose_z85()).unwrap();
        assert_eq!(&secret, a.secret());
    }

    #[test]
    fn secrets_never_show() {
        let pair = Keypair::generate().unwrap();
        let z85 = pair.secret().expose_z85();
        for shown in [format!("{pair:?}"), format!("{:?}", pair.secret())] {
            assert!(!shown.contains(&z85), "{shown}");
            assert!(shown.contains("<redacted>"));
        }
        let almost = format!("{},", &z85[..39]);
        let e = SecretKey::from_z85(&almost).unwrap_err().to_string();
        assert!(!e.contains(&z85[..39]), "{e}");
        assert_eq!(
            e,
            "not a CURVE secret key (40 Z85 characters): character 40 is not Z85"
        );
    }

    #[test]
    fn an_argument_is_a_key_or_a_path() {
        let pair = Keypair::generate().unwrap();
        let z85 = pair.public().to_z85();
        assert_eq!(PublicKey::from_arg(&z85).unwrap(), *pair.public());
        let forty = "x".repeat(39) + " ";
        let e = PublicKey::from_arg(&forty).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "neither a CURVE public key (character 40 is not Z85) nor a certificate file"
            ),
            "{e}"
        );
        let e = PublicKey::from_arg("/nonexistent/server.key").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read /nonexistent/server.key: No such file or directory (os error 2)"
        );
    }
}
