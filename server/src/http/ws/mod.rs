//! `GET /ws`: the WebSocket. The handler only checks the origin and the admin
//! token of `?token=`, and upgrades; [`session::run`] does the rest.

mod limiter;
mod session;

use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::client_ip::ClientIp;
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

/// `ALLOWED_ORIGINS` unset: no Origin (not a browser) or the page's own
/// origin. `*`: any. Otherwise the listed origins exactly.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return allowed.is_empty() || allowed.iter().any(|a| a == "*");
    };
    if allowed.is_empty() {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        return host.is_some() && origin_host == host;
    }
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/') == origin)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn by_default_only_the_page_itself_and_non_browsers() {
        assert!(origin_allowed(&headers(None, "127.0.0.1:3001"), &[]));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3001"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:3001"),
            &[]
        ));
    }

    #[test]
    fn a_list_is_exact_and_star_is_any() {
        let list = vec!["https://charts.example".to_owned()];
        assert!(origin_allowed(
            &headers(Some("https://charts.example"), "x"),
            &list
        ));
        assert!(!origin_allowed(
            &headers(Some("https://charts.example.evil"), "x"),
            &list
        ));
        assert!(!origin_allowed(&headers(None, "x"), &list));
        assert!(origin_allowed(
            &headers(Some("http://a"), "x"),
            &["*".to_owned()]
        ));
    }
}
