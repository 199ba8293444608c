//! Progress on a terminal or as plain lines (stub; being written).
