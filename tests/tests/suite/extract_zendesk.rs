//! extract_zendesk (being written).
