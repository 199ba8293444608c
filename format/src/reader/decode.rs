//! Tier 3's decode pass: every value of every column of a table part, decoded before the reader
//! hands out one row, so a bundle that cannot be read in full is refused before any use of it
//! (the loader's first write included).
//!
//! Memory stays bounded: one column is decoded at a time, strings as dictionaries (each distinct
//! value held once, never repeated per row), after `pages::check` capped every page and
//! dictionary. What a reader that materializes rows would hold is computed from the keys and
//! checked against a limit per batch, the batches being the ones every reader of the bundle gets.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::ParquetMetaData;

use super::access::EntrySlice;
use super::limits::MAX_DECODED_BATCH;
use crate::codec::BATCH_ROWS;
use crate::error::{BundleError, ErrorCode as C, berr};

/// What decoding one part found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Rows, counted while decoding (not taken from the footer).
    pub rows: u64,
    /// Bytes the rows take when materialized (strings repeated per row).
    pub bytes: u64,
}

/// `t` with every string read as a dictionary (list items and struct fields included).
fn dictionary_type(t: &DataType) -> DataType {
    let field = |f: &Field| Arc::new(f.clone().with_data_type(dictionary_type(f.data_type())));
    match t {
        DataType::Utf8 => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::List(f) => DataType::List(field(f)),
        DataType::Struct(fs) => DataType::Struct(fs.iter().map(|f| field(f)).collect()),
        other => other.clone(),
    }
}

fn dictionary_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(dictionary_type(f.data_type())))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Bytes `a` takes once materialized as the table's schema has it: a dictionary's values once per
/// key, list offsets, primitive buffers. Keys outside the dictionary are an error.
fn expanded(a: &dyn Array) -> Result<u64, String> {
    Ok(match a.data_type() {
        DataType::Dictionary(_, _) => {
            let d = a.as_dictionary_opt::<Int32Type>().ok_or("dictionary keys are not Int32")?;
            let values =
                d.values().as_string_opt::<i32>().ok_or("dictionary values are not Utf8")?;
            let offsets = values.value_offsets();
            let mut n = 4 * d.len() as u64;
            for k in d.keys().iter().flatten() {
                let k = usize::try_from(k).map_err(|_| "negative dictionary key")?;
                if k >= values.len() {
                    return Err(format!("dictionary key {k} of {} values", values.len()));
                }
                n += (offsets[k + 1] - offsets[k]) as u64;
            }
            n
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            4 * (l.len() as u64 + 1) + expanded(l.values().as_ref())?
        }
        DataType::Struct(_) => {
            let mut n = 0;
            for c in a.as_struct().columns() {
                n += expanded(c.as_ref())?;
            }
            n
        }
        _ => a.get_buffer_memory_size() as u64,
    })
}

/// Decodes every column of one part; `schema` is the part's Arrow schema (already checked).
pub(crate) fn part(
    slice: &EntrySlice,
    meta: Arc<ParquetMetaData>,
    schema: &SchemaRef,
    path: &str,
) -> Result<Decoded, BundleError> {
    let invalid = |m: String| BundleError::new(C::B043, format!("{path}: {m}"));
    let options = ArrowReaderOptions::new().with_schema(dictionary_schema(schema));
    let arm = ArrowReaderMetadata::try_new(meta, options).map_err(|e| invalid(e.to_string()))?;
    let mut rows: Option<u64> = None;
    let mut bytes = 0u64;
    for (i, field) in schema.fields().iter().enumerate() {
        let name = field.name();
        let mask = ProjectionMask::roots(arm.parquet_schema(), [i]);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(slice.clone(), arm.clone())
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| invalid(format!("column {name}: {e}")))?;
        let mut n = 0u64;
        for (b, batch) in reader.enumerate() {
            let batch = batch.map_err(|e| invalid(format!("column {name}: {e}")))?;
            n += batch.num_rows() as u64;
            let size = expanded(batch.column(0).as_ref())
                .map_err(|m| invalid(format!("column {name}: {m}")))?;
            if size > MAX_DECODED_BATCH {
                return berr(
                    C::B034,
                    format!(
                        "{path}: column {name} decodes to {size} bytes in rows {} to {} (limit {MAX_DECODED_BATCH} per {BATCH_ROWS} rows)",
                        b * BATCH_ROWS,
                        b * BATCH_ROWS + batch.num_rows()
                    ),
                );
            }
            bytes += size;
        }
        match rows {
            None => rows = Some(n),
            Some(r) if r != n => {
                return Err(invalid(format!(
                    "column {name} decodes to {n} rows, the others to {r}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(Decoded { rows: rows.unwrap_or(0), bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Int32Array, ListArray, StringArray};
    use arrow::buffer::OffsetBuffer;

    #[test]
    fn a_dictionary_counts_its_value_once_per_key() {
        let values = StringArray::from(vec!["x".repeat(1000), "yy".into()]);
        let keys = Int32Array::from(vec![Some(0), Some(0), None, Some(1), Some(0)]);
        let d = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        assert_eq!(expanded(&d).unwrap(), 5 * 4 + 3 * 1000 + 2);
        let list = ListArray::new(
            Arc::new(Field::new("item", d.data_type().clone(), true)),
            OffsetBuffer::from_lengths([2, 3]),
            Arc::new(d),
            None,
        );
        assert_eq!(expanded(&list).unwrap(), 3 * 4 + 5 * 4 + 3 * 1000 + 2);
    }

    #[test]
    fn strings_inside_lists_and_structs_become_dictionaries() {
        let t = crate::schema::Table::Tickets.schema();
        let d = dictionary_schema(&t);
        let f = |n: &str| d.field_with_name(n).unwrap().data_type().clone();
        assert!(matches!(f("id"), DataType::Dictionary(_, _)));
        let DataType::List(item) = f("custom_fields") else { panic!("a list") };
        let DataType::Struct(fs) = item.data_type() else { panic!("of structs") };
        assert!(fs.iter().all(|f| matches!(f.data_type(), DataType::Dictionary(_, _))));
        assert_eq!(f("is_deleted"), DataType::Boolean);
    }
}
