//! [`now_ms`]: the page's monotonic clock, `performance.now()`.

/// `performance.now()`, or 0 without a window.
#[must_use]
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
