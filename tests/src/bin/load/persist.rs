//! Persister throughput: rows a second into `historical_ticks`, measured
//! four ways on the same rows in one run: raw `psql \copy` into the same
//! schema; the store's UNNEST insert; the store's COPY-then-INSERT; and the
//! whole path, `POST /api/ticks` to the journal to the persister.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use server::store::PgStore;
use shared::{Asset, Price, Tick, TimestampMs};
use sqlx::Connection;

use crate::{TOKEN, cleanup, start_server};

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Options of the persister scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Rows to write each way.
    #[arg(long, default_value_t = 500_000)]
    rows: usize,
    /// Rows per store call.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

fn ticks(n: usize) -> Vec<Tick> {
    let assets: Vec<Asset> = (0..10).map(|i| Asset::new(&format!("PERS{i}"))).collect();
    (0..n)
        .map(|i| {
            Tick::new(
                assets[i % 10],
                Price::from_units(10_800_000_000 + (i as u128 % 5000) * 100_000)
                    .unwrap_or(Price::MIN),
                TimestampMs::new(1_705_314_600_000 + i as i64),
            )
        })
        .collect()
}

/// A fresh, empty database for a scenario: (URL, name).
pub async fn fresh(name: &str) -> anyhow::Result<(String, String)> {
    let db = format!("tickstream_bench_{name}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(ADMIN).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await?;
    Ok((format!("postgres://postgres@127.0.0.1:5432/{db}"), db))
}

/// Drops a scenario's database.
pub async fn drop_db(db: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(ADMIN).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

async fn count(url: &str) -> anyhow::Result<i64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    Ok(sqlx::query_scalar("SELECT count(*) FROM historical_ticks")
        .fetch_one(&mut conn)
        .await?)
}

/// Rows the server's persister reports written.
async fn written(status_url: &str) -> anyhow::Result<u64> {
    let status: serde_json::Value = reqwest::get(status_url).await?.json().await?;
    Ok(status["batch_status"]["rows_written"].as_u64().unwrap_or(0))
}

pub async fn run(bin: Option<&PathBuf>, redis: &str, args: Args) -> anyhow::Result<()> {
    let rows = ticks(args.rows);
    let n = rows.len() as f64;

    // 1. psql \copy of the same rows into the same (migrated) schema.
    let (url, db) = fresh("raw").await?;
    PgStore::connect_lazy(&url, Duration::from_secs(5))?
        .migrate()
        .await?;
    let csv = std::env::temp_dir().join(format!("persist-{}.csv", std::process::id()));
    let text: String = rows
        .iter()
        .map(|t| format!("{},{},{}\n", t.asset, t.price, t.timestamp.millis()))
        .collect();
    std::fs::write(&csv, text)?;
    let started = Instant::now();
    let out = std::process::Command::new("psql")
        .arg(&url)
        .arg("-qc")
        .arg(format!(
            "\\copy historical_ticks (pair, price, timestamp) FROM '{}' CSV",
            csv.display()
        ))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = n / started.elapsed().as_secs_f64();
    std::fs::remove_file(&csv)?;
    drop_db(&db).await?;

    // 2 and 3. The store, both ways, in batches.
    let mut ways = Vec::new();
    for way in ["unnest", "copy", "unnest_x2"] {
        let (url, db) = fresh(way).await?;
        let store = PgStore::connect_lazy(&url, Duration::from_secs(5))?;
        store.migrate().await?;
        let started = Instant::now();
        for chunk in rows.chunks(args.batch) {
            let inserted = match way {
                "unnest" => store.insert(chunk).await?,
                "copy" => store.insert_via_copy(chunk).await?,
                _ => store.insert_parallel(chunk, 2).await?,
            };
            anyhow::ensure!(inserted == chunk.len() as u64);
        }
        ways.push((way, n / started.elapsed().as_secs_f64()));
        drop(store);
        drop_db(&db).await?;
    }

    // 4. End to end: ingest, journal, persister.
    let (url, db) = fresh("e2e").await?;
    let (server, prefix) = start_server(
        bin,
        redis,
        &[
            ("DATABASE_URL", url.as_str()),
            ("REDIS_BATCH_PROCESSING_INTERVAL", "1"),
        ],
    )?;
    let client = reqwest::Client::new();
    let started = Instant::now();
    for chunk in rows.chunks(10_000) {
        let body = serde_json::to_string(chunk)?;
        let response = client
            .post(server.url("/api/ticks"))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "refused");
    }
    let ingested = started.elapsed().as_secs_f64();
    // Watch the persister's own count: polling count(*) would load the
    // database under test. The table is counted once at the end.
    while written(&server.url("/api/status")).await? < rows.len() as u64 {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the persister did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let end_to_end = n / started.elapsed().as_secs_f64();
    anyhow::ensure!(count(&url).await? == rows.len() as i64, "rows missing");
    drop(server);
    cleanup(redis, &prefix).await?;
    drop_db(&db).await?;

    println!("rows: {}", rows.len());
    println!("psql \\copy (raw): {raw:.0} rows/s");
    for (way, rate) in &ways {
        println!(
            "store {way} in batches of {}: {rate:.0} rows/s ({:.2} of raw)",
            args.batch,
            rate / raw
        );
    }
    println!(
        "end to end (ingest {ingested:.1} s, then journal and persister): {end_to_end:.0} rows/s ({:.2} of raw)",
        end_to_end / raw
    );
    Ok(())
}
