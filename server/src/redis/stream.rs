//! [`figures`]: a stream's length and one consumer group's lag and pending
//! entries (`XLEN`, `XINFO GROUPS`), for the metrics.

use std::time::Duration;

use super::Link;

/// A stream's figures.
#[derive(Debug, Clone, Copy)]
pub struct StreamFigures {
    /// Entries in the stream.
    pub length: u64,
    /// Entries the consumer group has not read yet, when Redis can tell.
    pub lag: Option<u64>,
    /// Entries the group read and has not acknowledged.
    pub pending: Option<u64>,
}

/// The figures of stream `key` and its consumer group `group`; `None` when
/// Redis does not answer `XLEN` within `timeout`.
pub async fn figures(
    conn: &mut Link,
    key: &str,
    group: &str,
    timeout: Duration,
) -> Option<StreamFigures> {
    let length = tokio::time::timeout(
        timeout,
        redis::cmd("XLEN").arg(key).query_async::<u64>(conn),
    )
    .await
    .ok()?
    .ok()?;
    let groups = tokio::time::timeout(
        timeout,
        redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(key)
            .query_async::<redis::streams::StreamInfoGroupsReply>(conn),
    )
    .await;
    let found = match groups {
        Ok(Ok(reply)) => reply.groups.into_iter().find(|g| g.name == group),
        _ => None,
    };
    Some(StreamFigures {
        length,
        lag: found.as_ref().and_then(|g| g.lag).map(|n| n as u64),
        pending: found.map(|g| g.pending as u64),
    })
}
