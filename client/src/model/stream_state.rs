//! [`StreamState`]: everything the page knows about its one series, changed
//! only by the server's messages and the user's choices. Pure: the data
//! stream feeds it, the chart and the badges read it.

use std::collections::BTreeSet;

use shared::protocol::{CandleSnapshot, CandleUpdate, HistoricalData, HistorySource};
use shared::protocol::{SnapshotReason, Subscribe};
use shared::{Asset, Candle, ClientMessage, ForSeries, ServerMessage, Timeframe};

use super::buffer::CandleBuffer;
use super::cursor::{SeriesCursor, Verdict};
use super::feed::{FeedClock, FeedState};
use super::redraw::Redraw;
use super::status::{PersisterState, assets_in};

/// Whether this page's simulated feed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// Not started by this page.
    Idle,
    /// `start_stream` sent, no answer yet.
    Starting(Asset),
    /// The server confirmed the stream.
    Running(Asset),
}

/// Resynchronisations seen, shown rather than hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resyncs {
    /// Snapshots because this page fell behind the server (`lagged`).
    pub lagged: u32,
    /// Snapshots because a resume came too late (`resume_too_old`).
    pub resume_too_old: u32,
    /// Reconnections resumed with exactly the missed updates.
    pub resumed: u32,
    /// Times this page's own queue overflowed and it asked for a snapshot.
    pub overflowed: u32,
}

impl Resyncs {
    /// Times the page had to start over from a snapshot.
    #[must_use]
    pub const fn restarts(&self) -> u32 {
        self.lagged + self.resume_too_old + self.overflowed
    }
}

/// A request for candles older than those held, tied to the series (and
/// its generation) it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OlderRequest {
    /// The asset.
    pub asset: Asset,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Candles opening at or before this time are asked for.
    pub to: i64,
    /// At most this many: the room left in the buffer, up to a page.
    pub limit: usize,
    generation: u64,
}

impl OlderRequest {
    /// The generation of the series it was made for.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }
}

/// What a page of older candles did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OlderOutcome {
    /// Asked for a series no longer shown (or since started over): dropped.
    Stale,
    /// The server returned no candles at all: there is nothing older.
    Exhausted,
    /// This many candles were new (possibly none).
    Added(usize),
    /// Nothing new fits: the buffer is full.
    Full,
}

/// The state of one page's series and of the server as far as it is known.
#[derive(Debug, Clone)]
pub struct StreamState {
    asset: Asset,
    timeframe: Timeframe,
    buffer: CandleBuffer,
    cursor: SeriesCursor,
    feed: FeedClock,
    /// The server judged the shown asset's source stale in its last status,
    /// and no update came since.
    source_stale: bool,
    /// The last message handled, as the old design's `lastMessage`.
    last_message: Option<ServerMessage>,
    /// Unknown until a status or a live update says.
    redis_connected: Option<bool>,
    persister: PersisterState,
    known_assets: BTreeSet<Asset>,
    streaming: Streaming,
    history_source: Option<HistorySource>,
    resyncs: Resyncs,
    /// The last refusal or stream error, for the user.
    error: Option<String>,
    /// A resume was asked for and its first answer is still to come.
    resuming: bool,
    /// The history request went out for this series and connection.
    history_asked: bool,
    /// A snapshot was applied and neither handed to the chart nor given a
    /// processing tick yet: the history request waits for one of them.
    snapshot_fresh: bool,
    redraw: Redraw,
    /// Bumped whenever the series starts over (a switch, a snapshot that
    /// does not join what is held), so late older-history pages are dropped.
    generation: u64,
    /// Candles dropped from the front since the chart last redrew them all.
    evicted: usize,
}

impl StreamState {
    /// The state for `asset` in `timeframe`, holding at most
    /// `max_buffer_size` candles.
    #[must_use]
    pub fn new(asset: Asset, timeframe: Timeframe, max_buffer_size: usize) -> Self {
        Self {
            asset,
            timeframe,
            buffer: CandleBuffer::new(max_buffer_size),
            cursor: SeriesCursor::new(),
            feed: FeedClock::default(),
            source_stale: false,
            last_message: None,
            redis_connected: None,
            persister: PersisterState::Unknown,
            known_assets: BTreeSet::from([asset]),
            streaming: Streaming::Idle,
            history_source: None,
            resyncs: Resyncs::default(),
            error: None,
            resuming: false,
            history_asked: false,
            snapshot_fresh: false,
            redraw: Redraw::initial(),
            generation: 0,
            evicted: 0,
        }
    }

    /// The asset shown.
    #[must_use]
    pub const fn asset(&self) -> Asset {
        self.asset
    }
    /// The timeframe shown.
    #[must_use]
    pub const fn timeframe(&self) -> Timeframe {
        self.timeframe
    }
    /// The candles held (the old design's `chartData`).
    #[must_use]
    pub const fn buffer(&self) -> &CandleBuffer {
        &self.buffer
    }
    /// The last message handled (the old design's `lastMessage`).
    #[must_use]
    pub const fn last_message(&self) -> Option<&ServerMessage> {
        self.last_message.as_ref()
    }
    /// Whether the server reaches Redis, once known.
    #[must_use]
    pub const fn redis_connected(&self) -> Option<bool> {
        self.redis_connected
    }
    /// The persister's state.
    #[must_use]
    pub const fn persister(&self) -> &PersisterState {
        &self.persister
    }
    /// Assets the server or the user named, sorted.
    #[must_use]
    pub const fn known_assets(&self) -> &BTreeSet<Asset> {
        &self.known_assets
    }
    /// Whether this page's feed runs.
    #[must_use]
    pub const fn streaming(&self) -> Streaming {
        self.streaming
    }
    /// Where the history came from.
    #[must_use]
    pub const fn history_source(&self) -> Option<HistorySource> {
        self.history_source
    }
    /// Resynchronisations so far.
    #[must_use]
    pub const fn resyncs(&self) -> Resyncs {
        self.resyncs
    }
    /// The last error the server reported.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// The resume position.
    #[must_use]
    pub const fn cursor(&self) -> SeriesCursor {
        self.cursor
    }
    /// The feed's state at `now_ms`: stale when the server says the
    /// asset's source is (`redis_status.feeds`) or when this page has seen
    /// no update for several usual intervals.
    #[must_use]
    pub fn feed(&self, now_ms: f64) -> FeedState {
        match self.feed.state(now_ms) {
            FeedState::Live if self.source_stale => FeedState::Stale,
            state => state,
        }
    }

    /// Shows another series: everything held about the old one is dropped.
    pub fn switch(&mut self, asset: Asset, timeframe: Timeframe) {
        self.asset = asset;
        self.timeframe = timeframe;
        self.known_assets.insert(asset);
        self.buffer.clear();
        self.cursor.reset();
        self.feed.reset();
        self.source_stale = false;
        self.history_source = None;
        self.resuming = false;
        self.history_asked = false;
        self.snapshot_fresh = false;
        self.redraw = Redraw::initial();
        self.generation = self.generation.wrapping_add(1);
        self.evicted = 0;
    }

    /// Bumped whenever the series starts over: on a switch, or when a
    /// snapshot replaced everything held.
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// The subscription to send on (re)connecting: a resume after the last
    /// update applied when there is one.
    #[must_use]
    pub fn subscribe(&mut self) -> ClientMessage {
        let request: Subscribe = self.cursor.subscribe(self.asset, self.timeframe);
        self.resuming = request.last_seq.is_some();
        // Unanswered on a lost connection: ask again.
        self.history_asked = self.history_source.is_some();
        ClientMessage::SubscribeRedisUpdates(request)
    }

    /// The request for the series' recent history, once per series and
    /// connection, after its snapshot: once the snapshot has been handed to
    /// the chart ([`StreamState::take_redraw`]) or has had its processing
    /// tick ([`StreamState::end_tick`]), whatever still waits to be drawn,
    /// so the first paint comes first and a busy feed never holds it back.
    pub fn history_request(&mut self) -> Option<ClientMessage> {
        if self.history_asked || self.snapshot_fresh || self.cursor.position().is_none() {
            return None;
        }
        self.history_asked = true;
        Some(ClientMessage::GetCachedHistoricalData(ForSeries {
            asset: self.asset,
            timeframe: self.timeframe,
        }))
    }

    /// The end of a processing tick, after its messages were handled: the
    /// history request if it is due. A snapshot handled in this tick gets
    /// the chart's next frame first; the next tick asks in any case.
    pub fn end_tick(&mut self) -> Option<ClientMessage> {
        let request = self.history_request();
        self.snapshot_fresh = false;
        request
    }

    /// `start_stream` for the asset shown.
    pub fn start_stream(&mut self) -> ClientMessage {
        self.streaming = Streaming::Starting(self.asset);
        self.error = None;
        ClientMessage::StartStream(shared::ForAsset { asset: self.asset })
    }

    /// `stop_stream`.
    pub fn stop_stream(&mut self) -> ClientMessage {
        self.streaming = Streaming::Idle;
        ClientMessage::StopStream
    }

    /// The page's own queue overflowed: updates were dropped, so the next
    /// subscription starts from a snapshot.
    pub fn overflowed(&mut self) {
        self.resyncs.overflowed += 1;
        self.cursor.reset();
        self.resuming = false;
    }

    /// The request for up to `page` candles older than the oldest held;
    /// `None` while nothing is held. A `limit` of 0 means the buffer is full.
    #[must_use]
    pub fn older_request(&self, page: usize) -> Option<OlderRequest> {
        let oldest = self.buffer.oldest()?.open_time();
        Some(OlderRequest {
            asset: self.asset,
            timeframe: self.timeframe,
            to: oldest - self.timeframe.seconds(),
            limit: (self.buffer.capacity() - self.buffer.len()).min(page),
            generation: self.generation,
        })
    }

    /// Older candles fetched for `request`: dropped when the series has
    /// changed or started over since it was made.
    pub fn add_older(&mut self, request: &OlderRequest, candles: &[Candle]) -> OlderOutcome {
        if request.generation != self.generation
            || (request.asset, request.timeframe) != (self.asset, self.timeframe)
        {
            return OlderOutcome::Stale;
        }
        if candles.is_empty() {
            return OlderOutcome::Exhausted;
        }
        let shown: Vec<Candle> = candles
            .iter()
            .filter(|c| self.is_shown(c))
            .copied()
            .collect();
        let added = self.buffer.fill(&shown);
        if added > 0 {
            self.redraw.set_full();
        } else if self.buffer.is_full() {
            return OlderOutcome::Full;
        }
        OlderOutcome::Added(added)
    }

    /// The drawing work collected since the last call.
    pub fn take_redraw(&mut self) -> Redraw {
        // The chart cannot drop its oldest bars one by one: redraw it all
        // once a tenth of the buffer has gone, so it never holds much more.
        self.evicted += self.buffer.take_evicted();
        if self.evicted > 0 && self.evicted >= (self.buffer.capacity() / 10).max(1) {
            self.redraw.set_full();
        }
        if self.redraw.is_full() {
            self.evicted = 0;
        }
        // Whatever snapshot was applied is the chart's now.
        self.snapshot_fresh = false;
        std::mem::take(&mut self.redraw)
    }

    /// Whether anything waits to be drawn.
    #[must_use]
    pub fn needs_redraw(&self) -> bool {
        !self.redraw.is_empty()
    }

    /// Applies one message from the server, received at `now_ms`.
    pub fn handle(&mut self, message: ServerMessage, now_ms: f64) {
        match &message {
            ServerMessage::RedisUpdate(update) => self.on_update(update, now_ms),
            ServerMessage::CandleSnapshot(snapshot) => self.on_snapshot(snapshot),
            ServerMessage::CachedHistoricalData(history) => self.on_history(history),
            ServerMessage::RedisStatus(status) => {
                self.redis_connected = Some(status.connected);
                self.persister = PersisterState::from_batch_status(&status.batch_status);
                self.known_assets.extend(assets_in(status));
                self.source_stale = status.feeds.get(&self.asset).is_some_and(|f| f.stale);
            }
            ServerMessage::StreamStarted(started) => {
                self.streaming = Streaming::Running(started.asset);
                self.known_assets.insert(started.asset);
            }
            ServerMessage::StreamStopped(_) => self.streaming = Streaming::Idle,
            ServerMessage::StreamError(e) => {
                self.streaming = Streaming::Idle;
                self.error = Some(e.error.clone());
            }
            ServerMessage::Error(e) => self.error = Some(e.message.clone()),
            ServerMessage::RedisSubscribed(_)
            | ServerMessage::RedisUnsubscribed(_)
            | ServerMessage::HistoricalDataCached(_)
            | ServerMessage::HistoricalDataCacheCleared(_)
            | ServerMessage::Authenticated(_) => {}
        }
        self.last_message = Some(message);
    }

    fn is_shown(&self, candle: &Candle) -> bool {
        candle.asset() == self.asset && candle.timeframe() == self.timeframe
    }

    fn on_update(&mut self, update: &CandleUpdate, now_ms: f64) {
        // A live update shows the pub/sub path works, unless a status said
        // otherwise (the old design's behaviour).
        self.redis_connected.get_or_insert(true);
        if !self.is_shown(&update.data) {
            return;
        }
        if std::mem::take(&mut self.resuming) {
            self.resyncs.resumed += 1;
        }
        self.source_stale = false;
        match self.cursor.on_update(update.seq) {
            Verdict::Repeated => return,
            // Before any snapshot the candle is still the newest state of its
            // bucket: show it; the snapshot that follows sets the cursor.
            Verdict::Apply | Verdict::BeforeSnapshot => {}
        }
        self.buffer.apply(update.data);
        self.redraw.mark(update.data.open_time());
        self.feed.on_update(now_ms);
    }

    fn on_snapshot(&mut self, snapshot: &CandleSnapshot) {
        if (snapshot.asset, snapshot.timeframe) != (self.asset, self.timeframe) {
            return;
        }
        self.resuming = false;
        match snapshot.reason {
            SnapshotReason::Subscribed => {}
            SnapshotReason::Lagged => self.resyncs.lagged += 1,
            SnapshotReason::ResumeTooOld => self.resyncs.resume_too_old += 1,
        }
        self.cursor.on_snapshot(snapshot.epoch, snapshot.seq);
        self.snapshot_fresh = true;
        if self.leaves_a_hole(&snapshot.data) {
            // Candles were missed between what is held and the snapshot (a
            // long disconnection): start the series over from the snapshot,
            // and ask for its history again to fill in behind it.
            self.buffer.replace_all(snapshot.data.iter().copied());
            self.history_asked = false;
            self.history_source = None;
            self.generation = self.generation.wrapping_add(1);
            self.redraw = Redraw::initial();
            self.evicted = 0;
            return;
        }
        // The snapshot is the newest state of its candles; history older
        // than it stays.
        for candle in &snapshot.data {
            self.buffer.apply(*candle);
        }
        self.redraw.set_full();
    }

    /// Whether `candles` (a snapshot) start later than one timeframe after
    /// the newest candle held, so merging them would leave a hole.
    fn leaves_a_hole(&self, candles: &[Candle]) -> bool {
        let (Some(latest), Some(first)) = (
            self.buffer.latest(),
            candles.iter().map(Candle::open_time).min(),
        ) else {
            return false;
        };
        first > latest.open_time() + self.timeframe.seconds()
    }

    fn on_history(&mut self, history: &HistoricalData) {
        if (history.asset, history.timeframe) != (self.asset, self.timeframe) {
            return;
        }
        self.history_source = Some(history.source);
        if let Some(candles) = &history.data
            && self.buffer.fill(candles) > 0
        {
            self.redraw.set_full();
        }
    }
}

#[cfg(test)]
mod tests;
