//! The page's CSV view (the old design's `useCsvData`): a local file read in
//! the browser, a chunk at a time with a yield to the event loop between
//! chunks, checked by `shared`'s CSV reader and charted beside the live
//! view. Nothing is sent anywhere.
//!
//! - [`load`]: a file (a `Blob`) to a [`shared::CsvFile`], and a file to the
//!   candles of a timeframe, yielding as they go.
//! - [`window`]: how many of a file's candles the chart holds.
//! - [`view`]: [`CsvView`], what the page shows of the open file.

pub mod load;
pub mod view;
pub mod window;

pub use view::{CsvShown, CsvStatus, CsvView};
