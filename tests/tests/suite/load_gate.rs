//! load_gate (being written).
