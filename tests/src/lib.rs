//! End-to-end tests across the deskferry crates; tests/run runs the whole suite.
