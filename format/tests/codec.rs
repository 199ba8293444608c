//! Model ↔ Arrow round trips for every table, and the schema snapshot.

mod support;

use deskferry_format::codec::{from_batch, to_batch};
use deskferry_format::*;
use support::*;

fn round_trip<R: Record + PartialEq + std::fmt::Debug + Clone>(rows: Vec<R>) {
    let batch = to_batch(&rows).unwrap();
    assert_eq!(batch.schema().fields(), R::TABLE.schema().fields(), "{}", R::TABLE);
    assert_eq!(batch.num_rows(), rows.len());
    let back: Vec<R> = from_batch(&batch).unwrap();
    assert_eq!(back, rows, "{}", R::TABLE);
}

#[test]
fn every_table_round_trips() {
    round_trip((0..12).map(user).collect());
    round_trip((0..3).map(organization).collect());
    round_trip((0..3).map(group).collect());
    round_trip((0..4).map(custom_field).collect());
    round_trip((0..12).map(ticket).collect());
    round_trip((0..5).map(comment).collect());
    round_trip(vec![
        attachment(1, Some("ab".repeat(32)), AttachmentState::Stored),
        attachment(2, None, AttachmentState::TooLarge),
    ]);
    round_trip((0..3).map(|i| KbCategory(kb(i))).collect());
    round_trip((0..3).map(|i| KbSection(kb(i))).collect());
    round_trip((0..3).map(|i| KbArticle(kb(i))).collect());
    round_trip((0..4).map(tombstone).collect());
}

#[test]
fn empty_input_gives_empty_batch() {
    let batch = to_batch::<User>(&[]).unwrap();
    assert_eq!(batch.num_rows(), 0);
    assert!(from_batch::<User>(&batch).unwrap().is_empty());
}

fn render_field(f: &arrow::datatypes::Field) -> String {
    format!(
        "{}: {} {}",
        f.name(),
        render_type(f.data_type()),
        if f.is_nullable() { "null" } else { "not null" }
    )
}

/// Spells out everything that matters to readers: child names, nullability, units, zones.
fn render_type(t: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType as D;
    match t {
        D::List(f) => format!("List<{}>", render_field(f)),
        D::Struct(fs) => {
            format!("Struct<{}>", fs.iter().map(|f| render_field(f)).collect::<Vec<_>>().join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn render_schemas() -> String {
    let mut out = String::new();
    for t in Table::ALL {
        out.push_str(&format!("table {}\n", t.name()));
        for f in t.schema().fields() {
            out.push_str(&format!("  {}\n", render_field(f)));
        }
    }
    out
}

/// Any schema change fails here; update tests/snapshots/schemas.txt (and the CHANGELOG / version) deliberately.
#[test]
fn schema_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/schemas.txt");
    let got = render_schemas();
    if std::env::var_os("DESKFERRY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path)
        .expect("snapshot file (create with DESKFERRY_UPDATE_SNAPSHOTS=1)");
    assert_eq!(got, want, "schema changed: see tests/snapshots/schemas.txt");
}
