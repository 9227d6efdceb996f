//! `GET /metrics`: every metric of this process in the Prometheus text
//! format (see [`crate::metrics`]).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::scrape;
use crate::state::AppState;

/// The metrics route.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `/metrics` on the public listener while `METRICS_BIND` serves it: a
/// plain 404 rather than the page.
pub fn served_apart() -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                StatusCode::NOT_FOUND,
                "/metrics is served on its own listener (METRICS_BIND)\n",
            )
        }),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, scrape::CONTENT_TYPE)],
        scrape::render(&state).await,
    )
}
