//! The page headers of every column chunk, read before a single page is decompressed.
//!
//! The Parquet reader allocates what a page header says the page decompresses to, and a
//! dictionary page is held whole while its column is read: a few kilobytes of zstd can claim
//! gigabytes. So every header of every column chunk is read first (its Thrift compact encoding,
//! only the fields needed) and checked against the hard limits: decoded size of data and
//! dictionary pages, values per column chunk. The headers must also add up to what the footer
//! says (values, byte range), or the file is not what it claims.

use std::io::{BufReader, Read};

use parquet::file::metadata::ParquetMetaData;

use super::access::EntrySlice;
use super::limits::{MAX_CHUNK_VALUES, MAX_DATA_PAGE, MAX_DICTIONARY_PAGE, MAX_PAGE_HEADER};
use crate::error::{BundleError, ErrorCode as C, berr};

/// Thrift compact protocol type ids.
mod ty {
    pub const STOP: u8 = 0;
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const UUID: u8 = 13;
}

/// Nesting deeper than this is not a page header.
const MAX_DEPTH: u32 = 16;

/// Parquet's `PageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Index,
    Dictionary,
    DataV2,
}

/// The fields of a page header the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    kind: Kind,
    uncompressed: i64,
    compressed: i64,
    /// Values of a data page (with nulls) or entries of a dictionary page.
    values: i64,
}

/// A Thrift compact reader over a byte stream that counts what it consumed.
struct Compact<R> {
    r: R,
    read: u64,
}

impl<R: Read> Compact<R> {
    fn byte(&mut self) -> Result<u8, String> {
        if self.read >= MAX_PAGE_HEADER {
            return Err(format!("page header longer than {MAX_PAGE_HEADER} bytes"));
        }
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b).map_err(|e| format!("page header: {e}"))?;
        self.read += 1;
        Ok(b[0])
    }

    fn skip_bytes(&mut self, n: u64) -> Result<(), String> {
        for _ in 0..n {
            self.byte()?;
        }
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("page header: varint longer than 10 bytes".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The next field's id and type, or None at the struct's end.
    fn field(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let b = self.byte()?;
        let t = b & 0x0f;
        if t == ty::STOP {
            return Ok(None);
        }
        let delta = b >> 4;
        *last = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| "page header: field id out of range")?
        } else {
            last.wrapping_add(i16::from(delta))
        };
        Ok(Some((*last, t)))
    }

    /// Skips one value of type `t` (`in_list`: booleans are a byte there, not in the type).
    fn skip(&mut self, t: u8, in_list: bool, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("page header nested too deeply".into());
        }
        match t {
            ty::TRUE | ty::FALSE if !in_list => Ok(()),
            ty::TRUE | ty::FALSE | ty::BYTE => self.skip_bytes(1),
            ty::I16 | ty::I32 | ty::I64 => self.varint().map(drop),
            ty::DOUBLE => self.skip_bytes(8),
            ty::UUID => self.skip_bytes(16),
            ty::BINARY => {
                let n = self.varint()?;
                self.skip_bytes(n)
            }
            ty::LIST | ty::SET => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                for _ in 0..n {
                    self.skip(h & 0x0f, true, depth + 1)?;
                }
                Ok(())
            }
            ty::MAP => {
                let n = self.varint()?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.skip(kv >> 4, true, depth + 1)?;
                        self.skip(kv & 0x0f, true, depth + 1)?;
                    }
                }
                Ok(())
            }
            ty::STRUCT => {
                let mut last = 0;
                while let Some((_, t)) = self.field(&mut last)? {
                    self.skip(t, false, depth + 1)?;
                }
                Ok(())
            }
            other => Err(format!("page header: unknown Thrift type {other}")),
        }
    }

    fn i32(&mut self, t: u8) -> Result<i64, String> {
        if t != ty::I32 {
            return Err(format!("page header: an i32 field has type {t}"));
        }
        self.zigzag()
    }

    /// Field 1 (`num_values`) of a data, dictionary or v2 data page header; the rest skipped.
    fn num_values(&mut self) -> Result<Option<i64>, String> {
        let mut last = 0;
        let mut out = None;
        while let Some((id, t)) = self.field(&mut last)? {
            match id {
                1 => out = Some(self.i32(t)?),
                _ => self.skip(t, false, 1)?,
            }
        }
        Ok(out)
    }

    fn header(&mut self) -> Result<Header, String> {
        let mut last = 0;
        let (mut kind, mut uncompressed, mut compressed, mut values) = (None, None, None, None);
        while let Some((id, t)) = self.field(&mut last)? {
            match (id, t) {
                (1, _) => kind = Some(self.i32(t)?),
                (2, _) => uncompressed = Some(self.i32(t)?),
                (3, _) => compressed = Some(self.i32(t)?),
                (5 | 7 | 8, ty::STRUCT) => values = self.num_values()?,
                _ => self.skip(t, false, 0)?,
            }
        }
        let kind = match kind {
            Some(0) => Kind::Data,
            Some(1) => Kind::Index,
            Some(2) => Kind::Dictionary,
            Some(3) => Kind::DataV2,
            other => return Err(format!("page header: page type {other:?}")),
        };
        let (Some(uncompressed), Some(compressed)) = (uncompressed, compressed) else {
            return Err("page header without its sizes".into());
        };
        if uncompressed < 0 || compressed < 0 {
            return Err(format!("page header: negative size ({uncompressed}, {compressed})"));
        }
        let values = match (kind, values) {
            (Kind::Index, v) => v.unwrap_or(0),
            (_, Some(v)) if v >= 0 => v,
            (_, v) => return Err(format!("{kind:?} page header: value count {v:?}")),
        };
        Ok(Header { kind, uncompressed, compressed, values })
    }
}

fn read_header(r: impl Read) -> Result<(Header, u64), String> {
    let mut c = Compact { r, read: 0 };
    let h = c.header()?;
    Ok((h, c.read))
}

/// Checks every page header of every column chunk of one part against the limits and the footer.
pub(crate) fn check(
    slice: &EntrySlice,
    meta: &ParquetMetaData,
    path: &str,
) -> Result<(), BundleError> {
    let bad = |m: String| BundleError::new(C::B043, format!("{path}: {m}"));
    for (g, rg) in meta.row_groups().iter().enumerate() {
        for cc in rg.columns() {
            let col = cc.column_path().string();
            let at = |what: String| format!("row group {g}, column {col}: {what}");
            let (start, len) = cc.byte_range();
            let end = start.checked_add(len).filter(|&e| e <= slice.size).ok_or_else(|| {
                bad(at(format!("bytes {start}+{len} lie outside the file ({})", slice.size)))
            })?;
            let mut pos = start;
            let mut values = 0i64;
            while pos < end {
                let reader = BufReader::with_capacity(4096, slice.reader(pos));
                let (h, header_len) =
                    read_header(reader).map_err(|m| bad(at(format!("at byte {pos}: {m}"))))?;
                let limit = match h.kind {
                    Kind::Dictionary => MAX_DICTIONARY_PAGE,
                    _ => MAX_DATA_PAGE,
                };
                if h.uncompressed as u64 > limit {
                    return berr(
                        C::B034,
                        format!(
                            "{path}: {}",
                            at(format!(
                                "a {} page decodes to {} bytes (limit {limit})",
                                if h.kind == Kind::Dictionary { "dictionary" } else { "data" },
                                h.uncompressed
                            ))
                        ),
                    );
                }
                if matches!(h.kind, Kind::Data | Kind::DataV2) {
                    values += h.values;
                }
                if values > MAX_CHUNK_VALUES {
                    return berr(
                        C::B034,
                        format!(
                            "{path}: {}",
                            at(format!("more than {MAX_CHUNK_VALUES} values in one column chunk"))
                        ),
                    );
                }
                pos += header_len + h.compressed as u64;
                if pos > end {
                    return Err(bad(at("a page runs past the column chunk".into())));
                }
            }
            if values != cc.num_values() {
                return Err(bad(at(format!(
                    "the footer says {} values, the pages hold {values}",
                    cc.num_values()
                ))));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn i32_field(delta: u8, v: i64, out: &mut Vec<u8>) {
        out.push(delta << 4 | ty::I32);
        varint(((v << 1) ^ (v >> 63)) as u64, out);
    }

    /// A dictionary page header as parquet writes it, with a CRC and unknown fields around.
    fn dictionary_header(uncompressed: i64) -> Vec<u8> {
        let mut h = Vec::new();
        i32_field(1, 2, &mut h); // type = DICTIONARY_PAGE
        i32_field(1, uncompressed, &mut h);
        i32_field(1, 9000, &mut h);
        i32_field(1, 12345, &mut h); // crc
        h.push(3 << 4 | ty::STRUCT); // field 7: DictionaryPageHeader
        i32_field(1, 1, &mut h); // num_values
        i32_field(1, 0, &mut h); // encoding
        h.push(1 << 4 | ty::TRUE); // is_sorted
        h.push(ty::STOP);
        h.push(2 << 4 | ty::LIST); // field 9: a list nobody asked for
        h.push(2 << 4 | ty::BINARY);
        h.extend_from_slice(&[3, b'a', b'b', b'c', 0]);
        h.push(ty::STOP);
        h
    }

    #[test]
    fn reads_sizes_and_values_and_skips_what_it_does_not_know() {
        let bytes = dictionary_header(1_633_771_877);
        let (h, n) = read_header(&bytes[..]).unwrap();
        assert_eq!(n as usize, bytes.len());
        assert_eq!(
            h,
            Header {
                kind: Kind::Dictionary,
                uncompressed: 1_633_771_877,
                compressed: 9000,
                values: 1
            }
        );
    }

    #[test]
    fn truncated_deep_or_endless_headers_are_errors() {
        let bytes = dictionary_header(10);
        for cut in 0..bytes.len() {
            assert!(read_header(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // Field 4 (unknown, skipped) holding structs within structs.
        let deep: Vec<u8> = std::iter::once(4 << 4 | ty::STRUCT)
            .chain(std::iter::repeat_n(1 << 4 | ty::STRUCT, 100))
            .collect();
        assert!(read_header(&deep[..]).unwrap_err().contains("deeply"));
        // A binary field claiming a gigabyte: the header is given up at the limit.
        let huge = [4 << 4 | ty::BINARY, 0x80, 0x80, 0x80, 0x80, 0x04];
        let endless = std::io::Read::chain(&huge[..], std::io::repeat(0));
        assert!(read_header(endless).unwrap_err().contains("longer than"));
    }
}
