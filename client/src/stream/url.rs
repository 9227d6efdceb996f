//! The WebSocket address: `/ws` on the page's own origin, `wss://` when the
//! page came over HTTPS.

/// `ws://host/ws` or `wss://host/ws` for a page at `protocol//host`.
#[must_use]
pub fn ws_url(protocol: &str, host: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

/// The address for the page as loaded, if it has a location.
#[must_use]
pub fn page_ws_url() -> Option<String> {
    let location = web_sys::window()?.location();
    Some(ws_url(&location.protocol().ok()?, &location.host().ok()?))
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn follows_the_page_scheme_and_host() {
        assert_eq!(ws_url("http:", "127.0.0.1:3001"), "ws://127.0.0.1:3001/ws");
        assert_eq!(ws_url("https:", "example.com"), "wss://example.com/ws");
    }
}
