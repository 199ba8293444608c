//! load benchmark (being written).

fn main() {}
