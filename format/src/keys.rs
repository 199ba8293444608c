//! Keys: age recipients and identities (X25519, SSH, one passphrase), the minisign signing key and
//! the pinned signer, and `keygen`.

use std::fs::{self, OpenOptions};
use std::io::{BufReader, Cursor, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};

use crate::error::{FormatError, io_err};

/// Environment variable holding the passphrase of a passphrase-protected identity file.
pub const IDENTITY_PASSPHRASE_ENV: &str = "DESKFERRY_IDENTITY_PASSPHRASE";
/// scrypt work factor (log2 N) of passphrase bundles written here.
pub const SCRYPT_WORK_FACTOR: u8 = 18;
/// Highest scrypt work factor the reader accepts (N = 2^20 needs 1 GiB and seconds of CPU).
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 20;

fn key_err(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::Key { path: path.to_path_buf(), message: message.into() }
}

/// Whom a bundle is encrypted to: age X25519 and SSH public keys, or one passphrase.
pub struct Recipients {
    pub(crate) keys: Vec<Box<dyn age::Recipient + Send>>,
    pub(crate) passphrase: Option<SecretString>,
    pub(crate) descriptions: Vec<String>,
}

impl Recipients {
    /// A recipients file: one `age1…` X25519 recipient, `ssh-ed25519 …` or `ssh-rsa …` public key
    /// per line; `#` comments and blank lines ignored.
    pub fn from_file(path: &Path) -> Result<Recipients, FormatError> {
        let mut r = Recipients { keys: Vec::new(), passphrase: None, descriptions: Vec::new() };
        r.add_file(path)?;
        Ok(r)
    }

    /// Several recipients files (the loader's key and each auditor's key).
    pub fn from_files(paths: &[PathBuf]) -> Result<Recipients, FormatError> {
        let mut r = Recipients { keys: Vec::new(), passphrase: None, descriptions: Vec::new() };
        for p in paths {
            r.add_file(p)?;
        }
        if r.keys.is_empty() {
            return Err(key_err(Path::new("<recipients>"), "no recipients given"));
        }
        Ok(r)
    }

    /// Recipients from strings (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`), e.g. from a config file.
    pub fn from_strings(lines: &[&str]) -> Result<Recipients, FormatError> {
        let mut r = Recipients { keys: Vec::new(), passphrase: None, descriptions: Vec::new() };
        for (i, l) in lines.iter().enumerate() {
            r.add_line(l, Path::new("<recipient>"), i + 1)?;
        }
        if r.keys.is_empty() {
            return Err(key_err(Path::new("<recipients>"), "no recipients given"));
        }
        Ok(r)
    }

    /// One passphrase (scrypt); it must be the only recipient (age's rule).
    pub fn passphrase(p: SecretString) -> Recipients {
        Recipients {
            keys: Vec::new(),
            passphrase: Some(p),
            descriptions: vec!["passphrase".into()],
        }
    }

    /// How many recipients (1 for a passphrase).
    pub fn len(&self) -> usize {
        self.keys.len() + usize::from(self.passphrase.is_some())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The recipients as text (public keys, or `passphrase`), for logs and reports.
    pub fn describe(&self) -> &[String] {
        &self.descriptions
    }

    fn add_file(&mut self, path: &Path) -> Result<(), FormatError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let before = self.keys.len();
        for (i, line) in text.lines().enumerate() {
            self.add_line(line, path, i + 1)?;
        }
        if self.keys.len() == before {
            return Err(key_err(path, "no recipient in file"));
        }
        Ok(())
    }

    fn add_line(&mut self, line: &str, path: &Path, n: usize) -> Result<(), FormatError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        if line.starts_with("age1") {
            let r: age::x25519::Recipient =
                line.parse().map_err(|e| key_err(path, format!("line {n}: {e}")))?;
            self.keys.push(Box::new(r));
        } else if line.starts_with("ssh-") {
            let r: age::ssh::Recipient = line.parse().map_err(|e| {
                key_err(path, format!("line {n}: unsupported SSH public key ({e:?})"))
            })?;
            self.keys.push(Box::new(r));
        } else if line.starts_with("AGE-SECRET-KEY-") {
            return Err(key_err(path, format!("line {n}: this is a secret key, not a recipient")));
        } else {
            return Err(key_err(path, format!("line {n}: not an age1… or ssh- recipient")));
        }
        self.descriptions.push(line.chars().take(120).collect());
        Ok(())
    }
}

/// Keys that can decrypt a bundle: age identity files (plain or passphrase-protected), OpenSSH
/// private keys, or a passphrase.
#[derive(Default)]
pub struct Identities {
    pub(crate) keys: Vec<Box<dyn age::Identity + Send>>,
}

#[derive(Clone)]
struct FixedPassphrase(Option<SecretString>);

impl age::Callbacks for FixedPassphrase {
    fn display_message(&self, _message: &str) {}
    fn confirm(&self, _m: &str, _y: &str, _n: Option<&str>) -> Option<bool> {
        None
    }
    fn request_public_string(&self, _d: &str) -> Option<String> {
        None
    }
    fn request_passphrase(&self, _d: &str) -> Option<SecretString> {
        self.0.clone()
    }
}

impl Identities {
    /// An age identity file (plain, or passphrase-protected with the passphrase taken from
    /// `DESKFERRY_IDENTITY_PASSPHRASE`), or an OpenSSH private key (ed25519/rsa).
    pub fn from_file(path: &Path) -> Result<Identities, FormatError> {
        let pass = std::env::var(IDENTITY_PASSPHRASE_ENV).ok().map(SecretString::from);
        let mut ids = Identities::default();
        ids.add_file(path, pass)?;
        Ok(ids)
    }

    /// Like [`Identities::from_file`] with the passphrase of a protected file given (the CLI asks
    /// for it on the terminal; never take it from argv).
    pub fn from_file_with_passphrase(
        path: &Path,
        passphrase: SecretString,
    ) -> Result<Identities, FormatError> {
        let mut ids = Identities::default();
        ids.add_file(path, Some(passphrase))?;
        Ok(ids)
    }

    /// True when the identity file is passphrase-protected (an encrypted age identity file or an
    /// encrypted OpenSSH key), so the CLI knows to ask for the passphrase.
    pub fn needs_passphrase(path: &Path) -> Result<bool, FormatError> {
        let bytes = fs::read(path).map_err(io_err(path))?;
        if bytes.starts_with(b"age-encryption.org/v1") {
            return Ok(true);
        }
        if bytes.starts_with(b"-----BEGIN") {
            let id = age::ssh::Identity::from_buffer(BufReader::new(Cursor::new(bytes)), None)
                .map_err(|e| key_err(path, format!("SSH key: {e}")))?;
            return Ok(matches!(id, age::ssh::Identity::Encrypted(_)));
        }
        Ok(false)
    }

    /// Several identity files.
    pub fn from_files(paths: &[PathBuf]) -> Result<Identities, FormatError> {
        let pass = std::env::var(IDENTITY_PASSPHRASE_ENV).ok().map(SecretString::from);
        let mut ids = Identities::default();
        for p in paths {
            ids.add_file(p, pass.clone())?;
        }
        Ok(ids)
    }

    /// A passphrase (for scrypt bundles), work factor capped at [`MAX_SCRYPT_WORK_FACTOR`].
    pub fn passphrase(p: SecretString) -> Identities {
        let mut id = age::scrypt::Identity::new(p);
        id.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
        Identities { keys: vec![Box::new(id)] }
    }

    /// Adds the identities of another set.
    pub fn extend(&mut self, other: Identities) {
        self.keys.extend(other.keys);
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn add_file(&mut self, path: &Path, pass: Option<SecretString>) -> Result<(), FormatError> {
        let meta = fs::metadata(path).map_err(io_err(path))?;
        if meta.len() > 1 << 20 {
            return Err(key_err(path, "identity file larger than 1 MiB"));
        }
        let bytes = fs::read(path).map_err(io_err(path))?;
        let name = path.display().to_string();
        if bytes.starts_with(b"age-encryption.org/v1") {
            let id = age::encrypted::Identity::from_buffer(
                Cursor::new(bytes),
                Some(name),
                FixedPassphrase(pass.clone()),
                Some(MAX_SCRYPT_WORK_FACTOR),
            )
            .map_err(|e| key_err(path, format!("encrypted identity: {e}")))?
            .ok_or_else(|| key_err(path, "encrypted identity file is not passphrase-protected"))?;
            if pass.is_none() {
                return Err(key_err(
                    path,
                    format!(
                        "identity file is passphrase-protected; set {IDENTITY_PASSPHRASE_ENV} or enter it when asked"
                    ),
                ));
            }
            // Decrypt now so a wrong passphrase is reported as a key error, not as "no matching key".
            id.recipients()
                .map_err(|e| key_err(path, format!("cannot decrypt identity file: {e}")))?;
            self.keys.push(Box::new(id));
        } else if bytes.starts_with(b"-----BEGIN") {
            let id =
                age::ssh::Identity::from_buffer(BufReader::new(Cursor::new(bytes)), Some(name))
                    .map_err(|e| key_err(path, format!("SSH key: {e}")))?;
            match &id {
                age::ssh::Identity::Unsupported(_) => {
                    return Err(key_err(path, "unsupported SSH key type"));
                }
                age::ssh::Identity::Encrypted(_) if pass.is_none() => {
                    return Err(key_err(
                        path,
                        format!(
                            "SSH key is passphrase-protected; set {IDENTITY_PASSPHRASE_ENV} or enter it when asked"
                        ),
                    ));
                }
                _ => {}
            }
            self.keys.push(Box::new(id.with_callbacks(FixedPassphrase(pass))));
        } else {
            let file = age::IdentityFile::from_buffer(BufReader::new(Cursor::new(bytes)))
                .map_err(|e| key_err(path, e.to_string()))?;
            let ids = file.into_identities().map_err(|e| key_err(path, e.to_string()))?;
            if ids.is_empty() {
                return Err(key_err(path, "no identity in file"));
            }
            for id in ids {
                self.keys.push(id);
            }
        }
        Ok(())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)
    }
}

/// The extractor's minisign secret key (unencrypted key file).
pub struct SigningKey {
    pub(crate) sk: minisign::SecretKey,
    pub(crate) pk: minisign::PublicKey,
}

impl SigningKey {
    /// Reads a minisign secret key file written by [`keygen`] (or `minisign -G -W`).
    pub fn from_file(path: &Path) -> Result<SigningKey, FormatError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let sk = minisign::SecretKey::from_unencrypted_box(
            minisign::SecretKeyBox::from_string(&text).map_err(|e| key_err(path, e.to_string()))?,
        )
        .map_err(|e| key_err(path, format!("minisign secret key (must be unencrypted): {e}")))?;
        let pk =
            minisign::PublicKey::from_secret_key(&sk).map_err(|e| key_err(path, e.to_string()))?;
        Ok(SigningKey { sk, pk })
    }

    /// The matching public key.
    pub fn signer(&self) -> SignerKey {
        SignerKey { pk: self.pk.clone() }
    }
}

/// The pinned signer: a minisign public key.
#[derive(Clone)]
pub struct SignerKey {
    pub(crate) pk: minisign::PublicKey,
}

impl SignerKey {
    /// A minisign public key file (`untrusted comment:` line + base64) or a file holding only the base64.
    pub fn from_file(path: &Path) -> Result<SignerKey, FormatError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .ok_or_else(|| key_err(path, "no public key in file"))?;
        SignerKey::from_base64(line).map_err(|e| match e {
            FormatError::Key { message, .. } => key_err(path, message),
            e => e,
        })
    }

    /// The bare base64 public key (`RW…`), as `minisign -P` takes it.
    pub fn from_base64(s: &str) -> Result<SignerKey, FormatError> {
        let pk = minisign::PublicKey::from_base64(s.trim()).map_err(|e| {
            key_err(Path::new("<signer>"), format!("not a minisign public key: {e}"))
        })?;
        Ok(SignerKey { pk })
    }

    /// The key id as minisign prints it (16 upper-case hex digits).
    pub fn key_id(&self) -> String {
        key_id_hex(self.pk.keynum())
    }

    /// The base64 public key, for `minisign -P`.
    pub fn to_base64(&self) -> String {
        self.pk.to_base64()
    }
}

pub(crate) fn key_id_hex(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// What [`keygen`] wrote.
#[derive(Debug, Clone)]
pub struct KeygenPaths {
    /// `identity.txt`: the age identity (0600).
    pub identity: PathBuf,
    /// `recipient.txt`: its public key.
    pub recipient: PathBuf,
    /// `sign.key`: minisign secret key, unencrypted (0600).
    pub sign_key: PathBuf,
    /// `sign.pub`: minisign public key.
    pub sign_pub: PathBuf,
}

/// Writes identity.txt (0600, `# created:` and `# public key: age1…` lines as age-keygen writes
/// them), recipient.txt, sign.key (0600) and sign.pub into `out_dir`. Refuses to overwrite.
pub fn keygen(out_dir: &Path) -> Result<KeygenPaths, FormatError> {
    fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let paths = KeygenPaths {
        identity: out_dir.join("identity.txt"),
        recipient: out_dir.join("recipient.txt"),
        sign_key: out_dir.join("sign.key"),
        sign_pub: out_dir.join("sign.pub"),
    };
    for p in [&paths.identity, &paths.recipient, &paths.sign_key, &paths.sign_pub] {
        if p.exists() {
            return Err(FormatError::Exists(p.clone()));
        }
    }
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = format!(
        "# created: {created}\n# public key: {public}\n{}\n",
        id.to_string().expose_secret()
    );
    write_new(&paths.identity, text.as_bytes(), 0o600)?;
    write_new(&paths.recipient, format!("{public}\n").as_bytes(), 0o644)?;
    let kp = minisign::KeyPair::generate_unencrypted_keypair()
        .map_err(|e| FormatError::Sign(e.to_string()))?;
    let sk_box = kp
        .sk
        .to_box(Some("deskferry signing key"))
        .map_err(|e| FormatError::Sign(e.to_string()))?;
    write_new(&paths.sign_key, &sk_box.to_bytes(), 0o600)?;
    let pk_box = kp.pk.to_box().map_err(|e| FormatError::Sign(e.to_string()))?;
    write_new(&paths.sign_pub, &pk_box.to_bytes(), 0o644)?;
    Ok(paths)
}

/// Creates `path` (never overwriting) with `mode`, writes and fsyncs it.
pub(crate) fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FormatError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(())
}
