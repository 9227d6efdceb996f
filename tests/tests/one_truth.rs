//! One truth (issue 11): for every accepted tick, whatever order, repetition
//! or lateness it came with, the live candles, the candle cache and the
//! store agree with the candles of the distinct accepted ticks, in all
//! seven timeframes; ticks from the future are refused. Random
//! interleavings (the seed is printed; `TRUTH_SEED` runs one again) on one
//! process, on two sharing one Redis and one PostgreSQL, and on the
//! embedded SQLite store without Redis; and the three cases the issue
//! reported.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use e2e::Server;
use e2e::server::{REDIS, forget_keys, unique};
use e2e::truth::{Database, Oracle, Rng, differences, live, now_ms, post};
use shared::{Asset, Price, Timeframe};

const TOKEN: &str = "one-truth-ingest-token";

/// Servers sharing one Redis prefix and one store.
struct Setup {
    servers: Vec<Server>,
    db: Option<Database>,
    prefix: String,
    _dir: Option<tempfile::TempDir>,
}

impl Setup {
    /// `count` processes on Redis and a fresh PostgreSQL database.
    async fn postgres(count: usize) -> anyhow::Result<Self> {
        let db = Database::create("truth").await?;
        let prefix = format!("e2e-truth:{}:{}:", std::process::id(), unique());
        let servers = (0..count)
            .map(|_| {
                Server::spawn(
                    &e2e::paths::tickstream_bin(),
                    &[
                        ("REDIS_URL", REDIS),
                        ("REDIS_KEY_PREFIX", &prefix),
                        ("DATABASE_URL", &db.url),
                        ("INGEST_TOKEN", TOKEN),
                        ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
                    ],
                )
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            servers,
            db: Some(db),
            prefix,
            _dir: None,
        })
    }

    /// One process without Redis: the embedded SQLite store is its journal.
    fn embedded() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite:{}", dir.path().join("ticks.db").display());
        let server = Server::spawn(
            &e2e::paths::tickstream_bin(),
            &[
                ("REDIS_URL", "none"),
                ("DATABASE_URL", &url),
                ("INGEST_TOKEN", TOKEN),
            ],
        )?;
        Ok(Self {
            servers: vec![server],
            db: None,
            prefix: String::new(),
            _dir: Some(dir),
        })
    }

    /// Waits (at most 40 s) until every server shows the oracle's candles.
    async fn converge(&self, oracle: &Oracle, assets: &[Asset], what: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let mut diffs = Vec::new();
            for (i, s) in self.servers.iter().enumerate() {
                for d in differences(s, oracle, assets).await? {
                    diffs.push(format!("process {i}: {d}"));
                }
            }
            if diffs.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{what}: no convergence in 40 s:\n{}",
                diffs.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn finish(self) -> anyhow::Result<()> {
        drop(self.servers);
        if let Some(db) = self.db {
            db.drop_now().await?;
        }
        if !self.prefix.is_empty() {
            forget_keys(REDIS, &self.prefix).await?;
        }
        Ok(())
    }
}

fn assets(count: usize) -> Vec<Asset> {
    let tag = unique() % 1_000_000_000;
    (0..count)
        .map(|i| Asset::new(&format!("TRUTH{tag}_{i}")))
        .collect()
}

fn price(rng: &mut Rng) -> Price {
    Price::from_units(u128::from(10_000 + rng.below(10_000)) * 1_000_000).expect("a price")
}

/// Posts 40 random batches of on-time, repeated, late (3 s to an hour) and
/// future ticks to random processes, then waits for every view to agree.
async fn interleavings(setup: &Setup, name: &str) -> anyhow::Result<()> {
    let seed = std::env::var("TRUTH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| unique() ^ 0x5DEE_CE66);
    println!("{name}: TRUTH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let assets = assets(3);
    let mut oracle = Oracle::default();
    let mut accepted: Vec<(Asset, i64, Price)> = Vec::new();
    // Distinct times per asset, so no two processes can order a tie apart.
    let mut used: HashSet<(Asset, i64)> = HashSet::new();
    let (mut late, mut repeated, mut refused) = (0, 0, 0);
    for _ in 0..40 {
        let now = now_ms();
        let mut batch = Vec::new();
        for _ in 0..=rng.below(20) {
            let asset = assets[rng.below(3) as usize];
            let kind = rng.below(100);
            if kind < 15 && !accepted.is_empty() {
                batch.push(accepted[rng.below(accepted.len() as u64) as usize]);
                repeated += 1;
                continue;
            }
            let at = if kind < 55 {
                now - rng.below(1_000) as i64
            } else {
                late += 1;
                now - 3_000 - rng.below(3_600_000) as i64
            };
            if used.insert((asset, at)) {
                batch.push((asset, at, price(&mut rng)));
            }
        }
        if batch.is_empty() {
            // Every tick drawn was one already sent: nothing to post.
            continue;
        }
        let future = rng.below(8) == 0;
        let index = rng.below(batch.len() as u64 + 1) as usize;
        if future {
            let ahead = now + 10_000 + rng.below(290_000) as i64;
            batch.insert(index, (assets[0], ahead, price(&mut rng)));
            refused += 1;
        }
        let server = &setup.servers[rng.below(setup.servers.len() as u64) as usize];
        let (status, body) = post(server, TOKEN, &batch).await?;
        if future {
            anyhow::ensure!(
                status == 422 && body.contains(&format!("tick {index}:")),
                "seed {seed}: {status} {body}"
            );
        } else {
            anyhow::ensure!(status == 200, "seed {seed}: {status} {body}");
            oracle.accept(&batch);
            accepted.extend(&batch);
        }
        tokio::time::sleep(Duration::from_millis(rng.below(200))).await;
    }
    println!(
        "{name}: {} distinct ticks, {late} late, {repeated} repeated, {refused} batches refused",
        oracle.len()
    );
    setup
        .converge(&oracle, &assets, &format!("seed {seed}"))
        .await
}

#[tokio::test]
async fn random_interleavings_converge_on_one_process() -> anyhow::Result<()> {
    let setup = Setup::postgres(1).await?;
    interleavings(&setup, "one process").await?;
    setup.finish().await
}

#[tokio::test]
async fn random_interleavings_converge_on_two_processes() -> anyhow::Result<()> {
    let setup = Setup::postgres(2).await?;
    interleavings(&setup, "two processes").await?;
    setup.finish().await
}

#[tokio::test]
async fn random_interleavings_converge_on_the_embedded_store() -> anyhow::Result<()> {
    let setup = Setup::embedded()?;
    interleavings(&setup, "embedded").await?;
    setup.finish().await
}

/// Issue 11: "The same tick POSTed 3 times counts 3 in the live candle and
/// 1 in the store."
#[tokio::test]
async fn the_same_tick_posted_three_times_counts_once() -> anyhow::Result<()> {
    let setup = Setup::postgres(1).await?;
    let asset = assets(1)[0];
    let tick = (asset, now_ms() - 500, Price::new("1.0823"));
    for _ in 0..3 {
        let (status, body) = post(&setup.servers[0], TOKEN, &[tick]).await?;
        anyhow::ensure!(status == 200, "{body}");
    }
    let mut oracle = Oracle::default();
    oracle.accept(&[tick]);
    setup.converge(&oracle, &[asset], "three times").await?;
    let live = live(&setup.servers[0], asset).await?;
    assert_eq!(live[&Timeframe::M1][0].5, 1);
    setup.finish().await
}

/// Issue 11: "A tick stamped 4 min 50 s ahead of the clock is accepted;
/// after it, all 20 on-time ticks were refused by the live candles."
#[tokio::test]
async fn a_tick_from_the_future_is_refused_and_on_time_ticks_all_count() -> anyhow::Result<()> {
    let setup = Setup::postgres(1).await?;
    let asset = assets(1)[0];
    let server = &setup.servers[0];
    let ahead = (asset, now_ms() + 290_000, Price::new("1.5"));
    let (status, body) = post(server, TOKEN, &[ahead]).await?;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("tick 0:") && body.contains("MAX_FUTURE_SKEW_MS"),
        "{body}"
    );
    let mut oracle = Oracle::default();
    let mut last = 0;
    for i in 0..20u128 {
        let at = now_ms().max(last + 1);
        last = at;
        let tick = (
            asset,
            at,
            Price::from_units(10_000_000_000 + i * 1_000_000).expect("a price"),
        );
        let (status, body) = post(server, TOKEN, &[tick]).await?;
        anyhow::ensure!(status == 200, "{body}");
        oracle.accept(&[tick]);
    }
    setup
        .converge(&oracle, &[asset], "after a future tick")
        .await?;
    let live = live(server, asset).await?;
    assert_eq!(live[&Timeframe::H1].iter().map(|r| r.5).sum::<u64>(), 20);
    setup.finish().await
}

/// Issue 11: "A tick one hour late answers 200, is stored, and never
/// reaches the live candles."
#[tokio::test]
async fn a_tick_an_hour_late_reaches_the_live_candles() -> anyhow::Result<()> {
    let setup = Setup::postgres(1).await?;
    let asset = assets(1)[0];
    let server = &setup.servers[0];
    let now = now_ms();
    let on_time = (asset, now - 200, Price::new("1.2"));
    let hour_late = (asset, now - 3_600_000, Price::new("1.1"));
    for tick in [on_time, hour_late] {
        let (status, body) = post(server, TOKEN, &[tick]).await?;
        anyhow::ensure!(status == 200, "{body}");
    }
    let mut oracle = Oracle::default();
    oracle.accept(&[on_time, hour_late]);
    setup.converge(&oracle, &[asset], "an hour late").await?;
    let live = live(server, asset).await?;
    let minute = Timeframe::M1.bucket_of_millis(hour_late.1);
    assert!(
        live[&Timeframe::M1]
            .iter()
            .any(|r| r.0 == minute && r.5 == 1)
    );
    setup.finish().await
}
