//! What `/ws` and Socket.IO sessions share: the requests a client may make
//! and how they are answered ([`Requests`]), the per-session rate limit, and
//! the live-client count.

mod cached;
mod counted;
mod limiter;
mod origin;
mod requests;

pub use counted::Counted;
pub use origin::origin_allowed;
pub use requests::{Admission, Opening, Requests};
