//! One Socket.IO client once connected: its events go through a bounded
//! inbox to the same [`Requests`] as a `/ws` session's frames, and a writer
//! task empties its [`Outbox`] into Socket.IO events in the original
//! payloads. It ends when the client disconnects or the server shuts down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;
use shared::Timeframe;
use socketioxide::extract::{Event, SocketRef, TryData};
use socketioxide::{SendError, SocketError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::admission::Admitted;
use super::dialect::{self, Outgoing};
use crate::clock::now_millis;
use crate::http::live::{Admission, Counted, Opening, Requests};
use crate::hub::{Outbox, OutboxLimits};
use crate::metrics::Latency;
use crate::state::AppState;

/// Events received and not yet answered; past it an event is refused
/// (the rate limit and the flood rule apply behind it, as on `/ws`).
const INBOX: usize = 64;
/// Most frames taken out of the outbox at once.
const WRITE_BATCH: usize = 64;
/// How long an event may wait for room in socketioxide's buffer before the
/// client counts as gone (the time `/ws` gives one send).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between tries while that buffer is full.
const FULL_PAUSE: Duration = Duration::from_millis(5);

/// One event as the client sent it.
struct Incoming {
    event: String,
    data: Result<Option<Box<RawValue>>, String>,
}

/// Starts the session of a client [`super::admission::check`] admitted.
pub fn open(socket: SocketRef, state: AppState) {
    let Some(admitted) = socket.extensions.get::<Admitted>() else {
        let _ = socket.disconnect();
        return;
    };
    let (inbox, events) = mpsc::channel(INBOX);
    // Events refused because the inbox was full, for the flood rule.
    let dropped = Arc::new(AtomicU32::new(0));
    let overflow = dropped.clone();
    socket.on_fallback(
        move |socket: SocketRef, Event(event): Event, TryData(data): TryData<Value>| {
            // Queued here, before the handler's future is spawned, so that
            // events are answered in the order they came.
            // No first argument (`stop_stream`, `get_redis_status`) is no
            // data; the shared parser says which events need some.
            let data = dialect::incoming(data.ok().as_ref()).map_err(|e| e.to_string());
            if inbox.try_send(Incoming { event, data }).is_err() {
                overflow.fetch_add(1, Ordering::Relaxed);
                let _ = socket.emit(
                    "error",
                    &serde_json::json!({"message": "too many events waiting; event ignored"}),
                );
            }
            async {}
        },
    );
    let gone = CancellationToken::new();
    let disconnected = gone.clone();
    socket.on_disconnect(move || async move { disconnected.cancel() });
    tokio::spawn(run(
        socket,
        state,
        admitted,
        Inbox {
            events,
            dropped,
            gone,
        },
    ));
}

/// The session's side of its inbox: the events, the count of those refused
/// because it was full, and the client's disconnect.
struct Inbox {
    events: mpsc::Receiver<Incoming>,
    dropped: Arc<AtomicU32>,
    gone: CancellationToken,
}

async fn run(socket: SocketRef, state: AppState, admitted: Admitted, inbox: Inbox) {
    let Inbox {
        mut events,
        dropped,
        gone,
    } = inbox;
    let session = state.hub.new_session();
    let outbox = state.hub.outbox(OutboxLimits {
        frames: state.config.limits.ws_send_queue,
        bytes: state.config.limits.ws_send_queue_bytes,
    });
    let _counted = Counted::new(state.metrics.ws_clients.clone());
    let mut writer = tokio::spawn(write(
        socket.clone(),
        outbox.clone(),
        state.metrics.to_socket.clone(),
        state.config.connections.ws_ping_interval,
    ));
    let mut requests = Requests::new(
        &state,
        Opening {
            session,
            outbox: &outbox,
            ip: admitted.ip,
            admin: admitted.admin,
            // Over Socket.IO a subscription without a timeframe streams
            // one-minute candles, as the original server did.
            unspecified: Some(Timeframe::M1),
        },
    );
    let mut writer_done = false;
    loop {
        tokio::select! {
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            () = gone.cancelled() => break,
            () = state.shutdown.cancelled() => break,
            incoming = events.recv() => {
                let Some(Incoming { event, data }) = incoming else { break };
                if requests.dropped(dropped.swap(0, Ordering::Relaxed)) {
                    break;
                }
                match requests.admit() {
                    Admission::Flood => break,
                    Admission::Refused => continue,
                    Admission::Admitted => {}
                }
                match data {
                    Ok(data) => requests.event(&event, data.as_deref()).await,
                    Err(e) => requests.malformed(&e),
                }
            }
        }
    }
    state.hub.remove_session(session);
    outbox.close();
    if !writer_done {
        let _ = writer.await;
    }
    // The server ending, a flood or a stalled client: say goodbye, once the
    // client has made room for it.
    let deadline = tokio::time::Instant::now() + SEND_TIMEOUT;
    while socket.connected() {
        match socket.clone().disconnect() {
            Err(SocketError::InternalChannelFull) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(FULL_PAUSE).await;
            }
            _ => break,
        }
    }
    // Its place among open clients is free again.
    socket.extensions.remove::<Admitted>();
    drop(admitted.place);
}

/// Empties the outbox into Socket.IO events until it closes or the client
/// stops taking them. A session that sent nothing for a whole `every` sends
/// [`dialect::ALIVE`], so that one whose connection closed unnoticed ends: a
/// client whose events raced its own connect can be closed by socketioxide
/// before the session exists, and then no disconnect ever reaches it.
async fn write(socket: SocketRef, outbox: Arc<Outbox>, to_socket: Latency, every: Duration) {
    let mut frames = Vec::with_capacity(WRITE_BATCH);
    let mut sources = Vec::with_capacity(WRITE_BATCH);
    let mut probe = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = false;
    loop {
        tokio::select! {
            _ = probe.tick() => {
                if !std::mem::take(&mut sent) && !emit(&socket, &Outgoing::alive()).await {
                    return;
                }
                continue;
            }
            open = outbox.next_batch(&mut frames, &mut sources, WRITE_BATCH) => {
                if !open {
                    return;
                }
            }
        }
        sent = true;
        for frame in frames.drain(..) {
            match dialect::outgoing(&frame) {
                Ok(events) => {
                    for out in &events {
                        if !emit(&socket, out).await {
                            return;
                        }
                    }
                }
                Err(e) => tracing::warn!("a frame with no Socket.IO form was left out: {e}"),
            }
        }
        let now = now_millis();
        to_socket.observe_many(sources.drain(..).map(|s| (now - s) as f64 / 1000.0));
    }
}

/// Emits one event, waiting while socketioxide's buffer is full; `false`
/// when the client is gone or has not made room within [`SEND_TIMEOUT`].
async fn emit(socket: &SocketRef, out: &Outgoing<'_>) -> bool {
    let deadline = tokio::time::Instant::now() + SEND_TIMEOUT;
    loop {
        let sent = match &out.payload {
            Some(payload) => socket.emit(out.event.as_ref(), payload),
            None => socket.emit(out.event.as_ref(), &()),
        };
        match sent {
            Ok(()) => return true,
            Err(SendError::Socket(SocketError::InternalChannelFull))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(FULL_PAUSE).await;
            }
            Err(e) => {
                tracing::debug!("socket.io send ended the session: {e}");
                return false;
            }
        }
    }
}
