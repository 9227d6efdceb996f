//! [`DataStream`] and [`use_data_stream`]: the old design's `useDataStream`
//! hook, one per chart, fed by the page's one [`Link`]: frames queued as
//! they arrive, applied to the [`StreamState`] and drawn at once, a few
//! times an animation frame at most, then once at its end (and every
//! `process_interval` while a hidden page gets no frames); after a
//! reconnection the link
//! resubscribes each series, resuming after its last update applied; older
//! history fetched on demand.

use std::time::Duration;

use leptos::prelude::*;
use shared::{Asset, Candle, ClientMessage, ServerMessage, Timeframe};

use super::clock::now_ms;
use super::link::{Follower, Link};
use super::view::{Connection, OlderHistory, StreamOptions, StreamView};
use crate::api;
use crate::model::{CandleBuffer, MessageQueue, OlderOutcome, Redraw, StreamState, Streaming};

/// Frames waiting to be applied at most; past it the live updates are
/// dropped and the series starts over from a snapshot.
pub const MAX_QUEUED: usize = 10_000;
/// Older candles asked for at once.
const OLDER_PAGE: usize = 300;
/// Draws one animation frame takes as messages come (each painted in that
/// frame); past it, what comes waits for the frame's end and is applied
/// once, so a busy feed costs one draw a frame.
pub const DRAWS_PER_FRAME: u8 = 4;

/// A handle on one chart's data stream; cheap to copy.
#[derive(Clone, Copy)]
pub struct DataStream {
    state: StoredValue<StreamState>,
    queue: StoredValue<MessageQueue>,
    /// The page's socket, shared with the other charts' streams.
    link: Link<Self>,
    /// Draws made since the last animation frame.
    draws_in_frame: StoredValue<u8>,
    view: RwSignal<StreamView>,
    older: RwSignal<OlderHistory>,
    frame: RwSignal<u64>,
}

/// Starts one chart's data stream on `link` for the current component:
/// applies queued frames every `options.process_interval_ms`, and leaves
/// the link on cleanup. `options.url` and `options.connect` are the link's
/// (see [`use_link`](super::use_link)).
pub fn use_data_stream(link: Link<DataStream>, options: &StreamOptions) -> DataStream {
    let stream = DataStream::on_link(link, options);
    let interval = set_interval_with_handle(
        move || stream.process_queue(),
        Duration::from_millis(u64::from(options.process_interval_ms.max(10))),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = interval {
            handle.clear();
        }
        link.leave(stream);
    });
    stream
}

impl DataStream {
    /// A stream on a link of its own, with nothing connected or scheduled.
    #[must_use]
    pub fn new(options: &StreamOptions) -> Self {
        Self::on_link(Link::new(options.url.clone()), options)
    }

    /// A stream fed by `link`, with nothing scheduled: see
    /// [`use_data_stream`].
    #[must_use]
    pub fn on_link(link: Link<Self>, options: &StreamOptions) -> Self {
        let state = StreamState::new(options.asset, options.timeframe, options.max_buffer_size);
        let view = StreamView::of(&state, now_ms());
        let stream = Self {
            state: StoredValue::new(state),
            queue: StoredValue::new(MessageQueue::new(MAX_QUEUED)),
            link,
            draws_in_frame: StoredValue::new(0),
            view: RwSignal::new(view),
            older: RwSignal::new(OlderHistory::Idle),
            frame: RwSignal::new(0),
        };
        link.join(stream);
        stream
    }

    /// Whether `other` is this very stream.
    pub(super) fn same_as(&self, other: &Self) -> bool {
        self.state == other.state
    }

    /// The asset and timeframe shown, while the stream lives.
    pub(super) fn series(&self) -> Option<(Asset, Timeframe)> {
        self.state.try_with_value(|s| (s.asset(), s.timeframe()))
    }

    // ----- what the page reads -----

    /// Badges and legend data.
    #[must_use]
    pub fn view(&self) -> ReadSignal<StreamView> {
        self.view.read_only()
    }

    /// The socket's state.
    #[must_use]
    pub fn connection(&self) -> ReadSignal<Connection> {
        self.link.connection()
    }

    /// Fetching older candles.
    #[must_use]
    pub fn older(&self) -> ReadSignal<OlderHistory> {
        self.older.read_only()
    }

    /// Changes when there is something to draw: as messages come, at most
    /// `DRAWS_PER_FRAME` times an animation frame.
    #[must_use]
    pub fn frame(&self) -> ReadSignal<u64> {
        self.frame.read_only()
    }

    /// The candles held (`chartData`), oldest first.
    #[must_use]
    pub fn chart_data(&self) -> Vec<Candle> {
        self.state
            .try_with_value(|s| s.buffer().to_vec())
            .unwrap_or_default()
    }

    /// The last message applied (`lastMessage`).
    #[must_use]
    pub fn last_message(&self) -> Option<ServerMessage> {
        self.state
            .try_with_value(|s| s.last_message().cloned())
            .flatten()
    }

    /// Whether the server reaches Redis (`redisConnected`), once known.
    #[must_use]
    pub fn redis_connected(&self) -> Option<bool> {
        self.state
            .try_with_value(StreamState::redis_connected)
            .flatten()
    }

    /// Runs `f` on the candle buffer.
    pub fn with_buffer<R>(&self, f: impl FnOnce(&CandleBuffer) -> R) -> Option<R> {
        self.state.try_with_value(|s| f(s.buffer()))
    }

    /// The subscription a (re)connection sends now: the series' own
    /// timeframe, resuming after its last update applied.
    #[must_use]
    pub fn subscription(&self) -> Option<ClientMessage> {
        self.state.try_update_value(StreamState::subscribe)
    }

    /// Takes the drawing work collected so far. Once a snapshot has been
    /// handed over this way, its history request goes out.
    #[must_use]
    pub fn take_redraw(&self) -> Redraw {
        let Some((redraw, history)) = self.state.try_update_value(|s| {
            let redraw = s.take_redraw();
            (redraw, s.history_request())
        }) else {
            return Redraw::default();
        };
        if let Some(history) = history {
            self.send(&history);
        }
        redraw
    }

    // ----- what the page does -----

    /// Shows another asset or timeframe: subscribes to it, asks for its
    /// history, and drops everything held about the previous one.
    pub fn show(&self, asset: Asset, timeframe: Timeframe) {
        let Some(previous) = self.series() else {
            return;
        };
        let changed = self
            .state
            .try_update_value(|s| {
                if (s.asset(), s.timeframe()) == (asset, timeframe) {
                    return false;
                }
                s.switch(asset, timeframe);
                true
            })
            .unwrap_or(false);
        if !changed {
            return;
        }
        // Late candles of the old series go; the rest (stream started or
        // failed, errors, status) is still news.
        self.queue.update_value(MessageQueue::drop_candle_data);
        self.older.set(OlderHistory::Idle);
        self.link.let_go(previous, Some(self));
        self.send_subscription();
        self.refresh();
    }

    /// Starts the simulated feed of the asset shown.
    pub fn start_stream(&self) {
        if let Some(message) = self.state.try_update_value(StreamState::start_stream) {
            self.send(&message);
            self.refresh();
        }
    }

    /// Stops the feed this page started.
    pub fn stop_stream(&self) {
        if let Some(message) = self.state.try_update_value(StreamState::stop_stream) {
            self.send(&message);
            self.refresh();
        }
    }

    /// A text frame from the server, handed to every series of the link.
    pub fn receive_text(&self, text: &str) {
        self.link.receive_text(text);
    }

    /// A message from the server, queued until the next processing tick;
    /// a snapshot or history (a series opening) is applied at once, with
    /// everything queued before it.
    pub fn receive(&self, message: ServerMessage) {
        let opens_series = matches!(
            message,
            ServerMessage::CandleSnapshot(_) | ServerMessage::CachedHistoricalData(_)
        );
        let overflow = self
            .queue
            .try_update_value(|q| q.push(message))
            .unwrap_or(false);
        if overflow {
            // Live updates were dropped (the other messages kept): start the
            // series over from a snapshot.
            self.state.update_value(StreamState::overflowed);
            self.send_subscription();
        } else if opens_series || self.may_draw() {
            // Drawn in the coming frame; past the frame's budget, what
            // comes waits for its end.
            self.process_queue();
        }
    }

    /// Applies every queued message, refreshes the view, and draws when
    /// there is something to draw (see `schedule_frame`). Runs as frames
    /// come and every `process_interval`.
    pub fn process_queue(&self) {
        let Some(messages) = self.queue.try_update_value(MessageQueue::take) else {
            return;
        };
        let now = now_ms();
        let Some((needs_redraw, history, generation)) = self.state.try_update_value(|s| {
            let generation = s.generation();
            for m in messages {
                s.handle(m, now);
            }
            // History follows the snapshot: after the chart took it, or on
            // the next tick at the latest, however busy the feed.
            let history = s.end_tick();
            (s.needs_redraw(), history, s.generation() != generation)
        }) else {
            return;
        };
        if let Some(history) = history {
            self.send(&history);
        }
        if generation {
            // The series started over: older history can be fetched again.
            self.older.try_set(OlderHistory::Idle);
        }
        self.refresh();
        if needs_redraw {
            self.schedule_frame();
        }
    }

    /// Fetches older candles for the series shown (when the user scrolled
    /// to the left edge), unless a request is out or nothing more can come.
    /// A failed request is tried again on the next scroll.
    pub fn load_older(&self) {
        if !matches!(
            self.older.get_untracked(),
            OlderHistory::Idle | OlderHistory::Full | OlderHistory::Failed(_)
        ) {
            return;
        }
        let Some(Some(request)) = self.state.try_with_value(|s| s.older_request(OLDER_PAGE)) else {
            return;
        };
        if request.limit == 0 {
            self.older.set(OlderHistory::Full);
            return;
        }
        self.older.set(OlderHistory::Loading);
        let stream = *self;
        leptos::task::spawn_local(async move {
            let result =
                api::candles_before(request.asset, request.timeframe, request.to, request.limit)
                    .await;
            let is_current = |s: &StreamState| s.generation() == request.generation();
            let status = match result {
                Ok(page) if (page.asset, page.timeframe) == (request.asset, request.timeframe) => {
                    match stream
                        .state
                        .try_update_value(|s| s.add_older(&request, &page.candles))
                    {
                        None | Some(OlderOutcome::Stale) => return,
                        Some(OlderOutcome::Exhausted) => OlderHistory::Exhausted,
                        Some(OlderOutcome::Full) => OlderHistory::Full,
                        Some(OlderOutcome::Added(added)) => {
                            if added > 0 {
                                stream.schedule_frame();
                            }
                            OlderHistory::Idle
                        }
                    }
                }
                Ok(_) => OlderHistory::Failed("candles of another series".to_owned()),
                Err(e) => OlderHistory::Failed(e.to_string()),
            };
            // Only if the series asked for is still the one shown: after a
            // switch A→B→A the asset and timeframe match but not the
            // generation.
            if stream.state.try_with_value(is_current) == Some(true) {
                stream.older.try_set(status);
                stream.refresh();
            }
        });
    }

    // ----- the connection -----

    /// The link's socket opened: subscribes, and tells the new session of a
    /// feed this series started (the server ties it to its session).
    pub(super) fn on_open(&self) {
        self.send_subscription();
        let asset = self.state.try_with_value(|s| match s.streaming() {
            Streaming::Starting(a) | Streaming::Running(a) => Some(a),
            Streaming::Idle => None,
        });
        if let Some(Some(asset)) = asset {
            self.send(&ClientMessage::StartStream(shared::ForAsset { asset }));
        }
    }

    /// Subscribes, resuming when possible; the history request follows once
    /// the snapshot is drawn (see [`DataStream::process_queue`]).
    pub(super) fn send_subscription(&self) {
        if let Some(subscribe) = self.subscription() {
            self.send(&subscribe);
        }
    }

    fn send(&self, message: &ClientMessage) {
        self.link.send(message);
    }

    /// Recomputes the view; the signal changes only when the view does.
    fn refresh(&self) {
        let now = now_ms();
        let Some(view) = self.state.try_with_value(|s| StreamView::of(s, now)) else {
            return;
        };
        if self.view.try_with_untracked(|v| *v != view) == Some(true) {
            self.view.try_set(view);
        }
    }

    /// Whether this frame may take another draw.
    fn may_draw(&self) -> bool {
        self.draws_in_frame
            .try_get_value()
            .is_some_and(|n| n < DRAWS_PER_FRAME)
    }

    /// Draws now (the chart hands the library what changed, which paints it
    /// in the coming animation frame) while the frame's budget lasts; the
    /// frame's end applies and draws whatever waited meanwhile.
    fn schedule_frame(&self) {
        let Some(draws) = self.draws_in_frame.try_get_value() else {
            return;
        };
        if draws >= DRAWS_PER_FRAME {
            // Held back: the frame's end draws it.
            self.draws_in_frame.set_value(DRAWS_PER_FRAME + 1);
            return;
        }
        self.draws_in_frame.set_value(draws + 1);
        self.frame.try_update(|f| *f = f.wrapping_add(1));
        if draws > 0 {
            return;
        }
        let stream = *self;
        request_animation_frame(move || {
            let held = stream.draws_in_frame.try_get_value() > Some(DRAWS_PER_FRAME);
            stream.draws_in_frame.try_set_value(0);
            // What waited, and what the fallback interval applied while the
            // budget was spent.
            if held || stream.queue.try_with_value(MessageQueue::is_empty) == Some(false) {
                stream.process_queue();
            }
        });
    }
}

impl Follower for DataStream {
    fn series(&self) -> Option<(Asset, Timeframe)> {
        Self::series(self)
    }

    fn same_as(&self, other: &Self) -> bool {
        Self::same_as(self, other)
    }

    fn send_subscription(&self) {
        Self::send_subscription(self);
    }

    fn receive(&self, message: ServerMessage) {
        Self::receive(self, message);
    }

    fn on_open(&self) {
        Self::on_open(self);
    }
}
