//! deskferry's bundle format (docs/bundle-format-v1.md): the canonical model, one Arrow schema per
//! table,
//! the bundle writer and the verifying reader. Sync code, no network.
#![deny(missing_docs)]

pub mod codec;
pub mod error;
pub mod keys;
pub mod meta;
pub mod model;
pub mod reader;
pub mod schema;
pub mod testing;
pub mod writer;

pub use error::{BundleError, ErrorCode, FormatError, chain_message};
pub use keys::{Identities, KeygenPaths, Recipients, SignerKey, SigningKey, keygen};
pub use meta::{BundleJson, BundleMeta, Envelope, Mode, TableEntry, TrustedComment, Warning};
pub use model::*;
pub use reader::{
    BundleReader, EntryInfo, Progress, QuickReport, Stage, VerifyOptions, VerifyStats, verify_quick,
};
pub use schema::{KbArticle, KbCategory, KbSection, Record, Table};
pub use writer::{BlobRef, BlobStore, BundleWriter, SealedBundle, resign};

/// The bundle format version this crate writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;

/// `NAME.dfb.minisig` for the bundle `NAME.dfb`.
pub fn signature_path(bundle: &std::path::Path) -> std::path::PathBuf {
    writer::signature_path(bundle)
}

/// `NAME.dfb.json` for the bundle `NAME.dfb`.
pub fn envelope_path(bundle: &std::path::Path) -> std::path::PathBuf {
    writer::envelope_path(bundle)
}
