//! The journal's consumer-group interface against the real Redis: read,
//! acknowledge, claim from a crashed consumer, trim only what is acknowledged.

mod common;

use common::{cleanup, journal_len, unique_prefix};
use server::config::ServeConfig;
use server::journal::Journal;
use shared::{Asset, Price, Tick, TimestampMs};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn tick(n: i64) -> Tick {
    Tick::new(
        Asset::new("GRP"),
        Price::new("1.5"),
        TimestampMs::new(1_705_314_600_000 + n),
    )
}

#[tokio::test]
async fn entries_are_trimmed_only_once_acknowledged() {
    let prefix = unique_prefix("group");
    let config =
        ServeConfig::parse_from(["--redis-url", common::REDIS, "--redis-key-prefix", &prefix])
            .unwrap();
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    // A writer only: no tailer of its own whose position would hold trimming.
    let journal = Journal::writer(&config.redis, stop.clone(), tasks.clone())
        .await
        .unwrap();
    // Nothing journaled before the group existed is missed.
    // One tick per append: one entry each.
    let ticks: Vec<Tick> = (0..10).map(tick).collect();
    for t in &ticks[..4] {
        journal.append(std::slice::from_ref(t)).await.unwrap();
    }
    let mut a = journal.consumer_group("persister", "a").await.unwrap();
    for t in &ticks[4..] {
        journal.append(std::slice::from_ref(t)).await.unwrap();
    }

    let first = a.read(6, 100).await.unwrap();
    assert_eq!(
        first
            .iter()
            .flat_map(|(_, t)| t.clone())
            .collect::<Vec<_>>(),
        ticks[..6]
    );
    assert_eq!(a.pending().await.unwrap(), 6);
    // Nothing is acknowledged yet: nothing may go.
    assert_eq!(a.trim_acknowledged().await.unwrap(), 0);
    assert_eq!(journal_len(&prefix).await, 10);

    let ids: Vec<String> = first.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(a.ack(&ids[..3]).await.unwrap(), 3);
    assert_eq!(a.trim_acknowledged().await.unwrap(), 3);
    assert_eq!(journal_len(&prefix).await, 7);

    // Consumer `a` dies; `b` claims what it held and reads the rest.
    let mut b = journal.consumer_group("persister", "b").await.unwrap();
    let claimed = b.claim_stale(0, 100).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .flat_map(|(_, t)| t.clone())
            .collect::<Vec<_>>(),
        ticks[3..6]
    );
    let rest = b.read(100, 100).await.unwrap();
    assert_eq!(
        rest.iter().flat_map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        ticks[6..]
    );
    let all: Vec<String> = claimed
        .iter()
        .chain(&rest)
        .map(|(id, _)| id.clone())
        .collect();
    b.ack(&all).await.unwrap();
    assert_eq!(b.pending().await.unwrap(), 0);
    b.trim_acknowledged().await.unwrap();
    assert!(
        journal_len(&prefix).await <= 1,
        "only the last delivered entry may stay"
    );

    stop.cancel();
    tasks.close();
    tasks.wait().await;
    cleanup(&prefix).await;
}
