//! PLAIN passwords: the `user=password` file of CZMQ's `zauth`, read into memory
//! once and checked in constant time.
//!
//! The format, as `zauth` reads it: one `user=password` per line, split at the first
//! `=` with nothing trimmed (spaces belong to the name or the password), `#` in the
//! first column starts a comment. Where `zauth` silently skips a line without `=` or
//! with an empty user name, and lets a later line for the same user win, zpattern
//! refuses the file with FILE:LINE: a typo there would otherwise lock someone out
//! or let an old password in. It also drops a trailing carriage return (a file saved
//! on Windows), skips blank lines, and refuses a file that its group or others can
//! read (it holds passwords in clear). User names and passwords are at most 255
//! bytes, the most a PLAIN handshake carries. Passwords are never printed.

use super::files;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The longest user name or password a PLAIN handshake carries (one length byte).
pub const MAX_CREDENTIAL_BYTES: usize = 255;

/// Bounds on a password file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordLimits {
    /// Largest file read. Default 1 MiB.
    pub max_file_bytes: u64,
    /// Most users. Default 10,000.
    pub max_users: usize,
}

impl Default for PasswordLimits {
    fn default() -> PasswordLimits {
        PasswordLimits {
            max_file_bytes: 1 << 20,
            max_users: 10_000,
        }
    }
}

/// A PLAIN password, never shown: `Debug` prints `Password(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password.
    pub fn new(password: impl Into<String>) -> Password {
        Password(password.into())
    }

    /// The password in the first line of the file at `path` (a trailing newline,
    /// and a carriage return before it, are not part of it): a regular file of at
    /// most [`MAX_CREDENTIAL_BYTES`] plus the line end, not open to its group or
    /// others. Anything after the first line is refused, not ignored.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Password> {
        let path = path.as_ref();
        let limit = MAX_CREDENTIAL_BYTES as u64 + 2;
        let contents = files::read_bounded(path, limit, "password file")?;
        files::check_private(path, contents.mode)?;
        let text = contents.text.as_str();
        let line = text.strip_suffix('\n').unwrap_or(text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.contains('\n') {
            return Err(Error::usage(format!(
                "{}: more than one line; the file holds one password",
                path.display()
            )));
        }
        if line.len() > MAX_CREDENTIAL_BYTES {
            return Err(Error::usage(format!(
                "{}: the password is longer than {MAX_CREDENTIAL_BYTES} bytes, the most PLAIN carries",
                path.display()
            )));
        }
        Ok(Password::new(line))
    }

    /// The password itself, for `ZMQ_PLAIN_PASSWORD`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this password, in time that depends on the lengths
    /// only, not on where the first difference is.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        // Best effort, as for secret keys: clear the bytes before they are freed.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&bytes);
    }
}

/// Compare without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for (i, &x) in a.iter().enumerate() {
        diff |= x ^ b.get(i).copied().unwrap_or(!x);
    }
    std::hint::black_box(diff) == 0
}

/// What [`Passwords::check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The user exists and the password is right.
    Accepted,
    /// No such user.
    UnknownUser,
    /// The user exists; the password is wrong.
    WrongPassword,
}

/// The users and passwords that PLAIN clients may log in with.
///
/// ```
/// use zpattern::security::{PasswordCheck, Passwords};
///
/// let passwords = Passwords::parse("# operators\nadmin=secret\nguest=\n", "users.txt")?;
/// assert_eq!(passwords.check(b"admin", b"secret"), PasswordCheck::Accepted);
/// assert_eq!(passwords.check(b"admin", b"guess"), PasswordCheck::WrongPassword);
/// assert_eq!(passwords.check(b"guest", b""), PasswordCheck::Accepted);
/// assert_eq!(passwords.check(b"root", b"secret"), PasswordCheck::UnknownUser);
/// assert!(!format!("{passwords:?}").contains("secret"));
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Passwords {
    users: HashMap<String, Password>,
}

impl Passwords {
    /// No users: every PLAIN client is refused.
    pub fn new() -> Passwords {
        Passwords::default()
    }

    /// Read a password file within [`PasswordLimits::default`].
    pub fn load(path: impl AsRef<Path>) -> Result<Passwords> {
        Passwords::load_with(path, PasswordLimits::default())
    }

    /// Read a password file within `limits`. The file must not be open to its group
    /// or others (`chmod 600`).
    pub fn load_with(path: impl AsRef<Path>, limits: PasswordLimits) -> Result<Passwords> {
        let path = path.as_ref();
        let contents = files::read_bounded(path, limits.max_file_bytes, "password file")?;
        files::check_private(path, contents.mode)?;
        Passwords::parse_with(&contents.text, &path.display().to_string(), limits)
    }

    /// Parse the text of a password file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Passwords> {
        Passwords::parse_with(text, origin, PasswordLimits::default())
    }

    /// Parse within `limits` (only [`PasswordLimits::max_users`] applies to text).
    pub fn parse_with(text: &str, origin: &str, limits: PasswordLimits) -> Result<Passwords> {
        let mut passwords = Passwords::new();
        let mut lines_of: HashMap<String, usize> = HashMap::new();
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let at = |what: String| Error::usage(format!("{origin}:{number}: {what}"));
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((user, password)) = line.split_once('=') else {
                return Err(at("expected user=password".to_string()));
            };
            if user.is_empty() {
                return Err(at(
                    "expected user=password: the user name is empty".to_string()
                ));
            }
            if user.len() > MAX_CREDENTIAL_BYTES || password.len() > MAX_CREDENTIAL_BYTES {
                return Err(at(format!(
                    "a user name or password longer than {MAX_CREDENTIAL_BYTES} bytes (PLAIN carries no more)"
                )));
            }
            if let Some(first) = lines_of.get(user) {
                return Err(at(format!("user {user:?} again (first on line {first})")));
            }
            if passwords.users.len() == limits.max_users {
                return Err(at(format!(
                    "more than {} users, the limit",
                    limits.max_users
                )));
            }
            lines_of.insert(user.to_string(), number);
            passwords
                .users
                .insert(user.to_string(), Password::new(password));
        }
        Ok(passwords)
    }

    /// Add or replace a user.
    pub fn insert(&mut self, user: impl Into<String>, password: Password) {
        self.users.insert(user.into(), password);
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` may log in with `password`. The password comparison takes
    /// the same time wherever a difference is, and an unknown user costs a
    /// comparison too.
    pub fn check(&self, user: &[u8], password: &[u8]) -> PasswordCheck {
        let found = std::str::from_utf8(user)
            .ok()
            .and_then(|user| self.users.get(user));
        match found {
            Some(expected) if expected.matches(password) => PasswordCheck::Accepted,
            Some(_) => PasswordCheck::WrongPassword,
            None => {
                std::hint::black_box(constant_time_eq(password, password));
                PasswordCheck::UnknownUser
            }
        }
    }
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("users", &self.users.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn error(text: &str) -> String {
        Passwords::parse(text, "pw").unwrap_err().to_string()
    }

    #[test]
    fn zauth_lines_with_nothing_trimmed() {
        let p =
            Passwords::parse("#admin=x\n\n  \nadmin=se=cret\r\n bob = pw \nnul=\n", "pw").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.check(b"admin", b"se=cret"), PasswordCheck::Accepted);
        assert_eq!(p.check(b" bob ", b" pw "), PasswordCheck::Accepted);
        assert_eq!(p.check(b"bob", b"pw"), PasswordCheck::UnknownUser);
        assert_eq!(p.check(b"nul", b""), PasswordCheck::Accepted);
        assert_eq!(p.check(b"nul", b"x"), PasswordCheck::WrongPassword);
        assert_eq!(p.check(b"\xff", b""), PasswordCheck::UnknownUser);
    }

    #[test]
    fn mistakes_are_refused_with_the_line_and_without_the_password() {
        assert_eq!(error("a=1\nhunter2\n"), "pw:2: expected user=password");
        assert_eq!(
            error("=hunter2"),
            "pw:1: expected user=password: the user name is empty"
        );
        assert_eq!(
            error("a=hunter2\nb=2\na=hunter3"),
            "pw:3: user \"a\" again (first on line 1)"
        );
        let long = format!("a={}", "x".repeat(256));
        assert_eq!(
            error(&long),
            "pw:1: a user name or password longer than 255 bytes (PLAIN carries no more)"
        );
        let limits = PasswordLimits {
            max_users: 2,
            ..PasswordLimits::default()
        };
        let e = Passwords::parse_with("a=1\nb=2\nc=3\n", "pw", limits).unwrap_err();
        assert_eq!(e.to_string(), "pw:3: more than 2 users, the limit");
        for text in ["a=1\nhunter2\n", "=hunter2", "a=hunter2\na=hunter3"] {
            assert!(!error(text).contains("hunter"), "{}", error(text));
        }
    }

    #[test]
    fn passwords_never_show() {
        let mut p = Passwords::new();
        p.insert("admin", Password::new("hunter2"));
        assert_eq!(format!("{p:?}"), "Passwords { users: 1 }");
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn a_password_file_holds_one_private_line() {
        let dir = std::env::temp_dir().join(format!("zpattern-pw1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("password");
        let write = |text: &str, mode: u32| {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("hunter2\r\n", 0o600);
        assert!(Password::from_file(&path).unwrap().matches(b"hunter2"));
        write(" two words", 0o400);
        assert!(Password::from_file(&path).unwrap().matches(b" two words"));
        write("hunter2\n", 0o640);
        let e = Password::from_file(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("is readable by its group (mode 0640); chmod 600 it"),
            "{e}"
        );
        write("hunter2\nhunter3\n", 0o600);
        let e = Password::from_file(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("more than one line; the file holds one password"),
            "{e}"
        );
        write(&"x".repeat(256), 0o600);
        let e = Password::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("longer than 255 bytes"), "{e}");
        assert!(!e.contains("xxx"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_are_private_and_bounded() {
        let dir = std::env::temp_dir().join(format!("zpattern-pw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("passwords");
        std::fs::write(&path, "admin=hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Passwords::load(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} is readable by others (mode 0644); chmod 600 it",
                path.display()
            )
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Passwords::load(&path).unwrap().len(), 1);
        std::fs::write(&path, "admin=hunter2\nbob\n").unwrap();
        let e = Passwords::load(&path).unwrap_err().to_string();
        assert_eq!(e, format!("{}:2: expected user=password", path.display()));
        let limits = PasswordLimits {
            max_file_bytes: 10,
            ..PasswordLimits::default()
        };
        let e = Passwords::load_with(&path, limits).unwrap_err().to_string();
        assert!(
            e.ends_with("larger than 10 bytes, the limit for a password file"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(constant_time_eq(b"", b""));
    }
}
