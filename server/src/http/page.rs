//! The built client (`dist/`): static files, with `index.html` for any other
//! path so the page can own its routes. Without a build, a clear 503.

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, any_service};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Serves `dist`, falling back to `dist/index.html`.
pub fn service(dist: &Path) -> MethodRouter {
    let index = dist.join("index.html");
    let files = ServeDir::new(dist).fallback(ServeFile::new(&index));
    any_service(tower::service_fn(move |request: Request<Body>| {
        let files = files.clone();
        let built = index.is_file();
        async move {
            if !built {
                return Ok::<_, Infallible>(not_built());
            }
            match files.oneshot(request).await {
                Ok(response) => Ok(response.map(Body::new)),
                Err(e) => match e {},
            }
        }
    }))
}

fn not_built() -> Response<Body> {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The tickstream page is not built. Run scripts/run (or `trunk build --release`) first.\n",
    )
        .into_response()
}
