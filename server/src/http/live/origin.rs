//! The origin check of live sessions (`/ws` and Socket.IO): which pages may
//! open one, by `ALLOWED_ORIGINS`.

use axum::http::{HeaderMap, header};

/// `ALLOWED_ORIGINS` unset: no Origin (not a browser) or the page's own
/// origin. `*`: any. Otherwise the listed origins exactly.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
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
