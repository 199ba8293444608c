//! `BlobStore`: the work directory's content-addressed blobs, shared with download tasks.
//!
//! Blobs survive a resume (their name is their hash), so a store hands out temp files, adopts
//! them under their hash with fsync + rename, and re-hashes a stored blob before it is reused.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::BlobRef;
use crate::error::{FormatError, io_err};

/// The blobs of one work directory; cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `<work>/blobs/sha256`.
    root: PathBuf,
    /// `<work>/tmp`.
    tmp: PathBuf,
    counter: AtomicU64,
}

/// True for 64 hex digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl BlobStore {
    pub(crate) fn new(work: &Path) -> BlobStore {
        BlobStore {
            inner: Arc::new(Inner {
                root: work.join("blobs/sha256"),
                tmp: work.join("tmp"),
                counter: AtomicU64::new(0),
            }),
        }
    }

    /// A fresh file name in the work directory's `tmp/` (not created); unique in this process
    /// and across resumed runs (the process id is part of it; `tmp/` is emptied on resume).
    pub fn tmp_path(&self) -> PathBuf {
        let n = self.inner.counter.fetch_add(1, Ordering::Relaxed);
        self.inner.tmp.join(format!("blob-{}-{n}", std::process::id()))
    }

    /// Where the blob with this (lower-case) hash lives.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.inner.root.join(&sha256[..2.min(sha256.len())]).join(sha256)
    }

    /// True when a blob with this hash is stored (not re-hashed; see [`BlobStore::verify`]).
    pub fn contains(&self, sha256: &str) -> bool {
        is_sha256_hex(sha256) && self.path(&sha256.to_ascii_lowercase()).is_file()
    }

    /// Takes a file written at a [`BlobStore::tmp_path`] whose SHA-256 and size the caller
    /// computed while writing it: fsyncs it and renames it to its hash, or drops it when that
    /// blob is stored already. The caller's hash is trusted (the writer hashed the bytes it
    /// wrote); a wrong one would be caught by the reader's tier 3 as B045.
    pub fn adopt(&self, tmp: &Path, sha256: &str, size: u64) -> Result<BlobRef, FormatError> {
        self.adopt_with(tmp, sha256, size, true)
    }

    /// `adopt`, with the fsyncs only when `durable` (a writer that never checkpoints cannot be
    /// resumed, so its blobs need not survive a crash).
    fn adopt_with(
        &self,
        tmp: &Path,
        sha256: &str,
        size: u64,
        durable: bool,
    ) -> Result<BlobRef, FormatError> {
        if !is_sha256_hex(sha256) {
            return Err(FormatError::Meta(format!("blob hash {sha256:?} is not 64 hex digits")));
        }
        let sha256 = sha256.to_ascii_lowercase();
        let actual = fs::metadata(tmp).map_err(io_err(tmp))?.len();
        if actual != size {
            let _ = fs::remove_file(tmp);
            return Err(FormatError::Io {
                path: tmp.to_path_buf(),
                source: io::Error::other(format!("blob is {actual} bytes, expected {size}")),
            });
        }
        let dest = self.path(&sha256);
        if dest.is_file() {
            fs::remove_file(tmp).map_err(io_err(tmp))?;
            return Ok(BlobRef { sha256, size });
        }
        if durable {
            File::open(tmp).and_then(|f| f.sync_all()).map_err(io_err(tmp))?;
        }
        let dir = dest.parent().expect("blob path has a parent");
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        fs::rename(tmp, &dest).map_err(io_err(&dest))?;
        if durable {
            // The rename must survive a crash before the checkpoint that names the blob's row.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
        }
        Ok(BlobRef { sha256, size })
    }

    /// Re-hashes a stored blob: `Some` when it is there and its bytes match its name; a
    /// corrupt one is removed (and `None` returned) so it is fetched again.
    pub fn verify(&self, sha256: &str) -> Result<Option<BlobRef>, FormatError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let sha256 = sha256.to_ascii_lowercase();
        let path = self.path(&sha256);
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let (got, size) =
            hash_reader(&mut io::BufReader::with_capacity(256 * 1024, f)).map_err(io_err(&path))?;
        if got != sha256 {
            fs::remove_file(&path).map_err(io_err(&path))?;
            return Ok(None);
        }
        Ok(Some(BlobRef { sha256, size }))
    }

    /// The hashes of every stored blob.
    pub fn list(&self) -> Result<Vec<String>, FormatError> {
        let root = &self.inner.root;
        let mut out = Vec::new();
        let dirs = match fs::read_dir(root) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(root)(e)),
        };
        for d in dirs {
            let d = d.map_err(io_err(root))?.path();
            if !d.is_dir() {
                continue;
            }
            for f in fs::read_dir(&d).map_err(io_err(&d))? {
                let name = f.map_err(io_err(&d))?.file_name().to_string_lossy().into_owned();
                if is_sha256_hex(&name) {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Copies bytes into a blob (once per content) and returns its hash and size.
    pub fn put(&self, r: &mut dyn Read) -> Result<BlobRef, FormatError> {
        self.put_with(r, true)
    }

    /// `put`, durable (fsynced) or not; see `adopt_with`.
    pub(crate) fn put_with(&self, r: &mut dyn Read, durable: bool) -> Result<BlobRef, FormatError> {
        let tmp = self.tmp_path();
        let written = (|| -> Result<(String, u64), FormatError> {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut h = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(FormatError::Io {
                            path: PathBuf::from("<blob source>"),
                            source: e,
                        });
                    }
                };
                h.update(&buf[..n]);
                f.write_all(&buf[..n]).map_err(io_err(&tmp))?;
                size += n as u64;
            }
            Ok((hex::encode(h.finalize()), size))
        })();
        match written {
            Ok((sha, size)) => self.adopt_with(&tmp, &sha, size, durable),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn hash_reader(r: &mut dyn Read) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(h.finalize()), size))
}
