//! One WebSocket session: a writer task draining the session's [`Outbox`]
//! and a reader loop answering the client's messages. One ending ends the
//! other; shutdown closes the socket with a reason.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};

use crate::clock::now_millis;
use crate::http::live::{Admission, Counted, Opening, Requests};
use crate::hub::OutboxLimits;
use crate::state::AppState;

/// A send that takes longer than this ends the session: the client is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Most frames written with one flush.
const WRITE_BATCH: usize = 64;
/// Pings in a row left unanswered when the session is closed: the client
/// is gone, or does not read.
const MISSED_PONGS: u32 = 2;

/// Serves one connection from `ip` until either side ends it; `admin` when
/// the upgrade carried the admin token.
pub async fn run(socket: WebSocket, state: AppState, admin: bool, ip: IpAddr) {
    let (mut sink, mut stream) = socket.split();
    let session = state.hub.new_session();
    let outbox = state.hub.outbox(OutboxLimits {
        frames: state.config.limits.ws_send_queue,
        bytes: state.config.limits.ws_send_queue_bytes,
    });
    let shutdown = state.shutdown.clone();

    let _counted = Counted::new(state.metrics.ws_clients.clone());
    let writer_outbox = outbox.clone();
    let to_socket = state.metrics.to_socket.clone();
    // Pings sent since the last pong: the writer counts up, the reader resets.
    let unanswered = Arc::new(AtomicU32::new(0));
    let pinged = unanswered.clone();
    let every = state.config.connections.ws_ping_interval;
    let mut writer = tokio::spawn(async move {
        let mut frames = Vec::with_capacity(WRITE_BATCH);
        let mut sources = Vec::with_capacity(WRITE_BATCH);
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if pinged.fetch_add(1, Ordering::Relaxed) >= MISSED_PONGS {
                        let close = CloseFrame { code: 1001, reason: "no answer to pings".into() };
                        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
                        break;
                    }
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break;
                    }
                }
                open = writer_outbox.next_batch(&mut frames, &mut sources, WRITE_BATCH) => {
                    if !open {
                        break;
                    }
                    // Queue every waiting frame, then one flush: one write
                    // for many frames when the client is busy.
                    let send = async {
                        for frame in frames.drain(..) {
                            sink.feed(Message::Text(frame)).await?;
                        }
                        sink.flush().await
                    };
                    match tokio::time::timeout(SEND_TIMEOUT, send).await {
                        Ok(Ok(())) => {
                            let now = now_millis();
                            to_socket.observe_many(
                                sources.drain(..).map(|s| (now - s) as f64 / 1000.0),
                            );
                        }
                        _ => break,
                    }
                }
                () = shutdown.cancelled() => {
                    let close = CloseFrame { code: 1001, reason: "server shutting down".into() };
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
                    break;
                }
            }
        }
    });

    let mut requests = Requests::new(
        &state,
        Opening {
            session,
            outbox: &outbox,
            ip,
            admin,
            unspecified: None,
        },
    );
    let mut writer_done = false;
    loop {
        tokio::select! {
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            message = stream.next() => match message {
                Some(Ok(message)) => {
                    if matches!(message, Message::Pong(_)) {
                        unanswered.store(0, Ordering::Relaxed);
                    }
                    if !handle(&mut requests, message).await {
                        break;
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(session, "websocket read error: {e}");
                    break;
                }
                None => break,
            },
        }
    }
    state.hub.remove_session(session);
    outbox.close();
    if !writer_done {
        let _ = writer.await;
    }
}

/// Answers one frame; `false` ends the session. Every frame but a close
/// counts against the rate limit, pings and binary ones included.
async fn handle(requests: &mut Requests<'_>, message: Message) -> bool {
    if matches!(message, Message::Close(_)) {
        return false;
    }
    match requests.admit() {
        Admission::Flood => return false,
        Admission::Refused => return true,
        Admission::Admitted => {}
    }
    match message {
        Message::Text(text) => requests.frame(&text).await,
        Message::Binary(_) => requests.binary(),
        // Answered by the socket itself (a ping's pong) or nothing to do.
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
    }
    true
}
