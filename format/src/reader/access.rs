//! Random access to one bag entry by seeking inside the decrypted stream (age's reader is
//! seekable over a file): a Parquet `ChunkReader` and plain readers. No plaintext touches disk.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use sha2::{Digest, Sha256};

use super::scan::Stream;

/// The decrypted stream, shared by every entry view.
pub(crate) type Shared = Arc<Mutex<Stream>>;

fn read_at(shared: &Shared, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut s = shared.lock().map_err(|_| io::Error::other("stream lock poisoned"))?;
    s.seek(SeekFrom::Start(pos))?;
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// One entry's bytes: plaintext offset and size.
#[derive(Clone)]
pub(crate) struct EntrySlice {
    pub shared: Shared,
    pub offset: u64,
    pub size: u64,
}

impl EntrySlice {
    pub(crate) fn reader(&self, start: u64) -> EntryReader {
        EntryReader { slice: self.clone(), pos: start.min(self.size) }
    }
}

impl Length for EntrySlice {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for EntrySlice {
    type T = EntryReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<EntryReader> {
        if start > self.size {
            return Err(ParquetError::EOF(format!("read at {start} past the end ({})", self.size)));
        }
        Ok(self.reader(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start.checked_add(length as u64).filter(|&e| e <= self.size);
        if end.is_none() {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at {start} past the end ({})",
                self.size
            )));
        }
        let mut buf = vec![0u8; length];
        let n = read_at(&self.shared, self.offset + start, &mut buf)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        if n != length {
            return Err(ParquetError::EOF("stream ended early".into()));
        }
        Ok(Bytes::from(buf))
    }
}

/// A `Read` over one entry.
pub(crate) struct EntryReader {
    slice: EntrySlice,
    pos: u64,
}

impl Read for EntryReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.slice.size - self.pos;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(left).min(1 << 20) as usize;
        let n = read_at(&self.slice.shared, self.slice.offset + self.pos, &mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "bundle stream ended inside an entry",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A blob's bytes, re-hashed while read; a mismatch is an error at the end.
pub(crate) struct BlobReader {
    pub inner: EntryReader,
    pub hasher: Sha256,
    pub expected: String,
    pub done: bool,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if !self.done {
                self.done = true;
                let got = hex::encode(std::mem::take(&mut self.hasher).finalize());
                if got != self.expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("blob {} hashes to {got}", self.expected),
                    ));
                }
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
