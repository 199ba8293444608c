//! The BagIt bag: tag files (bagit.txt, bag-info.txt, manifests, bundle.json), entry order and the
//! content id. Pure functions of the staged files' names, sizes and hashes.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::FORMAT_VERSION;
use crate::meta::{BundleJson, BundleMeta, TableEntry, Warning, bundle_json_from, rfc3339};
use crate::schema::Table;
use crate::writer::parts::PartFile;

/// The exact bytes of bagit.txt (the reader accepts nothing else).
pub const BAGIT_TXT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
/// Tag files covered by tagmanifest-sha256.txt, in its (sorted) order.
pub const TAG_FILES: [&str; 4] =
    ["bag-info.txt", "bagit.txt", "bundle.json", "manifest-sha256.txt"];

/// Where an entry's bytes come from.
pub(crate) enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// One file of the bag, at its bag-relative path.
pub(crate) struct BagEntry {
    pub path: String,
    pub size: u64,
    pub source: Source,
}

/// The whole bag, in tar order.
pub(crate) struct Bag {
    pub entries: Vec<BagEntry>,
    pub content_id: String,
    pub bundle_json: BundleJson,
}

/// A staged blob: hash (its name), file, size.
pub(crate) struct BlobFile {
    pub sha256: String,
    pub path: PathBuf,
    pub size: u64,
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

pub(crate) fn build(
    meta: &BundleMeta,
    tables: Vec<(Table, Vec<PartFile>)>,
    blobs: Vec<BlobFile>,
    warnings: Vec<Warning>,
) -> Bag {
    let mut payload: Vec<(String, String, u64)> = Vec::new(); // path, sha, size
    let mut data_entries = Vec::new();
    let mut entries_json = Vec::new();
    for (table, parts) in &tables {
        if parts.is_empty() {
            continue;
        }
        entries_json.push(TableEntry {
            table: table.name().to_string(),
            rows: parts.iter().map(|p| p.rows).sum(),
            parts: parts.iter().map(|p| p.bag_path.clone()).collect(),
        });
        for p in parts {
            payload.push((p.bag_path.clone(), p.sha256.clone(), p.size));
            data_entries.push(BagEntry {
                path: p.bag_path.clone(),
                size: p.size,
                source: Source::File(p.work_path.clone()),
            });
        }
    }
    let blob_bytes: u64 = blobs.iter().map(|b| b.size).sum();
    for b in &blobs {
        let path = format!("data/blobs/sha256/{}/{}", &b.sha256[..2], b.sha256);
        payload.push((path.clone(), b.sha256.clone(), b.size));
        data_entries.push(BagEntry { path, size: b.size, source: Source::File(b.path.clone()) });
    }
    let bundle_json =
        bundle_json_from(meta, entries_json, blobs.len() as u64, blob_bytes, warnings);
    let mut bj = serde_json::to_vec_pretty(&bundle_json).expect("bundle.json serializes");
    bj.push(b'\n');

    let oxum_bytes: u64 = payload.iter().map(|p| p.2).sum();
    let mut bag_info = String::new();
    let mut kv = |k: &str, v: &str| bag_info.push_str(&format!("{k}: {v}\n"));
    kv("Bag-Software-Agent", &meta.tool_version);
    kv("Bagging-Date", &meta.created_at.format("%Y-%m-%d").to_string());
    kv("External-Identifier", &meta.bundle_id);
    kv("Payload-Oxum", &format!("{}.{}", oxum_bytes, payload.len()));
    kv("Bundle-Format-Version", &FORMAT_VERSION.to_string());
    kv("Source-Helpdesk", &meta.source_platform);
    kv("Account-Id", &meta.source_account);
    kv("Created-At", &rfc3339(&meta.created_at));
    if let Some(t) = &meta.extracted_from {
        kv("Extracted-From", &rfc3339(t));
    }
    if let Some(t) = &meta.extracted_until {
        kv("Extracted-Until", &rfc3339(t));
    }
    kv("Purge-After", &rfc3339(&meta.purge_after));

    payload.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let manifest: String = payload.iter().map(|(p, h, _)| format!("{h}  {p}\n")).collect();

    let tag_bytes = |name: &str| -> Vec<u8> {
        match name {
            "bag-info.txt" => bag_info.as_bytes().to_vec(),
            "bagit.txt" => BAGIT_TXT.to_vec(),
            "bundle.json" => bj.clone(),
            _ => manifest.as_bytes().to_vec(),
        }
    };
    let tagmanifest: String =
        TAG_FILES.iter().map(|n| format!("{}  {n}\n", sha_hex(&tag_bytes(n)))).collect();
    let content_id = sha_hex(tagmanifest.as_bytes());

    let bytes_entry = |path: &str, b: Vec<u8>| BagEntry {
        path: path.to_string(),
        size: b.len() as u64,
        source: Source::Bytes(b),
    };
    let mut entries =
        vec![bytes_entry("bagit.txt", BAGIT_TXT.to_vec()), bytes_entry("bundle.json", bj.clone())];
    entries.extend(data_entries);
    entries.push(bytes_entry("bag-info.txt", bag_info.clone().into_bytes()));
    entries.push(bytes_entry("manifest-sha256.txt", manifest.into_bytes()));
    entries.push(bytes_entry("tagmanifest-sha256.txt", tagmanifest.into_bytes()));
    Bag { entries, content_id, bundle_json }
}

/// Plaintext tar size of these entries: a 512-byte header each, bodies padded to 512, two zero blocks.
pub(crate) fn tar_size(entries: &[BagEntry]) -> u64 {
    entries.iter().map(|e| 512 + e.size.div_ceil(512) * 512).sum::<u64>() + 1024
}
