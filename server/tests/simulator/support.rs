//! What the simulator tests share: a server simulating on demand, the
//! stream events, and readings of the journal, the status and the store.

use std::path::Path;
use std::time::{Duration, Instant};

use server::journal::entry::{Entry, parse_entries};
use server::store::SqliteStore;
use shared::ServerMessage;
use shared::protocol::{StreamError, StreamStarted};

use crate::common::{self, Client, Running, start_on_redis, status};

/// Fast walks, so a second shows many ticks.
pub const RATE: &str = "20";

pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A server on Redis under `prefix` simulating on demand (linger 1 s).
pub async fn on_demand(dist: &Path, prefix: &str, args: &[&str]) -> Running {
    let mut all = vec![
        "--simulator-on-demand",
        "true",
        "--simulator-rate",
        RATE,
        "--simulator-linger-ms",
        "1000",
    ];
    all.extend_from_slice(args);
    start_on_redis(dist, prefix, &all).await
}

/// How long a reply or an update may take; live updates that keep coming
/// must not keep a failing test waiting for ever.
const WAIT: Duration = Duration::from_secs(10);

/// Reads until a message matches, for at most [`WAIT`].
pub async fn within<T>(client: &mut Client, pick: impl FnMut(ServerMessage) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, client.until(pick))
        .await
        .expect("no such message within 10 s")
}

/// Sends `start_stream {asset}` and reads until it is answered.
pub async fn start_stream(client: &mut Client, asset: &str) -> Result<StreamStarted, StreamError> {
    client
        .send_text(&format!(
            r#"{{"event":"start_stream","data":{{"asset":"{asset}"}}}}"#
        ))
        .await;
    within(client, |m| match m {
        ServerMessage::StreamStarted(s) => Some(Ok(s)),
        ServerMessage::StreamError(e) => Some(Err(e)),
        _ => None,
    })
    .await
}

/// Sends `stop_stream` and reads until `stream_stopped`.
pub async fn stop_stream(client: &mut Client) {
    client.send_text(r#"{"event":"stop_stream"}"#).await;
    within(client, |m| {
        matches!(m, ServerMessage::StreamStopped(_)).then_some(())
    })
    .await;
}

/// Reads until an update of `asset` whose close is `close` (any close when
/// `None`), returning that close.
pub async fn update_of(client: &mut Client, asset: &str, close: Option<&str>) -> String {
    within(client, |m| match m {
        ServerMessage::RedisUpdate(u)
            if u.data.asset().as_str() == asset
                && close.is_none_or(|c| u.data.close().to_string() == c) =>
        {
            Some(u.data.close().to_string())
        }
        _ => None,
    })
    .await
}

/// Every journal entry under `prefix` with its id, in order.
pub async fn entries(prefix: &str) -> Vec<(String, Entry)> {
    let mut conn = common::redis().await;
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(format!("{prefix}journal"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let redis::Value::Array(raw) = reply else {
        return Vec::new();
    };
    let (mut out, mut skipped) = (Vec::new(), 0);
    parse_entries(&raw, &mut out, &mut skipped);
    assert_eq!(skipped, 0);
    out
}

/// Journaled ticks of `asset`: (real, simulated).
pub async fn journaled(prefix: &str, asset: &str) -> (usize, usize) {
    let mut counts = (0, 0);
    for (_, e) in entries(prefix).await {
        let n = e.ticks.iter().filter(|t| t.asset.as_str() == asset).count();
        if e.simulated {
            counts.1 += n;
        } else {
            counts.0 += n;
        }
    }
    counts
}

/// Whether the journal of `asset` stays as it is for a second.
pub async fn stays_still(prefix: &str, asset: &str) -> bool {
    let before = journaled(prefix, asset).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    journaled(prefix, asset).await == before
}

/// `live.simulated` of the status.
pub async fn simulated(server: &Running) -> Vec<String> {
    let s = status(&server.base).await;
    s["live"]["simulated"]
        .as_array()
        .unwrap_or_else(|| panic!("no live.simulated in {s}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Rows of `asset` in the SQLite file at `path`.
pub async fn stored_rows(path: &Path, asset: &str) -> i64 {
    let store = SqliteStore::open(path, Duration::from_secs(5)).unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM historical_ticks WHERE pair = ?")
        .bind(asset)
        .fetch_one(store.pool())
        .await
        .unwrap();
    store.pool().close().await;
    n
}

/// Waits until the persister has written at least `rows` rows.
pub async fn rows_written(server: &Running, rows: u64) {
    let started = Instant::now();
    loop {
        let s = status(&server.base).await;
        if s["batch_status"]["rows_written"].as_u64() >= Some(rows) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not stored: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
