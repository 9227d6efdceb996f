//! `GET /healthz`: the process is alive and answering.

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// The liveness route.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz() -> &'static str {
    "ok"
}
