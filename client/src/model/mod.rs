//! The page's pure logic, testable without a browser: the bounded candle
//! buffer, resume bookkeeping, feed staleness, reconnection delays,
//! connection liveness, the message queue, status reading, the page's view
//! in the address, and [`StreamState`], which ties
//! them together.

pub mod backoff;
pub mod buffer;
pub mod cursor;
pub mod feed;
pub mod liveness;
pub mod page_view;
pub mod queue;
pub mod redraw;
pub mod status;
pub mod stream_state;

pub use backoff::Backoff;
pub use buffer::{Applied, CandleBuffer, DEFAULT_MAX_BUFFER_SIZE};
pub use cursor::{SeriesCursor, Verdict};
pub use feed::{FeedClock, FeedState};
pub use liveness::Liveness;
pub use page_view::{ChartView, PageView};
pub use queue::MessageQueue;
pub use redraw::Redraw;
pub use status::PersisterState;
pub use stream_state::{OlderOutcome, OlderRequest, Resyncs, StreamState, Streaming};

#[cfg(test)]
pub(crate) mod testing {
    //! Candles for the unit tests.

    use shared::{Asset, Candle, CandleState, Price, Timeframe};

    /// A day start (2025-11-26T00:00:00Z): every test time is an offset
    /// from it, so candles stay within the valid range and aligned.
    pub const BASE: i64 = 1_764_115_200;

    /// A one-minute EURUSD_otc candle at `BASE + offset` with every price
    /// `close` and one tick.
    pub fn candle(offset: i64, close: &str) -> Candle {
        candle_of(Timeframe::M1, offset, close, 1)
    }

    /// A candle of `timeframe` at `BASE + offset`.
    pub fn candle_of(timeframe: Timeframe, offset: i64, close: &str, volume: u64) -> Candle {
        let p = Price::new(close);
        Candle::new_checked(
            Asset::new("EURUSD_otc"),
            timeframe,
            BASE + offset,
            p,
            p,
            p,
            p,
            volume,
            CandleState::Forming,
        )
        .unwrap()
    }
}
