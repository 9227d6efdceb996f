//! The tailer: reads one journal stream (one task per shard) in order and
//! feeds this process's
//! candles, from the start of the current UTC day so that every process
//! holds the same forming candles. Own batches already delivered while
//! Redis was away are skipped ([`super::delivered`]).
//!
//! It publishes its position in the shard's hash `journal:readers` (field: this
//! process's origin; value: `{last entry id} {Unix ms}`) about every second,
//! so the persister trims the stream only below the slowest live reader; on
//! shutdown it removes its field.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::entry;
use super::inner::Shared;
use super::types::Journaled;
use crate::clock::{now_millis, seed_from_ms};
use crate::redis::{Link, Target};

/// The longest pause between reconnection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Entries (batches of up to 10,000 ticks) read per `XREAD`.
const READ_COUNT: usize = 100;
/// How often the position is published.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Tails stream `shard` until `stop`, over a connection of its own (its
/// blocking reads hold nobody else up).
pub(super) async fn run(
    shared: Arc<Shared>,
    target: Target,
    shard: u16,
    feed: mpsc::Sender<Journaled>,
    stop: CancellationToken,
) {
    let mut last_id = format!("{}-0", seed_from_ms(now_millis()));
    let key = shared.keys.journal(shard);
    let first_delay = Duration::from_secs(shared.config.redis_retry_delay);
    let mut delay = first_delay;
    let mut conn: Option<Link> = None;
    let mut published: Option<Instant> = None;
    loop {
        if stop.is_cancelled() {
            break;
        }
        let c = match &mut conn {
            Some(c) => c,
            None => match target.connect(&shared.config).await {
                Ok(c) => {
                    delay = first_delay;
                    published = None;
                    conn.insert(c)
                }
                Err(_) => {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                    continue;
                }
            },
        };
        if published.is_none_or(|t| t.elapsed() >= HEARTBEAT) {
            published = Some(Instant::now());
            if let Err(e) = publish(c, &shared, shard, &last_id).await {
                tracing::debug!("publishing the journal position failed: {e}");
            }
        }
        let mut xread = redis::cmd("XREAD");
        xread
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(500)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last_id);
        let read = xread.query_async::<redis::Value>(c);
        let reply = tokio::select! {
            () = stop.cancelled() => break,
            r = read => r,
        };
        match reply {
            Ok(value) => {
                let (entries, skipped) = entry::parse_xread(&value);
                if skipped > 0 {
                    tracing::warn!("{skipped} journal entries could not be read and were skipped");
                }
                let Some((id, _)) = entries.last() else {
                    continue;
                };
                last_id.clone_from(id);
                // An entry id starts with the time it was journaled.
                let at_ms = id
                    .split('-')
                    .next()
                    .and_then(|ms| ms.parse().ok())
                    .unwrap_or(0);
                // Real and simulated entries go out in runs, in order.
                for run in entries.chunk_by(|(_, a), (_, b)| a.simulated == b.simulated) {
                    let simulated = run[0].1.simulated;
                    let ticks = shared.delivered(shard).not_yet(run);
                    if !ticks.is_empty()
                        && feed
                            .send(Journaled {
                                at_ms,
                                ticks,
                                simulated,
                            })
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!("reading the journal failed ({e}); reconnecting");
                conn = None;
            }
        }
    }
    // A stopped reader holds nothing back.
    if let Some(c) = &mut conn {
        let _ = tokio::time::timeout(
            shared.config.timeout(),
            redis::cmd("HDEL")
                .arg(shared.keys.readers(shard))
                .arg(shared.origin)
                .query_async::<()>(c),
        )
        .await;
    }
}

/// Publishes this reader's position and heartbeat.
async fn publish(
    conn: &mut Link,
    shared: &Shared,
    shard: u16,
    last_id: &str,
) -> redis::RedisResult<()> {
    let value = format!("{last_id} {}", now_millis());
    tokio::time::timeout(
        shared.config.timeout(),
        redis::cmd("HSET")
            .arg(shared.keys.readers(shard))
            .arg(shared.origin)
            .arg(value)
            .query_async::<()>(conn),
    )
    .await
    .unwrap_or_else(|_| Err(redis::RedisError::from((redis::ErrorKind::Io, "timed out"))))
}
