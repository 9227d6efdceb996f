//! The request span of every log line: method, path and query, with the
//! value of any `token` parameter replaced by `***`, so `/ws?token=` never
//! reaches a log (tower-http's default span logs the whole URI).

use axum::http::{Request, Uri};
use tracing::Span;

/// The span tower-http's `TraceLayer` opens for `request`, at debug level
/// like its default one.
pub fn request_span<B>(request: &Request<B>) -> Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted(request.uri()),
        version = ?request.version(),
    )
}

/// The path and query of `uri`, each `token` value (however its name is
/// percent-encoded) shown as `***`.
#[must_use]
pub fn redacted(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name.trim().eq_ignore_ascii_case("token") {
            shown.append_pair(&name, "***");
        } else {
            shown.append_pair(&name, &value);
        }
    }
    format!("{path}?{}", shown.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(uri: &str) -> String {
        redacted(&uri.parse().unwrap())
    }

    #[test]
    fn token_values_are_hidden_however_written() {
        assert_eq!(shown("/ws"), "/ws");
        assert_eq!(shown("/ws?token=s3cret-s3cret-s3cret"), "/ws?token=***");
        assert_eq!(shown("/ws?%74oken=s3cret&x=1"), "/ws?token=***&x=1");
        assert_eq!(
            shown("/ws?a=1&TOKEN=s3cret&token=again"),
            "/ws?a=1&TOKEN=***&token=***"
        );
        assert_eq!(
            shown("/api/candles?asset=EURUSD&timeframe=1M"),
            "/api/candles?asset=EURUSD&timeframe=1M"
        );
        assert!(!shown("/ws?token=%73%33cret").contains("s3cret"));
        assert!(!shown("/ws?token+=s3cret").contains("s3cret"));
    }
}
