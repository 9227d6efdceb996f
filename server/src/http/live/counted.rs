//! [`Counted`]: a live client in the `tickstream_ws_clients` gauge while its
//! session lives, however the session ends.

use prometheus_client::metrics::gauge::Gauge;

/// Counts a client while it lives (a dropped session future included).
pub struct Counted(Gauge);

impl Counted {
    /// Counts one more client in `gauge` until dropped.
    #[must_use]
    pub fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dec();
    }
}
