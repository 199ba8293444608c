//! Errors: `FormatError` for writing and keys, `BundleError` (with a stable `ErrorCode`) for
//! everything the reader can find wrong with a bundle.

use std::path::PathBuf;

macro_rules! codes {
    ($( $(#[$doc:meta])* $var:ident = $s:literal, $tier:literal, $remedy:literal; )*) => {
        /// Stable code of every way a bundle can be wrong (never renumbered, never reused).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[$doc])* $var, )*
        }
        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$var,)*];
            /// The stable string, e.g. `B023_stream_truncated`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$var => $s,)* }
            }
            /// The verification tier (1 quick, 2 structure, 3 full) that reports this code.
            pub fn tier(self) -> u8 {
                match self { $(ErrorCode::$var => $tier,)* }
            }
            /// A one-line hint for people.
            pub fn remedy(self) -> &'static str {
                match self { $(ErrorCode::$var => $remedy,)* }
            }
            /// The code with this stable string.
            pub fn from_str_code(s: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }
    };
}

codes! {
    /// NAME.dfb.minisig absent.
    B001 = "B001_signature_missing", 1, "the signature file NAME.dfb.minisig is missing: the bundle was never completed or was copied without it; copy it too or re-extract";
    /// Signature does not verify over NAME.dfb.
    B002 = "B002_signature_invalid", 1, "the bundle does not match its signature: it was changed or damaged after signing; get a fresh copy";
    /// Signed by another key than the pinned signer.
    B003 = "B003_signer_mismatch", 1, "signed by a different key than the pinned signer: check --signer, or do not trust this bundle";
    /// NAME.dfb.json absent.
    B004 = "B004_envelope_missing", 1, "the envelope NAME.dfb.json is missing: copy it together with the bundle";
    /// Envelope not JSON or missing fields.
    B005 = "B005_envelope_malformed", 1, "the envelope NAME.dfb.json is not valid: get a fresh copy";
    /// Envelope edited after signing.
    B006 = "B006_envelope_mismatch", 1, "the envelope differs from what was signed: it was edited; get a fresh copy";
    /// File size differs from the envelope.
    B007 = "B007_ciphertext_size_mismatch", 1, "the bundle's size differs from its envelope: truncated or extended copy; get a fresh copy";
    /// File SHA-256 differs from the envelope.
    B008 = "B008_ciphertext_hash_mismatch", 1, "the bundle's SHA-256 differs from its envelope: damaged copy; get a fresh copy";
    /// Past purge_after.
    B009 = "B009_expired", 1, "the bundle is past its purge date: purge it, re-extract, or pass --allow-expired if policy allows";
    /// Written by a newer format.
    B010 = "B010_version_unsupported", 1, "written by a newer deskferry; upgrade";
    /// Trusted comment unparsable.
    B011 = "B011_trusted_comment_malformed", 1, "the signature's trusted comment is not a deskferry comment: not a deskferry bundle, or forged";
    /// A file could not be read.
    B012 = "B012_io_error", 1, "a file of the bundle could not be read: check the path, permissions and the disk";
    /// NAME.dfb or a sidecar is a device, FIFO, directory or socket.
    B013 = "B013_not_a_regular_file", 1, "NAME.dfb, NAME.dfb.minisig and NAME.dfb.json must be regular files (a symlink to one is fine): replace the device, FIFO or directory with a real copy";
    /// Wrong key.
    B020 = "B020_no_matching_identity", 2, "none of the given identities can decrypt this bundle: use the key it was encrypted to";
    /// age header corrupted.
    B021 = "B021_age_header_invalid", 2, "the age header is damaged: get a fresh copy";
    /// A payload chunk fails authentication.
    B022 = "B022_stream_corrupt", 2, "the encrypted data is damaged (a chunk failed authentication): get a fresh copy";
    /// Ends before the final chunk.
    B023 = "B023_stream_truncated", 2, "the bundle is truncated: get a complete copy";
    /// Bytes after the final chunk.
    B024 = "B024_trailing_data", 2, "the bundle has bytes after its end: get a clean copy";
    /// Not a valid tar.
    B025 = "B025_tar_malformed", 2, "the archive inside is malformed: the writer was faulty or the bundle was forged";
    /// Non-regular entry.
    B026 = "B026_entry_type_forbidden", 2, "the archive holds a link, device, directory or extension entry, which bundles never contain";
    /// `..`, backslash, NUL, empty segments, `~`.
    B027 = "B027_entry_path_traversal", 2, "an entry name tries to escape the bag: do not unpack this bundle";
    /// Leading `/`.
    B028 = "B028_entry_path_absolute", 2, "an entry name is absolute: do not unpack this bundle";
    /// Same name twice.
    B029 = "B029_entry_duplicate", 2, "an entry appears twice in the archive";
    /// In a manifest, not in the tar.
    B030 = "B030_entry_missing", 2, "a file listed in the manifests is missing from the bundle";
    /// In the tar, not in a manifest.
    B031 = "B031_entry_extra", 2, "the bundle holds a file that no manifest lists";
    /// bagit.txt not exactly the two lines.
    B032 = "B032_bagit_txt_malformed", 2, "bagit.txt is not the BagIt 1.0 declaration";
    /// Payload-Oxum wrong.
    B033 = "B033_payload_oxum_mismatch", 2, "Payload-Oxum in bag-info.txt does not match the payload's size and file count";
    /// A hard limit was exceeded.
    B034 = "B034_limit_exceeded", 2, "the bundle exceeds a safety limit (entries, name length, tag file, footer, page or dictionary size, decoded size, scrypt work factor)";
    /// Manifest line malformed.
    B035 = "B035_manifest_malformed", 2, "a manifest line is not `<sha256>  <path>` or names a path it must not";
    /// bundle.json malformed.
    B036 = "B036_bundle_json_malformed", 2, "bundle.json inside the bag is not valid";
    /// Entry order wrong.
    B037 = "B037_entry_order", 2, "the bag's files are not in the order the format prescribes";
    /// Permission bits other than the writer's 0644.
    B038 = "B038_entry_mode_forbidden", 2, "an entry's permission bits are not the writer's 0644 (setuid, setgid, sticky or execute bits): do not unpack this bundle with stock tools as root";
    /// Payload file hash mismatch.
    B040 = "B040_entry_hash_mismatch", 3, "a payload file's SHA-256 differs from manifest-sha256.txt: damaged before encryption";
    /// Tag file hash mismatch.
    B041 = "B041_tag_hash_mismatch", 3, "a tag file's SHA-256 differs from tagmanifest-sha256.txt";
    /// Content id mismatch.
    B042 = "B042_content_id_mismatch", 3, "the bag's content id differs from the signed one: the inside was replaced";
    /// Parquet footer unreadable or schema wrong.
    B043 = "B043_parquet_invalid", 3, "a table file is not valid Parquet with the table's schema";
    /// Row counts differ.
    B044 = "B044_row_count_mismatch", 3, "a table's row count differs from bundle.json or the envelope";
    /// Blob bytes do not hash to their name.
    B045 = "B045_blob_name_mismatch", 3, "an attachment blob's bytes do not match its name";
    /// Attachment row without blob.
    B046 = "B046_attachment_blob_missing", 3, "an attachment row says stored but its blob is absent";
    /// Part from another bundle or table.
    B047 = "B047_table_foreign", 3, "a table file belongs to another bundle or table (swapped in)";
    /// bundle.json differs from the envelope.
    B048 = "B048_envelope_inner_mismatch", 3, "bundle.json inside the bag differs from the envelope";
    /// Unknown table directory.
    B049 = "B049_unknown_table", 3, "the bag holds a table this version does not know";
    /// bundle.json's attachment_blobs or attachment_bytes differ from the bag.
    B050 = "B050_attachment_totals_mismatch", 3, "bundle.json's count or total size of attachment blobs differs from the blobs in the bag: the writer was faulty or the bundle was forged";
    /// A blob no stored attachment row names.
    B051 = "B051_blob_unreferenced", 3, "the bag holds an attachment blob that no stored attachment row refers to: the writer was faulty or something was smuggled in";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something is wrong with a bundle; `code` says what, `detail` names the file or entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct BundleError {
    /// The stable code.
    pub code: ErrorCode,
    /// What exactly, naming the file or entry.
    pub detail: String,
}

impl BundleError {
    /// A new error with this code and detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> BundleError {
        BundleError { code, detail: detail.into() }
    }
}

/// Shorthand used throughout the reader.
pub(crate) fn berr<T>(code: ErrorCode, detail: impl Into<String>) -> Result<T, BundleError> {
    Err(BundleError::new(code, detail))
}

/// Errors of writing bundles and handling keys.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// An I/O error on a path.
    #[error("{path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A key or recipient could not be used.
    #[error("key {path}: {message}")]
    Key {
        /// The key file (or a description of the key's origin).
        path: PathBuf,
        /// What is wrong (never the key material).
        message: String,
    },
    /// Encryption failed.
    #[error("encryption: {0}")]
    Encrypt(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
    /// Arrow or Parquet failed on a table.
    #[error("table {table}: {message}")]
    Table {
        /// The table.
        table: String,
        /// What failed.
        message: String,
    },
    /// A row could not be converted.
    #[error("table {table}, record {id}: {message}")]
    Record {
        /// The table.
        table: String,
        /// The record's key.
        id: String,
        /// What failed.
        message: String,
    },
    /// The caller's metadata is not acceptable.
    #[error("invalid bundle metadata: {0}")]
    Meta(String),
    /// The output exists already.
    #[error("{0}: exists already; refusing to overwrite")]
    Exists(PathBuf),
}

/// Wraps an io error with its path.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FormatError {
    let path = path.into();
    move |source| FormatError::Io { path, source }
}

/// An error and its causes on one line, `: `-separated, leaving out a cause the text so far
/// already ends with (several errors print their source themselves, and a chain printed as is
/// would repeat it). What the three binaries print for a fatal error.
pub fn chain_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod chain_tests {
    use super::chain_message;

    #[derive(Debug, thiserror::Error)]
    #[error("reading x.toml: {0}")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::other("disk full");
        assert_eq!(chain_message(&Outer(io)), "reading x.toml: disk full");
        let plain = std::io::Error::other("gone");
        assert_eq!(chain_message(&plain), "gone");
    }
}
