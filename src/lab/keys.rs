//! The keys a lab asks for under `[keys]`: CURVE certificates generated afresh at
//! the start of each run in the lab's directory, and the placeholders that name
//! their files in node arguments: `{key:NAME}` (the public certificate),
//! `{secret:NAME}` (the secret one) and `{allowed:NAME}` (a directory holding the
//! public certificates of the keys NAME lets in, for `--curve-allow`).

use super::instance::is_identifier;
use super::limits::MAX_KEYS;
use super::spec::{KeySpec, Lab};
use crate::error::{Error, Result};
use crate::security::Certificate;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The directory of the keys, in the lab's directory.
const KEYS_DIR: &str = "keys";

/// Where the argument check says the keys are: the binaries only parse their
/// arguments then, so the files need not exist.
const STAND_IN_DIR: &str = "/tmp/zlab-check/keys";

/// Which file of a key a placeholder names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFile {
    /// `{key:NAME}`: `NAME.key`, the public certificate.
    Public,
    /// `{secret:NAME}`: `NAME.key_secret`, the secret certificate (mode 0600).
    Secret,
    /// `{allowed:NAME}`: `NAME.allowed/`, the public certificates of the keys in
    /// NAME's allow list.
    Allowed,
}

impl KeyFile {
    const ALL: [KeyFile; 3] = [KeyFile::Public, KeyFile::Secret, KeyFile::Allowed];

    /// The word before the colon in the placeholder.
    fn prefix(self) -> &'static str {
        match self {
            KeyFile::Public => "key",
            KeyFile::Secret => "secret",
            KeyFile::Allowed => "allowed",
        }
    }

    /// The name of the file (or directory) of key `name`.
    fn file_name(self, name: &str) -> String {
        match self {
            KeyFile::Public => format!("{name}.key"),
            KeyFile::Secret => format!("{name}.key_secret"),
            KeyFile::Allowed => format!("{name}.allowed"),
        }
    }

    /// The placeholder as written: `{key:NAME}`.
    fn placeholder(self, name: &str) -> String {
        format!("{{{}:{name}}}", self.prefix())
    }
}

/// The key file and key name of the text between braces, `key:NAME`,
/// `secret:NAME` or `allowed:NAME`, if it starts with one of these prefixes.
pub(crate) fn placeholder(inner: &str) -> Option<(KeyFile, &str)> {
    let (prefix, name) = inner.split_once(':')?;
    KeyFile::ALL
        .into_iter()
        .find(|file| file.prefix() == prefix)
        .map(|file| (file, name))
}

/// A key placeholder in a node's arguments names a declared key, and
/// `{allowed:NAME}` one with an allow list.
pub(crate) fn check_placeholder(
    lab: &Lab,
    file: KeyFile,
    name: &str,
) -> std::result::Result<(), String> {
    let written = file.placeholder(name);
    let Some(key) = lab.keys.get(name) else {
        return Err(format!("unknown key '{written}' (declare it under [keys])"));
    };
    if file == KeyFile::Allowed && key.allow.is_none() {
        return Err(format!(
            "'{written}': key '{name}' has no allow list (declare it as {name} = {{ allow = [\"...\"] }} under [keys])"
        ));
    }
    Ok(())
}

/// The `[keys]` table: at most [`MAX_KEYS`] keys, each a plain name, each allow
/// list naming declared keys. The error comes with the index of the key at fault,
/// in name order.
pub(crate) fn check(lab: &Lab) -> std::result::Result<(), (usize, String)> {
    if lab.keys.len() > MAX_KEYS {
        return Err((
            MAX_KEYS,
            format!("{} keys: at most {MAX_KEYS} are allowed", lab.keys.len()),
        ));
    }
    for (i, (name, key)) in lab.keys.iter().enumerate() {
        if !is_identifier(name) {
            return Err((
                i,
                format!("key name '{name}' is not a plain name (letters, digits, _ and -)"),
            ));
        }
        for allowed in key.allow.iter().flatten() {
            if !lab.keys.contains_key(allowed) {
                return Err((
                    i,
                    format!(
                        "key '{name}': allow: unknown key '{allowed}' (declare it under [keys])"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The path of `file` of key `name` in the lab's directory `dir`.
pub(crate) fn path(dir: &Path, file: KeyFile, name: &str) -> PathBuf {
    dir.join(KEYS_DIR).join(file.file_name(name))
}

/// What the argument check gives a binary for `file` of key `name`.
pub(crate) fn stand_in(file: KeyFile, name: &str) -> String {
    format!("{STAND_IN_DIR}/{}", file.file_name(name))
}

/// Generate the lab's keys in `DIR/keys` (mode 0700): for each key a fresh key
/// pair saved as `NAME.key` and `NAME.key_secret` (mode 0600), with its name in
/// the certificates' metadata, and for each key with an allow list the directory
/// `NAME.allowed` holding a copy of the public certificate of each key listed.
pub(crate) fn generate(dir: &Path, keys: &BTreeMap<String, KeySpec>) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let keys_dir = dir.join(KEYS_DIR);
    private_dir(&keys_dir)?;
    for name in keys.keys() {
        let mut cert = Certificate::generate()?;
        cert.set_meta("name", name)?;
        cert.save(&keys_dir, name)?;
    }
    for (name, key) in keys {
        let Some(allow) = &key.allow else {
            continue;
        };
        let allowed_dir = path(dir, KeyFile::Allowed, name);
        private_dir(&allowed_dir)?;
        for other in allow.iter().collect::<BTreeSet<_>>() {
            let from = path(dir, KeyFile::Public, other);
            let to = allowed_dir.join(KeyFile::Public.file_name(other));
            std::fs::copy(&from, &to).map_err(|e| {
                Error::io(
                    format!("cannot copy {} to {}", from.display(), to.display()),
                    e,
                )
            })?;
        }
    }
    Ok(())
}

/// Create directory `path`, readable by its owner only.
fn private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn placeholders_are_known_by_their_prefix() {
        assert_eq!(placeholder("key:a"), Some((KeyFile::Public, "a")));
        assert_eq!(placeholder("secret:a-b"), Some((KeyFile::Secret, "a-b")));
        assert_eq!(placeholder("allowed:"), Some((KeyFile::Allowed, "")));
        for other in ["news", "keys:a", "\"key\":1", "key", ""] {
            assert_eq!(placeholder(other), None, "{other}");
        }
    }

    #[test]
    fn keys_are_generated_private_with_their_allow_lists() {
        let dir = std::env::temp_dir().join(format!("zlab-keys-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let lab = Lab::new("t")
            .key("server", KeySpec::allowing(["client", "client"]))
            .key("client", KeySpec::default())
            .key("nobody", KeySpec::allowing(Vec::<String>::new()));
        generate(&dir, &lab.keys).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(KEYS_DIR)), 0o700);
        for name in ["server", "client", "nobody"] {
            let secret = path(&dir, KeyFile::Secret, name);
            assert_eq!(mode(&secret), 0o600, "{name}");
            let cert = Certificate::load(&secret).unwrap();
            assert_eq!(cert.meta("name"), Some(name));
            let public = Certificate::load(path(&dir, KeyFile::Public, name)).unwrap();
            assert_eq!(public.public_key(), cert.public_key());
        }
        let allowed = Certificate::load_dir(path(&dir, KeyFile::Allowed, "server")).unwrap();
        assert_eq!(allowed.certificates.len(), 1);
        assert_eq!(allowed.certificates[0].1.meta("name"), Some("client"));
        let none = Certificate::load_dir(path(&dir, KeyFile::Allowed, "nobody")).unwrap();
        assert!(none.certificates.is_empty());
        assert!(!path(&dir, KeyFile::Allowed, "client").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
