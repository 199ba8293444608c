//! zendesk source (stub; being written).
