//! The security options every role binary takes (CURVE, PLAIN, address filters),
//! turned into the library's [`Security`] part for the socket and, for a server
//! that authenticates, the [`Policy`] of the authenticator the run starts.

use crate::error::{Error, Result};
use crate::security::{
    AddressFilter, AddressRange, Certificate, ClientKeys, CurveClient, CurveServer, Keypair,
    NullServer, Password, Passwords, Plain, PlainServer, Policy, PublicKey, Security,
};
use clap::Args;
use std::path::{Path, PathBuf};

/// The environment variable a PLAIN client's password may come from.
pub const PASSWORD_ENV: &str = "ZPATTERN_PASSWORD";

/// How the socket takes part in ZeroMQ security. One mechanism per process: CURVE
/// (`--curve-server` or `--curve-serverkey`), PLAIN (`--plain-passwords` or
/// `--plain-user`), or NULL, with or without an address filter.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Security")]
pub struct SecurityArgs {
    /// Be a CURVE server (encrypted; clients must know its public key). FILE is its
    /// secret certificate, NAME.key_secret from zkeygen (chmod 600).
    #[arg(long, value_name = "FILE",
          conflicts_with_all = ["curve_serverkey", "plain_passwords", "plain_user"])]
    pub curve_server: Option<PathBuf>,
    /// With --curve-server: let in only clients whose public key is in a
    /// certificate (*.key) in DIR. Without it, any client that knows the server's
    /// public key is let in.
    #[arg(long, value_name = "DIR", requires = "curve_server")]
    pub curve_allow: Option<PathBuf>,
    /// Be a CURVE client of the server whose public key is KEY: 40 Z85 characters,
    /// or a certificate file (NAME.key or NAME.key_secret).
    #[arg(long, value_name = "KEY", conflicts_with_all = ["plain_passwords", "plain_user"])]
    pub curve_serverkey: Option<String>,
    /// With --curve-serverkey: the client's own secret certificate (chmod 600), for
    /// servers that let in known keys only. Without it, a fresh key pair per run.
    #[arg(long, value_name = "FILE", requires = "curve_serverkey")]
    pub curve_client: Option<PathBuf>,
    /// Be a PLAIN server: clients log in with a user=password line of FILE (the
    /// zauth format; chmod 600). PLAIN sends passwords in clear.
    #[arg(long, value_name = "FILE", conflicts_with = "plain_user")]
    pub plain_passwords: Option<PathBuf>,
    /// Be a PLAIN client logging in as USER, with the password from
    /// --plain-password-file or the environment variable ZPATTERN_PASSWORD (never
    /// from the command line).
    #[arg(long, value_name = "USER")]
    pub plain_user: Option<String>,
    /// With --plain-user: the password is the first line of FILE (chmod 600).
    #[arg(long, value_name = "FILE", requires = "plain_user")]
    pub plain_password_file: Option<PathBuf>,
    /// Let in only peers from ADDR: an IP address or a CIDR range (repeatable).
    /// Applies to every mechanism, NULL included; a peer without an IP address
    /// (ipc) is refused.
    #[arg(long, value_name = "ADDR", value_parser = range_arg)]
    pub allow: Vec<AddressRange>,
    /// Refuse peers from ADDR (repeatable); not consulted once --allow is given.
    #[arg(long, value_name = "ADDR", value_parser = range_arg)]
    pub deny: Vec<AddressRange>,
}

/// What the security options come to: the socket's part, the policy of the
/// authenticator it needs (if any), and what to tell the user once.
#[derive(Debug)]
pub struct SecuritySetup {
    /// Set on every socket of the run.
    pub security: Security,
    /// For a server that authenticates: what the run's authenticator lets in.
    pub policy: Option<Policy>,
    /// Lines to print once (unless quiet): what the setup leaves open.
    pub notices: Vec<String>,
}

impl SecurityArgs {
    /// Read the key and password files the options name, and decide. Every
    /// mistake is a one-line error naming the option or the file.
    pub fn setup(&self) -> Result<SecuritySetup> {
        let mut notices = Vec::new();
        let filter = self.address_filter();
        let filtered = !filter.is_empty();
        let client_filter = |mechanism: &str| {
            Error::usage(format!(
                "--allow and --deny choose who may connect to a server; with {mechanism} this end is a client"
            ))
        };
        let (security, policy) = if let Some(path) = &self.curve_server {
            let keypair = secret_certificate(path, "--curve-server")?;
            match &self.curve_allow {
                Some(dir) => {
                    let (keys, skipped) = ClientKeys::from_dir(dir)?;
                    for (file, why) in skipped {
                        notices.push(format!("warning: skipped {}: {why}", file.display()));
                    }
                    if keys.is_empty() {
                        notices.push(format!(
                            "warning: no client certificate (*.key) in {}: every client is refused",
                            dir.display()
                        ));
                    }
                    let policy = Policy::new().curve_clients(keys).addresses(filter);
                    (
                        Security::CurveServer(CurveServer::new(keypair)),
                        Some(policy),
                    )
                }
                None => {
                    notices.push(
                        "any CURVE client that knows the server's public key is let in (--curve-allow DIR lets in known keys only)"
                            .to_string(),
                    );
                    if filtered {
                        let policy = Policy::new().any_curve_client().addresses(filter);
                        (
                            Security::CurveServer(CurveServer::new(keypair)),
                            Some(policy),
                        )
                    } else {
                        (
                            Security::CurveServer(CurveServer::without_zap(keypair)),
                            None,
                        )
                    }
                }
            }
        } else if let Some(key) = &self.curve_serverkey {
            if filtered {
                return Err(client_filter("--curve-serverkey"));
            }
            let server_key = PublicKey::from_arg(key)
                .map_err(|e| Error::usage(format!("--curve-serverkey: {e}")))?;
            let client = match &self.curve_client {
                Some(path) => {
                    CurveClient::new(server_key, secret_certificate(path, "--curve-client")?)
                }
                None => CurveClient::ephemeral(server_key)?,
            };
            (Security::CurveClient(client), None)
        } else if let Some(path) = &self.plain_passwords {
            let passwords = Passwords::load(path)?;
            if passwords.is_empty() {
                notices.push(format!(
                    "warning: no user in {}: every PLAIN client is refused",
                    path.display()
                ));
            }
            let policy = Policy::new().passwords(passwords).addresses(filter);
            (Security::PlainServer(PlainServer::new()), Some(policy))
        } else if let Some(user) = &self.plain_user {
            if filtered {
                return Err(client_filter("--plain-user"));
            }
            if user.len() > crate::security::MAX_CREDENTIAL_BYTES {
                return Err(Error::usage(format!(
                    "--plain-user: longer than {} bytes, the most PLAIN carries",
                    crate::security::MAX_CREDENTIAL_BYTES
                )));
            }
            let password = self.password()?;
            let plain = Plain {
                user: user.clone(),
                password,
            };
            (Security::Plain(plain), None)
        } else if filtered {
            let policy = Policy::new().addresses(filter);
            (Security::NullServer(NullServer::new()), Some(policy))
        } else {
            (Security::Null, None)
        };
        Ok(SecuritySetup {
            security,
            policy,
            notices,
        })
    }

    fn address_filter(&self) -> AddressFilter {
        let filter = self
            .allow
            .iter()
            .fold(AddressFilter::new(), |f, r| f.allow(*r));
        self.deny.iter().fold(filter, |f, r| f.deny(*r))
    }

    /// A PLAIN client's password: from --plain-password-file, else from the
    /// environment.
    fn password(&self) -> Result<Password> {
        if let Some(path) = &self.plain_password_file {
            return Password::from_file(path).map_err(|e| e.context("--plain-password-file"));
        }
        match std::env::var(PASSWORD_ENV) {
            Ok(password) if password.len() <= crate::security::MAX_CREDENTIAL_BYTES => {
                Ok(Password::new(password))
            }
            Ok(_) => Err(Error::usage(format!(
                "{PASSWORD_ENV}: longer than {} bytes, the most PLAIN carries",
                crate::security::MAX_CREDENTIAL_BYTES
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::usage(format!(
                "{PASSWORD_ENV} is not valid UTF-8"
            ))),
            Err(std::env::VarError::NotPresent) => Err(Error::usage(format!(
                "--plain-user needs a password: --plain-password-file FILE, or the environment variable {PASSWORD_ENV} (never on the command line)"
            ))),
        }
    }
}

/// The key pair of the secret certificate at `path`, given with `option`.
fn secret_certificate(path: &Path, option: &str) -> Result<Keypair> {
    let cert = Certificate::load(path).map_err(|e| e.context(option))?;
    cert.keypair().ok_or_else(|| {
        Error::usage(format!(
            "{option}: {} holds no secret key: give the NAME.key_secret file",
            path.display()
        ))
    })
}

/// Parse an `--allow` or `--deny` address.
fn range_arg(text: &str) -> std::result::Result<AddressRange, String> {
    text.parse::<AddressRange>().map_err(|e| e.to_string())
}
