//! front target (stub; being written).
