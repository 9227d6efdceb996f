//! `GET /ws`: the WebSocket. The handler only checks the origin and the admin
//! token of `?token=`, and upgrades; [`session::run`] does the rest.

mod session;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::client_ip::ClientIp;
use super::live::origin_allowed;
use super::lockout::Verdict;
use crate::state::AppState;

/// Bytes of read and write buffer per connection (tungstenite's default is
/// 128 KiB each).
const SOCKET_BUFFER: usize = 8 * 1024;

/// Bytes a candle takes at most in a frame (about 250 with the longest
/// asset and prices), with room to spare.
const CANDLE_BYTES: usize = 512;

/// The WebSocket route.
pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// `?token=ADMIN_TOKEN` on the upgrade makes a session privileged: it may
/// write and clear the candle cache. (The `authenticate` message does the
/// same without putting the token in the URL.)
#[derive(serde::Deserialize)]
struct UpgradeParams {
    token: Option<String>,
}

async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(params): Query<UpgradeParams>,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.config.access.allowed_origins) {
        return (
            StatusCode::FORBIDDEN,
            "origin not allowed (ALLOWED_ORIGINS)",
        )
            .into_response();
    }
    let admin = match &params.token {
        None => false,
        Some(given) => {
            match state
                .lockout
                .check(ip, given, state.config.access.admin_token.as_deref())
            {
                Verdict::Accepted => true,
                Verdict::Wrong => {
                    return (StatusCode::UNAUTHORIZED, "wrong admin token").into_response();
                }
                Verdict::LockedOut { retry_after_secs } => return locked_out(retry_after_secs),
            }
        }
    };
    // Frames up to four times the limit are read and answered with an error;
    // larger ones end the connection.
    let hard_cap = state.config.limits.max_frame_bytes.saturating_mul(4);
    // The write buffer holds at most one frame past its flush size: the
    // largest, a snapshot, plus room. Without a bound, the pongs of a client
    // that pings without reading pile up in it (340 MB from five such
    // clients in `load abuse`); past it the session ends.
    let history = usize::try_from(state.config.redis.redis_historical_cache_size).unwrap_or(200);
    let max_write = SOCKET_BUFFER * 8 + history.saturating_mul(CANDLE_BYTES);
    // Small socket buffers: a thousand idle clients must not cost 256 KB each.
    ws.max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_write_buffer_size(max_write)
        .on_upgrade(move |socket| session::run(socket, state, admin, ip))
}

/// 429 for an address with too many wrong tokens.
fn locked_out(retry_after_secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after_secs.to_string())],
        "too many wrong tokens from this address; try again later (AUTH_MAX_FAILURES)",
    )
        .into_response()
}
