//! The data stream (the old design's `useDataStream`): the WebSocket to
//! `/ws`, its reconnection and resume, and the queue between frames and the
//! chart.
//!
//! - [`url`]: the WebSocket address for the page's origin.
//! - [`socket`]: one browser WebSocket and its handlers.
//! - [`view`]: the options, the connection state and the view the page reads.
//! - [`data_stream`]: [`DataStream`] and [`use_data_stream`].

pub mod data_stream;
pub mod socket;
pub mod url;
pub mod view;

pub use data_stream::{DataStream, MAX_QUEUED, now_ms, use_data_stream};
pub use view::{Connection, OlderHistory, StreamOptions, StreamView};
