//! The built client (`dist/`): static files, with `index.html` for any other
//! path so the page can own its routes. Without a build, a clear 503.
//!
//! A file is sent brotli- or gzip-compressed when the request accepts it and
//! the build left `FILE.br` or `FILE.gz` beside it (`scripts/lib/compress.mjs`,
//! trunk's post-build hook), else as it is; a `Range` request always gets the
//! file's own bytes. The names trunk hashed (`client-561d4ae7eec25be8_bg.wasm`)
//! never change content, so they are cached for a year, `immutable`;
//! everything else (`index.html`, the page's routes) is `no-cache`: kept, but
//! revalidated (`Last-Modified`) on every load, so a rebuild shows at once.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, any_service};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// `Cache-Control` of a file whose name carries its content's hash.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// `Cache-Control` of everything else.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// Length of the hash trunk puts in a file name (`-` and 16 hex digits).
const HASH_DIGITS: usize = 16;

/// Serves `dist`, falling back to `dist/index.html`.
pub fn service(dist: &Path) -> MethodRouter {
    let index = dist.join("index.html");
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(&index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    let dist = dist.to_path_buf();
    any_service(tower::service_fn(move |mut request: Request<Body>| {
        let files = files.clone();
        let built = index.is_file();
        let dist = dist.clone();
        async move {
            if !built {
                return Ok::<_, Infallible>(not_built());
            }
            let hashed = hashed_file(&dist, request.uri().path()).await;
            if request.headers().contains_key(header::RANGE) {
                // Byte ranges count the file's own bytes, never a compressed copy's.
                request.headers_mut().remove(header::ACCEPT_ENCODING);
            }
            let mut response = match files.oneshot(request).await {
                Ok(response) => response.map(Body::new),
                Err(e) => match e {},
            };
            let status = response.status();
            let cached = hashed && (status.is_success() || status == StatusCode::NOT_MODIFIED);
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                if cached { IMMUTABLE } else { REVALIDATE },
            );
            headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
            Ok(response)
        }
    }))
}

/// Whether `path` names a file of `dist` (not in a subfolder) whose name
/// carries trunk's content hash.
async fn hashed_file(dist: &Path, path: &str) -> bool {
    let Some(name) = path.strip_prefix('/') else {
        return false;
    };
    if !is_hashed_name(name) {
        return false;
    }
    let file: PathBuf = dist.join(name);
    tokio::fs::metadata(file).await.is_ok_and(|m| m.is_file())
}

/// `NAME-<16 hex digits>.EXT` or `NAME-<16 hex digits>_bg.wasm`, in letters,
/// digits, `-`, `_` and `.` only (so no `/`, `%` or `..` segment).
fn is_hashed_name(name: &str) -> bool {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let Some((stem, rest)) = name.rsplit_once('-') else {
        return false;
    };
    let Some((hash, tail)) = rest.split_at_checked(HASH_DIGITS) else {
        return false;
    };
    plain
        && !stem.is_empty()
        && !stem.starts_with('.')
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && (tail.starts_with('.') || tail.starts_with("_bg."))
        && tail.len() > 1
}

fn not_built() -> Response<Body> {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "The tickstream page is not built. Run scripts/run (or `trunk build --release`) first.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::is_hashed_name;

    #[test]
    fn only_trunks_hashed_names_count_as_hashed() {
        for name in [
            "client-561d4ae7eec25be8.js",
            "client-561d4ae7eec25be8_bg.wasm",
            "style-51b62a65bd06bc3f.css",
            "lightweight-charts.standalone.production-c6f9e5dac2fbd422.js",
        ] {
            assert!(is_hashed_name(name), "{name}");
        }
        for name in [
            "index.html",
            "client.js",
            "client-561d4ae7eec25be.js",
            "client-561d4ae7eec25bez.js",
            "client-561d4ae7eec25be8",
            "client-561d4ae7eec25be8.",
            "-561d4ae7eec25be8.js",
            "../client-561d4ae7eec25be8.js",
            "sub/client-561d4ae7eec25be8.js",
            "client-561d4ae7eec25be8%2e.js",
        ] {
            assert!(!is_hashed_name(name), "{name}");
        }
    }
}
