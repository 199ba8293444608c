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
/// Largest decoded (uncompressed) Parquet data page. The writer cuts pages at 1 MiB; only a
/// single field larger than that makes a bigger one, and no helpdesk field comes near this.
pub const MAX_DATA_PAGE: u64 = 256 << 20;
/// Largest decoded dictionary page (held whole while its column is read).
pub const MAX_DICTIONARY_PAGE: u64 = 256 << 20;
/// Largest Parquet page header (the writer's are tens of bytes).
pub const MAX_PAGE_HEADER: u64 = 64 << 10;
/// Most values (list elements included) in one column chunk; a row group holds at most 65,536
/// rows, so this allows 1,024 tags or custom-field values per row on average.
pub const MAX_CHUNK_VALUES: i64 = 1 << 26;
/// Most decoded bytes of one column in one batch of `codec::BATCH_ROWS` rows, as every reader of
/// the bundle materializes them (dictionary values repeated, lists expanded).
pub const MAX_DECODED_BATCH: u64 = 1 << 30;
