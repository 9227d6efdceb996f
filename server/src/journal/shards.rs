//! The shard count recorded in Redis, as the field `shards` of the hash
//! `{prefix}journal:readers` whatever the count (with one stream its other
//! fields are the readers' positions): the first process records its
//! `JOURNAL_SHARDS`; a process configured with another count refuses to
//! start, since its assets would map to other streams and their order would
//! no longer hold.

use std::time::Duration;

use super::keys::Keys;
use super::types::JournalError;
use crate::redis::Link;

/// The field holding the count (readers' fields are their origins).
const SHARDS_FIELD: &str = "shards";

/// Records the shard count if none is (at start-up and on every
/// reconnection: a Redis that lost it gets it again), and checks it against the one
/// recorded.
///
/// # Errors
///
/// [`JournalError::Shards`] when another count is recorded;
/// [`JournalError::Redis`] when Redis does not answer.
pub(super) async fn adopt(
    conn: &mut Link,
    keys: &Keys,
    timeout: Duration,
) -> Result<(), JournalError> {
    let key = keys.shard_record();
    let count = keys.shards();
    let checked = tokio::time::timeout(timeout, async {
        redis::cmd("HSETNX")
            .arg(&key)
            .arg(SHARDS_FIELD)
            .arg(count)
            .query_async::<()>(conn)
            .await?;
        redis::cmd("HGET")
            .arg(&key)
            .arg(SHARDS_FIELD)
            .query_async::<Option<String>>(conn)
            .await
    })
    .await
    .map_err(|_| JournalError::Redis(format!("no answer reading {key}")))?
    .map_err(|e| JournalError::Redis(format!("reading {key}: {e}")))?;
    match checked {
        Some(recorded) if recorded != count.to_string() => Err(JournalError::Shards {
            recorded,
            configured: count,
        }),
        _ => Ok(()),
    }
}
