//! http_client (being written).
