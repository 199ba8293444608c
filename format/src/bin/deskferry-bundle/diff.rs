//! `diff OLD NEW`: per table, records added, changed (by a SHA-256 of the whole row) and
//! removed, by id.
//!
//! Rows come in id order from both bundles, so the comparison is a merge join and memory stays
//! flat however large the tables are.

use std::cmp::Ordering;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use deskferry_format::model::{self, id_order};
use deskferry_format::{
    BundleError, BundleReader, KbArticle, KbCategory, KbSection, Record, Table,
};
use sha2::{Digest, Sha256};

use crate::common::{
    EXIT_FATAL, EXIT_OK, IdentityArgs, SignerArgs, error_json, print_json, report_error,
};

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The older bundle.
    old: PathBuf,
    /// The newer bundle.
    new: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    ids: IdentityArgs,
    /// Machine-readable output on stdout (every id listed).
    #[arg(long)]
    json: bool,
    /// In text output, list at most this many ids per kind and table.
    #[arg(long, default_value_t = 20)]
    max_ids: usize,
}

/// Differences in one table.
#[derive(Default)]
struct TableDiff {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    unchanged: u64,
}

/// Runs `diff`.
pub fn run(a: Args) -> Result<u8> {
    let key = a.signer.signer_key()?;
    let identities = a.ids.identities()?;
    let opts = a.signer.options();
    let mut readers = Vec::new();
    for path in [&a.old, &a.new] {
        match BundleReader::open(path, &key, &identities, &opts) {
            Ok(r) => readers.push(r),
            Err(e) => {
                if a.json {
                    print_json(&error_json(path, &e))?;
                }
                report_error(path, &e);
                return Ok(EXIT_FATAL);
            }
        }
    }
    let (old, new) = (&readers[0], &readers[1]);
    let mut diffs = Vec::new();
    for table in Table::ALL {
        let d = match table {
            Table::Users => diff_table::<model::User>(old, new),
            Table::Organizations => diff_table::<model::Organization>(old, new),
            Table::Groups => diff_table::<model::Group>(old, new),
            Table::CustomFields => diff_table::<model::CustomField>(old, new),
            Table::Tickets => diff_table::<model::Ticket>(old, new),
            Table::Comments => diff_table::<model::Comment>(old, new),
            Table::Attachments => diff_table::<model::Attachment>(old, new),
            Table::KbCategories => diff_table::<KbCategory>(old, new),
            Table::KbSections => diff_table::<KbSection>(old, new),
            Table::KbArticles => diff_table::<KbArticle>(old, new),
            Table::Tombstones => diff_table::<model::Tombstone>(old, new),
        }
        .with_context(|| format!("comparing table {table}"))?;
        diffs.push((table, d));
    }
    if a.json {
        let tables: serde_json::Map<String, serde_json::Value> = diffs
            .iter()
            .map(|(t, d)| {
                (
                    t.name().to_string(),
                    serde_json::json!({
                        "added": d.added, "changed": d.changed, "removed": d.removed,
                        "unchanged": d.unchanged,
                    }),
                )
            })
            .collect();
        print_json(&serde_json::json!({
            "old": { "bundle_id": old.envelope().bundle_id, "content_id": old.content_id() },
            "new": { "bundle_id": new.envelope().bundle_id, "content_id": new.content_id() },
            "tables": tables,
        }))?;
    } else {
        println!("old: {} ({})", old.envelope().bundle_id, old.content_id());
        println!("new: {} ({})", new.envelope().bundle_id, new.content_id());
        for (t, d) in &diffs {
            println!(
                "{:<15} +{} added  ~{} changed  -{} removed  ={} unchanged",
                t.name(),
                d.added.len(),
                d.changed.len(),
                d.removed.len(),
                d.unchanged
            );
            for (sign, ids) in [("+", &d.added), ("~", &d.changed), ("-", &d.removed)] {
                for id in ids.iter().take(a.max_ids) {
                    println!("  {sign} {}", printable(id));
                }
                if ids.len() > a.max_ids {
                    println!("  {sign} … {} more (use --json for all)", ids.len() - a.max_ids);
                }
            }
        }
    }
    Ok(EXIT_OK)
}

/// Tombstone keys hold a NUL between entity and id; show it as a slash.
fn printable(key: &str) -> String {
    key.replace('\0', "/")
}

fn code_err(e: BundleError) -> anyhow::Error {
    anyhow!("{}: {}", e.code.as_str(), e.detail)
}

/// Key and SHA-256 of a row's full serialized form (every column, `raw` included).
fn keyed<R: Record>(row: Result<R, BundleError>) -> Result<(String, [u8; 32])> {
    let row = row.map_err(code_err)?;
    let bytes = serde_json::to_vec(&row)?;
    Ok((row.key(), Sha256::digest(&bytes).into()))
}

/// Pulls the next row and checks the id order the merge join depends on.
fn next_in_order<R: Record>(
    it: &mut dyn Iterator<Item = Result<R, BundleError>>,
    last: &mut Option<String>,
) -> Result<Option<(String, [u8; 32])>> {
    let Some(row) = it.next() else { return Ok(None) };
    let (k, h) = keyed(row)?;
    if let Some(prev) = last.as_deref()
        && id_order(prev, &k) != Ordering::Less
    {
        bail!("rows not in id order ({prev:?} then {k:?})");
    }
    *last = Some(k.clone());
    Ok(Some((k, h)))
}

fn diff_table<R: Record>(old: &BundleReader, new: &BundleReader) -> Result<TableDiff> {
    let mut d = TableDiff::default();
    let mut a = old.records::<R>().map_err(code_err)?;
    let mut b = new.records::<R>().map_err(code_err)?;
    let (mut la, mut lb) = (None, None);
    let mut x = next_in_order(&mut *a, &mut la)?;
    let mut y = next_in_order(&mut *b, &mut lb)?;
    loop {
        match (&x, &y) {
            (None, None) => break,
            (Some((ka, _)), None) => {
                d.removed.push(ka.clone());
                x = next_in_order(&mut *a, &mut la)?;
            }
            (None, Some((kb, _))) => {
                d.added.push(kb.clone());
                y = next_in_order(&mut *b, &mut lb)?;
            }
            (Some((ka, ha)), Some((kb, hb))) => match id_order(ka, kb) {
                Ordering::Less => {
                    d.removed.push(ka.clone());
                    x = next_in_order(&mut *a, &mut la)?;
                }
                Ordering::Greater => {
                    d.added.push(kb.clone());
                    y = next_in_order(&mut *b, &mut lb)?;
                }
                Ordering::Equal => {
                    if ha == hb {
                        d.unchanged += 1;
                    } else {
                        d.changed.push(ka.clone());
                    }
                    x = next_in_order(&mut *a, &mut la)?;
                    y = next_in_order(&mut *b, &mut lb)?;
                }
            },
        }
    }
    Ok(d)
}
