//! Hard limits, so a hostile bundle cannot exhaust memory or CPU (exceeding one is B034).

/// Most entries in the tar.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Longest entry name in bytes (ustar's own maximum is 256).
pub const MAX_NAME: usize = 256;
/// Largest bagit.txt, bag-info.txt or tagmanifest-sha256.txt.
pub const MAX_SMALL_TAG: u64 = 1 << 20;
/// Largest bundle.json.
pub const MAX_BUNDLE_JSON: u64 = 64 << 20;
/// Largest manifest-sha256.txt (about 1.5 million lines).
pub const MAX_MANIFEST: u64 = 256 << 20;
/// Largest Parquet footer.
pub const MAX_FOOTER: u64 = 16 << 20;
/// Largest age header we look through for its end.
pub const MAX_AGE_HEADER: u64 = 1 << 20;
