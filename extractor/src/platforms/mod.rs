//! One folder per platform; the same file names keep the same roles everywhere (DESIGN §2).

pub mod front;
pub mod rt;
pub mod zendesk;
