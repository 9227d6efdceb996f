//! Past one Redis: the journal in `JOURNAL_SHARDS` streams, on a six-node
//! Redis Cluster (three masters, three replicas) started here from
//! Debian's `redis-server`, and on one Redis. Two processes: ticks for 30
//! assets ingested on one reach WebSocket subscribers of the other, and
//! every accepted tick is stored exactly once, a retried batch included.
//! A process configured with another shard count refuses to start; with
//! shards, the write-ahead file of a Redis outage reaches each stream once.

#[path = "../common/mod.rs"]
mod common;
mod nodes;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{
    Client, Running, cleanup, drop_database, fresh_database, future_minute, unique_prefix,
};
use nodes::Cluster;
use server::journal::Keys;
use shared::{Asset, ServerMessage, Timeframe};
use sqlx::Connection;

/// Assets ingested, each in its own shard's stream.
const ASSETS: usize = 30;
/// Ticks per asset in each batch.
const PER_ASSET: usize = 10;
/// Batches ingested.
const BATCHES: usize = 3;
/// The longest wait for fan-out or storage.
const WITHIN: Duration = Duration::from_secs(30);

fn asset(i: usize) -> String {
    format!("CL{i:02}")
}

/// Batch `round`: `PER_ASSET` ticks of every asset, interleaved.
fn batch(t0: i64, round: usize) -> String {
    let mut ticks = Vec::new();
    for n in 0..PER_ASSET {
        for i in 0..ASSETS {
            let at = t0 + i64::try_from(round * PER_ASSET + n).unwrap();
            ticks.push(format!(
                r#"{{"asset":"{}","price":"1.{:04}","timestamp":{at}}}"#,
                asset(i),
                1000 + n
            ));
        }
    }
    format!("[{}]", ticks.join(","))
}

/// Rows stored, and distinct (asset, timestamp, price) among them.
async fn stored(db_url: &str) -> (i64, i64) {
    let mut conn = sqlx::PgConnection::connect(db_url).await.unwrap();
    sqlx::query_as(
        "SELECT count(*), count(DISTINCT (pair, timestamp, price)) FROM historical_ticks",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap_or((0, 0))
}

/// Two processes with `args` (plus `prefix` and a fresh database): ticks of
/// 30 assets ingested on the first reach a subscriber of the second, and
/// are stored exactly once although one batch is sent twice.
async fn fan_out_and_store_once(name: &str, prefix: &str, args: &[&str]) {
    let (db_url, db) = fresh_database(name).await;
    let dist = tempfile::tempdir().unwrap();
    let mut all = vec!["--redis-key-prefix", prefix, "--database-url", &db_url];
    all.extend(["--redis-batch-processing-interval", "1"]);
    all.extend_from_slice(args);
    let a = common::start(dist.path(), &all).await;
    let b = common::start(dist.path(), &all).await;
    let mut client = Client::connect(&b.ws).await;
    for i in 0..ASSETS {
        client.subscribe(&asset(i), Some(Timeframe::M1)).await;
    }
    within(async {
        for _ in 0..ASSETS {
            client.snapshot().await;
        }
    })
    .await;

    let t0 = future_minute();
    for round in 0..BATCHES {
        a.ingest(&batch(t0, round)).await;
    }
    // The answer to the first batch was "lost": the producer retries it
    // on the other process.
    b.ingest(&batch(t0, 0)).await;

    // Every asset's minute holds every tick, once, on the other process.
    let want = u64::try_from(PER_ASSET * BATCHES).unwrap();
    let mut volumes: HashMap<String, u64> = HashMap::new();
    within(async {
        while volumes.len() < ASSETS || volumes.values().any(|&v| v < want) {
            if let ServerMessage::RedisUpdate(u) = client.recv().await {
                volumes.insert(u.data.asset().to_string(), u.data.volume());
            }
        }
    })
    .await;
    assert!(volumes.values().all(|&v| v == want), "{volumes:?}");

    let expected = i64::try_from(ASSETS * PER_ASSET * BATCHES).unwrap();
    let started = Instant::now();
    let mut rows = stored(&db_url).await;
    while rows.0 < expected && started.elapsed() < WITHIN {
        tokio::time::sleep(Duration::from_millis(200)).await;
        rows = stored(&db_url).await;
    }
    assert_eq!(rows, (expected, expected), "every tick stored exactly once");
    stop(a, b).await;
    drop_database(&db).await;
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WITHIN, f).await.expect("in time")
}

async fn stop(a: Running, b: Running) {
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn on_a_cluster_ticks_reach_the_other_process_and_are_stored_once() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(7000))
        .await
        .unwrap();
    let nodes = cluster.nodes();
    let prefix = unique_prefix("cluster");
    fan_out_and_store_once("cluster", &prefix, &["--redis-cluster-nodes", &nodes]).await;
    // 16 streams (the default on a cluster) spread over the three masters.
    let keys = cluster.keys_per_master();
    assert_eq!(keys.len(), 3, "three masters");
    assert!(
        keys.iter().all(|&n| n > 0),
        "every master holds keys: {keys:?}"
    );
    // Every per-asset key carries its shard's hash tag; the tick list holds
    // the asset's ticks (the retried batch's again: it is a view).
    let names = Keys::sharded(&prefix, 16, true);
    let client = redis::cluster::ClusterClient::new(vec!["redis://127.0.0.1:7000/"]).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    for i in 0..ASSETS {
        let a = Asset::new(&asset(i));
        let list = names.ticks(a);
        assert_eq!(list, format!("{prefix}ticks:{{{}}}:{a}", names.shard(a)));
        let held: usize = redis::cmd("LLEN")
            .arg(&list)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(held, PER_ASSET * (BATCHES + 1), "{list}");
    }
}

#[tokio::test]
async fn on_one_redis_four_shards_reach_the_other_process_and_are_stored_once() {
    let prefix = unique_prefix("shards");
    let args = ["--redis-url", common::REDIS, "--journal-shards", "4"];
    fan_out_and_store_once("shards", &prefix, &args).await;
    // Four streams, each asset's list under its original name.
    let mut conn = common::redis().await;
    let names = Keys::sharded(&prefix, 4, false);
    for key in names.journals() {
        let exists: u64 = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 1, "{key}");
    }
    let list: usize = redis::cmd("LLEN")
        .arg(format!("{prefix}ticks:CL00"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(list, PER_ASSET * (BATCHES + 1));
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_process_with_another_shard_count_refuses_to_start() {
    let prefix = unique_prefix("shardcount");
    let dist = tempfile::tempdir().unwrap();
    let first = common::start_on_redis(dist.path(), &prefix, &[]).await;
    // Redis answers and records 1 before the first process serves.
    let (status, _) = first.get("/readyz").await;
    assert_eq!(status, 200);
    let other = common::start_on_redis(dist.path(), &prefix, &["--journal-shards", "4"]).await;
    let refusal = other.refusal().await;
    assert!(
        refusal.contains("JOURNAL_SHARDS is 4 but this Redis records 1"),
        "{refusal}"
    );
    first.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn with_four_shards_a_redis_restart_writes_the_held_ticks_to_their_streams_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = common::PrivateRedis::start(dir.path(), 7090);
    let url = redis.url();
    let dist = tempfile::tempdir().unwrap();
    let args = ["--redis-url", &url, "--journal-shards", "4"];
    let quick = ["--redis-retry-delay", "1", "--redis-socket-timeout", "2"];
    let server = common::start(dist.path(), &[&args[..], &quick[..]].concat()).await;
    let t0 = future_minute();
    assert_eq!(server.ingest(&batch(t0, 0)).await["journal"], "redis");
    redis.kill();
    let held = server.ingest(&batch(t0, 1)).await;
    assert_eq!(held["journal"], "local", "accepted while Redis is away");
    let redis = common::PrivateRedis::start(dir.path(), 7090);
    // Reconnected, and the write-ahead file is in the streams.
    let started = Instant::now();
    while common::status(&server.base).await["batch_status"]["journal"] != "redis" {
        assert!(started.elapsed() < WITHIN, "did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.ingest(&batch(t0, 2)).await["journal"], "redis");
    // The streams hold every tick once, each asset in its shard's stream,
    // in order.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let names = Keys::sharded("", 4, false);
    let mut all = Vec::new();
    for shard in 0..4 {
        let ticks = common::journal_ticks_at(&mut conn, &names.journal(shard)).await;
        assert!(ticks.iter().all(|t| names.shard(t.asset) == shard));
        for i in 0..ASSETS {
            let a = Asset::new(&asset(i));
            let own: Vec<_> = ticks.iter().filter(|t| t.asset == a).collect();
            assert!(own.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        }
        all.extend(ticks);
    }
    let total = all.len();
    all.sort_unstable_by_key(|t| (t.asset, t.timestamp, t.price));
    all.dedup();
    assert_eq!(all.len(), ASSETS * PER_ASSET * BATCHES);
    assert!(
        total <= all.len() + ASSETS * PER_ASSET,
        "no held record twice"
    );
    server.stop().await;
}
