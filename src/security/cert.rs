//! CURVE certificates on disk, in the ZPL format that CZMQ (`zcert_save`,
//! `zcert_load`) and pyzmq (`zmq.auth.create_certificates`, `load_certificate`)
//! write and read, so that files move freely between them and zpattern:
//!
//! ```text
//! #   ZeroMQ CURVE public certificate (comment lines start with #)
//!
//! metadata
//!     name = "front door"
//! curve
//!     public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//! ```
//!
//! `NAME.key` holds the public key only and may be given away; `NAME.key_secret`
//! adds `secret-key` and must stay private. zpattern creates secret files with mode
//! 0600 from their first byte, and refuses to load one that its group or others can
//! read, as ssh does with private keys: `chmod 600` a file written by pyzmq (which
//! leaves it to the umask) before loading its secret.
//!
//! Reading follows CZMQ's parser (see the private `zpl` module): sections `curve`
//! and `metadata` at the top level, their entries indented by 4 spaces; other
//! sections and deeper levels are ignored. Where CZMQ would silently take the first
//! of two `public-key` or `secret-key` entries, or of two metadata entries of one
//! name, zpattern refuses the file as ambiguous. Files are bounded
//! ([`MAX_CERTIFICATE_BYTES`]), and so is a directory of them ([`DirLimits`]).

use super::files::{self, Replace};
use super::keys::{Keypair, PublicKey, SecretKey, KEY_Z85_CHARS};
use super::zpl;
use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// The largest certificate file read: 64 KiB. Real ones are a few hundred bytes.
pub const MAX_CERTIFICATE_BYTES: u64 = 64 * 1024;

/// A CURVE certificate: a public key, the secret key if this is a secret
/// certificate, and metadata (name/value pairs, in file order).
///
/// ```
/// use zpattern::security::Certificate;
///
/// let dir = std::env::temp_dir().join(format!("zpattern-cert-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut cert = Certificate::generate()?;
/// cert.set_meta("name", "front door")?;
/// let saved = cert.save_replacing(&dir, "door")?;
///
/// let public = Certificate::load(&saved.public)?; // door.key
/// assert_eq!(public.public_key(), cert.public_key());
/// assert!(public.secret_key().is_none());
/// assert_eq!(public.meta("name"), Some("front door"));
///
/// let secret = Certificate::load(saved.secret.as_ref().unwrap())?; // door.key_secret
/// assert_eq!(secret.keypair().as_ref(), cert.keypair().as_ref());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    public: PublicKey,
    secret: Option<SecretKey>,
    metadata: Vec<(String, String)>,
}

/// Where [`Certificate::save`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedCertificate {
    /// `DIR/NAME.key`: the public certificate.
    pub public: PathBuf,
    /// `DIR/NAME.key_secret`: the secret certificate, if the certificate has a
    /// secret key.
    pub secret: Option<PathBuf>,
}

impl Certificate {
    /// A certificate of this key pair, without metadata.
    pub fn new(keypair: Keypair) -> Certificate {
        Certificate {
            public: *keypair.public(),
            secret: Some(keypair.secret().clone()),
            metadata: Vec::new(),
        }
    }

    /// A public certificate: the key of a peer, no secret.
    pub fn public_only(key: PublicKey) -> Certificate {
        Certificate {
            public: key,
            secret: None,
            metadata: Vec::new(),
        }
    }

    /// A certificate of a freshly generated key pair.
    pub fn generate() -> Result<Certificate> {
        Keypair::generate().map(Certificate::new)
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The secret key, if this is a secret certificate.
    pub fn secret_key(&self) -> Option<&SecretKey> {
        self.secret.as_ref()
    }

    /// Both keys, if this is a secret certificate.
    pub fn keypair(&self) -> Option<Keypair> {
        let secret = self.secret.clone()?;
        Some(Keypair::new(self.public, secret))
    }

    /// The metadata, in file order.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The value of metadata entry `name`.
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Set metadata entry `name` (replacing an earlier value).
    ///
    /// `name` must be a ZPL name of at most 255 bytes (letters, digits and
    /// `$-_@.&+/`, which libzmq can carry in a ZAP reply), other than `public-key`
    /// and `secret-key` or a name that begins like them (pyzmq's reader would take
    /// such a line for a key); `value` cannot hold a double quote or a control
    /// character (the file quotes values with `"`, without escapes).
    pub fn set_meta(&mut self, name: &str, value: &str) -> Result<()> {
        check_meta(name, value)?;
        match self.metadata.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.metadata.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Load a certificate file: the public key, the secret key if there is one,
    /// and the metadata. A file with a secret key must not be open to its group or
    /// others (`FILE is readable by others (mode 0644); chmod 600 it`).
    pub fn load(path: impl AsRef<Path>) -> Result<Certificate> {
        read(path.as_ref(), Secret::Load).map(|(cert, _)| cert)
    }

    /// Load the public part of a certificate file, `.key` or `.key_secret`: a
    /// secret key in it is neither decoded nor kept, so its file mode does not
    /// matter here.
    pub fn load_public(path: impl AsRef<Path>) -> Result<Certificate> {
        read(path.as_ref(), Secret::Ignore).map(|(cert, _)| cert)
    }

    /// Write `DIR/NAME.key` (the public key and metadata) and, if there is a secret
    /// key, `DIR/NAME.key_secret` (both keys and the metadata; mode 0600 from its
    /// creation on). Refuses, writing nothing, if either exists; `NAME` must be a
    /// plain file name.
    pub fn save(&self, dir: impl AsRef<Path>, name: &str) -> Result<SavedCertificate> {
        self.write(dir.as_ref(), name, Replace::Never)
    }

    /// [`Certificate::save`], replacing files that exist. Each file is replaced in
    /// one step (a new file renamed over the old one), so a secret file never keeps
    /// the looser mode of the file it replaces.
    pub fn save_replacing(&self, dir: impl AsRef<Path>, name: &str) -> Result<SavedCertificate> {
        self.write(dir.as_ref(), name, Replace::Allowed)
    }

    /// Every public certificate (`*.key`, not hidden) in `dir`, within
    /// [`DirLimits::default`]. See [`Certificate::load_dir_with`].
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<CertificateDir> {
        Certificate::load_dir_with(dir, DirLimits::default())
    }

    /// Every public certificate (`*.key`, not hidden, not in subdirectories) in
    /// `dir`, sorted by path. A file that cannot be read or parsed is skipped and
    /// listed in [`CertificateDir::skipped`] with its error; a directory with more
    /// files or bytes than `limits` allow is an error.
    pub fn load_dir_with(dir: impl AsRef<Path>, limits: DirLimits) -> Result<CertificateDir> {
        let dir = dir.as_ref();
        let cannot = |e| Error::io(format!("cannot read the directory {}", dir.display()), e);
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(cannot)? {
            let name = entry.map_err(cannot)?.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".key") && !name.starts_with('.') {
                if paths.len() == limits.max_certificates {
                    return Err(Error::usage(format!(
                        "{}: more than {} certificates (*.key), the limit",
                        dir.display(),
                        limits.max_certificates
                    )));
                }
                paths.push(dir.join(&*name));
            }
        }
        paths.sort();
        let mut loaded = CertificateDir::default();
        let mut total = 0u64;
        for path in paths {
            match read(&path, Secret::Ignore) {
                Ok((cert, size)) => {
                    total += size;
                    if total > limits.max_total_bytes {
                        return Err(Error::usage(format!(
                            "{}: certificates larger than {} bytes in all, the limit",
                            dir.display(),
                            limits.max_total_bytes
                        )));
                    }
                    loaded.certificates.push((path, cert));
                }
                Err(e) => loaded.skipped.push((path, e)),
            }
        }
        Ok(loaded)
    }

    fn write(&self, dir: &Path, name: &str, replace: Replace) -> Result<SavedCertificate> {
        check_file_name(name)?;
        for (entry, value) in &self.metadata {
            check_meta(entry, value)?;
        }
        let public = dir.join(format!("{name}.key"));
        let secret = self
            .secret
            .as_ref()
            .map(|key| (dir.join(format!("{name}.key_secret")), key));
        if replace == Replace::Never {
            let paths = std::iter::once(&public).chain(secret.as_ref().map(|(path, _)| path));
            if let Some(existing) = paths.into_iter().find(|p| p.symlink_metadata().is_ok()) {
                return Err(Error::new(
                    crate::ErrorKind::Io,
                    format!("{} exists; not overwriting it", existing.display()),
                ));
            }
        }
        if let Some((path, key)) = &secret {
            let text = self.zpl(SECRET_BANNER, Some(key));
            files::write_new(path, text.as_bytes(), 0o600, replace)?;
        }
        let text = self.zpl(PUBLIC_BANNER, None);
        if let Err(e) = files::write_new(&public, text.as_bytes(), 0o644, replace) {
            if let (Some((path, _)), Replace::Never) = (&secret, replace) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        Ok(SavedCertificate {
            public,
            secret: secret.map(|(path, _)| path),
        })
    }

    /// The file text: banner, metadata, keys.
    fn zpl(&self, banner: &str, secret: Option<&SecretKey>) -> String {
        let mut text = String::from(banner);
        text.push_str("\nmetadata\n");
        for (name, value) in &self.metadata {
            text.push_str(&format!("    {name} = \"{value}\"\n"));
        }
        text.push_str("curve\n");
        text.push_str(&format!("    public-key = \"{}\"\n", self.public));
        if let Some(secret) = secret {
            text.push_str(&format!("    secret-key = \"{}\"\n", secret.expose_z85()));
        }
        text
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("public", &self.public)
            .field("secret", &self.secret)
            .field("metadata", &self.metadata)
            .finish()
    }
}

const PUBLIC_BANNER: &str = "\
#   ZeroMQ CURVE public certificate, written by zpattern.
#   Give it to the peers that are to know this key; check it after the exchange
#   (a changed key is a different party).
";

const SECRET_BANNER: &str = "\
#   ZeroMQ CURVE **secret** certificate, written by zpattern.
#   Keep it private: give it to no one and keep its mode at 0600.
";

/// Bounds on [`Certificate::load_dir_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirLimits {
    /// Most `*.key` files in the directory. Default 10,000.
    pub max_certificates: usize,
    /// Most bytes of all certificates together (each is also at most
    /// [`MAX_CERTIFICATE_BYTES`]). Default 16 MiB.
    pub max_total_bytes: u64,
}

impl Default for DirLimits {
    fn default() -> DirLimits {
        DirLimits {
            max_certificates: 10_000,
            max_total_bytes: 16 << 20,
        }
    }
}

/// What [`Certificate::load_dir`] found.
#[derive(Debug, Default)]
pub struct CertificateDir {
    /// The certificates read, with their paths, sorted by path.
    pub certificates: Vec<(PathBuf, Certificate)>,
    /// The `*.key` files that could not be read or parsed, and why.
    pub skipped: Vec<(PathBuf, Error)>,
}

/// Whether a reader wants the secret key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secret {
    Load,
    Ignore,
}

/// Read and parse a certificate file; also its size in bytes.
fn read(path: &Path, secret: Secret) -> Result<(Certificate, u64)> {
    let contents = files::read_bounded(path, MAX_CERTIFICATE_BYTES, "certificate")?;
    let cert = parse(&contents.text, path, secret)?;
    if cert.secret.is_some() {
        files::check_private(path, contents.mode)?;
    }
    Ok((cert, contents.text.len() as u64))
}

/// The certificate in `text` (read from `path`).
fn parse(text: &str, path: &Path, secret: Secret) -> Result<Certificate> {
    let at = |line: usize, what: &str| Error::usage(format!("{}:{line}: {what}", path.display()));
    let mut public = None;
    let mut secret_key = None;
    let mut metadata: Vec<(String, String, usize)> = Vec::new();
    let mut section = "";
    for entry in zpl::parse(text, path)? {
        if entry.level == 0 {
            section = entry.name;
            continue;
        }
        if entry.level > 1 {
            continue;
        }
        match (section, entry.name) {
            ("curve", "public-key") => {
                if let Some((_, first)) = public {
                    return Err(at(
                        entry.line,
                        &format!("a second public-key (first on line {first})"),
                    ));
                }
                let key = PublicKey::from_z85(entry.value)
                    .map_err(|_| at(entry.line, "public-key is not 40 Z85 characters"))?;
                public = Some((key, entry.line));
            }
            ("curve", "secret-key") => {
                if let Some((_, first)) = secret_key {
                    return Err(at(
                        entry.line,
                        &format!("a second secret-key (first on line {first})"),
                    ));
                }
                if secret == Secret::Load && !entry.value.is_empty() {
                    let key = SecretKey::from_z85(entry.value)
                        .map_err(|_| at(entry.line, "secret-key is not 40 Z85 characters"))?;
                    secret_key = Some((Some(key), entry.line));
                } else {
                    secret_key = Some((None, entry.line));
                }
            }
            ("metadata", name) => {
                if let Some((_, _, first)) = metadata.iter().find(|(n, _, _)| n == name) {
                    return Err(at(
                        entry.line,
                        &format!("metadata {name} given twice (first on line {first})"),
                    ));
                }
                metadata.push((name.to_string(), entry.value.to_string(), entry.line));
            }
            _ => {}
        }
    }
    let Some((public, _)) = public else {
        return Err(Error::usage(format!(
            "{}: no public-key in a curve section: not a CURVE certificate",
            path.display()
        )));
    };
    Ok(Certificate {
        public,
        secret: secret_key.and_then(|(key, _)| key),
        metadata: metadata.into_iter().map(|(n, v, _)| (n, v)).collect(),
    })
}

/// A metadata entry that can be written and read back by CZMQ, pyzmq and libzmq.
fn check_meta(name: &str, value: &str) -> Result<()> {
    if !zpl::is_name(name) || name.len() > 255 {
        return Err(Error::usage(format!(
            "metadata name {name:?}: use 1 to 255 letters, digits or $-_@.&+/ (not first or last)"
        )));
    }
    if name.starts_with("public-key") || name.starts_with("secret-key") {
        return Err(Error::usage(format!(
            "metadata name {name:?}: reserved (pyzmq would read it as a key)"
        )));
    }
    if value.contains(|c: char| c == '"' || c.is_control()) {
        return Err(Error::usage(format!(
            "metadata {name}: a value cannot hold a double quote or control characters"
        )));
    }
    Ok(())
}

/// A certificate name: a plain file name, no directories.
fn check_file_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(Error::usage(format!(
            "certificate name {name:?}: must be a plain file name (no '/'); use a directory option for where"
        )));
    }
    Ok(())
}

/// Public keys from certificate files, and from command lines that name one.
impl PublicKey {
    /// The public key of a certificate file (`NAME.key` or `NAME.key_secret`; a
    /// secret key in the file is not read into memory, see
    /// [`Certificate::load_public`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<PublicKey> {
        Certificate::load_public(path).map(|cert| *cert.public_key())
    }

    /// A public key given on a command line: exactly 40 characters that decode as
    /// Z85 are the key itself; anything else is the path of a certificate file.
    /// (A file whose name happens to be a valid key is still reachable as
    /// `./NAME`.)
    pub fn from_arg(arg: &str) -> Result<PublicKey> {
        if arg.len() == KEY_Z85_CHARS {
            match PublicKey::from_z85(arg) {
                Ok(key) => return Ok(key),
                Err(e) if !Path::new(arg).exists() => {
                    return Err(Error::usage(format!(
                        "{arg}: neither a CURVE public key ({}) nor a certificate file",
                        e.to_string().rsplit(": ").next().unwrap_or_default()
                    )))
                }
                Err(_) => {}
            }
        }
        PublicKey::from_file(arg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let path =
                std::env::temp_dir().join(format!("zpattern-cert-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir(&path).unwrap();
            Dir(path)
        }

        fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    /// A secret certificate as CZMQ's zcert_save writes it.
    fn czmq_secret() -> String {
        format!(
            "#   ****  Generated on 2024-01-01 00:00:00 by CZMQ  ****\n\
             #   ZeroMQ CURVE **Secret** Certificate\n\
             #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n\
             metadata\n    name = \"John Doe\"\n    email = \"jdoe@example.org\"\n\
             curve\n    public-key = \"{PUBLIC}\"\n    secret-key = \"{SECRET}\"\n"
        )
    }

    #[test]
    fn reads_a_czmq_secret_certificate() {
        let dir = Dir::new("czmq");
        let path = dir.file("jd.key_secret", &czmq_secret(), 0o600);
        let cert = Certificate::load(&path).unwrap();
        assert_eq!(cert.public_key().to_z85(), PUBLIC);
        assert_eq!(cert.secret_key().unwrap().expose_z85(), SECRET);
        assert_eq!(cert.meta("name"), Some("John Doe"));
        assert_eq!(cert.meta("email"), Some("jdoe@example.org"));
        assert!(!format!("{cert:?}").contains(SECRET));
    }

    #[test]
    fn a_secret_others_can_read_is_refused_but_its_public_half_is_not() {
        let dir = Dir::new("mode");
        let path = dir.file("jd.key_secret", &czmq_secret(), 0o644);
        let e = Certificate::load(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} is readable by others (mode 0644); chmod 600 it",
                path.display()
            )
        );
        let public = Certificate::load_public(&path).unwrap();
        assert_eq!(public.public_key().to_z85(), PUBLIC);
        assert!(public.secret_key().is_none());
        assert_eq!(PublicKey::from_file(&path).unwrap().to_z85(), PUBLIC);
    }

    #[test]
    fn saves_what_it_loads_with_private_secrets() {
        let dir = Dir::new("save");
        let mut cert = Certificate::generate().unwrap();
        cert.set_meta("name", "front door").unwrap();
        cert.set_meta("name", "back door").unwrap();
        let saved = cert.save(&dir.0, "door").unwrap();
        assert_eq!(saved.public, dir.0.join("door.key"));
        let secret_path = saved.secret.clone().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secret_path), 0o600);
        assert_eq!(mode(&saved.public) & 0o600, 0o600);
        assert_eq!(Certificate::load(&secret_path).unwrap(), cert);
        let public = Certificate::load(&saved.public).unwrap();
        assert_eq!(
            public,
            Certificate {
                secret: None,
                ..cert.clone()
            }
        );
        let text = std::fs::read_to_string(&saved.public).unwrap();
        assert!(!text.contains("secret-key"), "{text}");
        assert!(text.contains("    name = \"back door\"\n"), "{text}");

        let e = cert.save(&dir.0, "door").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} exists; not overwriting it", saved.public.display())
        );
        assert_eq!(e.exit_code(), 1);
        let other = Certificate::generate().unwrap();
        other.save_replacing(&dir.0, "door").unwrap();
        assert_eq!(Certificate::load(&secret_path).unwrap(), other);
    }

    #[test]
    fn a_name_is_a_plain_file_name() {
        let cert = Certificate::generate().unwrap();
        for bad in ["", ".", "..", "a/b", "/etc/x"] {
            let e = cert.save(std::env::temp_dir(), bad).unwrap_err();
            assert!(e.to_string().contains("plain file name"), "{e}");
        }
    }

    #[test]
    fn metadata_that_cannot_round_trip_is_refused() {
        let mut cert = Certificate::generate().unwrap();
        assert!(cert.set_meta("a b", "x").is_err());
        assert!(cert.set_meta("public-key-of", "x").is_err());
        assert!(cert.set_meta("name", "say \"hi\"").is_err());
        assert!(cert.set_meta("name", "two\nlines").is_err());
        assert!(cert.set_meta(&"n".repeat(256), "x").is_err());
        assert!(cert.set_meta("user.email", "it's@example.org").is_ok());
    }

    #[test]
    fn bad_files_are_one_line_with_file_and_line() {
        let dir = Dir::new("bad");
        let cases: &[(&str, String)] = &[
            (
                "curve\n    public-key = \"short\"\n",
                ":2: public-key is not 40 Z85 characters".into(),
            ),
            (
                "metadata\n    a = 1\n",
                ": no public-key in a curve section: not a CURVE certificate".into(),
            ),
            (
                &format!("curve\n    public-key = \"{PUBLIC}\"\n    public-key = \"{PUBLIC}\"\n"),
                ":3: a second public-key (first on line 2)".into(),
            ),
            (
                &format!(
                    "curve\n    public-key = \"{PUBLIC}\"\n    secret-key = \"{},\"\n",
                    &SECRET[..39]
                ),
                ":3: secret-key is not 40 Z85 characters".into(),
            ),
            (
                &format!("metadata\n    a = 1\n    a = 2\ncurve\n    public-key = \"{PUBLIC}\"\n"),
                ":3: metadata a given twice (first on line 2)".into(),
            ),
            (
                "curve\n  public-key = \"x\"\n",
                ":2: indent by 4 spaces per level, not 2".into(),
            ),
        ];
        for (i, (text, expected)) in cases.iter().enumerate() {
            let path = dir.file(&format!("{i}.key"), text, 0o600);
            let e = Certificate::load(&path).unwrap_err().to_string();
            assert_eq!(e, format!("{}{expected}", path.display()));
            assert!(!e.contains(&SECRET[..39]));
        }
        let big = dir.file("big.key", &"#".repeat(64 * 1024 + 1), 0o600);
        let e = Certificate::load(&big).unwrap_err().to_string();
        assert!(
            e.ends_with("larger than 65536 bytes, the limit for a certificate"),
            "{e}"
        );
    }

    #[test]
    fn pyzmq_style_bare_values_and_other_sections_are_read() {
        let dir = Dir::new("pyzmq");
        let text = format!(
            "#   ****  Generated on 2024-01-01 by pyzmq  ****\n\nmetadata\n    owner = ops team\n\
             other\n    public-key = \"nonsense\"\ncurve\n    public-key = \"{PUBLIC}\"\n        deeper = 1\n"
        );
        let cert = Certificate::load(dir.file("p.key", &text, 0o644)).unwrap();
        assert_eq!(cert.public_key().to_z85(), PUBLIC);
        assert_eq!(cert.meta("owner"), Some("ops team"));
    }

    #[test]
    fn a_directory_loads_its_public_certificates_and_reports_the_rest() {
        let dir = Dir::new("dir");
        let a = Certificate::generate().unwrap();
        let b = Certificate::generate().unwrap();
        a.save(&dir.0, "a").unwrap();
        b.save(&dir.0, "b").unwrap();
        dir.file("broken.key", "curve\n    public-key = \"x\"\n", 0o644);
        dir.file(".hidden.key", "junk", 0o644);
        dir.file("notes.txt", "junk", 0o644);
        std::fs::create_dir(dir.0.join("sub.key")).unwrap();
        let loaded = Certificate::load_dir(&dir.0).unwrap();
        let keys: Vec<_> = loaded
            .certificates
            .iter()
            .map(|(_, c)| *c.public_key())
            .collect();
        assert_eq!(keys, [*a.public_key(), *b.public_key()]);
        assert!(loaded
            .certificates
            .iter()
            .all(|(_, c)| c.secret_key().is_none()));
        let skipped: Vec<_> = loaded.skipped.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(skipped, [dir.0.join("broken.key"), dir.0.join("sub.key")]);

        let limits = DirLimits {
            max_certificates: 3,
            ..DirLimits::default()
        };
        let e = Certificate::load_dir_with(&dir.0, limits)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: more than 3 certificates (*.key), the limit",
                dir.0.display()
            )
        );
        let limits = DirLimits {
            max_total_bytes: 300,
            ..DirLimits::default()
        };
        let e = Certificate::load_dir_with(&dir.0, limits)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("certificates larger than 300 bytes in all, the limit"),
            "{e}"
        );
        let e = Certificate::load_dir(dir.0.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read the directory "), "{e}");
    }
}
