//! `seal`: tables → Parquet parts, the bag, the deterministic tar streamed through age on a second
//! thread, the envelope and the minisign signature (written last), all with temp names + rename.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use super::bag::{self, BagEntry, BlobFile, Source};
use super::parts::{HashingWriter, write_parts};
use super::sort::remove_runs;
use super::{BundleWriter, SealedBundle, minisig};
use crate::FORMAT_VERSION;
use crate::error::{FormatError, io_err};
use crate::keys::{Recipients, SCRYPT_WORK_FACTOR, SigningKey, key_id_hex};
use crate::meta::{Envelope, TrustedComment, rfc3339};
use crate::schema::Table;

const CHUNK: usize = 1 << 20;

/// `NAME.dfb.minisig` for `NAME.dfb`.
pub fn signature_path(bundle: &Path) -> PathBuf {
    sidecar(bundle, ".minisig")
}

/// `NAME.dfb.json` for `NAME.dfb`.
pub fn envelope_path(bundle: &Path) -> PathBuf {
    sidecar(bundle, ".json")
}

fn sidecar(bundle: &Path, ext: &str) -> PathBuf {
    let mut s = bundle.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

pub(super) fn seal(
    w: BundleWriter,
    out: &Path,
    recipients: &Recipients,
    signer: &SigningKey,
) -> Result<SealedBundle, FormatError> {
    let sig_path = signature_path(out);
    let env_path = envelope_path(out);
    for p in [out, sig_path.as_path(), env_path.as_path()] {
        if p.exists() {
            return Err(FormatError::Exists(p.to_path_buf()));
        }
    }
    if recipients.is_empty() {
        return Err(FormatError::Encrypt("no recipients".into()));
    }
    let BundleWriter { work, meta, tables, mut warnings, part_max_rows, checkpointed, .. } = w;
    // Concurrent streams report warnings in any order, and a resumed run may report one twice.
    warnings.sort_by(|a, b| (&a.entity, &a.id, &a.message).cmp(&(&b.entity, &b.id, &b.message)));
    warnings.dedup();

    let mut table_parts = Vec::new();
    let mut sorters = tables;
    // Blobs no stored attachment row names stay out of the bag (the reader refuses them, B051):
    // a download whose row was later dropped, or a blob added and never referred to.
    let referenced = std::cell::RefCell::new(std::collections::HashSet::new());
    for table in Table::ALL {
        let Some(sorter) = sorters.remove(&table) else { continue };
        let rows = sorter.into_sorted(checkpointed)?;
        let dir = work.join("tables").join(table.name());
        let blob_root = work.join("blobs/sha256");
        // A stored attachment without its blob would make a bundle every reader rejects (B046).
        let check = |json: &[u8]| -> Result<(), String> {
            if table != Table::Attachments {
                return Ok(());
            }
            let a: crate::model::Attachment =
                serde_json::from_slice(json).map_err(|e| e.to_string())?;
            if a.state != crate::model::AttachmentState::Stored {
                return Ok(());
            }
            match a.sha256.as_deref().map(str::to_ascii_lowercase) {
                Some(h)
                    if h.len() == 64
                        && h.bytes().all(|b| b.is_ascii_hexdigit())
                        && blob_root.join(&h[..2]).join(&h).exists() =>
                {
                    referenced.borrow_mut().insert(h);
                    Ok(())
                }
                Some(h) => Err(format!(
                    "state is stored but blob {h} is not in the work directory (never added, or \
                     removed on resume because its bytes no longer matched); remove the work \
                     directory and run the extraction again"
                )),
                None => Err("state is stored but sha256 is empty".into()),
            }
        };
        let parts = write_parts(table, &meta.bundle_id, rows, &dir, &check, part_max_rows)?;
        if !checkpointed {
            remove_runs(&work.join("runs").join(table.name()));
        }
        table_parts.push((table, parts));
    }
    let referenced = referenced.into_inner();
    let mut blobs = list_blobs(&work.join("blobs/sha256"))?;
    blobs.retain(|b| referenced.contains(&b.sha256));
    let bag = bag::build(&meta, table_parts, blobs, warnings);
    let plaintext_size = bag::tar_size(&bag.entries);

    let partial = sidecar(out, ".partial");
    let _ = fs::remove_file(&partial);
    let (ct_sha, ct_size, prehash) = encrypt_tar(
        &bag.entries,
        &meta.bundle_id,
        meta.created_at.timestamp().max(0) as u64,
        &partial,
        recipients,
    )?;
    fs::rename(&partial, out).map_err(io_err(out))?;
    sync_dir(out)?;

    let envelope = Envelope {
        format_version: FORMAT_VERSION,
        bundle_id: meta.bundle_id.clone(),
        content_id: bag.content_id.clone(),
        source_platform: meta.source_platform.clone(),
        source_account: meta.source_account.clone(),
        created_at: meta.created_at,
        purge_after: meta.purge_after,
        mode: meta.mode,
        parent_bundle_id: meta.parent_bundle_id.clone(),
        cursors: meta.cursors.clone(),
        row_counts: bag.bundle_json.row_counts(),
        plaintext_size,
        ciphertext_size: ct_size,
        ciphertext_sha256: ct_sha,
        signer_key_id: key_id_hex(signer.pk.keynum()),
    };
    let mut env_bytes = serde_json::to_vec_pretty(&envelope).expect("envelope serializes");
    env_bytes.push(b'\n');
    write_atomic(&env_path, &env_bytes)?;

    let tc = TrustedComment {
        bundle_id: meta.bundle_id.clone(),
        content_id: bag.content_id.clone(),
        envelope_sha256: hex::encode(Sha256::digest(&env_bytes)),
        format_version: FORMAT_VERSION,
        purge_after: rfc3339(&meta.purge_after),
    };
    // The prehash was computed while the ciphertext was written: no second read of the bundle.
    let sig_text = minisig::signature_text(
        &prehash,
        &tc.to_line(),
        &format!("deskferry bundle {}", meta.bundle_id),
        signer,
    )?;
    write_atomic(&sig_path, sig_text.as_bytes())?;

    fs::remove_dir_all(&work).map_err(io_err(&work))?;
    Ok(SealedBundle {
        bundle: out.to_path_buf(),
        signature: sig_path,
        envelope_path: env_path,
        envelope,
        content_id: bag.content_id,
        blobs: bag.bundle_json.attachment_blobs,
        blob_bytes: bag.bundle_json.attachment_bytes,
        warnings: bag.bundle_json.warnings.len() as u64,
        notes: bag.bundle_json.warnings.iter().filter(|w| w.kept).count() as u64,
    })
}

/// Rewrites NAME.dfb.json and NAME.dfb.minisig for the bundle file as it is now: the envelope's
/// ciphertext size and SHA-256 are recomputed from the file, everything else is kept as given.
/// For tools and tests that produce deliberately altered bundles; returns the envelope written.
pub fn resign(
    bundle: &Path,
    mut envelope: Envelope,
    signer: &SigningKey,
) -> Result<Envelope, FormatError> {
    let mut f = File::open(bundle).map_err(io_err(bundle))?;
    let mut h = HashingWriter::new(io::sink());
    io::copy(&mut f, &mut h).map_err(io_err(bundle))?;
    let (_, sha, size) = h.finish();
    envelope.ciphertext_size = size;
    envelope.ciphertext_sha256 = sha;
    let mut env_bytes = serde_json::to_vec_pretty(&envelope).expect("envelope serializes");
    env_bytes.push(b'\n');
    let env_path = envelope_path(bundle);
    let _ = fs::remove_file(&env_path);
    write_atomic(&env_path, &env_bytes)?;
    let tc = TrustedComment {
        bundle_id: envelope.bundle_id.clone(),
        content_id: envelope.content_id.clone(),
        envelope_sha256: hex::encode(Sha256::digest(&env_bytes)),
        format_version: envelope.format_version,
        purge_after: rfc3339(&envelope.purge_after),
    };
    sign_file(bundle, &tc.to_line(), &envelope.bundle_id, signer)?;
    Ok(envelope)
}

/// Writes NAME.dfb.minisig with this trusted comment (replacing any).
pub fn sign_file(
    bundle: &Path,
    trusted_comment: &str,
    bundle_id: &str,
    signer: &SigningKey,
) -> Result<(), FormatError> {
    // The same signing path as seal, here with the prehash from one read of the file.
    let mut f = File::open(bundle).map_err(io_err(bundle))?;
    let mut prehash = minisig::prehasher();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match io::Read::read(&mut f, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(bundle)(e)),
        };
        prehash.update(&buf[..n]);
    }
    let text = minisig::signature_text(
        prehash.finalize().as_bytes(),
        trusted_comment,
        &format!("deskferry bundle {bundle_id}"),
        signer,
    )?;
    let sig_path = signature_path(bundle);
    let _ = fs::remove_file(&sig_path);
    write_atomic(&sig_path, text.as_bytes())
}

fn list_blobs(root: &Path) -> Result<Vec<BlobFile>, FormatError> {
    let mut out = Vec::new();
    for d in fs::read_dir(root).map_err(io_err(root))? {
        let d = d.map_err(io_err(root))?;
        for f in fs::read_dir(d.path()).map_err(io_err(d.path()))? {
            let f = f.map_err(io_err(d.path()))?;
            let size = f.metadata().map_err(io_err(f.path()))?.len();
            // The name is the hash: computed while the blob was added, not again here.
            let sha256 = f.file_name().to_string_lossy().into_owned();
            out.push(BlobFile { sha256, path: f.path(), size });
        }
    }
    out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    Ok(out)
}

/// Sends a byte stream as 1 MiB buffers to the next thread; buffers come back through `free` so
/// no fresh memory is touched per buffer (page faults would cost more than the cipher).
struct ChannelWriter {
    buf: Vec<u8>,
    tx: Sender<Vec<u8>>,
    free: Receiver<Vec<u8>>,
}

impl ChannelWriter {
    fn new(tx: Sender<Vec<u8>>, free: Receiver<Vec<u8>>) -> ChannelWriter {
        ChannelWriter { buf: Vec::with_capacity(CHUNK), tx, free }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let mut next = self.free.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            next.clear();
            let full = std::mem::replace(&mut self.buf, next);
            self.tx.send(full).map_err(|_| {
                io::Error::new(io::ErrorKind::BrokenPipe, "encrypting thread stopped")
            })?;
        }
        Ok(())
    }
}

/// The permission bits of every entry (the reader refuses any other, B038).
pub(crate) const ENTRY_MODE: u32 = 0o644;

/// The deterministic ustar header of one regular file.
pub fn tar_header(path: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(ENTRY_MODE);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

/// Writes the tar of `entries` (under `<top>/`) into `tx`.
fn produce_tar(
    entries: &[BagEntry],
    top: &str,
    mtime: u64,
    out: ChannelWriter,
) -> Result<(), FormatError> {
    let mut b = tar::Builder::new(out);
    for e in entries {
        let path = format!("{top}/{}", e.path);
        let h = tar_header(&path, e.size, mtime).map_err(io_err(&path))?;
        match &e.source {
            Source::Bytes(bytes) => b.append(&h, bytes.as_slice()).map_err(io_err(&path))?,
            Source::File(p) => {
                let f = File::open(p).map_err(io_err(p))?;
                let len = f.metadata().map_err(io_err(p))?.len();
                if len != e.size {
                    return Err(FormatError::Io {
                        path: p.clone(),
                        source: io::Error::other("staged file changed size during seal"),
                    });
                }
                // Large reads: io::copy uses the BufReader's buffer instead of 8 KiB steps.
                b.append(&h, io::BufReader::with_capacity(CHUNK, f)).map_err(io_err(p))?
            }
        }
    }
    let mut w = b.into_inner().map_err(io_err("<tar>"))?;
    w.flush().map_err(io_err("<tar>"))?;
    Ok(())
}

pub(crate) fn encryptor(recipients: &Recipients) -> Result<age::Encryptor, FormatError> {
    if let Some(p) = &recipients.passphrase {
        let mut r = age::scrypt::Recipient::new(p.clone());
        r.set_work_factor(SCRYPT_WORK_FACTOR);
        return age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
            .map_err(|e| FormatError::Encrypt(e.to_string()));
    }
    age::Encryptor::with_recipients(
        recipients.keys.iter().map(|k| k.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| FormatError::Encrypt(e.to_string()))
}

/// Tar on one thread, age on this one, writing the ciphertext on a third and hashing it on a
/// fourth (SHA-256) and a fifth (BLAKE2b-512, minisign's prehash), joined by bounded channels of
/// 1 MiB buffers; returns the ciphertext's SHA-256, size and prehash.
///
/// Where the time goes (a profile of 2 GiB, issue 21): the two hashes of the ciphertext cost
/// more than the cipher (BLAKE2b ~2.5 s, SHA-256 ~1.6 s, ChaCha20-Poly1305 ~2 s). On one
/// thread they were the pipeline's slowest stage, so each hash has its own. Neither runs on the
/// writing thread: when the disk is slower than the cipher, `write` waits for the kernel to
/// flush dirty pages. The writer starts the flush of what it wrote as it goes
/// ([`start_writeback`]), so the closing `fsync` finds little left to write.
fn encrypt_tar(
    entries: &[BagEntry],
    top: &str,
    mtime: u64,
    partial: &Path,
    recipients: &Recipients,
) -> Result<(String, u64, Vec<u8>), FormatError> {
    let enc = encryptor(recipients)?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(partial)
        .map_err(io_err(partial))?;
    let (tx, rx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = bounded(4);
    let (tfree_tx, tfree_rx) = bounded::<Vec<u8>>(8);
    let (ctx, crx): (Sender<Vec<u8>>, Receiver<Vec<u8>>) = bounded(4);
    let (stx, srx) = bounded::<Arc<Vec<u8>>>(8);
    let (btx, brx) = bounded::<Arc<Vec<u8>>>(8);
    let (cfree_tx, cfree_rx) = bounded::<Vec<u8>>(24);
    let (sfree_tx, bfree_tx) = (cfree_tx.clone(), cfree_tx.clone());
    // The last of the three threads holding a buffer hands it back to the cipher.
    fn give_back(buf: Arc<Vec<u8>>, free: &Sender<Vec<u8>>) {
        if let Some(v) = Arc::into_inner(buf) {
            let _ = free.try_send(v);
        }
    }
    let result = thread::scope(|s| {
        let producer =
            s.spawn(move || produce_tar(entries, top, mtime, ChannelWriter::new(tx, tfree_rx)));
        let sha_thread = s.spawn(move || -> (String, u64) {
            let mut sha = Sha256::new();
            let mut size = 0u64;
            for buf in srx.iter() {
                sha.update(buf.as_slice());
                size += buf.len() as u64;
                give_back(buf, &sfree_tx);
            }
            (hex::encode(sha.finalize()), size)
        });
        let prehash_thread = s.spawn(move || -> (Vec<u8>, u64) {
            let mut prehash = minisig::prehasher();
            let mut size = 0u64;
            for buf in brx.iter() {
                prehash.update(&buf);
                size += buf.len() as u64;
                give_back(buf, &bfree_tx);
            }
            (prehash.finalize().as_bytes().to_vec(), size)
        });
        let writer = s.spawn(move || -> io::Result<File> {
            let mut file = file;
            let mut written = 0u64;
            let mut flushed = 0u64;
            for buf in crx.iter() {
                let buf = Arc::new(buf);
                // A hasher gone (it cannot fail) would show as a short hash, caught below.
                let _ = stx.send(buf.clone());
                let _ = btx.send(buf.clone());
                file.write_all(&buf)?;
                written += buf.len() as u64;
                give_back(buf, &cfree_tx);
                if written - flushed >= WRITEBACK_STEP {
                    start_writeback(&file, flushed, written - flushed);
                    flushed = written;
                }
            }
            Ok(file)
        });
        let encrypted = (|| -> io::Result<()> {
            let mut sw = enc.wrap_output(ChannelWriter::new(ctx, cfree_rx))?;
            for buf in rx.iter() {
                sw.write_all(&buf)?;
                let _ = tfree_tx.try_send(buf);
            }
            let mut cw = sw.finish()?;
            cw.flush()
        })();
        // Dropping our receiver stops the tar thread if encryption failed.
        drop(rx);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(FormatError::Encrypt("tar thread panicked".into())));
        let written =
            writer.join().unwrap_or_else(|_| Err(io::Error::other("writer thread panicked")));
        let panicked = |_| FormatError::Encrypt("hash thread panicked".into());
        let hashed = sha_thread.join().map_err(panicked).and_then(|(sha, size)| {
            let (prehash, hashed) = prehash_thread.join().map_err(panicked)?;
            if hashed != size {
                return Err(FormatError::Encrypt(format!(
                    "the two hashes of the ciphertext saw {size} and {hashed} bytes"
                )));
            }
            Ok((sha, size, prehash))
        });
        // The most downstream failure is the cause of the others (a full disk stops everything).
        let file = written.map_err(io_err(partial))?;
        encrypted.map_err(io_err(partial))?;
        produced?;
        let (sha, size, prehash) = hashed?;
        Ok((sha, size, prehash, file))
    });
    match result {
        Ok((sha, size, prehash, file)) => {
            let on_disk = file.metadata().map_err(io_err(partial))?.len();
            if on_disk != size {
                let _ = fs::remove_file(partial);
                return Err(FormatError::Io {
                    path: partial.to_path_buf(),
                    source: io::Error::other(format!("{on_disk} bytes written but {size} hashed")),
                });
            }
            file.sync_all().map_err(io_err(partial))?;
            Ok((sha, size, prehash))
        }
        Err(e) => {
            let _ = fs::remove_file(partial);
            Err(e)
        }
    }
}

/// How much the writer writes between two starts of writeback (a multiple of any page size).
const WRITEBACK_STEP: u64 = 32 << 20;

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk now, without
/// waiting, so the closing `fsync` waits only for the tail instead of the whole file.
/// `POSIX_FADV_DONTNEED` does that on Linux (it starts writeback of the range's dirty pages,
/// then drops those already clean: the bundle need not stay in the page cache). Advice only:
/// where it does nothing, the `fsync` does all the work, as before.
fn start_writeback(file: &File, offset: u64, len: u64) {
    if let Some(len) = std::num::NonZeroU64::new(len) {
        let _ = rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::DontNeed);
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    let tmp = sidecar(path, ".partial");
    let _ = fs::remove_file(&tmp);
    crate::keys::write_new(&tmp, bytes, 0o644)?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(path)
}

fn sync_dir(path: &Path) -> Result<(), FormatError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}
