//! The data stream (the old design's `useDataStream`): the WebSocket to
//! `/ws`, its reconnection and resume, and the queue between frames and the
//! chart.
//!
//! - [`clock`]: [`now_ms`], the page's clock.
//! - [`url`]: the WebSocket address for the page's origin.
//! - [`socket`]: one browser WebSocket and its handlers.
//! - [`view`]: the options, the connection state and the view the page reads.
//! - [`link`]: [`Link`], the page's one socket, shared by every chart.
//! - [`data_stream`]: [`DataStream`], one chart's series, and [`use_data_stream`].

pub mod clock;
pub mod data_stream;
pub mod link;
pub mod socket;
pub mod url;
pub mod view;

pub use clock::now_ms;
pub use data_stream::{DRAWS_PER_FRAME, DataStream, MAX_QUEUED, use_data_stream};
pub use link::{Follower, Link, MAX_SERIES, use_link};
pub use view::{Connection, OlderHistory, StreamOptions, StreamView};
