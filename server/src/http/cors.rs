//! CORS for the pages of `ALLOWED_ORIGINS`: a page served from a listed
//! origin (the original design's React page on its own dev server, say) may
//! long-poll Socket.IO and read the HTTP API from the browser. Unset, no CORS
//! headers are sent: the server's own page needs none. Only `GET` and `POST`
//! with `Content-Type` are allowed, so a foreign page can never send a bearer
//! token to `POST /api/ticks`.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The layer for `allowed` (`*`: any origin), or none when it is empty.
#[must_use]
pub fn layer(allowed: &[String]) -> Option<CorsLayer> {
    if allowed.is_empty() {
        return None;
    }
    let origins = if allowed.iter().any(|a| a == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(allowed.iter().filter_map(|a| {
            let origin = HeaderValue::from_str(a.trim_end_matches('/'));
            if origin.is_err() {
                tracing::warn!("ALLOWED_ORIGINS: {a:?} is not a valid origin; ignored for CORS");
            }
            origin.ok()
        }))
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
