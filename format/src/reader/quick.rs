//! Tier 1, no secret: the signature against the pinned signer, the envelope against the signed
//! trusted comment, the ciphertext's size and SHA-256 against the envelope, version and purge date.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, bounded};

use sha2::{Digest, Sha256};

use super::files::{open_regular, read_regular};
use super::{Progress, QuickReport, Stage, VerifyOptions};
use crate::error::{BundleError, ErrorCode as C, berr};
use crate::keys::{SignerKey, key_id_hex};
use crate::meta::{Envelope, TrustedComment, rfc3339};
use crate::{FORMAT_VERSION, envelope_path, signature_path};

const MAX_SIGNATURE: u64 = 64 * 1024;
const MAX_ENVELOPE: u64 = 1 << 20;

/// Feeds minisign from buffers read on another thread (the same buffers go to the SHA-256
/// thread), so the signature check and the ciphertext hash run side by side in one read.
struct ChanReader {
    rx: Receiver<Arc<Vec<u8>>>,
    cur: Arc<Vec<u8>>,
    pos: usize,
    count: u64,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.cur = b;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = (self.cur.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        self.count += n as u64;
        Ok(n)
    }
}

impl Seek for ChanReader {
    // minisign only needs Seek to echo the data, which we never ask for.
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match pos {
            SeekFrom::Current(0) => Ok(self.count),
            _ => Err(io::Error::other("seeking is not supported while hashing")),
        }
    }
}

/// Verifies the signature over `file` and hashes it (SHA-256, size) in the same read.
fn verify_and_hash(
    file: File,
    signer: &SignerKey,
    sig: &minisign::SignatureBox,
    progress: &Progress,
) -> (Result<(), String>, io::Result<(String, u64)>) {
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (sig_tx, sig_rx) = bounded::<Arc<Vec<u8>>>(4);
    let (sha_tx, sha_rx) = bounded::<Arc<Vec<u8>>>(4);
    thread::scope(|s| {
        let reader = s.spawn(move || -> io::Result<()> {
            let mut file = file;
            loop {
                let mut buf = vec![0u8; 1 << 20];
                let mut n = 0;
                while n < buf.len() {
                    match file.read(&mut buf[n..]) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                let b = Arc::new(buf);
                // A closed side means the other stopped early (bad signature): stop reading.
                if sig_tx.send(b.clone()).is_err() || sha_tx.send(b).is_err() {
                    return Ok(());
                }
            }
        });
        let hasher = s.spawn(move || {
            let mut h = Sha256::new();
            let mut n = 0u64;
            for b in sha_rx.iter() {
                h.update(b.as_slice());
                n += b.len() as u64;
                progress.tell(Stage::Signature, n, total);
            }
            (hex::encode(h.finalize()), n)
        });
        let mut cr = ChanReader { rx: sig_rx, cur: Arc::new(Vec::new()), pos: 0, count: 0 };
        let verified = minisign::verify(&signer.pk, sig, &mut cr, true, false, false)
            .map_err(|e| e.to_string());
        drop(cr);
        let read =
            reader.join().unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")));
        let hashed = hasher.join().unwrap_or_else(|_| (String::new(), 0));
        (verified, read.map(|()| hashed))
    })
}

pub(crate) fn verify_quick(
    bundle: &Path,
    signer: &SignerKey,
    opts: &VerifyOptions,
) -> Result<QuickReport, BundleError> {
    verify_quick_on(bundle, None, signer, opts)
}

/// Tier 1 over an already open bundle file (so the later tiers read the very file that was
/// checked, even if the path is replaced meanwhile); `None` opens `bundle`.
pub(crate) fn verify_quick_on(
    bundle: &Path,
    file: Option<File>,
    signer: &SignerKey,
    opts: &VerifyOptions,
) -> Result<QuickReport, BundleError> {
    let sig_path = signature_path(bundle);
    let env_path = envelope_path(bundle);
    let sig_text = read_regular(&sig_path, MAX_SIGNATURE, C::B001, C::B002)?;
    // Read once, now: the bytes hashed against the signed comment are the bytes parsed.
    let env_bytes = read_regular(&env_path, MAX_ENVELOPE, C::B004, C::B005)?;
    let sig_text = String::from_utf8(sig_text)
        .map_err(|_| BundleError::new(C::B002, format!("{}: not text", sig_path.display())))?;
    let sig = minisign::SignatureBox::from_string(&sig_text).map_err(|e| {
        BundleError::new(C::B002, format!("{}: not a minisign signature: {e}", sig_path.display()))
    })?;
    if sig.keynum() != signer.pk.keynum() {
        return berr(
            C::B003,
            format!(
                "{} was made by key {}, the pinned signer is {}",
                sig_path.display(),
                key_id_hex(sig.keynum()),
                signer.key_id()
            ),
        );
    }
    let file = match file {
        Some(f) => f,
        None => open_regular(bundle, C::B012)?,
    };
    let (verified, hashed) = verify_and_hash(file, signer, &sig, &opts.progress);
    let (ct_sha, ct_size) =
        hashed.map_err(|e| BundleError::new(C::B012, format!("{}: {e}", bundle.display())))?;
    verified.map_err(|e| BundleError::new(C::B002, format!("{}: {e}", bundle.display())))?;

    let tc_text = sig
        .trusted_comment()
        .map_err(|e| BundleError::new(C::B011, format!("{}: {e}", sig_path.display())))?;
    let tc = TrustedComment::parse(&tc_text).ok_or_else(|| {
        BundleError::new(
            C::B011,
            format!("{}: trusted comment is not deskferry's: {tc_text:?}", sig_path.display()),
        )
    })?;
    if tc.format_version > FORMAT_VERSION {
        return berr(
            C::B010,
            format!(
                "format version {} (this reader knows {FORMAT_VERSION}): written by a newer deskferry; upgrade",
                tc.format_version
            ),
        );
    }

    if hex::encode(Sha256::digest(&env_bytes)) != tc.envelope_sha256 {
        return berr(
            C::B006,
            format!("{}: SHA-256 differs from the signed one", env_path.display()),
        );
    }
    let value: serde_json::Value = serde_json::from_slice(&env_bytes)
        .map_err(|e| BundleError::new(C::B005, format!("{}: {e}", env_path.display())))?;
    if let Some(v) = value.get("format_version").and_then(|v| v.as_u64())
        && v > u64::from(FORMAT_VERSION)
    {
        return berr(
            C::B010,
            format!(
                "{}: format version {v}: written by a newer deskferry; upgrade",
                env_path.display()
            ),
        );
    }
    let envelope: Envelope = serde_json::from_value(value)
        .map_err(|e| BundleError::new(C::B005, format!("{}: {e}", env_path.display())))?;
    let field = if envelope.bundle_id != tc.bundle_id {
        Some("bundle_id")
    } else if envelope.content_id != tc.content_id {
        Some("content_id")
    } else if envelope.format_version != tc.format_version {
        Some("format_version")
    } else if rfc3339(&envelope.purge_after) != tc.purge_after {
        Some("purge_after")
    } else if envelope.signer_key_id != signer.key_id() {
        Some("signer_key_id")
    } else {
        None
    };
    if let Some(f) = field {
        return berr(
            C::B006,
            format!("{}: {f} differs from the signed trusted comment", env_path.display()),
        );
    }
    if ct_size != envelope.ciphertext_size {
        return berr(
            C::B007,
            format!(
                "{}: {} bytes, envelope says {}",
                bundle.display(),
                ct_size,
                envelope.ciphertext_size
            ),
        );
    }
    if ct_sha != envelope.ciphertext_sha256.to_ascii_lowercase() {
        return berr(
            C::B008,
            format!(
                "{}: SHA-256 {ct_sha}, envelope says {}",
                bundle.display(),
                envelope.ciphertext_sha256
            ),
        );
    }
    if opts.now > envelope.purge_after && !opts.allow_expired {
        return berr(
            C::B009,
            format!(
                "{}: purge_after {} has passed",
                bundle.display(),
                rfc3339(&envelope.purge_after)
            ),
        );
    }
    Ok(QuickReport { envelope, signer_key_id: signer.key_id(), trusted_comment: tc_text })
}
