//! `GET /metrics`: every metric of this process in the Prometheus text
//! format (see [`crate::metrics`]).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::scrape;
use crate::state::AppState;

/// The metrics route.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, scrape::CONTENT_TYPE)],
        scrape::render(&state).await,
    )
}
