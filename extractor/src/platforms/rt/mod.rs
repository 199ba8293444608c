//! rt source (stub; being written).
