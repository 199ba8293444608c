//! load_front (being written).
