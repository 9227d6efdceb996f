//! What the data stream is set up with and what it shows: [`StreamOptions`]
//! (the old design's options), [`Connection`], [`OlderHistory`] and
//! [`StreamView`], the state the badges and the legend read.

use shared::protocol::HistorySource;
use shared::{Asset, Candle, Timeframe};

use crate::model::{
    DEFAULT_MAX_BUFFER_SIZE, FeedState, PersisterState, Resyncs, StreamState, Streaming,
};

/// How the stream runs (the old design's options).
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// The asset shown first.
    pub asset: Asset,
    /// The timeframe shown first.
    pub timeframe: Timeframe,
    /// Most candles held (`maxBufferSize`).
    pub max_buffer_size: usize,
    /// How often queued frames are applied, in ms (`processInterval`).
    pub process_interval_ms: u32,
    /// The WebSocket address; `/ws` on the page's origin when `None`.
    pub url: Option<String>,
    /// Whether to connect at all (tests feed frames by hand).
    pub connect: bool,
}

impl Default for StreamOptions {
    /// `EURUSD_otc`, `1M`, 1000 candles, every 100 ms, the page's `/ws`.
    fn default() -> Self {
        Self {
            asset: Asset::new(crate::model::page_view::DEFAULT_ASSET),
            timeframe: Timeframe::M1,
            max_buffer_size: DEFAULT_MAX_BUFFER_SIZE,
            process_interval_ms: 100,
            url: None,
            connect: true,
        }
    }
}

/// The WebSocket's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Connection {
    /// Not connecting (no socket wanted).
    Offline,
    /// Opening.
    Connecting,
    /// Open and subscribed.
    Open,
    /// Closed; the next attempt comes after `delay_ms`.
    Reconnecting {
        /// Attempts since the last success.
        attempt: u32,
        /// Wait before the next one.
        delay_ms: f64,
    },
}

/// Fetching older candles (on scrolling left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OlderHistory {
    /// Nothing asked.
    Idle,
    /// A request is out.
    Loading,
    /// The server has nothing older.
    Exhausted,
    /// The buffer is full: older candles would push out newer ones.
    Full,
    /// The last request failed.
    Failed(String),
}

/// What the badges and the legend show, refreshed each processing tick.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamView {
    /// The asset shown.
    pub asset: Asset,
    /// The timeframe shown.
    pub timeframe: Timeframe,
    /// Candles held.
    pub candles: usize,
    /// The newest candle.
    pub latest: Option<Candle>,
    /// Whether the server reaches Redis, once known.
    pub redis_connected: Option<bool>,
    /// The persister.
    pub persister: PersisterState,
    /// This page's feed.
    pub streaming: Streaming,
    /// Live, stale or waiting.
    pub feed: FeedState,
    /// Where the history came from.
    pub history_source: Option<HistorySource>,
    /// Resynchronisations.
    pub resyncs: Resyncs,
    /// The last error the server reported.
    pub error: Option<String>,
    /// Assets known, sorted.
    pub known_assets: Vec<Asset>,
}

impl StreamView {
    /// The view of `state` at `now_ms`.
    #[must_use]
    pub fn of(state: &StreamState, now_ms: f64) -> Self {
        Self {
            asset: state.asset(),
            timeframe: state.timeframe(),
            candles: state.buffer().len(),
            latest: state.buffer().latest().copied(),
            redis_connected: state.redis_connected(),
            persister: state.persister().clone(),
            streaming: state.streaming(),
            feed: state.feed(now_ms),
            history_source: state.history_source(),
            resyncs: state.resyncs(),
            error: state.error().map(str::to_owned),
            known_assets: state.known_assets().iter().copied().collect(),
        }
    }
}
