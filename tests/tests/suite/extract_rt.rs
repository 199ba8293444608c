//! extract_rt (being written).
