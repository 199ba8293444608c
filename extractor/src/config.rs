//! The source file (stub; being written).
