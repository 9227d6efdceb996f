//! The HTTP surface: each concern exposes a `router()` and this module
//! merges them; everything else falls through to the built client.

mod health;
mod page;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;

/// Every route of the server.
pub fn router(config: &ServeConfig) -> Router {
    Router::new()
        .merge(health::router())
        .fallback_service(page::service(&config.dist))
        .layer(TraceLayer::new_for_http())
}
