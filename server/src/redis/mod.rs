//! Redis helpers shared by the journal, the candle cache, the status and the
//! metrics: one connection type for one Redis or a cluster ([`link`]),
//! `INFO` figures ([`info`]), the journal streams' figures ([`stream`]) and
//! raw replies read as text ([`reply`]).

pub mod info;
pub mod link;
pub mod reply;
pub mod stream;

pub use link::{Link, Target};
