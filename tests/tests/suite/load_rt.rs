//! load_rt (being written).
