//! [`Link`]: the page's one WebSocket to `/ws`, shared by every chart's
//! data stream (a [`Follower`]): connecting, reconnecting with backoff, probing a silent
//! connection, and handing each frame to every series, each of which keeps
//! only what is its own.

use std::time::Duration;

use leptos::prelude::*;
use shared::{Asset, ClientMessage, ServerMessage, Timeframe, Unsubscribe};

use super::clock::now_ms;
use super::socket::{Handlers, Socket};
use super::url::page_ws_url;
use super::view::Connection;
use crate::model::liveness::PROBE_EVERY_MS;
use crate::model::{Backoff, Liveness};

/// Charts one page may show, so series one socket may carry.
pub const MAX_SERIES: usize = 4;

/// What a link feeds: one chart's series.
pub trait Follower: Copy + Send + Sync + 'static {
    /// The asset and timeframe shown, while the series lives.
    fn series(&self) -> Option<(Asset, Timeframe)>;
    /// Whether `other` is this very series.
    fn same_as(&self, other: &Self) -> bool;
    /// Sends the series' subscription (resuming where it can).
    fn send_subscription(&self);
    /// A message from the server; the series keeps what is its own.
    fn receive(&self, message: ServerMessage);
    /// The socket opened: subscribe, and restart what the series ran.
    fn on_open(&self);
}

/// A handle on the page's socket; cheap to copy.
pub struct Link<S: Follower> {
    socket: StoredValue<Option<Socket>, LocalStorage>,
    backoff: StoredValue<Backoff>,
    url: StoredValue<Option<String>>,
    /// Set on cleanup: no more reconnecting.
    stopped: StoredValue<bool>,
    /// What the open connection has shown: when the backoff starts over,
    /// when a silent socket is given up.
    liveness: StoredValue<Liveness>,
    connection: RwSignal<Connection>,
    /// The series this socket feeds, in chart order.
    series: StoredValue<Vec<S>>,
}

impl<S: Follower> Clone for Link<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: Follower> Copy for Link<S> {}

/// Starts the page's socket for the current component: connects when
/// `connect`, probes the open connection every 5 s (giving it up after 15 s
/// without a frame), and closes it on cleanup.
pub fn use_link<S: Follower>(url: Option<String>, connect: bool) -> Link<S> {
    let link = Link::new(url);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let watchdog = set_interval_with_handle(
        move || link.watch(),
        Duration::from_millis(PROBE_EVERY_MS as u64),
    )
    .ok();
    if connect {
        // The series of this render join before the socket opens.
        link.connect();
    }
    on_cleanup(move || {
        if let Some(handle) = watchdog {
            handle.clear();
        }
        link.stop();
    });
    link
}

impl<S: Follower> Link<S> {
    /// A link to `url` (the page's `/ws` when `None`), not connected.
    #[must_use]
    pub fn new(url: Option<String>) -> Self {
        Self {
            socket: StoredValue::new_local(None),
            backoff: StoredValue::new(Backoff::default()),
            url: StoredValue::new(url.or_else(page_ws_url)),
            stopped: StoredValue::new(false),
            liveness: StoredValue::new(Liveness::default()),
            connection: RwSignal::new(Connection::Offline),
            series: StoredValue::new(Vec::new()),
        }
    }

    /// The socket's state.
    #[must_use]
    pub fn connection(&self) -> ReadSignal<Connection> {
        self.connection.read_only()
    }

    /// Feeds `series` from now on, subscribing it when the socket is open;
    /// at most [`MAX_SERIES`], the oldest giving way.
    pub(super) fn join(&self, series: S) {
        self.series.update_value(|all| {
            if all.len() >= MAX_SERIES {
                all.remove(0);
            }
            all.push(series);
        });
        if self.connection.try_get_untracked() == Some(Connection::Open) {
            series.send_subscription();
        }
    }

    /// Stops feeding `series`: its subscription ends unless another series
    /// shows the same asset and timeframe.
    pub(super) fn leave(&self, series: S) {
        self.series
            .update_value(|all| all.retain(|s| !s.same_as(&series)));
        if let Some(shown) = series.series() {
            self.let_go(shown, None);
        }
    }

    /// Ends the subscription to `shown` (an asset in a timeframe) unless a
    /// series other than `except` still shows it. Subscriptions to several
    /// timeframes of an asset add up on the server, each resumable, so
    /// each series keeps its own.
    pub(super) fn let_go(&self, shown: (Asset, Timeframe), except: Option<&S>) {
        if self.others(except).contains(&shown) {
            return;
        }
        let (asset, timeframe) = shown;
        self.send(&ClientMessage::UnsubscribeRedisUpdates(Unsubscribe {
            asset,
            timeframe: Some(timeframe),
        }));
    }

    fn others(&self, except: Option<&S>) -> Vec<(Asset, Timeframe)> {
        self.series
            .try_get_value()
            .unwrap_or_default()
            .iter()
            .filter(|s| except.is_none_or(|e| !s.same_as(e)))
            .filter_map(S::series)
            .collect()
    }

    /// A text frame from the server: parsed, and handed to every series.
    pub fn receive_text(&self, text: &str) {
        let message = ServerMessage::from_json(text).unwrap_or_else(|e| {
            ServerMessage::error(format!("unreadable message from the server: {e}"))
        });
        let now = now_ms();
        // The backoff starts over only once the server took a subscription,
        // not as soon as a socket opens.
        if self
            .liveness
            .try_update_value(|l| l.on_frame(&message, now))
            == Some(true)
        {
            self.backoff.update_value(Backoff::reset);
        }
        let series = self.series.try_get_value().unwrap_or_default();
        if let Some((last, rest)) = series.split_last() {
            for s in rest {
                s.receive(message.clone());
            }
            last.receive(message);
        }
    }

    /// Sends a frame if the socket is open.
    pub(super) fn send(&self, message: &ClientMessage) {
        let text = message.to_json();
        self.socket.try_with_value(|s| {
            if let Some(socket) = s {
                socket.send(&text);
            }
        });
    }

    /// Every 5 s: while open, gives up a connection silent for 15 s (the
    /// normal close path reconnects, resuming without loss), else probes it
    /// with a status request, which also refreshes the badges.
    fn watch(&self) {
        if self.connection.try_get_untracked() != Some(Connection::Open) {
            return;
        }
        let now = now_ms();
        if self.liveness.try_with_value(|l| l.is_dead(now)) == Some(true) {
            self.on_close();
            return;
        }
        self.send(&ClientMessage::GetRedisStatus);
        self.liveness.update_value(|l| l.on_probe(now));
    }

    fn connect(&self) {
        if self.stopped.try_get_value().unwrap_or(true) {
            return;
        }
        let Some(url) = self.url.try_get_value().flatten() else {
            return;
        };
        let link = *self;
        let handlers = Handlers {
            on_open: Box::new(move || link.on_open()),
            on_text: Box::new(move |text| link.receive_text(&text)),
            on_close: Box::new(move || link.on_close()),
        };
        match Socket::open(&url, handlers) {
            Ok(socket) => {
                let open = socket.is_open();
                self.socket.try_set_value(Some(socket));
                self.connection.try_set(Connection::Connecting);
                if open {
                    // The page's early socket, open before the app started:
                    // the series of this render subscribe as they join, and
                    // the status request (which the server answers before
                    // what follows it) waits until they have (a microtask).
                    self.opened();
                    let link = *self;
                    wasm_bindgen_futures::spawn_local(async move {
                        link.send(&ClientMessage::GetRedisStatus);
                    });
                }
            }
            Err(_) => self.on_close(),
        }
    }

    fn on_open(&self) {
        self.opened();
        self.send(&ClientMessage::GetRedisStatus);
    }

    /// The socket is open: the series subscribe (and so does each that joins).
    fn opened(&self) {
        self.liveness.try_set_value(Liveness::opened(now_ms()));
        self.connection.try_set(Connection::Open);
        for s in self.series.get_value() {
            s.on_open();
        }
    }

    fn on_close(&self) {
        if let Some(Some(old)) = self.socket.try_update_value(Option::take) {
            // This runs inside the old socket's own handler: free it after.
            set_timeout(move || old.close(), Duration::ZERO);
        }
        if self.stopped.try_get_value().unwrap_or(true) {
            return;
        }
        let Some((attempt, delay_ms)) = self.backoff.try_update_value(|b| {
            let delay = b.next_delay_ms(js_sys::Math::random());
            (b.attempt(), delay)
        }) else {
            return;
        };
        self.connection
            .try_set(Connection::Reconnecting { attempt, delay_ms });
        let link = *self;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let wait = Duration::from_millis(delay_ms as u64);
        set_timeout(move || link.connect(), wait);
    }

    fn stop(&self) {
        self.stopped.try_set_value(true);
        if let Some(Some(socket)) = self.socket.try_update_value(Option::take) {
            socket.close();
        }
    }
}
