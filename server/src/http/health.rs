//! `GET /healthz`: the process is alive and answering.

use axum::Router;
use axum::routing::get;

/// The liveness route.
pub fn router() -> Router {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz() -> &'static str {
    "ok"
}
