//! [`StatusBadges`]: socket, Redis, persister, feed, history and resyncs, as
//! small labelled badges whose `data-state` says good, warning or bad.

use leptos::prelude::*;
use shared::protocol::HistorySource;

use crate::model::{FeedState, PersisterState, Resyncs};
use crate::stream::{Connection, DataStream, OlderHistory};

/// How a badge looks.
#[derive(Clone, Copy)]
enum Tone {
    Good,
    Warn,
    Bad,
    Quiet,
}

impl Tone {
    const fn name(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Warn => "warn",
            Self::Bad => "bad",
            Self::Quiet => "quiet",
        }
    }
}

fn socket_badge(c: Connection) -> (Tone, String) {
    match c {
        Connection::Offline => (Tone::Quiet, "offline".into()),
        Connection::Connecting => (Tone::Warn, "connecting".into()),
        Connection::Open => (Tone::Good, "open".into()),
        Connection::Reconnecting { attempt, delay_ms } => (
            Tone::Bad,
            format!("retry {attempt} in {:.1} s", delay_ms / 1000.0),
        ),
    }
}

fn redis_badge(connected: Option<bool>) -> (Tone, String) {
    match connected {
        None => (Tone::Quiet, "unknown".into()),
        Some(true) => (Tone::Good, "connected".into()),
        Some(false) => (Tone::Bad, "disconnected".into()),
    }
}

fn persister_badge(p: &PersisterState) -> (Tone, String) {
    match p {
        PersisterState::Unknown => (Tone::Quiet, "unknown".into()),
        PersisterState::Off => (Tone::Quiet, "off".into()),
        PersisterState::Running {
            rows_written,
            pending,
        } => (
            Tone::Good,
            format!("{rows_written} stored, {pending} pending"),
        ),
        PersisterState::Failing { error } => (Tone::Bad, format!("failing: {error}")),
    }
}

fn feed_badge(f: FeedState) -> (Tone, String) {
    match f {
        FeedState::Waiting => (Tone::Quiet, "waiting".into()),
        FeedState::Live => (Tone::Good, "live".into()),
        FeedState::Stale => (Tone::Bad, "stale".into()),
    }
}

fn history_badge(source: Option<HistorySource>, older: &OlderHistory) -> (Tone, String) {
    let from = match source {
        None => return (Tone::Quiet, "loading".into()),
        Some(HistorySource::RedisCache) => "redis cache",
        Some(HistorySource::Database) => "database",
        Some(HistorySource::CacheMiss) => "none cached",
    };
    match older {
        OlderHistory::Loading => (Tone::Warn, format!("{from}, loading older")),
        OlderHistory::Failed(e) => (Tone::Bad, format!("{from}; older: {e}")),
        OlderHistory::Full => (Tone::Quiet, format!("{from}, buffer full")),
        OlderHistory::Exhausted | OlderHistory::Idle => (Tone::Good, from.into()),
    }
}

fn resync_badge(r: Resyncs) -> Option<(Tone, String)> {
    if r.restarts() > 0 {
        Some((
            Tone::Warn,
            format!(
                "{} (lagged {}, resume too old {}, queue overflow {})",
                r.restarts(),
                r.lagged,
                r.resume_too_old,
                r.overflowed
            ),
        ))
    } else if r.resumed > 0 {
        Some((Tone::Good, format!("resumed {}×, no gap", r.resumed)))
    } else {
        None
    }
}

/// One badge.
#[component]
fn Badge(
    /// Its id, for tests and styling.
    id: &'static str,
    /// What it is about.
    label: &'static str,
    /// Tone and text.
    state: Signal<(Tone, String)>,
) -> impl IntoView {
    view! {
        <span class="badge" id=id data-state=move || state.with(|s| s.0.name())>
            <span class="badge-label">{label}</span>
            <span class="badge-value">{move || state.with(|s| s.1.clone())}</span>
        </span>
    }
}

/// The status line of the page.
#[component]
pub fn StatusBadges(
    /// The stream whose state is shown.
    stream: DataStream,
) -> impl IntoView {
    let view = stream.view();
    let connection = stream.connection();
    let older = stream.older();
    let resyncs = Signal::derive(move || view.with(|v| resync_badge(v.resyncs)));
    view! {
        <div class="badges" aria-live="polite">
            <Badge id="badge-socket" label="socket" state=Signal::derive(move || socket_badge(connection.get())) />
            <Badge id="badge-redis" label="Redis" state=Signal::derive(move || view.with(|v| redis_badge(v.redis_connected))) />
            <Badge id="badge-persister" label="persister" state=Signal::derive(move || view.with(|v| persister_badge(&v.persister))) />
            <Badge id="badge-feed" label="feed" state=Signal::derive(move || view.with(|v| feed_badge(v.feed))) />
            <Badge
                id="badge-history"
                label="history"
                state=Signal::derive(move || view.with(|v| older.with(|o| history_badge(v.history_source, o))))
            />
            {move || resyncs.get().map(|state| view! {
                <Badge id="badge-resync" label="resync" state=Signal::derive(move || state.clone()) />
            })}
            {move || view.with(|v| v.error.clone()).map(|e| view! {
                <span class="badge" id="badge-error" data-state="bad">
                    <span class="badge-label">"server"</span>
                    <span class="badge-value">{e}</span>
                </span>
            })}
        </div>
    }
}
