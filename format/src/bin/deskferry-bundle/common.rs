//! What several subcommands share: key arguments, the clock, passphrase input, error reports.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use deskferry_format::keys::IDENTITY_PASSPHRASE_ENV;
use deskferry_format::{BundleError, BundleReader, Identities, SignerKey, VerifyOptions};
use secrecy::SecretString;

use crate::progress::Bar;

/// Everything went well.
pub const EXIT_OK: u8 = 0;
/// The command finished but some items had problems.
pub const EXIT_PROBLEMS: u8 = 1;
/// Fatal error, or the bundle is not valid.
pub const EXIT_FATAL: u8 = 2;

/// Environment variable holding the passphrase of a passphrase-encrypted (scrypt) bundle.
pub const PASSPHRASE_ENV: &str = "DESKFERRY_PASSPHRASE";

/// The pinned signer and the verification clock.
#[derive(clap::Args, Debug, Clone)]
pub struct SignerArgs {
    /// The extractor's minisign public key (`sign.pub`), pinned: nothing else is trusted.
    #[arg(long, value_name = "SIGN_PUB")]
    pub signer: PathBuf,
    /// Verify as if it were this time (RFC 3339, e.g. 2026-11-30T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Accept a bundle past its purge date.
    #[arg(long)]
    pub allow_expired: bool,
}

/// How to decrypt: identity files, or a passphrase (never given on the command line).
#[derive(clap::Args, Debug, Clone)]
pub struct IdentityArgs {
    /// An age identity file (plain or passphrase-protected) or an SSH private key; repeatable.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// The bundle is passphrase-encrypted: read the passphrase from DESKFERRY_PASSPHRASE or,
    /// failing that, prompt on the terminal.
    #[arg(long)]
    pub passphrase: bool,
}

impl SignerArgs {
    /// The pinned signer key.
    pub fn signer_key(&self) -> Result<SignerKey> {
        SignerKey::from_file(&self.signer)
            .with_context(|| format!("reading signer key {}", self.signer.display()))
    }

    /// Verification options from the flags.
    pub fn options(&self) -> VerifyOptions {
        VerifyOptions {
            now: self.now.unwrap_or_else(Utc::now),
            allow_expired: self.allow_expired,
            ..VerifyOptions::default()
        }
    }
}

impl IdentityArgs {
    /// True when the caller gave some way to decrypt.
    pub fn given(&self) -> bool {
        !self.identity.is_empty() || self.passphrase
    }

    /// Loads the identities; fails when none was given.
    pub fn identities(&self) -> Result<Identities> {
        if self.passphrase {
            if !self.identity.is_empty() {
                bail!("give either --identity or --passphrase, not both");
            }
            return Ok(Identities::passphrase(read_passphrase("bundle passphrase")?));
        }
        if self.identity.is_empty() {
            bail!("this command needs --identity FILE (or --passphrase)");
        }
        let mut all = Identities::default();
        for path in &self.identity {
            all.extend(load_identity(path)?);
        }
        Ok(all)
    }
}

/// One identity file; a passphrase-protected one without DESKFERRY_IDENTITY_PASSPHRASE set gets
/// its passphrase asked on the terminal.
fn load_identity(path: &Path) -> Result<Identities> {
    let protected = std::fs::File::open(path)
        .and_then(|mut f| {
            let mut head = [0u8; 21];
            let n = std::io::Read::read(&mut f, &mut head)?;
            Ok(&head[..n] == b"age-encryption.org/v1")
        })
        .with_context(|| format!("reading identity {}", path.display()))?;
    if protected && std::env::var_os(IDENTITY_PASSPHRASE_ENV).is_none() {
        let pass = read_passphrase_from(
            IDENTITY_PASSPHRASE_ENV,
            &format!("passphrase of {}", path.display()),
        )?;
        return Identities::from_file_with_passphrase(path, pass)
            .with_context(|| format!("reading identity {}", path.display()));
    }
    Identities::from_file(path).with_context(|| format!("reading identity {}", path.display()))
}

/// Parses an RFC 3339 time (a bare date means midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!("not an RFC 3339 time: {s:?}"))
}

/// A passphrase from the environment or, on a terminal, typed without echo.
///
/// Never from argv: command lines are visible to every user of the machine.
pub fn read_passphrase(what: &str) -> Result<SecretString> {
    read_passphrase_from(PASSPHRASE_ENV, what)
}

/// Like [`read_passphrase`] with another environment variable.
fn read_passphrase_from(env: &str, what: &str) -> Result<SecretString> {
    if let Ok(p) = std::env::var(env) {
        if p.is_empty() {
            bail!("{env} is set but empty");
        }
        return Ok(SecretString::from(p));
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .with_context(|| format!("no terminal to ask for the {what}; set {env}"))?;
    let echo = |on: bool| {
        // stty acts on its stdin, so the terminal is handed to it; this avoids unsafe termios calls.
        let arg = if on { "echo" } else { "-echo" };
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(tty.try_clone().expect("dup of /dev/tty"))
            .status()
    };
    let mut out = tty.try_clone()?;
    write!(out, "{what}: ")?;
    out.flush()?;
    echo(false).context("turning terminal echo off")?;
    let mut line = String::new();
    let read = std::io::BufReader::new(tty.try_clone()?).read_line(&mut line);
    let _ = echo(true);
    let _ = writeln!(out);
    read.context("reading the passphrase")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("empty passphrase");
    }
    Ok(SecretString::from(p))
}

/// Opens a bundle through all three tiers, or prints why not (code, detail, remedy).
///
/// `Err(exit code)` means the failure has been reported already.
/// On a terminal, `bar` shows how far verification is.
pub fn open_verified(
    bundle: &Path,
    signer: &SignerArgs,
    ids: &IdentityArgs,
    bar: &Bar,
) -> Result<std::result::Result<BundleReader, BundleError>> {
    let key = signer.signer_key()?;
    let identities = ids.identities()?;
    let opts = VerifyOptions { progress: bar.verification(), ..signer.options() };
    let opened = BundleReader::open(bundle, &key, &identities, &opts);
    bar.finish();
    Ok(opened)
}

/// Prints a verification failure for people, on stderr.
pub fn report_error(bundle: &Path, e: &BundleError) {
    eprintln!("{}: INVALID {}", bundle.display(), e.code.as_str());
    eprintln!("  detail: {}", e.detail);
    eprintln!("  remedy: {}", e.code.remedy());
}

/// A verification failure as JSON.
pub fn error_json(bundle: &Path, e: &BundleError) -> serde_json::Value {
    serde_json::json!({
        "bundle": bundle.display().to_string(),
        "valid": false,
        "code": e.code.as_str(),
        "tier": e.code.tier(),
        "detail": e.detail,
        "remedy": e.code.remedy(),
    })
}

/// Prints JSON on stdout, pretty.
pub fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}
