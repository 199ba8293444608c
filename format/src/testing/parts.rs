//! Parquet table parts with one defect that hashes cannot reveal (the writer, or whoever holds
//! the signing key, produced it): a damaged data page behind an intact footer, a footer that
//! counts one row less than its row group holds, a dictionary page that decodes to gigabytes.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::Encoding;
use parquet::column::page::{CompressedPage, Page, PageWriteSpec, PageWriter};
use parquet::column::writer::{ColumnWriter, get_column_writer};
use parquet::data_type::ByteArray;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};

use crate::model::Tombstone;
use crate::schema::Table;

fn metadata(part: &[u8]) -> Result<ParquetMetaData, String> {
    ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(part))
        .map_err(|e| format!("not a Parquet file: {e}"))
}

/// Footer (Thrift `FileMetaData`) byte range of a part.
fn footer_range(part: &[u8]) -> Result<std::ops::Range<usize>, String> {
    let n = part.len();
    if n < 12 || &part[n - 4..] != b"PAR1" {
        return Err("no Parquet footer".into());
    }
    let len = u32::from_le_bytes(part[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    let start = (n - 8).checked_sub(len).ok_or("footer length past the start")?;
    Ok(start..n - 8)
}

fn zigzag_varint(v: i64) -> Vec<u8> {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        let b = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// Rewrites the footer's file-level `num_rows` (not the row groups'), as an editor of the footer
/// would to hide a row: readers that take the count from the file metadata see `rows`, readers
/// that decode see what the row groups hold.
pub fn set_footer_num_rows(part: &mut [u8], rows: i64) -> Result<(), String> {
    let before = metadata(part)?;
    let cur = before.file_metadata().num_rows();
    let range = footer_range(part)?;
    // FileMetaData field 3 (i64), right after the schema list: compact field header 0x16.
    let mut old = vec![0x16];
    old.extend(zigzag_varint(cur));
    let mut new = vec![0x16];
    new.extend(zigzag_varint(rows));
    if old.len() != new.len() {
        return Err(format!("{cur} and {rows} do not encode to the same length"));
    }
    let footer = &mut part[range];
    let at = footer.windows(old.len()).position(|w| w == old).ok_or("num_rows not found")?;
    footer[at..at + new.len()].copy_from_slice(&new);
    let after = metadata(part)?;
    let groups =
        |m: &ParquetMetaData| -> Vec<i64> { m.row_groups().iter().map(|g| g.num_rows()).collect() };
    if after.file_metadata().num_rows() != rows || groups(&after) != groups(&before) {
        return Err("the edit did not hit the file-level num_rows alone".into());
    }
    Ok(())
}

/// Destroys the zstd frame of the first data page of `column` (its magic number), leaving the
/// page header and the footer intact: the file opens, the page does not decode.
pub fn damage_data_page(part: &mut [u8], column: &str) -> Result<(), String> {
    let meta = metadata(part)?;
    let cc = meta
        .row_groups()
        .first()
        .and_then(|g| g.columns().iter().find(|c| c.column_path().string() == column))
        .ok_or_else(|| format!("no column {column}"))?;
    let (start, len) = cc.byte_range();
    let data = usize::try_from(cc.data_page_offset()).map_err(|_| "negative offset")?;
    let end = (start + len) as usize;
    let magic = [0x28, 0xb5, 0x2f, 0xfd];
    let at = part[data..end]
        .windows(4)
        .position(|w| w == magic)
        .ok_or_else(|| format!("column {column}: no zstd frame in its first data page"))?;
    part[data + at..data + at + 4].copy_from_slice(&[0; 4]);
    Ok(())
}

/// A zstd frame of RLE blocks: `len` copies of `byte` in about 4 bytes per 128 KiB.
pub fn zstd_rle_frame(byte: u8, len: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    // Magic; descriptor: no checksum, no dictionary, size unknown; window 2^(10+7) = 128 KiB.
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    let mut left = len;
    loop {
        let n = left.min(BLOCK);
        left -= n;
        let header = u32::from(left == 0) | 1 << 1 | (n as u32) << 3;
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.push(byte);
        if left == 0 {
            return f;
        }
    }
}

/// Hands every page to `inner`, the dictionary page swapped for `dictionary`.
struct SwapDictionary<P> {
    inner: P,
    dictionary: Option<CompressedPage>,
}

impl<P: PageWriter> PageWriter for SwapDictionary<P> {
    fn write_page(&mut self, page: CompressedPage) -> parquet::errors::Result<PageWriteSpec> {
        if matches!(page.compressed_page(), Page::DictionaryPage { .. })
            && let Some(d) = self.dictionary.take()
        {
            return self.inner.write_page(d);
        }
        self.inner.write_page(page)
    }

    fn close(&mut self) -> parquet::errors::Result<()> {
        self.inner.close()
    }
}

/// A tombstones part holding `rows` whose `entity` column has a one-value dictionary page that
/// decodes to `claimed` copies of `byte` (with `a`, the value's 4-byte length prefix is `aaaa`:
/// `claimed` = 0x61616161 + 4 makes it one value of 1.52 GiB). Bound to `bundle_id` like the
/// writer's parts.
pub fn tombstones_with_giant_dictionary(
    bundle_id: &str,
    rows: &[Tombstone],
    byte: u8,
    claimed: u64,
) -> Result<Vec<u8>, String> {
    let e = |e: parquet::errors::ParquetError| e.to_string();
    let schema = Table::Tombstones.schema();
    let descr = ArrowSchemaConverter::new().with_coerce_types(true).convert(&schema).map_err(e)?;
    let mut props = crate::writer::part_properties(bundle_id, Table::Tombstones);
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let props = Arc::new(props);
    let mut w =
        SerializedFileWriter::new(Vec::new(), descr.root_schema_ptr(), props.clone()).map_err(e)?;
    let mut rg = w.next_row_group().map_err(e)?;
    // `entity`: encoded apart, through the swapping page writer, then spliced in.
    let mut chunk = TrackedWrite::new(Vec::new());
    let giant = Page::DictionaryPage {
        buf: Bytes::from(zstd_rle_frame(byte, claimed)),
        num_values: 1,
        encoding: Encoding::PLAIN,
        is_sorted: false,
    };
    let pages = SwapDictionary {
        inner: SerializedPageWriter::new(&mut chunk),
        dictionary: Some(CompressedPage::new(giant, claimed as usize)),
    };
    let entity: Vec<ByteArray> = rows.iter().map(|t| t.entity.as_str().into()).collect();
    let ColumnWriter::ByteArrayColumnWriter(mut cw) =
        get_column_writer(descr.column(0), props.clone(), Box::new(pages))
    else {
        return Err("entity is not a byte array column".into());
    };
    cw.write_batch(&entity, None, None).map_err(e)?;
    let closed = cw.close().map_err(e)?;
    chunk.flush().map_err(|x| x.to_string())?;
    let bytes = Bytes::from(chunk.into_inner().map_err(e)?);
    rg.append_column(&bytes, closed).map_err(e)?;
    let ids: Vec<ByteArray> = rows.iter().map(|t| t.id.as_str().into()).collect();
    let mut col = rg.next_column().map_err(e)?.ok_or("no id column")?;
    col.typed::<parquet::data_type::ByteArrayType>().write_batch(&ids, None, None).map_err(e)?;
    col.close().map_err(e)?;
    let times: Vec<i64> =
        rows.iter().filter_map(|t| t.deleted_at.map(|d| d.timestamp_micros())).collect();
    let defined: Vec<i16> = rows.iter().map(|t| i16::from(t.deleted_at.is_some())).collect();
    let mut col = rg.next_column().map_err(e)?.ok_or("no deleted_at column")?;
    col.typed::<parquet::data_type::Int64Type>()
        .write_batch(&times, Some(&defined), None)
        .map_err(e)?;
    col.close().map_err(e)?;
    rg.close().map_err(e)?;
    w.into_inner().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_swapped_dictionary_decodes_through_parquet_itself() {
        use arrow::array::AsArray;
        // Zero bytes: the one dictionary value is empty, the rest of the page is padding, so
        // parquet's own reader decompresses the frame (and checks its length) cheaply.
        let rows = [Tombstone { entity: "tickets".into(), id: "4".into(), deleted_at: None }];
        let part = tombstones_with_giant_dictionary("b-1", &rows, 0, 300_000).unwrap();
        assert!(zstd_rle_frame(0, 300_000).len() < 20);
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            Bytes::from(part),
            1024,
        )
        .unwrap();
        let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.column(0).as_string::<i32>().value(0), "");
        assert_eq!(b.column(1).as_string::<i32>().value(0), "4");
    }

    #[test]
    fn the_giant_dictionary_part_says_what_it_decodes_to() {
        let rows = [Tombstone { entity: "tickets".into(), id: "4".into(), deleted_at: None }];
        let part = tombstones_with_giant_dictionary("b-1", &rows, b'a', 0x6161_6161 + 4).unwrap();
        assert!(part.len() < 64 << 10, "{} bytes", part.len());
        let meta = metadata(&part).unwrap();
        assert_eq!(meta.file_metadata().num_rows(), 1);
        let kv = meta.file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == crate::writer::KV_BUNDLE_ID));
    }
}
