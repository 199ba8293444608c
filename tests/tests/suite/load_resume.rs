//! load_resume (being written).
