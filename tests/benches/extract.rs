//! extract benchmark (being written).

fn main() {}
