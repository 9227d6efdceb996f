//! Security headers on every response: a Content-Security-Policy as strict
//! as the built page allows, `X-Content-Type-Options: nosniff`,
//! `X-Frame-Options: DENY` (`frame-ancestors` for browsers without CSP 2) and
//! `Referrer-Policy: no-referrer`.
//!
//! trunk writes one inline `<script type="module">` that loads the wasm; it
//! is allowed by its SHA-256, read from `dist/index.html` at start-up and
//! again whenever the page is served after a rebuild. No other inline script
//! runs. `'wasm-unsafe-eval'` lets the page compile its WebAssembly.
//! The one inline style is lightweight-charts' attribution logo `<style>`,
//! allowed by its hash too ([`CHART_LOGO_STYLE`]). `connect-src 'self'` covers the page's own `ws:`/`wss:` origin in every
//! browser implementing CSP Level 3 (Chrome, Firefox, Safari since 2022);
//! naming `ws://HOST` explicitly would put a client-sent header into the
//! policy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, header};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

/// Adds the security headers to every response of `router`; `dist` holds
/// the built page whose bootstrap script the policy allows.
pub fn layers<S: Clone + Send + Sync + 'static>(router: Router<S>, dist: &Path) -> Router<S> {
    let policy = Arc::new(PagePolicy::new(dist.join("index.html")));
    let fixed = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            move |response: &Response<Body>| Some(policy.for_response(response)),
        ))
        .layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fixed(header::X_FRAME_OPTIONS, "DENY"))
        .layer(fixed(header::REFERRER_POLICY, "no-referrer"))
}

/// The `<style>` lightweight-charts (5.2.1, pinned in `package.json`) adds
/// for its attribution logo, the page's only inline style. An upgrade that
/// changes it shows as a CSP violation in the page test
/// (`tests/tests/page.rs` fails on any console error).
pub const CHART_LOGO_STYLE: &str = "a#tv-attr-logo{--fill:#131722;--stroke:#fff;position:absolute;left:10px;bottom:10px;height:19px;width:35px;margin:0;padding:0;border:0;z-index:3;}a#tv-attr-logo[data-dark]{--fill:#D1D4DC;--stroke:#131722;}";

/// The policy for the page's inline scripts (their `'sha256-…'` sources).
#[must_use]
pub fn policy(script_hashes: &[String]) -> String {
    let mut scripts = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        scripts.push(' ');
        scripts.push_str(hash);
    }
    let style = sha256_source(CHART_LOGO_STYLE.as_bytes());
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' {style}; img-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// The CSP source `'sha256-…'` of `content`.
fn sha256_source(content: &[u8]) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(content))
    )
}

/// The `'sha256-…'` source of each inline `<script>` (one without `src`) in
/// `html`, in order.
#[must_use]
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    // ASCII lower-casing keeps every byte offset.
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find("<script") {
        let open = at + found;
        let Some(tag_len) = lower[open..].find('>') else {
            break;
        };
        let body = open + tag_len + 1;
        let Some(body_len) = lower[body..].find("</script") else {
            break;
        };
        let tag = &lower[open + "<script".len()..body - 1];
        let has_src = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .any(|attribute| attribute == "src" || attribute.starts_with("src="));
        if !has_src {
            hashes.push(sha256_source(&html.as_bytes()[body..body + body_len]));
        }
        at = body + body_len;
    }
    hashes
}

/// The policy, recomputed when `index.html` changes.
struct PagePolicy {
    index: PathBuf,
    current: Mutex<Current>,
}

struct Current {
    /// Modification time and length of the `index.html` it was made from.
    stamp: Option<(SystemTime, u64)>,
    header: HeaderValue,
}

impl PagePolicy {
    fn new(index: PathBuf) -> Self {
        let me = Self {
            index,
            current: Mutex::new(Current {
                stamp: None,
                header: to_header(&policy(&[])),
            }),
        };
        me.refresh(&mut me.lock());
        me
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The header for `response`; serving the page checks for a rebuild.
    fn for_response(&self, response: &Response<Body>) -> HeaderValue {
        let page = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let mut current = self.lock();
        if page {
            self.refresh(&mut current);
        }
        current.header.clone()
    }

    fn refresh(&self, current: &mut Current) {
        let stamp = std::fs::metadata(&self.index)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        if stamp.is_some() && stamp == current.stamp {
            return;
        }
        let hashes = std::fs::read_to_string(&self.index)
            .map(|html| inline_script_hashes(&html))
            .unwrap_or_default();
        current.header = to_header(&policy(&hashes));
        current.stamp = stamp;
    }
}

fn to_header(policy: &str) -> HeaderValue {
    // Built from base64 and fixed ASCII: always a valid header value.
    HeaderValue::from_str(policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inline_scripts_are_hashed_exactly() {
        let html = r#"<html><head>
<script src="/lightweight-charts.js" integrity="sha384-x"></script>
<SCRIPT type="module">
import init from '/client.js';
await init();
</SCRIPT>
<script defer src=/x.js></script>
<link rel="modulepreload" href="/client.js"></head><body></body></html>"#;
        let hashes = inline_script_hashes(html);
        let body = "\nimport init from '/client.js';\nawait init();\n";
        let expected = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
        );
        assert_eq!(hashes, [expected]);
        assert!(inline_script_hashes("<p>no scripts</p>").is_empty());
        assert!(inline_script_hashes("<script>unclosed").is_empty());
    }

    #[test]
    fn the_policy_allows_wasm_and_the_hashes_and_nothing_inline() {
        let p = policy(&["'sha256-abc='".to_owned()]);
        assert!(
            p.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc=';"),
            "{p}"
        );
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "connect-src 'self'",
        ] {
            assert!(p.contains(directive), "{p}");
        }
        assert!(!p.contains("unsafe-inline"), "{p}");
        // The hash Chromium names when it refuses the chart's logo style.
        assert!(
            p.contains("style-src 'self' 'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY=';"),
            "{p}"
        );
    }
}
