//! extract_resume (being written).
