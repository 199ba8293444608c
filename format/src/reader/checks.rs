//! The checks of tiers 2 and 3 over what the streaming pass recorded: manifests, completeness,
//! Payload-Oxum, every hash, the content id, bundle.json against the envelope.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::limits::MAX_ENTRIES;
use super::scan::{Scan, TAG_NAMES};
use crate::FORMAT_VERSION;
use crate::error::{BundleError, ErrorCode as C, berr};
use crate::meta::{Envelope, inner_mismatch};
use crate::schema::Table;

/// Tag files listed in tagmanifest-sha256.txt.
const TAGMANIFEST_NAMES: [&str; 4] =
    ["bag-info.txt", "bagit.txt", "bundle.json", "manifest-sha256.txt"];

/// What a data/ path is.
pub(crate) enum DataKind {
    Part(Table),
    Blob(String),
}

fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a manifest: `<64 hex><spaces or tabs>[*]<path>` per line.
fn parse_manifest(
    name: &str,
    body: &[u8],
    payload: bool,
) -> Result<BTreeMap<String, String>, BundleError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| BundleError::new(C::B035, format!("{name}: not UTF-8")))?;
    let mut out = BTreeMap::new();
    for (i, line) in text.split_terminator('\n').enumerate() {
        let bad = |why: &str| BundleError::new(C::B035, format!("{name} line {}: {why}", i + 1));
        if out.len() >= MAX_ENTRIES {
            return berr(C::B034, format!("{name}: more than {MAX_ENTRIES} lines"));
        }
        let (hash, rest) = line.split_at_checked(64).ok_or_else(|| bad("too short"))?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("not a SHA-256"));
        }
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if trimmed.len() == rest.len() {
            return Err(bad("no separator after the hash"));
        }
        let path = trimmed.strip_prefix('*').unwrap_or(trimmed);
        if path.is_empty()
            || path.contains('\r')
            || path.starts_with('/')
            || path.contains('\\')
            || path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(bad("unsafe or empty path"));
        }
        if payload && !path.starts_with("data/") {
            return Err(bad("payload manifest names a path outside data/"));
        }
        if !payload && !TAGMANIFEST_NAMES.contains(&path) {
            return Err(bad("tag manifest names a file that is not a tag file"));
        }
        if out.insert(path.to_string(), hash.to_ascii_lowercase()).is_some() {
            return Err(bad("path listed twice"));
        }
    }
    Ok(out)
}

fn payload_oxum(bag_info: &[u8]) -> Result<(u64, u64), BundleError> {
    let text = std::str::from_utf8(bag_info)
        .map_err(|_| BundleError::new(C::B033, "bag-info.txt: not UTF-8"))?;
    let mut found = Vec::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.trim() == "Payload-Oxum" {
                found.push(v.trim().to_string());
            }
            if k.trim() == "Bundle-Format-Version"
                && let Ok(n) = v.trim().parse::<u32>()
                && n > FORMAT_VERSION
            {
                return berr(
                    C::B010,
                    format!(
                        "bag-info.txt: Bundle-Format-Version {n}: written by a newer deskferry; upgrade"
                    ),
                );
            }
        }
    }
    let [v] = found.as_slice() else {
        return berr(C::B033, format!("bag-info.txt: {} Payload-Oxum lines", found.len()));
    };
    let parsed = v.split_once('.').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    parsed.ok_or_else(|| {
        BundleError::new(
            C::B033,
            format!("bag-info.txt: Payload-Oxum {v:?} is not <bytes>.<count>"),
        )
    })
}

/// Tier 2: order of tag files, manifests, completeness, Payload-Oxum. Returns the payload manifest.
pub(crate) fn tier2(scan: &Scan) -> Result<BTreeMap<String, String>, BundleError> {
    for name in TAG_NAMES {
        if !scan.tags.contains_key(name) {
            return berr(C::B030, format!("{name} is missing"));
        }
    }
    let n = scan.entries.len();
    let tail: Vec<&str> = scan.entries[n - 3..].iter().map(|e| e.path.as_str()).collect();
    if tail != ["bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"] {
        return berr(
            C::B037,
            format!(
                "the bag ends with {tail:?}, not bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt"
            ),
        );
    }
    let manifest = parse_manifest("manifest-sha256.txt", &scan.tags["manifest-sha256.txt"], true)?;
    let tagmanifest =
        parse_manifest("tagmanifest-sha256.txt", &scan.tags["tagmanifest-sha256.txt"], false)?;
    for name in TAGMANIFEST_NAMES {
        if !tagmanifest.contains_key(name) {
            return berr(C::B035, format!("tagmanifest-sha256.txt does not list {name}"));
        }
    }
    let data: HashSet<&str> =
        scan.entries.iter().map(|e| e.path.as_str()).filter(|p| p.starts_with("data/")).collect();
    for p in manifest.keys() {
        if !data.contains(p.as_str()) {
            return berr(C::B030, format!("{p} is in manifest-sha256.txt but not in the bundle"));
        }
    }
    for p in &data {
        if !manifest.contains_key(*p) {
            return berr(C::B031, format!("{p} is in the bundle but not in manifest-sha256.txt"));
        }
    }
    let (bytes, count) = payload_oxum(&scan.tags["bag-info.txt"])?;
    let real_bytes: u64 =
        scan.entries.iter().filter(|e| e.path.starts_with("data/")).map(|e| e.size).sum();
    if (bytes, count) != (real_bytes, data.len() as u64) {
        return berr(
            C::B033,
            format!(
                "Payload-Oxum says {bytes}.{count}, the payload is {real_bytes}.{}",
                data.len()
            ),
        );
    }
    Ok(manifest)
}

/// Tier 3 over the hashes: payload files, blob names, tag files, the content id, bundle.json.
pub(crate) fn tier3_hashes(
    scan: &Scan,
    manifest: &BTreeMap<String, String>,
    env: &Envelope,
) -> Result<Vec<(usize, DataKind)>, BundleError> {
    let mut kinds = Vec::new();
    for (i, e) in scan.entries.iter().enumerate() {
        if !e.path.starts_with("data/") {
            continue;
        }
        if manifest[&e.path] != e.sha256 {
            return berr(
                C::B040,
                format!(
                    "{}: SHA-256 {} but manifest-sha256.txt says {}",
                    e.path, e.sha256, manifest[&e.path]
                ),
            );
        }
        kinds.push((i, classify(&e.path, &e.sha256)?));
    }
    let tagmanifest =
        parse_manifest("tagmanifest-sha256.txt", &scan.tags["tagmanifest-sha256.txt"], false)?;
    for (name, want) in &tagmanifest {
        let got = hex::encode(Sha256::digest(&scan.tags[name.as_str()]));
        if &got != want {
            return berr(
                C::B041,
                format!("{name}: SHA-256 {got} but tagmanifest-sha256.txt says {want}"),
            );
        }
    }
    let cid = hex::encode(Sha256::digest(&scan.tags["tagmanifest-sha256.txt"]));
    if cid != env.content_id.to_ascii_lowercase() {
        return berr(C::B042, format!("content id {cid}, the signed one is {}", env.content_id));
    }
    if let Some(f) = inner_mismatch(&scan.bundle_json, env) {
        return berr(C::B048, format!("bundle.json {f} differs from the envelope"));
    }
    Ok(kinds)
}

fn classify(path: &str, sha: &str) -> Result<DataKind, BundleError> {
    if let Some(rest) = path.strip_prefix("data/blobs/sha256/") {
        let name_ok = match rest.split_once('/') {
            Some((pre, hexname)) => is_lower_hex64(hexname) && pre == &hexname[..2],
            None => false,
        };
        if !name_ok {
            return berr(C::B045, format!("{path} is not data/blobs/sha256/<2 hex>/<64 hex>"));
        }
        let hexname = &rest[3..];
        if hexname != sha {
            return berr(C::B045, format!("{path}: bytes hash to {sha}"));
        }
        return Ok(DataKind::Blob(hexname.to_string()));
    }
    if let Some(rest) = path.strip_prefix("data/tables/") {
        let Some((table, file)) = rest.split_once('/') else {
            return berr(C::B031, format!("{path} is not a table part"));
        };
        let Some(t) = Table::from_name(table) else {
            return berr(C::B049, format!("{path}: unknown table {table:?}"));
        };
        let ok = file.len() == "part-00000.parquet".len()
            && file.starts_with("part-")
            && file.ends_with(".parquet")
            && file[5..10].bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return berr(C::B031, format!("{path} is not a part-NNNNN.parquet"));
        }
        return Ok(DataKind::Part(t));
    }
    berr(C::B031, format!("{path} is neither a table part nor a blob"))
}

/// bundle.json's table list against the parts present; returns parts per table in tar order.
pub(crate) fn table_parts(
    scan: &Scan,
    kinds: &[(usize, DataKind)],
    env: &Envelope,
) -> Result<HashMap<Table, Vec<usize>>, BundleError> {
    let mut present: HashMap<Table, Vec<usize>> = HashMap::new();
    for (i, k) in kinds {
        if let DataKind::Part(t) = k {
            present.entry(*t).or_default().push(*i);
        }
    }
    let mut listed: HashSet<&str> = HashSet::new();
    let mut counts = BTreeMap::new();
    for t in &scan.bundle_json.tables {
        if Table::from_name(&t.table).is_none() {
            return berr(C::B049, format!("bundle.json lists unknown table {:?}", t.table));
        }
        counts.insert(t.table.clone(), t.rows);
        let prefix = format!("data/tables/{}/", t.table);
        for p in &t.parts {
            if !p.starts_with(&prefix) {
                return berr(C::B031, format!("bundle.json lists {p} under table {}", t.table));
            }
            if !scan.entries.iter().any(|e| &e.path == p) {
                return berr(C::B030, format!("{p} is listed in bundle.json but absent"));
            }
            listed.insert(p.as_str());
        }
    }
    for idxs in present.values() {
        for &i in idxs {
            let p = &scan.entries[i].path;
            if !listed.contains(p.as_str()) {
                return berr(C::B031, format!("{p} is not listed in bundle.json"));
            }
        }
    }
    if counts != env.row_counts {
        return berr(C::B044, "row counts in bundle.json differ from the envelope");
    }
    Ok(present)
}
