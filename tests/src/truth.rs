//! One truth, checked from outside: the candles computed here from the
//! distinct accepted ticks ([`Oracle`]), and the three ways a server shows
//! them: the live snapshot over `/ws`, `GET /api/candles` (the cache, or the
//! database without one) and `GET /api/candles?from&to` (the store).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::protocol::Subscribe;
use shared::{Asset, Candle, ClientMessage, Price, ServerMessage, Timeframe};
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

use crate::Server;

/// A candle as compared: open time, open, high, low, close, volume.
pub type Row = (i64, Price, Price, Price, Price, u64);

/// Candles of one series, oldest first.
pub type Series = Vec<Row>;

fn row(c: &Candle) -> Row {
    (
        c.open_time(),
        c.open(),
        c.high(),
        c.low(),
        c.close(),
        c.volume(),
    )
}

/// A small seeded random source (SplitMix64): the seed is printed, so a
/// failing interleaving can be run again.
pub struct Rng(u64);

impl Rng {
    /// A source from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next number.
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.draw() % n.max(1)
    }
}

/// The distinct accepted ticks and the candles they make.
#[derive(Default)]
pub struct Oracle {
    ticks: BTreeSet<(Asset, i64, Price)>,
}

impl Oracle {
    /// Records accepted ticks.
    pub fn accept(&mut self, ticks: &[(Asset, i64, Price)]) {
        self.ticks.extend(ticks.iter().copied());
    }

    /// Whether a tick of `asset` stamped `at` was accepted (at any price).
    #[must_use]
    pub fn has_time(&self, asset: Asset, at: i64) -> bool {
        self.ticks
            .range((asset, at, Price::MIN)..=(asset, at, Price::MAX))
            .next()
            .is_some()
    }

    /// Distinct ticks accepted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// Whether none was.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// The candles of `asset` in `timeframe` (the ticks have distinct times
    /// per asset, so no tie needs an order).
    #[must_use]
    pub fn candles(&self, asset: Asset, timeframe: Timeframe) -> Series {
        let mut out: BTreeMap<i64, Row> = BTreeMap::new();
        for (_, at, p) in self
            .ticks
            .range((asset, i64::MIN, Price::MIN)..=(asset, i64::MAX, Price::MAX))
        {
            let b = timeframe.bucket_of_millis(*at);
            out.entry(b)
                .and_modify(|r| {
                    r.2 = r.2.max(*p);
                    r.3 = r.3.min(*p);
                    r.4 = *p;
                    r.5 += 1;
                })
                .or_insert((b, *p, *p, *p, *p, 1));
        }
        out.into_values().collect()
    }
}

/// A tick as `POST /api/ticks` takes it.
#[must_use]
pub fn item((asset, at, price): &(Asset, i64, Price)) -> Value {
    json!({ "asset": asset.as_str(), "price": price.to_string(), "timestamp": at })
}

/// Posts ticks; returns the status and the answer's text.
///
/// # Errors
///
/// When the server cannot be reached.
pub async fn post(
    server: &Server,
    token: &str,
    ticks: &[(Asset, i64, Price)],
) -> anyhow::Result<(u16, String)> {
    let body: Vec<Value> = ticks.iter().map(item).collect();
    let response = reqwest::Client::new()
        .post(server.url("/api/ticks"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

/// The live candles of every timeframe, from the snapshots `/ws` sends on
/// subscribing.
///
/// # Errors
///
/// When the socket fails or the snapshots do not come within 10 s.
pub async fn live(server: &Server, asset: Asset) -> anyhow::Result<BTreeMap<Timeframe, Series>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(server.ws()).await?;
    let request = ClientMessage::SubscribeRedisUpdates(Subscribe {
        asset,
        timeframe: None,
        last_seq: None,
        epoch: None,
    });
    socket.send(Message::text(request.to_json())).await?;
    let mut out = BTreeMap::new();
    while out.len() < Timeframe::ALL.len() {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await?
            .context("socket closed")??;
        if let Message::Text(text) = frame
            && let ServerMessage::CandleSnapshot(s) = ServerMessage::from_json(&text)?
        {
            out.insert(s.timeframe, s.data.iter().map(row).collect());
        }
    }
    let _ = socket.close(None).await;
    Ok(out)
}

/// `GET /api/candles` with `query`: its source and candles.
///
/// # Errors
///
/// When the request fails or the answer is not candles.
pub async fn candles(server: &Server, query: &str) -> anyhow::Result<(String, Series)> {
    let text = reqwest::Client::new()
        .get(server.url(&format!("/api/candles?{query}")))
        .send()
        .await?
        .text()
        .await?;
    // Prices parse from their text: never through a float.
    let answer: BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(&text).with_context(|| text.clone())?;
    let source = answer
        .get("source")
        .and_then(|s| serde_json::from_str::<String>(s.get()).ok())
        .unwrap_or_default();
    let list: Vec<Candle> = match answer.get("candles") {
        Some(raw) if raw.get().starts_with('[') => serde_json::from_str(raw.get())?,
        _ => Vec::new(),
    };
    Ok((source, list.iter().map(row).collect()))
}

/// What differs between the oracle and the three views of `server`, for
/// every timeframe of every asset; empty when all agree.
///
/// # Errors
///
/// When the server cannot be read.
pub async fn differences(
    server: &Server,
    oracle: &Oracle,
    assets: &[Asset],
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for asset in assets {
        let live = live(server, *asset).await?;
        for tf in Timeframe::ALL {
            let expected = oracle.candles(*asset, tf);
            let Some(first) = expected.first() else {
                continue;
            };
            let (_, cached) =
                candles(server, &format!("asset={asset}&timeframe={tf}&limit=5000")).await?;
            let (_, stored) = candles(
                server,
                &format!(
                    "asset={asset}&timeframe={tf}&from={}&to={}&limit=5000",
                    first.0,
                    i64::from(u32::MAX)
                ),
            )
            .await?;
            let views = [
                ("live", live.get(&tf).cloned().unwrap_or_default()),
                ("cache", cached),
                ("store", stored),
            ];
            for (name, got) in views {
                if got != expected {
                    out.push(format!("{asset} {tf} {name}: {}", diff(&expected, &got)));
                }
            }
        }
    }
    Ok(out)
}

fn diff(expected: &Series, got: &Series) -> String {
    let e: BTreeMap<i64, &Row> = expected.iter().map(|r| (r.0, r)).collect();
    let g: BTreeMap<i64, &Row> = got.iter().map(|r| (r.0, r)).collect();
    let mut parts = Vec::new();
    for (t, r) in &e {
        match g.get(t) {
            None => parts.push(format!("missing {t}")),
            Some(x) if x != r => parts.push(format!("at {t} expected {r:?} got {x:?}")),
            _ => {}
        }
    }
    for t in g.keys().filter(|t| !e.contains_key(t)) {
        parts.push(format!("extra {t}"));
    }
    parts.truncate(4);
    format!(
        "{} expected, {} got: {}",
        expected.len(),
        got.len(),
        parts.join("; ")
    )
}

/// A fresh PostgreSQL database, dropped by [`Database::drop_now`].
pub struct Database {
    name: String,
    /// Its URL.
    pub url: String,
}

/// The maintenance database the tests create theirs from.
const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

impl Database {
    /// Creates one named after `tag`.
    ///
    /// # Errors
    ///
    /// When PostgreSQL cannot be reached.
    pub async fn create(tag: &str) -> anyhow::Result<Self> {
        let name = format!(
            "tickstream_{tag}_{}_{}",
            std::process::id(),
            crate::server::unique()
        );
        let mut admin = sqlx::PgConnection::connect(ADMIN).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        Ok(Self {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        })
    }

    /// Drops it.
    ///
    /// # Errors
    ///
    /// When PostgreSQL cannot be reached.
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = sqlx::PgConnection::connect(ADMIN).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// Unix milliseconds now.
#[must_use]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
