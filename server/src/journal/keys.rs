//! [`Keys`]: the journal's Redis key names under the configured prefix.

use shared::Asset;

/// Redis key names under the configured prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`.
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The journal stream.
    #[must_use]
    pub fn journal(&self) -> String {
        format!("{}journal", self.prefix)
    }

    /// The capped tick list of an asset, and its pub/sub channel.
    #[must_use]
    pub fn ticks(&self, asset: Asset) -> String {
        format!("{}ticks:{asset}", self.prefix)
    }

    /// The hash of tailing processes' positions: field = the process's
    /// origin, value = `{last entry id} {heartbeat, Unix ms}`. The stream
    /// is trimmed only below the slowest live reader.
    #[must_use]
    pub fn readers(&self) -> String {
        format!("{}journal:readers", self.prefix)
    }

    /// The stream any producer may `XADD` ticks to (see [`crate::bridge`]).
    #[must_use]
    pub fn ingest(&self) -> String {
        format!("{}ingest", self.prefix)
    }

    /// The bounded stream of refused ingest-stream entries, with reasons.
    #[must_use]
    pub fn ingest_rejected(&self) -> String {
        format!("{}ingest:rejected", self.prefix)
    }

    /// The number of the last record of write-ahead file `file_id` written
    /// to the stream, set in the same `MULTI`/`EXEC` as those records.
    #[must_use]
    pub fn write_ahead(&self, file_id: u64) -> String {
        format!("{}wal:{file_id:016x}", self.prefix)
    }
}
