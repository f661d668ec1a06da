//! ZeroMQ security: CURVE keys and certificates, PLAIN passwords, address filters.
//!
//! | piece | what it is |
//! |-------|------------|
//! | [`Keypair`], [`PublicKey`], [`SecretKey`] | CURVE keys: 32 bytes, 40 Z85 characters; secrets never print |
//! | [`Certificate`] | `NAME.key` / `NAME.key_secret` files, as CZMQ and pyzmq write them |
//! | [`Passwords`] | the PLAIN `user=password` file of CZMQ's `zauth` |
//! | [`AddressFilter`], [`AddressRange`] | `--allow` / `--deny` by IP address or CIDR range |

mod address;
mod cert;
mod files;
mod keys;
mod passwords;
mod z85;
mod zpl;

pub use address::{peer_ip, AddressFilter, AddressRange, AddressRefusal};
pub use cert::{Certificate, CertificateDir, DirLimits, SavedCertificate, MAX_CERTIFICATE_BYTES};
pub use keys::{Keypair, PublicKey, SecretKey, KEY_BYTES, KEY_Z85_CHARS};
pub use passwords::{Password, PasswordCheck, PasswordLimits, Passwords, MAX_CREDENTIAL_BYTES};
