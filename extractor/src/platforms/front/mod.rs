//! Front: HTTP client and wire types (read side; the loader writes through them).
