//! History figures: `GET /api/candles` answered from the Redis cache (200
//! candles), and read from the database (one day of 1-minute candles
//! over a million stored ticks), with PostgreSQL or the embedded SQLite
//! store (`--store sqlite`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::{TOKEN, cleanup, start_server};

/// Options of the history scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Ticks stored, spread over one day.
    #[arg(long, default_value_t = 1_000_000)]
    ticks: usize,
    /// Requests timed each way.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// The tick store: `postgresql` or `sqlite`.
    #[arg(long, default_value = "postgresql")]
    store: String,
}

/// The store under test, and how to count its rows.
enum Store {
    Pg {
        db: String,
        url: String,
    },
    Lite {
        _dir: tempfile::TempDir,
        url: String,
        store: server::store::SqliteStore,
    },
}

impl Store {
    async fn new(kind: &str) -> anyhow::Result<Self> {
        if kind == "sqlite" {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite:{}", dir.path().join("history.db").display());
            let store = server::store::SqliteStore::open(
                &dir.path().join("history.db"),
                Duration::from_secs(5),
            )?;
            store.migrate().await?;
            return Ok(Self::Lite {
                _dir: dir,
                url,
                store,
            });
        }
        let (url, db) = crate::persist::fresh("history").await?;
        Ok(Self::Pg { db, url })
    }

    fn url(&self) -> &str {
        match self {
            Self::Pg { url, .. } | Self::Lite { url, .. } => url,
        }
    }

    async fn count(&self) -> anyhow::Result<i64> {
        Ok(match self {
            Self::Pg { url, .. } => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let n = sqlx::query_scalar("SELECT count(*) FROM historical_ticks")
                    .fetch_one(&mut conn)
                    .await?;
                sqlx::query("ANALYZE historical_ticks")
                    .execute(&mut conn)
                    .await?;
                n
            }
            Self::Lite { store, .. } => {
                sqlx::query_scalar("SELECT count(*) FROM historical_ticks")
                    .fetch_one(store.pool())
                    .await?
            }
        })
    }

    async fn remove(self) -> anyhow::Result<()> {
        if let Self::Pg { db, .. } = self {
            crate::persist::drop_db(&db).await?;
        }
        Ok(())
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Client-observed times, server-side times (the `Server-Timing` header),
/// both sorted, and the answer's source.
async fn time_requests(
    client: &reqwest::Client,
    url: &str,
    n: usize,
    before_each: Option<(&str, &mut redis::aio::MultiplexedConnection)>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, String)> {
    let mut times = Vec::with_capacity(n);
    let mut server_times = Vec::with_capacity(n);
    let mut source = String::new();
    let mut before_each = before_each;
    for _ in 0..n {
        if let Some((key, conn)) = before_each.as_mut() {
            let () = redis::cmd("DEL").arg(*key).query_async(*conn).await?;
        }
        let started = Instant::now();
        let response = client.get(url).send().await?;
        let server = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
        let text = response.text().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        server_times.push(server);
        if source.is_empty() {
            source = text
                .split(r#""source":""#)
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("?")
                .to_owned();
        }
    }
    times.sort_by(f64::total_cmp);
    server_times.sort_by(f64::total_cmp);
    Ok((times, server_times, source))
}

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let store = Store::new(&args.store).await?;
    let (server, prefix) = start_server(
        bin,
        redis,
        &[
            ("DATABASE_URL", store.url()),
            ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
        ],
    )?;

    // One day of ticks for one asset, 2024-01-15 UTC.
    let day = 1_705_276_800_000_i64;
    let step = 86_400_000 / args.ticks as i64;
    let client = reqwest::Client::new();
    let all: Vec<String> = (0..args.ticks)
        .map(|i| {
            format!(
                r#"{{"asset":"HIST","price":"1.{:05}","timestamp":{}}}"#,
                8000 + (i * 7919) % 2000,
                day + i as i64 * step
            )
        })
        .collect();
    for chunk in all.chunks(10_000) {
        let r = client
            .post(server.url("/api/ticks"))
            .bearer_auth(TOKEN)
            .body(format!("[{}]", chunk.join(",")))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "refused");
    }
    let started = Instant::now();
    loop {
        let n = store.count().await?;
        if n as usize >= args.ticks {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "not stored in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stored_in = started.elapsed();

    let mut redis_conn = redis::Client::open(redis)?
        .get_multiplexed_async_connection()
        .await?;
    let key = format!("{prefix}historical:HIST:1M");

    // The database: a whole day of 1-minute candles, read each time.
    let from = day / 1000;
    let to = from + 86_400 - 60;
    let day_url = server.url(&format!(
        "/api/candles?asset=HIST&timeframe=1M&from={from}&to={to}&limit=1440"
    ));
    let (db_times, db_server, db_source) = time_requests(&client, &day_url, 20, None).await?;

    // The cache: the newest 200, filled by the first request.
    let recent_url = server.url("/api/candles?asset=HIST&timeframe=1M&limit=200");
    let _ = client.get(&recent_url).send().await?.text().await?;
    let (cache_times, cache_server, cache_source) =
        time_requests(&client, &recent_url, args.requests, None).await?;
    // A miss every time: the newest 200 computed from the database.
    let (miss_times, miss_server, miss_source) =
        time_requests(&client, &recent_url, 50, Some((&key, &mut redis_conn))).await?;

    drop(server);
    cleanup(redis, &prefix).await?;
    store.remove().await?;
    println!(
        "{}: {} ticks ingested and stored within {:.1} s of the last ingest call",
        args.store,
        args.ticks,
        stored_in.as_secs_f64()
    );
    println!(
        "cached, 200 candles ({cache_source}), {} requests: server p50 {:.3} ms, p99 {:.3} ms; client on loopback p50 {:.3} ms, p99 {:.3} ms",
        cache_times.len(),
        percentile(&cache_server, 0.5),
        percentile(&cache_server, 0.99),
        percentile(&cache_times, 0.5),
        percentile(&cache_times, 0.99)
    );
    println!(
        "database, newest 200 candles on a miss ({miss_source}), {} requests: server p50 {:.1} ms, p99 {:.1} ms; client p50 {:.1} ms, p99 {:.1} ms",
        miss_times.len(),
        percentile(&miss_server, 0.5),
        percentile(&miss_server, 0.99),
        percentile(&miss_times, 0.5),
        percentile(&miss_times, 0.99)
    );
    println!(
        "database, one day of 1-minute candles over {} ticks ({db_source}), {} requests: server p50 {:.1} ms, p99 {:.1} ms; client p50 {:.1} ms, p99 {:.1} ms",
        args.ticks,
        db_times.len(),
        percentile(&db_server, 0.5),
        percentile(&db_server, 0.99),
        percentile(&db_times, 0.5),
        percentile(&db_times, 0.99)
    );
    Ok(())
}
