//! `load soak-check`: after the chaos, compares what the client was told
//! was accepted with the store and with a freshly started server. The
//! stored count, the distinct identities and the accepted ticks must be the
//! same set; then for every asset and each of the seven timeframes the
//! candles computed by SQL from the store must equal the server's
//! `GET /api/candles?from&to` (store), `GET /api/candles` (cache and live)
//! and the WebSocket snapshot (live). Prints what differs, writes
//! `check.json` beside the client's files, fails on any difference.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::{Asset, Candle, Timeframe};
use sqlx::{Connection, PgConnection};
use tokio_tungstenite::tungstenite::Message;

use super::expected::{self, difference};

/// Options of the check.
#[derive(clap::Args)]
pub struct Args {
    /// The fresh server's base URL.
    #[arg(long)]
    url: String,
    /// The soak database, reached directly (not through the proxy).
    #[arg(long)]
    database_url: String,
    /// The client's folder (`accepted.csv`, `batches.csv`).
    #[arg(long)]
    out: PathBuf,
    /// Candles per series in the cache and in snapshots
    /// (`REDIS_HISTORICAL_CACHE_SIZE`).
    #[arg(long, default_value_t = 200)]
    cache_size: usize,
}

/// Counts from SQL over the stored and the accepted ticks.
#[derive(Debug, Default)]
struct Counts {
    accepted: i64,
    accepted_distinct: i64,
    stored: i64,
    stored_distinct: i64,
    missing: i64,
    extra: i64,
}

async fn counts(db: &mut PgConnection, args: &Args) -> anyhow::Result<(Counts, Vec<i64>)> {
    sqlx::query(
        "CREATE TEMP TABLE soak_accepted (pair text, price numeric(20,10), timestamp bigint)",
    )
    .execute(&mut *db)
    .await?;
    let mut copy = db
        .copy_in_raw("COPY soak_accepted (pair, price, timestamp) FROM STDIN WITH (FORMAT csv)")
        .await?;
    let mut file = std::fs::File::open(args.out.join("accepted.csv"))?;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        copy.send(&chunk[..n]).await?;
    }
    copy.finish().await?;
    let one = |sql: &'static str| sqlx::query_scalar::<sqlx::Postgres, i64>(sql);
    let mut c = Counts {
        accepted: one("SELECT count(*) FROM soak_accepted")
            .fetch_one(&mut *db)
            .await?,
        accepted_distinct: one(
            "SELECT count(DISTINCT (pair, timestamp, price)) FROM soak_accepted",
        )
        .fetch_one(&mut *db)
        .await?,
        stored: one("SELECT count(*) FROM historical_ticks")
            .fetch_one(&mut *db)
            .await?,
        stored_distinct: one(
            "SELECT count(DISTINCT (pair, timestamp, price)) FROM historical_ticks",
        )
        .fetch_one(&mut *db)
        .await?,
        ..Counts::default()
    };
    // The tick numbers are the price's last seven digits.
    let missing: Vec<i64> = one(
        "SELECT ((price * 10000000000)::bigint % 10000000) AS n FROM (
             SELECT pair, timestamp, price FROM soak_accepted
             EXCEPT SELECT pair, timestamp, price FROM historical_ticks) m ORDER BY n",
    )
    .fetch_all(&mut *db)
    .await?;
    c.missing = missing.len() as i64;
    c.extra = one(
        "SELECT count(*) FROM (SELECT pair, timestamp, price FROM historical_ticks
             EXCEPT SELECT pair, timestamp, price FROM soak_accepted) e",
    )
    .fetch_one(&mut *db)
    .await?;
    Ok((c, missing))
}

/// A line of `batches.csv`: (first tick, ticks, accepted at in Unix ms,
/// attempts), and where the answer said the batch was journaled.
type BatchLine = ((i64, i64, i64, i64), String);

/// Prints the batches the missing ticks belong to, with when each was
/// accepted, so they can be laid beside the chaos events.
fn explain_missing(args: &Args, missing: &[i64]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(args.out.join("batches.csv"))?;
    let mut batches: Vec<BatchLine> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n: Vec<i64> = f.iter().take(4).filter_map(|x| x.parse().ok()).collect();
            let journal = f.get(4).map_or("-", |j| j).to_owned();
            (n.len() == 4).then(|| ((n[0], n[1], n[2], n[3]), journal))
        })
        .collect();
    batches.sort_unstable();
    let mut per_batch: BTreeMap<&BatchLine, usize> = BTreeMap::new();
    for n in missing {
        let at = batches.partition_point(|b| b.0.0 <= *n);
        if let Some(b) = at.checked_sub(1).and_then(|i| batches.get(i)) {
            *per_batch.entry(b).or_default() += 1;
        }
    }
    let mut by_answer: BTreeMap<&str, usize> = BTreeMap::new();
    for ((_, journal), n) in &per_batch {
        *by_answer.entry(journal.as_str()).or_default() += n;
    }
    println!("missing ticks by the journal their 200 named: {by_answer:?}");
    println!("missing ticks by batch (accepted at, tick numbers, missing, attempts, journal):");
    for (((first, len, at, attempts), journal), n) in per_batch.iter().take(30) {
        println!(
            "  {} ticks {first}..{} : {n} of {len} missing, {attempts} attempt(s), journal {journal}",
            shared::protocol::wire_time(*at),
            first + len - 1
        );
    }
    if per_batch.len() > 30 {
        println!("  ... {} batches in all", per_batch.len());
    }
    Ok(())
}

/// A JSON object's fields as their text: prices are parsed from the text
/// itself, never through a `serde_json::Value`.
type Fields = std::collections::HashMap<String, Box<serde_json::value::RawValue>>;

/// A `GET /api/candles` answer: its source and candles.
struct Answer {
    source: String,
    candles: Vec<Candle>,
}

async fn served(http: &reqwest::Client, url: String) -> anyhow::Result<Answer> {
    let response = http.get(&url).send().await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url}: {status}");
    let text = response.text().await?;
    let fields: Fields = serde_json::from_str(&text)?;
    let field = |name: &str| fields.get(name).map_or("null", |v| v.get());
    Ok(Answer {
        source: serde_json::from_str(field("source"))?,
        candles: serde_json::from_str(field("candles"))?,
    })
}

/// The fresh server's live snapshots of `asset`, per timeframe.
async fn snapshots(ws: &str, asset: Asset) -> anyhow::Result<BTreeMap<Timeframe, Vec<Candle>>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await?;
    let frame = format!(r#"{{"event":"subscribe_redis_updates","data":{{"asset":"{asset}"}}}}"#);
    socket.send(Message::text(frame)).await?;
    let mut out = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while out.len() < Timeframe::ALL.len() {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            anyhow::bail!("{} of 7 snapshots of {asset} within 15 s", out.len());
        };
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Fields = serde_json::from_str(&text)?;
        if frame.get("event").map(|e| e.get()) == Some(r#""candle_snapshot""#)
            && let Some(data) = frame.get("data")
        {
            let data: Fields = serde_json::from_str(data.get())?;
            let field = |name: &str| data.get(name).map_or("null", |v| v.get());
            let tf: String = serde_json::from_str(field("timeframe"))?;
            out.insert(tf.parse()?, serde_json::from_str(field("data"))?);
        }
    }
    let _ = socket.close(None).await;
    Ok(out)
}

fn newest(candles: &[Candle], n: usize) -> &[Candle] {
    &candles[candles.len().saturating_sub(n)..]
}

/// Compares the fresh server's candles with the store's; returns the
/// number of series checked and the differences found.
async fn candles(db: &mut PgConnection, args: &Args) -> anyhow::Result<(usize, Vec<String>)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let ws = format!("{}/ws", args.url.replacen("http://", "ws://", 1));
    let now_s = crate::now_ms() / 1000;
    let mut by_tf = BTreeMap::new();
    for tf in Timeframe::ALL {
        by_tf.insert(tf, expected::candles(db, tf).await?);
    }
    let assets: Vec<Asset> = by_tf
        .get(&Timeframe::M1)
        .map(|m| m.keys().copied().collect())
        .unwrap_or_default();
    let (mut checked, mut differences) = (0, Vec::new());
    for asset in assets {
        let live = snapshots(&ws, asset).await.unwrap_or_else(|e| {
            differences.push(format!("{asset} WebSocket: {e:#}"));
            BTreeMap::new()
        });
        for tf in Timeframe::ALL {
            let expected: &[Candle] = by_tf
                .get(&tf)
                .and_then(|m| m.get(&asset))
                .map_or(&[], Vec::as_slice);
            let from = expected.first().map_or(now_s, Candle::open_time);
            let base = format!("{}/api/candles?asset={asset}&timeframe={tf}", args.url);
            let range = served(&http, format!("{base}&from={from}&to={now_s}&limit=5000")).await?;
            let recent = served(&http, format!("{base}&limit=5000")).await?;
            let views = [
                (
                    format!("GET from&to ({})", range.source),
                    newest(expected, 5000),
                    range.candles,
                ),
                (
                    format!("GET recent ({})", recent.source),
                    newest(expected, args.cache_size),
                    recent.candles,
                ),
                (
                    "WebSocket snapshot".to_owned(),
                    newest(expected, args.cache_size),
                    live.get(&tf).cloned().unwrap_or_default(),
                ),
            ];
            for (view, want, got) in views {
                checked += 1;
                if let Some(d) = difference(want, &got) {
                    differences.push(format!("{asset} {tf} {view}: {d}"));
                }
            }
        }
    }
    Ok((checked, differences))
}

/// Runs the check.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut db = PgConnection::connect(&args.database_url).await?;
    let (c, missing) = counts(&mut db, &args).await?;
    println!(
        "accepted {} (distinct {}), stored {} (distinct {}), missing {}, extra {}",
        c.accepted, c.accepted_distinct, c.stored, c.stored_distinct, c.missing, c.extra
    );
    if !missing.is_empty() {
        explain_missing(&args, &missing)?;
    }
    let (checked, differences) = candles(&mut db, &args).await?;
    println!(
        "candles: {checked} views checked (assets x 7 timeframes x [from&to, recent, snapshot]), {} differ",
        differences.len()
    );
    for d in differences.iter().take(40) {
        println!("  {d}");
    }
    let ticks_ok = c.accepted == c.accepted_distinct
        && c.stored == c.stored_distinct
        && c.stored == c.accepted
        && c.missing == 0
        && c.extra == 0;
    let report = serde_json::json!({
        "accepted": c.accepted,
        "accepted_distinct": c.accepted_distinct,
        "stored": c.stored,
        "stored_distinct": c.stored_distinct,
        "missing": c.missing,
        "extra": c.extra,
        "candle_views_checked": checked,
        "candle_views_differing": differences.len(),
        "ok": ticks_ok && differences.is_empty(),
    });
    std::fs::write(
        args.out.join("check.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    anyhow::ensure!(
        ticks_ok,
        "the store does not hold exactly the accepted ticks"
    );
    anyhow::ensure!(
        differences.is_empty(),
        "{} candle views differ from the store",
        differences.len()
    );
    println!("check passed");
    Ok(())
}
