//! rt target (stub; being written).
