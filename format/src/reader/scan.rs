//! Tier 2's single streaming pass: age decryption on a second thread, a strict ustar parser on
//! this one, every entry hashed and recorded (path, plaintext offset, size, SHA-256). Nothing is
//! written to disk; only tag files (bounded) are kept in memory.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use super::limits::*;
use super::{EntryInfo, Progress, Stage};
use crate::FORMAT_VERSION;
use crate::error::{BundleError, ErrorCode as C, berr};
use crate::meta::BundleJson;
use crate::writer::ENTRY_MODE;

/// The decrypting reader the bundle is read through.
pub(crate) type Stream = age::stream::StreamReader<BufReader<File>>;

const BUF: usize = 1 << 20;
const BAGIT_TXT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
/// Non-payload files of the bag (the only names allowed outside data/).
pub(crate) const TAG_NAMES: [&str; 5] =
    ["bagit.txt", "bundle.json", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"];

/// What the pass found.
pub(crate) struct Scan {
    pub entries: Vec<EntryInfo>,
    pub tags: HashMap<String, Vec<u8>>,
    pub bundle_json: BundleJson,
}

/// Maps an error of age's stream reader to its code.
pub(crate) fn stream_error(e: &io::Error, at: u64) -> BundleError {
    let msg = e.to_string();
    let code = if e.kind() == io::ErrorKind::UnexpectedEof {
        C::B023
    } else if msg.contains("last chunk has been processed") {
        C::B024
    } else if e.kind() == io::ErrorKind::InvalidData {
        C::B022
    } else {
        C::B012
    };
    BundleError::new(code, format!("decrypting at plaintext offset {at}: {msg}"))
}

enum Msg {
    Data(Vec<u8>),
    Err(io::Error),
}

/// Pulls plaintext buffers from the decrypting thread.
struct Plain<'p> {
    rx: Receiver<Msg>,
    progress: &'p Progress,
    total: u64,
    recycle: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    offset: u64,
    eof: bool,
}

impl Plain<'_> {
    /// Fills `buf` completely; Ok(false) on a clean end of stream before any byte.
    fn read_exact_or_eof(&mut self, buf: &mut [u8]) -> Result<bool, BundleError> {
        let mut filled = 0;
        while filled < buf.len() {
            if self.pos == self.cur.len() {
                if !self.next_buf()? {
                    if filled == 0 {
                        return Ok(false);
                    }
                    return berr(
                        C::B025,
                        format!("archive ends inside a block at plaintext offset {}", self.offset),
                    );
                }
                continue;
            }
            let n = (self.cur.len() - self.pos).min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
            self.pos += n;
            filled += n;
            self.offset += n as u64;
        }
        Ok(true)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), BundleError> {
        if !self.read_exact_or_eof(buf)? {
            return berr(C::B025, format!("archive ends before {what}"));
        }
        Ok(())
    }

    /// Passes `n` bytes to `f` in slices.
    fn consume(
        &mut self,
        mut n: u64,
        what: &str,
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), BundleError> {
        while n > 0 {
            if self.pos == self.cur.len() {
                if !self.next_buf()? {
                    return berr(C::B025, format!("archive ends inside {what}"));
                }
                continue;
            }
            let k = ((self.cur.len() - self.pos) as u64).min(n) as usize;
            f(&self.cur[self.pos..self.pos + k]);
            self.pos += k;
            self.offset += k as u64;
            n -= k as u64;
        }
        Ok(())
    }

    fn next_buf(&mut self) -> Result<bool, BundleError> {
        if self.eof {
            return Ok(false);
        }
        match self.rx.recv() {
            Ok(Msg::Data(b)) => {
                self.progress.tell(Stage::Decrypt, self.offset, self.total);
                let old = std::mem::replace(&mut self.cur, b);
                let _ = self.recycle.try_send(old);
                self.pos = 0;
                Ok(true)
            }
            Ok(Msg::Err(e)) => Err(stream_error(&e, self.offset)),
            Err(_) => {
                self.eof = true;
                Ok(false)
            }
        }
    }
}

fn decrypt_loop(mut stream: Stream, tx: Sender<Msg>, free: Receiver<Vec<u8>>) -> Stream {
    loop {
        let mut buf = free.try_recv().unwrap_or_default();
        buf.resize(BUF, 0);
        let mut n = 0;
        let mut failed = None;
        while n < BUF {
            match stream.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        buf.truncate(n);
        // Authenticated bytes before a failure are passed on first; the parser decides with them.
        if n > 0 && tx.send(Msg::Data(buf)).is_err() {
            return stream;
        }
        if let Some(e) = failed {
            let _ = tx.send(Msg::Err(e));
            return stream;
        }
        if n < BUF {
            return stream;
        }
    }
}

/// Decrypts and parses the whole bundle once. Returns the stream (for later seeks) and the scan.
pub(crate) fn scan(
    stream: Stream,
    bundle_id: &str,
    progress: &Progress,
    total: u64,
) -> (Stream, Result<Scan, BundleError>) {
    let (tx, rx) = bounded::<Msg>(4);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(6);
    thread::scope(|s| {
        let h = s.spawn(move || decrypt_loop(stream, tx, free_rx));
        let mut plain = Plain {
            rx,
            progress,
            total,
            recycle: free_tx,
            cur: Vec::new(),
            pos: 0,
            offset: 0,
            eof: false,
        };
        let result = parse(&mut plain, bundle_id);
        if result.is_ok() {
            progress.tell(Stage::Decrypt, total, total);
        }
        // Stop the decrypting thread early on failure.
        drop(plain);
        let stream = h.join().expect("decrypting thread does not panic");
        (stream, result)
    })
}

fn octal(field: &[u8], what: &str) -> Result<u64, BundleError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return berr(C::B025, format!("{what}: base-256 number field"));
    }
    let s: Vec<u8> = field.iter().copied().take_while(|&b| b != 0).collect();
    let t = std::str::from_utf8(&s)
        .map_err(|_| BundleError::new(C::B025, format!("{what}: not octal")))?
        .trim();
    if t.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(t, 8)
        .map_err(|_| BundleError::new(C::B025, format!("{what}: {t:?} is not octal")))
}

fn cstr(field: &[u8]) -> Result<&[u8], ()> {
    match field.iter().position(|&b| b == 0) {
        None => Ok(field),
        Some(i) if field[i..].iter().all(|&b| b == 0) => Ok(&field[..i]),
        Some(_) => Err(()),
    }
}

/// Checks a full entry name and returns it relative to `<bundle_id>/`.
pub(crate) fn check_name(name: &[u8], bundle_id: &str) -> Result<String, BundleError> {
    if name.len() > MAX_NAME {
        return berr(C::B034, format!("entry name of {} bytes", name.len()));
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return berr(
            C::B027,
            format!("entry name {:?} is not UTF-8", String::from_utf8_lossy(name)),
        );
    };
    if name.starts_with('/') {
        return berr(C::B028, format!("entry {name:?} is absolute"));
    }
    if name.is_empty()
        || name.contains('\\')
        || name.contains('\0')
        || name
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.starts_with('~'))
    {
        return berr(C::B027, format!("entry {name:?} is not a safe relative name"));
    }
    match name.split_once('/') {
        Some((top, rest)) if top == bundle_id => Ok(rest.to_string()),
        _ => berr(C::B031, format!("entry {name:?} is outside the bag directory {bundle_id}/")),
    }
}

fn tag_limit(name: &str) -> Option<u64> {
    match name {
        "bagit.txt" => Some(MAX_SMALL_TAG),
        "bag-info.txt" => Some(MAX_SMALL_TAG),
        "tagmanifest-sha256.txt" => Some(MAX_SMALL_TAG),
        "bundle.json" => Some(MAX_BUNDLE_JSON),
        "manifest-sha256.txt" => Some(MAX_MANIFEST),
        _ => None,
    }
}

fn parse(p: &mut Plain, bundle_id: &str) -> Result<Scan, BundleError> {
    let mut entries: Vec<EntryInfo> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut tags: HashMap<String, Vec<u8>> = HashMap::new();
    let mut bundle_json = None;
    let mut header = [0u8; 512];
    loop {
        let at = p.offset;
        if !p.read_exact_or_eof(&mut header)? {
            return berr(C::B025, "archive ends without its end-of-archive blocks");
        }
        if header.iter().all(|&b| b == 0) {
            p.read_exact(&mut header, "the second end-of-archive block")?;
            if header.iter().any(|&b| b != 0) {
                return berr(C::B025, format!("lone zero block at plaintext offset {at}"));
            }
            let mut extra = false;
            // Read to the end so the final chunk is authenticated; any byte here is not ours.
            while p.next_buf_any(&mut extra)? {}
            if extra {
                return berr(C::B025, "data after the end-of-archive blocks");
            }
            break;
        }
        let stored = octal(&header[148..156], "header checksum")?;
        let sum: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
            .sum();
        if stored != sum {
            return berr(C::B025, format!("bad header checksum at plaintext offset {at}"));
        }
        let kind = header[156];
        if kind != b'0' && kind != 0 {
            let what = match kind {
                b'1' => "hard link",
                b'2' => "symbolic link",
                b'3' | b'4' => "device",
                b'5' => "directory",
                b'6' => "fifo",
                b'x' | b'g' => "PAX extension",
                b'L' | b'K' => "GNU long name",
                _ => "non-regular",
            };
            let name = String::from_utf8_lossy(cstr(&header[..100]).unwrap_or(&header[..100]))
                .into_owned();
            return berr(C::B026, format!("{what} entry {name:?} at plaintext offset {at}"));
        }
        if &header[257..263] != b"ustar\0" || &header[263..265] != b"00" {
            return berr(C::B025, format!("not a POSIX ustar header at plaintext offset {at}"));
        }
        let (Ok(name), Ok(prefix)) = (cstr(&header[..100]), cstr(&header[345..500])) else {
            return berr(
                C::B027,
                format!("entry name with an embedded NUL at plaintext offset {at}"),
            );
        };
        let mut full = Vec::with_capacity(prefix.len() + 1 + name.len());
        if !prefix.is_empty() {
            full.extend_from_slice(prefix);
            full.push(b'/');
        }
        full.extend_from_slice(name);
        let path = check_name(&full, bundle_id)?;
        // Stock `tar x` as root restores these bits: a setuid or executable entry is refused
        // however honest the rest looks.
        let mode = octal(&header[100..108], "mode")?;
        if mode != u64::from(ENTRY_MODE) {
            return berr(
                C::B038,
                format!("entry {path:?} has mode {mode:o}; the writer only writes {ENTRY_MODE:o}"),
            );
        }
        let size = octal(&header[124..136], "size")?;
        if !seen.insert(path.clone()) {
            return berr(C::B029, format!("entry {path:?} appears twice"));
        }
        if entries.len() >= MAX_ENTRIES {
            return berr(C::B034, format!("more than {MAX_ENTRIES} entries"));
        }
        let index = entries.len();
        if index == 0 && path != "bagit.txt" {
            return berr(C::B037, format!("first entry is {path:?}, not bagit.txt"));
        }
        if index == 1 && path != "bundle.json" {
            return berr(C::B037, format!("second entry is {path:?}, not bundle.json"));
        }
        let offset = p.offset;
        let mut h = Sha256::new();
        if path.starts_with("data/") {
            p.consume(size, &path, |b| h.update(b))?;
        } else {
            let Some(limit) = tag_limit(&path) else {
                return berr(C::B031, format!("entry {path:?} is not a file of the bag"));
            };
            if size > limit {
                return berr(C::B034, format!("{path} is {size} bytes (limit {limit})"));
            }
            let mut body = vec![0u8; size as usize];
            p.read_exact(&mut body, &path)?;
            h.update(&body);
            if path == "bagit.txt" && body != BAGIT_TXT {
                return berr(C::B032, format!("bagit.txt is {:?}", String::from_utf8_lossy(&body)));
            }
            if path == "bundle.json" {
                bundle_json = Some(parse_bundle_json(&body)?);
            }
            tags.insert(path.clone(), body);
        }
        let pad = (512 - size % 512) % 512;
        p.consume(pad, "padding", |_| {})?;
        entries.push(EntryInfo { path, offset, size, sha256: hex::encode(h.finalize()) });
    }
    let Some(bundle_json) = bundle_json else {
        return berr(C::B030, "bundle.json is missing");
    };
    Ok(Scan { entries, tags, bundle_json })
}

pub(crate) fn parse_bundle_json(body: &[u8]) -> Result<BundleJson, BundleError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BundleError::new(C::B036, format!("bundle.json: {e}")))?;
    match v.get("format_version").and_then(|x| x.as_u64()) {
        Some(n) if n > u64::from(FORMAT_VERSION) => {
            return berr(
                C::B010,
                format!("bundle.json: format version {n}: written by a newer deskferry; upgrade"),
            );
        }
        Some(_) => {}
        None => return berr(C::B036, "bundle.json: format_version missing"),
    }
    serde_json::from_value(v).map_err(|e| BundleError::new(C::B036, format!("bundle.json: {e}")))
}

impl Plain<'_> {
    /// Reads one more buffer to the end of the stream, noting any byte seen; Ok(false) at the end.
    fn next_buf_any(&mut self, extra: &mut bool) -> Result<bool, BundleError> {
        if self.pos < self.cur.len() {
            *extra = true;
            self.pos = self.cur.len();
        }
        self.next_buf()
    }
}
