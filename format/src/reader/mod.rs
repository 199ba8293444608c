//! `BundleReader`: verifies a bundle in three tiers before handing out a single row, then reads
//! tables and blobs by seeking inside the decrypted stream. Nothing is ever written to disk.

mod access;
mod checks;
mod decode;
mod files;
pub mod limits;
mod pages;
mod quick;
mod scan;
mod tables;

pub use tables::VerifyStats;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use chrono::{DateTime, Utc};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use sha2::{Digest, Sha256};

use crate::codec;
use crate::error::{BundleError, ErrorCode as C, berr};
use crate::keys::{Identities, SignerKey};
use crate::meta::{BundleJson, Envelope};
use crate::schema::{Record, Table};
use access::{BlobReader, EntrySlice, Shared};
use checks::DataKind;
use limits::{MAX_AGE_HEADER, MAX_FOOTER};

/// Options of verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The time the purge date is compared with.
    pub now: DateTime<Utc>,
    /// Accept a bundle past its purge date.
    pub allow_expired: bool,
    /// Told how far verification is (a progress bar on a terminal); nothing by default.
    pub progress: Progress,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { now: Utc::now(), allow_expired: false, progress: Progress::none() }
    }
}

/// Which pass of verification a [`Progress`] report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Tier 1: the ciphertext's bytes hashed for the signature (bytes of the file).
    Signature,
    /// Tiers 2 and 3: the payload decrypted and every entry hashed (plaintext bytes).
    Decrypt,
    /// Tier 3: every row of every table decoded (rows).
    Rows,
}

impl Stage {
    /// What a progress line calls it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Signature => "signature",
            Stage::Decrypt => "decrypt and hash",
            Stage::Rows => "decode rows",
        }
    }
}

/// Where verification is: called with a stage and how much of it is done out of its total,
/// from the verifying threads, often (every buffer or part), so it must be cheap.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<ProgressFn>>);

/// What a [`Progress`] calls: the stage, done, total.
type ProgressFn = dyn Fn(Stage, u64, u64) + Send + Sync;

impl Progress {
    /// Reports nothing.
    pub fn none() -> Progress {
        Progress(None)
    }

    /// Reports to `f(stage, done, total)`.
    pub fn to(f: impl Fn(Stage, u64, u64) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(f)))
    }

    pub(crate) fn tell(&self, stage: Stage, done: u64, total: u64) {
        if let Some(f) = &self.0 {
            f(stage, done, total);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Progress(reported)" } else { "Progress(none)" })
    }
}

/// What tier 1 established.
#[derive(Debug, Clone)]
pub struct QuickReport {
    /// The envelope (verified against the signature).
    pub envelope: Envelope,
    /// The signer's key id.
    pub signer_key_id: String,
    /// The signed trusted comment, verbatim.
    pub trusted_comment: String,
}

/// One bag entry: bag-relative path, plaintext offset of its bytes in the tar, size, SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Path relative to the bag directory (`data/tables/users/part-00000.parquet`).
    pub path: String,
    /// Offset of the entry's bytes in the plaintext tar.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Tier 1, no secret: signature against the pinned signer, envelope hash, ciphertext SHA-256 and
/// size, format version, purge date. Sidecars are `<bundle>.minisig` and `<bundle>.json`.
pub fn verify_quick(
    bundle: &Path,
    signer: &SignerKey,
    opts: &VerifyOptions,
) -> Result<QuickReport, BundleError> {
    quick::verify_quick(bundle, signer, opts)
}

/// A bundle that passed all three tiers.
pub struct BundleReader {
    quick: QuickReport,
    bundle_json: BundleJson,
    entries: Vec<EntryInfo>,
    index: HashMap<String, usize>,
    parts: HashMap<Table, Vec<usize>>,
    shared: Shared,
    stats: VerifyStats,
}

fn age_error(e: age::DecryptError, path: &Path) -> BundleError {
    use age::DecryptError as D;
    let code = match &e {
        // A wrong passphrase fails the scrypt stanza's AEAD: that is the wrong-key case too.
        D::NoMatchingKeys | D::KeyDecryptionFailed | D::DecryptionFailed => C::B020,
        D::ExcessiveWork { .. } => C::B034,
        D::Io(io)
            if !matches!(io.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData) =>
        {
            C::B012
        }
        _ => C::B021,
    };
    BundleError::new(code, format!("{}: {e}", path.display()))
}

/// Length of the age header (through the `---` MAC line) and the 16-byte payload nonce.
fn header_len(file: &mut File, path: &Path) -> Result<u64, BundleError> {
    let mut prefix = Vec::new();
    Read::by_ref(file)
        .take(MAX_AGE_HEADER)
        .read_to_end(&mut prefix)
        .map_err(|e| BundleError::new(C::B012, format!("{}: {e}", path.display())))?;
    let Some(mac) = prefix.windows(5).position(|w| w == b"\n--- ") else {
        return berr(
            C::B021,
            format!("{}: no age header end within {MAX_AGE_HEADER} bytes", path.display()),
        );
    };
    let Some(nl) = prefix[mac + 1..].iter().position(|&b| b == b'\n') else {
        return berr(C::B021, format!("{}: age header MAC line unterminated", path.display()));
    };
    Ok((mac + 1 + nl + 1) as u64 + 16)
}

/// Ciphertext payload length age produces for `p` plaintext bytes (64 KiB chunks + 16-byte tags).
fn payload_len(p: u64) -> u64 {
    let chunks = if p == 0 { 1 } else { p.div_ceil(65536) };
    p + 16 * chunks
}

impl BundleReader {
    /// Tiers 1, 2 and 3 (every row of every table decoded). Returns only when everything passed;
    /// nothing is written to disk.
    pub fn open(
        bundle: &Path,
        signer: &SignerKey,
        identities: &Identities,
        opts: &VerifyOptions,
    ) -> Result<BundleReader, BundleError> {
        let io_e = |e: io::Error| BundleError::new(C::B012, format!("{}: {e}", bundle.display()));
        // One open file for all tiers: what tier 1 checked is what gets decrypted.
        let mut file = files::open_regular(bundle, C::B012)?;
        let quick =
            quick::verify_quick_on(bundle, Some(file.try_clone().map_err(io_e)?), signer, opts)?;
        let env = &quick.envelope;
        file.seek(SeekFrom::Start(0)).map_err(io_e)?;
        let file_len = file.metadata().map_err(io_e)?.len();
        // The signed envelope says how long the plaintext is, so a re-signed truncated or
        // extended file is named for what it is rather than as a failed chunk.
        let start = header_len(&mut file, bundle)?;
        let want = payload_len(env.plaintext_size);
        let have = file_len.saturating_sub(start);
        if have < want {
            return berr(
                C::B023,
                format!("{}: {have} payload bytes, {want} expected", bundle.display()),
            );
        }
        if have > want {
            return berr(
                C::B024,
                format!("{}: {} bytes after the final chunk", bundle.display(), have - want),
            );
        }
        file.seek(SeekFrom::Start(0)).map_err(io_e)?;
        let dec = age::Decryptor::new_buffered(BufReader::with_capacity(64 * 1024, file))
            .map_err(|e| age_error(e, bundle))?;
        let stream = dec.decrypt(identities.iter()).map_err(|e| age_error(e, bundle))?;

        let (stream, scanned) =
            scan::scan(stream, &env.bundle_id, &opts.progress, env.plaintext_size);
        let scan = scanned?;
        let manifest = checks::tier2(&scan)?;
        let kinds = checks::tier3_hashes(&scan, &manifest, env)?;
        let parts = checks::table_parts(&scan, &kinds, env)?;
        let blobs: BTreeMap<String, u64> = kinds
            .iter()
            .filter_map(|(i, k)| match k {
                DataKind::Blob(h) => Some((h.clone(), scan.entries[*i].size)),
                DataKind::Part(_) => None,
            })
            .collect();
        let index = scan.entries.iter().enumerate().map(|(i, e)| (e.path.clone(), i)).collect();
        let mut reader = BundleReader {
            quick,
            bundle_json: scan.bundle_json,
            entries: scan.entries,
            index,
            parts,
            shared: Arc::new(Mutex::new(stream)),
            stats: VerifyStats::default(),
        };
        reader.check_tables(&opts.progress)?;
        reader.check_attachment_blobs(&blobs)?;
        Ok(reader)
    }

    fn slice(&self, i: usize) -> EntrySlice {
        let e = &self.entries[i];
        EntrySlice { shared: self.shared.clone(), offset: e.offset, size: e.size }
    }

    fn builder(
        &self,
        i: usize,
    ) -> Result<ParquetRecordBatchReaderBuilder<EntrySlice>, BundleError> {
        let path = &self.entries[i].path;
        let slice = self.slice(i);
        let mut tail = [0u8; 8];
        let mut r = slice.reader(slice.size.saturating_sub(8));
        if slice.size < 12 || r.read_exact(&mut tail).is_err() || &tail[4..] != b"PAR1" {
            return berr(C::B043, format!("{path}: no Parquet footer"));
        }
        let footer = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
        if footer > MAX_FOOTER {
            return berr(
                C::B034,
                format!("{path}: Parquet footer of {footer} bytes (limit {MAX_FOOTER})"),
            );
        }
        ParquetRecordBatchReaderBuilder::try_new(slice)
            .map_err(|e| BundleError::new(C::B043, format!("{path}: {e}")))
    }

    /// What tier 3's decode pass measured (rows, decoded bytes, time).
    pub fn verify_stats(&self) -> &VerifyStats {
        &self.stats
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.quick.envelope
    }

    /// What tier 1 established (signer, trusted comment).
    pub fn quick_report(&self) -> &QuickReport {
        &self.quick
    }

    /// bundle.json.
    pub fn bundle_json(&self) -> &BundleJson {
        &self.bundle_json
    }

    /// SHA-256 of tagmanifest-sha256.txt.
    pub fn content_id(&self) -> &str {
        &self.quick.envelope.content_id
    }

    /// Every bag entry, in tar order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// Rows of a table (0 when absent).
    pub fn row_count(&self, table: Table) -> u64 {
        self.bundle_json.tables.iter().find(|t| t.table == table.name()).map_or(0, |t| t.rows)
    }

    /// Arrow batches of one table, in id order, read by seeking inside the decrypted stream.
    pub fn batches(
        &self,
        table: Table,
    ) -> Result<Box<dyn Iterator<Item = Result<RecordBatch, BundleError>> + '_>, BundleError> {
        let parts: Vec<usize> = self.parts.get(&table).cloned().unwrap_or_default();
        Ok(Box::new(PartBatches {
            reader: self,
            parts: parts.into_iter(),
            current: None,
            path: String::new(),
            table,
        }))
    }

    /// Typed rows of one table, in id order.
    pub fn records<R: Record>(
        &self,
    ) -> Result<Box<dyn Iterator<Item = Result<R, BundleError>> + '_>, BundleError> {
        let batches = self.batches(R::TABLE)?;
        Ok(Box::new(batches.flat_map(|b| {
            let rows: Vec<Result<R, BundleError>> = match b.and_then(|b| {
                codec::from_batch::<R>(&b)
                    .map_err(|e| BundleError::new(C::B043, format!("{}: {e}", R::TABLE)))
            }) {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            rows
        })))
    }

    /// The bytes of one blob (re-hashed while read; a mismatch is an error at the end).
    pub fn open_blob(&self, sha256: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        let sha = sha256.to_ascii_lowercase();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return berr(C::B046, format!("{sha256:?} is not a SHA-256"));
        }
        let path = format!("data/blobs/sha256/{}/{}", &sha[..2], sha);
        let Some(&i) = self.index.get(&path) else {
            return berr(C::B046, format!("no blob {sha}"));
        };
        Ok(Box::new(BlobReader {
            inner: self.slice(i).reader(0),
            hasher: Sha256::new(),
            expected: sha,
            done: false,
        }))
    }

    /// Copies one bag entry's plaintext (for `export`); returns its size.
    pub fn copy_entry(&self, path: &str, out: &mut dyn Write) -> Result<u64, BundleError> {
        let Some(&i) = self.index.get(path) else {
            return berr(C::B030, format!("no entry {path:?}"));
        };
        let mut r = self.slice(i).reader(0);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        loop {
            let k =
                r.read(&mut buf).map_err(|e| BundleError::new(C::B022, format!("{path}: {e}")))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k])
                .map_err(|e| BundleError::new(C::B012, format!("writing {path}: {e}")))?;
            n += k as u64;
        }
        if hex::encode(h.finalize()) != self.entries[i].sha256 {
            return berr(C::B040, format!("{path}: bytes changed since verification"));
        }
        Ok(n)
    }
}

struct PartBatches<'a> {
    reader: &'a BundleReader,
    parts: std::vec::IntoIter<usize>,
    current: Option<ParquetRecordBatchReader>,
    path: String,
    table: Table,
}

impl Iterator for PartBatches<'_> {
    type Item = Result<RecordBatch, BundleError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = &mut self.current {
                match r.next() {
                    Some(Ok(b)) => {
                        let table = self.table;
                        return Some(codec::conform(b, table).map_err(|e| {
                            BundleError::new(C::B043, format!("{}: {e}", self.path))
                        }));
                    }
                    Some(Err(e)) => {
                        self.current = None;
                        self.parts = Vec::new().into_iter();
                        return Some(Err(BundleError::new(C::B043, format!("{}: {e}", self.path))));
                    }
                    None => self.current = None,
                }
            }
            let i = self.parts.next()?;
            self.path = self.reader.entries[i].path.clone();
            let built = self.reader.builder(i).and_then(|b| {
                b.with_batch_size(codec::BATCH_ROWS)
                    .build()
                    .map_err(|e| BundleError::new(C::B043, format!("{}: {e}", self.path)))
            });
            match built {
                Ok(r) => self.current = Some(r),
                Err(e) => {
                    self.parts = Vec::new().into_iter();
                    return Some(Err(e));
                }
            }
        }
    }
}
