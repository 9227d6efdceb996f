//! What the page shows from `redis_status` (and `GET /api/status`): Redis,
//! the persister, and the assets the server knows.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use shared::Asset;
use shared::protocol::RedisStatus;

/// The persister as a badge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersisterState {
    /// No status seen yet.
    Unknown,
    /// No store configured, or not running.
    Off,
    /// Writing batches.
    Running {
        /// Rows stored so far.
        rows_written: u64,
        /// Ticks read but not yet committed.
        pending: u64,
    },
    /// The last write failed; it retries.
    Failing {
        /// The last error, as the server words it.
        error: String,
    },
}

impl PersisterState {
    /// Reads `batch_status`.
    #[must_use]
    pub fn from_batch_status(status: &Map<String, Value>) -> Self {
        let number = |k: &str| status.get(k).and_then(Value::as_u64).unwrap_or(0);
        let running = status.get("running").and_then(Value::as_bool) == Some(true);
        let store = status.get("store").and_then(Value::as_str).unwrap_or("");
        if !running || store == "none" {
            return Self::Off;
        }
        match status.get("last_error").and_then(Value::as_str) {
            Some(error) => Self::Failing {
                error: error.chars().take(200).collect(),
            },
            None => Self::Running {
                rows_written: number("rows_written"),
                pending: number("pending"),
            },
        }
    }
}

/// The asset names a status mentions: the persister's `active_assets` and,
/// when the server lists them, `live.assets`. Invalid names are skipped.
#[must_use]
pub fn assets_in(status: &RedisStatus) -> BTreeSet<Asset> {
    [
        status.batch_status.get("active_assets"),
        status.live.get("assets"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_array)
    .flatten()
    .filter_map(Value::as_str)
    .filter_map(|name| Asset::new_checked(name).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn map(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[wasm_bindgen_test]
    fn reads_the_persister_state() {
        assert_eq!(
            PersisterState::from_batch_status(&map(
                r#"{"running":false,"store":"none","local_backlog":0}"#
            )),
            PersisterState::Off
        );
        assert_eq!(
            PersisterState::from_batch_status(&map(
                r#"{"running":true,"store":"postgresql","rows_written":12,"pending":3,"last_error":null}"#
            )),
            PersisterState::Running {
                rows_written: 12,
                pending: 3
            }
        );
        assert_eq!(
            PersisterState::from_batch_status(&map(
                r#"{"running":true,"store":"postgresql","last_error":"connection refused"}"#
            )),
            PersisterState::Failing {
                error: "connection refused".into()
            }
        );
    }

    #[wasm_bindgen_test]
    fn lists_the_assets_a_status_names() {
        let status: RedisStatus = serde_json::from_str(
            r#"{"connected":true,"batch_status":{"active_assets":["EURUSD_otc","bad name"]},
                "live":{"assets":["BTCUSD","EURUSD_otc"]},"timestamp":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let names: Vec<String> = assets_in(&status).iter().map(|a| a.to_string()).collect();
        assert_eq!(names, ["BTCUSD", "EURUSD_otc"]);
    }
}
