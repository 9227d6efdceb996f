//! Socket.IO at `/socket.io/` (socketioxide), for the original design's
//! clients (socket.io-client, python-socketio): the events of `/ws` over the
//! same hub, requests, limits, origin check and admin rules, with the
//! original server's payloads.
//!
//! - [`admission`]: who may connect (origin, caps, admin token).
//! - [`session`]: one connected client, its requests and its outbox.
//! - [`dialect`]: the original payloads, translated from `/ws` frames.

mod admission;
mod dialect;
mod session;

use std::time::Duration;

use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, SocketIo};

use crate::gate::Gate;
use crate::state::AppState;

/// Packets socketioxide buffers per client ahead of the socket; the
/// session's outbox (bounded in bytes) holds the rest and coalesces.
const BUFFERED_PACKETS: usize = 64;

/// Bytes of read buffer per WebSocket transport (socketioxide's default is
/// 4 KiB; `/ws` uses 8).
const READ_BUFFER: usize = 8 * 1024;

/// The layer serving `/socket.io/`, with its connect handler registered.
/// Socket.IO clients are capped apart from plain connections: one HTTP
/// connection may carry several long-polling clients.
pub fn layer(state: &AppState) -> SocketIoLayer {
    let config = &state.config;
    // Messages up to four times MAX_FRAME_BYTES are read and refused with
    // an error, as on /ws; larger ones end the connection.
    let hard_cap = config.limits.max_frame_bytes.saturating_mul(4);
    let ping = config.connections.ws_ping_interval;
    let (layer, io) = SocketIo::builder()
        .req_path("/socket.io")
        .ping_interval(ping)
        .ping_timeout(ping.max(Duration::from_secs(1)))
        .connect_timeout(Duration::from_secs(10))
        .max_buffer_size(BUFFERED_PACKETS)
        .max_payload(u64::try_from(hard_cap).unwrap_or(u64::MAX))
        .ws_max_message_size(hard_cap)
        .ws_max_frame_size(hard_cap)
        .with_parser(ParserConfig::common().max_incoming_binary_buf_size(hard_cap))
        .ws_read_buffer_size(READ_BUFFER)
        .build_layer();
    let gate = Gate::new(
        usize::try_from(config.connections.max_connections).unwrap_or(usize::MAX),
        config.connections.max_connections_per_ip,
    );
    let admit = {
        let state = state.clone();
        move |socket: SocketRef, auth: socketioxide::extract::TryData<admission::Auth>| {
            let (state, gate) = (state.clone(), gate.clone());
            async move { admission::check(&socket, auth.0, &state, &gate) }
        }
    };
    let open = {
        let state = state.clone();
        move |socket: SocketRef| {
            let state = state.clone();
            async move { session::open(socket, state) }
        }
    };
    io.ns("/", open.with(admit));
    layer
}
