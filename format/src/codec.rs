//! Model rows ↔ Arrow record batches, through each table's schema.
//!
//! Rows go through JSON on both sides (serde ↔ arrow-json): one mapping, defined by the model's
//! serde derive and the table schema, instead of a hand-written builder per table that could drift.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};

use crate::schema::{Record, Table};

/// Default rows per batch handed out by the codec.
pub const BATCH_ROWS: usize = 1024;

// arrow-json cannot parse or print the named time zone "UTC" without chrono-tz, so JSON is
// converted through the same schema with zone-less timestamps (UTC instants either way) and the
// columns are relabelled; the physical values do not change.
fn naive_schema(table: Table) -> SchemaRef {
    let fields: Vec<Field> = table
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
                f.as_ref().clone().with_data_type(DataType::Timestamp(TimeUnit::Microsecond, None))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn relabel(batch: RecordBatch, schema: SchemaRef, utc: bool) -> Result<RecordBatch, String> {
    let cols: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                let a = c.as_primitive::<TimestampMicrosecondType>().clone();
                let a =
                    if utc { a.with_timezone("UTC") } else { a.with_timezone_opt(None::<String>) };
                Arc::new(a) as ArrayRef
            }
            _ => c.clone(),
        })
        .collect();
    RecordBatch::try_new(schema, cols).map_err(|e| e.to_string())
}

/// Converts rows to one record batch with `R::TABLE.schema()`.
pub fn to_batch<R: Record>(rows: &[R]) -> Result<RecordBatch, String> {
    let mut dec = arrow_json::ReaderBuilder::new(naive_schema(R::TABLE))
        .with_batch_size(rows.len().max(1))
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|e| e.to_string())?;
    dec.serialize(rows).map_err(|e| e.to_string())?;
    match dec.flush().map_err(|e| e.to_string())? {
        Some(b) => relabel(b, R::TABLE.schema(), true),
        None => Ok(RecordBatch::new_empty(R::TABLE.schema())),
    }
}

/// Builds batches from rows already serialized as JSON lines (the writer's spill format).
pub(crate) struct JsonBatcher {
    decoder: arrow_json::reader::Decoder,
    pending: usize,
    pending_bytes: usize,
    batch_rows: usize,
    schema: SchemaRef,
}

/// A batch is cut at this many bytes of JSON too, so huge rows cannot make a huge batch.
const BATCH_BYTES: usize = 8 << 20;

impl JsonBatcher {
    pub(crate) fn new(table: Table, batch_rows: usize) -> Result<JsonBatcher, String> {
        let decoder = arrow_json::ReaderBuilder::new(naive_schema(table))
            .with_batch_size(batch_rows)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| e.to_string())?;
        Ok(JsonBatcher {
            decoder,
            pending: 0,
            pending_bytes: 0,
            batch_rows,
            schema: table.schema(),
        })
    }

    /// Adds one JSON object; returns a batch when `batch_rows` are buffered.
    pub(crate) fn push(&mut self, json: &[u8]) -> Result<Option<RecordBatch>, String> {
        let mut rest = json;
        while !rest.is_empty() {
            let n = self.decoder.decode(rest).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("JSON row not consumed".into());
            }
            rest = &rest[n..];
        }
        self.pending += 1;
        self.pending_bytes += json.len();
        if self.pending >= self.batch_rows || self.pending_bytes >= BATCH_BYTES {
            return self.flush();
        }
        Ok(None)
    }

    /// The buffered rows as a batch, if any.
    pub(crate) fn flush(&mut self) -> Result<Option<RecordBatch>, String> {
        self.pending = 0;
        self.pending_bytes = 0;
        match self.decoder.flush().map_err(|e| e.to_string())? {
            Some(b) => relabel(b, self.schema.clone(), true).map(Some),
            None => Ok(None),
        }
    }
}

/// Converts a batch back to rows.
pub fn from_batch<R: Record>(batch: &RecordBatch) -> Result<Vec<R>, String> {
    let naive = relabel(batch.clone(), naive_schema(R::TABLE), false)?;
    let mut w = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.6fZ".to_string())
        .build::<_, arrow_json::writer::LineDelimited>(Vec::new());
    w.write(&naive).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    let buf = w.into_inner();
    let mut out = Vec::with_capacity(batch.num_rows());
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        out.push(serde_json::from_slice(line).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Gives a batch read back from Parquet exactly the table's schema (Parquet's spec names the list
/// item `element`; the model's schema calls it `item`). A part written before an additive change
/// lacks the nullable columns added since: they come back as nulls. Data is not copied.
pub fn conform(batch: RecordBatch, table: Table) -> Result<RecordBatch, String> {
    let schema = table.schema();
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let rows = batch.num_rows();
    let source = batch.schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match source.index_of(f.name()) {
            Ok(i) => Ok((batch.column(i).clone(), f)),
            Err(_) if f.is_nullable() => Ok((arrow::array::new_null_array(f.data_type(), rows), f)),
            Err(_) => Err(format!("column {} missing", f.name())),
        })
        .map(|r| {
            let (c, f) = r?;
            match (c.data_type(), f.data_type()) {
                (DataType::List(_), DataType::List(want)) if c.data_type() != f.data_type() => {
                    let (_, offsets, values, nulls) = c.as_list::<i32>().clone().into_parts();
                    arrow::array::ListArray::try_new(want.clone(), offsets, values, nulls)
                        .map(|a| Arc::new(a) as ArrayRef)
                        .map_err(|e| format!("{}: {e}", f.name()))
                }
                _ => Ok(c),
            }
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(schema, cols).map_err(|e| e.to_string())
}

/// True when a schema read back from a file has the table's fields (names, types, nullability),
/// in order, except nullable columns added since the file was written (additive changes keep
/// the format version; see CHANGELOG.md).
pub fn schema_matches(table: Table, got: &SchemaRef) -> bool {
    let want = table.schema();
    let mut got = got.fields().iter().peekable();
    for w in want.fields() {
        match got.peek() {
            Some(g) if field_eq(w, g) => {
                got.next();
            }
            _ if w.is_nullable() => {}
            _ => return false,
        }
    }
    got.next().is_none()
}

fn field_eq(a: &Arc<arrow::datatypes::Field>, b: &Arc<arrow::datatypes::Field>) -> bool {
    a.name() == b.name()
        && a.is_nullable() == b.is_nullable()
        && a.data_type().equals_datatype(b.data_type())
}
