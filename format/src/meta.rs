//! The bundle's metadata: what the caller decides (`BundleMeta`), what travels inside the bag
//! (`BundleJson`, `bundle.json`), the plaintext envelope (`NAME.dfb.json`) and the signed trusted
//! comment that binds them.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::FORMAT_VERSION;

/// Full extraction or only what changed since a parent bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Everything.
    Full,
    /// Changes since `parent_bundle_id`.
    Delta,
}

/// A record that could not be fetched or stored, or one kept with a note (in bundle.json; may
/// name ids, never content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Table or entity.
    pub entity: String,
    /// Record id, where known.
    pub id: Option<String>,
    /// What happened.
    pub message: String,
    /// The record is in the bundle as the source gave it (its `raw` verbatim): only a field of
    /// an unexpected type was read as empty, or a follow-up found it deleted in between. Such a
    /// note is no failure (added in format 1 without a version change; absent means false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept: bool,
}

impl Warning {
    /// A record or file that could not be fetched or stored.
    pub fn failure(entity: &str, id: Option<String>, message: String) -> Warning {
        Warning { entity: entity.to_string(), id, message, kept: false }
    }

    /// A record kept with a note (see [`Warning::kept`]).
    pub fn note(entity: &str, id: Option<String>, message: String) -> Warning {
        Warning { entity: entity.to_string(), id, message, kept: true }
    }
}

/// What the caller decides about a bundle; the same meta with the same rows gives the same content id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleMeta {
    /// `[A-Za-z0-9._-]{1,100}`; also the bag's top-level directory.
    pub bundle_id: String,
    /// `zendesk`, `rt`, `dataset`, ...
    pub source_platform: String,
    /// The account, e.g. `acme.zendesk.com` (no personal data).
    pub source_account: String,
    /// When the extraction started (also the Bagging-Date).
    pub created_at: DateTime<Utc>,
    /// When the bundle must be purged.
    pub purge_after: DateTime<Utc>,
    /// Full or delta.
    pub mode: Mode,
    /// The bundle a delta is based on.
    pub parent_bundle_id: Option<String>,
    /// Per-entity cursors (so a later `--since` needs no private key).
    pub cursors: BTreeMap<String, String>,
    /// Start of the extraction window.
    pub extracted_from: Option<DateTime<Utc>>,
    /// End of the extraction window.
    pub extracted_until: Option<DateTime<Utc>>,
    /// The writing tool's version.
    pub tool_version: String,
}

impl BundleMeta {
    /// A full bundle purged 10 days after `created_at`, tool version = this crate's version.
    pub fn new(
        bundle_id: impl Into<String>,
        source_platform: impl Into<String>,
        source_account: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> BundleMeta {
        BundleMeta {
            bundle_id: bundle_id.into(),
            source_platform: source_platform.into(),
            source_account: source_account.into(),
            created_at,
            purge_after: created_at + chrono::Duration::days(10),
            mode: Mode::Full,
            parent_bundle_id: None,
            cursors: BTreeMap::new(),
            extracted_from: None,
            extracted_until: None,
            tool_version: concat!("deskferry-format ", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// Checks the fields that end up in file names and tag files.
    pub fn validate(&self) -> Result<(), String> {
        if !valid_bundle_id(&self.bundle_id) {
            return Err(format!("bundle_id {:?} is not [A-Za-z0-9._-]{{1,100}}", self.bundle_id));
        }
        if self.bundle_id == "." || self.bundle_id == ".." {
            return Err("bundle_id may not be . or ..".into());
        }
        for (name, v) in
            [("source_platform", &self.source_platform), ("source_account", &self.source_account)]
        {
            if v.chars().any(|c| c.is_control()) {
                return Err(format!("{name} holds control characters"));
            }
        }
        if self.purge_after < self.created_at {
            return Err("purge_after is before created_at".into());
        }
        Ok(())
    }
}

/// True for `[A-Za-z0-9._-]{1,100}`.
pub fn valid_bundle_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && id != "."
        && id != ".."
}

/// One table in bundle.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Table name.
    pub table: String,
    /// Rows over all parts.
    pub rows: u64,
    /// Bag paths of its parts (`data/tables/<table>/part-00000.parquet`), in order.
    pub parts: Vec<String>,
}

/// `bundle.json` inside the bag: format version first, then the envelope's fields (minus the
/// ciphertext fields and the content id, which depend on it), tool version, window, warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleJson {
    /// Always first, so a reader can refuse a newer version before anything else.
    pub format_version: u32,
    /// Bundle id.
    pub bundle_id: String,
    /// Source platform.
    pub source_platform: String,
    /// Source account.
    pub source_account: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Purge after.
    pub purge_after: DateTime<Utc>,
    /// Full or delta.
    pub mode: Mode,
    /// Parent of a delta.
    pub parent_bundle_id: Option<String>,
    /// Per-entity cursors.
    pub cursors: BTreeMap<String, String>,
    /// Start of the extraction window.
    pub extracted_from: Option<DateTime<Utc>>,
    /// End of the extraction window.
    pub extracted_until: Option<DateTime<Utc>>,
    /// Writing tool's version.
    pub tool_version: String,
    /// Every table with rows, in `Table::ALL` order (absent table = 0 rows, no parts).
    pub tables: Vec<TableEntry>,
    /// Number of distinct blobs.
    pub attachment_blobs: u64,
    /// Their total size.
    pub attachment_bytes: u64,
    /// Records that could not be fetched.
    pub warnings: Vec<Warning>,
}

impl BundleJson {
    /// Row count per table name (tables present only).
    pub fn row_counts(&self) -> BTreeMap<String, u64> {
        self.tables.iter().map(|t| (t.table.clone(), t.rows)).collect()
    }
}

/// `NAME.dfb.json`: plaintext, no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version.
    pub format_version: u32,
    /// Bundle id.
    pub bundle_id: String,
    /// SHA-256 (hex) of tagmanifest-sha256.txt.
    pub content_id: String,
    /// Source platform.
    pub source_platform: String,
    /// Source account.
    pub source_account: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Purge after.
    pub purge_after: DateTime<Utc>,
    /// Full or delta.
    pub mode: Mode,
    /// Parent of a delta.
    pub parent_bundle_id: Option<String>,
    /// Per-entity cursors.
    pub cursors: BTreeMap<String, String>,
    /// Rows per table (tables present only).
    pub row_counts: BTreeMap<String, u64>,
    /// Size of the plaintext tar; lets the reader tell truncation and trailing bytes from damage.
    pub plaintext_size: u64,
    /// Size of NAME.dfb.
    pub ciphertext_size: u64,
    /// SHA-256 (hex) of NAME.dfb.
    pub ciphertext_sha256: String,
    /// Minisign key id of the signer (16 upper-case hex digits, as minisign prints it).
    pub signer_key_id: String,
}

/// The signed trusted comment: one line of canonical JSON (keys sorted, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedComment {
    /// Bundle id.
    pub bundle_id: String,
    /// Content id.
    pub content_id: String,
    /// SHA-256 (hex) of NAME.dfb.json's bytes.
    pub envelope_sha256: String,
    /// Format version.
    pub format_version: u32,
    /// Purge date (RFC 3339, seconds, `Z`).
    pub purge_after: String,
}

impl TrustedComment {
    /// The comment line (fields in alphabetical order, so the text is canonical).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("plain strings serialize")
    }
    /// Parses a comment line.
    pub fn parse(s: &str) -> Option<TrustedComment> {
        serde_json::from_str(s).ok()
    }
}

/// RFC 3339 with seconds and `Z`, as written in tag files and the trusted comment.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn bundle_json_from(
    meta: &BundleMeta,
    tables: Vec<TableEntry>,
    blobs: u64,
    bytes: u64,
    warnings: Vec<Warning>,
) -> BundleJson {
    BundleJson {
        format_version: FORMAT_VERSION,
        bundle_id: meta.bundle_id.clone(),
        source_platform: meta.source_platform.clone(),
        source_account: meta.source_account.clone(),
        created_at: meta.created_at,
        purge_after: meta.purge_after,
        mode: meta.mode,
        parent_bundle_id: meta.parent_bundle_id.clone(),
        cursors: meta.cursors.clone(),
        extracted_from: meta.extracted_from,
        extracted_until: meta.extracted_until,
        tool_version: meta.tool_version.clone(),
        tables,
        attachment_blobs: blobs,
        attachment_bytes: bytes,
        warnings,
    }
}

/// Names the first field where bundle.json and the envelope disagree.
pub(crate) fn inner_mismatch(b: &BundleJson, e: &Envelope) -> Option<&'static str> {
    if b.format_version != e.format_version {
        return Some("format_version");
    }
    if b.bundle_id != e.bundle_id {
        return Some("bundle_id");
    }
    if b.source_platform != e.source_platform {
        return Some("source_platform");
    }
    if b.source_account != e.source_account {
        return Some("source_account");
    }
    if b.created_at != e.created_at {
        return Some("created_at");
    }
    if b.purge_after != e.purge_after {
        return Some("purge_after");
    }
    if b.mode != e.mode {
        return Some("mode");
    }
    if b.parent_bundle_id != e.parent_bundle_id {
        return Some("parent_bundle_id");
    }
    if b.cursors != e.cursors {
        return Some("cursors");
    }
    None
}
