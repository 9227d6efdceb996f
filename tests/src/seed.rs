//! Price history for the page's tests and figures: a random walk of ticks
//! over the last minutes that ends where the server's simulator starts, so
//! the live candles continue the history without a jump; and a live feed of
//! real ticks that goes on from there.

use serde_json::{Value, json};
use shared::{Asset, Price};

/// One price step: 0.00001 in units of 10⁻¹⁰, as the simulator walks.
const PIP: i128 = 100_000;

/// The simulator's first price for `asset` at the default seed (42).
#[must_use]
pub fn simulator_start(asset: &str) -> Price {
    server::simulator::Walk::new(Asset::new(asset), 42).next_price()
}

/// `per_minute` ticks a minute for the `minutes` before `now_ms`, oldest
/// first, as `POST /api/ticks` items, walking back from `end` so the last
/// one is at `end`.
#[must_use]
pub fn ticks_ending_at(
    asset: &str,
    end: Price,
    minutes: i64,
    per_minute: i64,
    now_ms: i64,
) -> Vec<Value> {
    let count = minutes * per_minute;
    let spacing = 60_000 / per_minute.max(1);
    let mut units = i128::try_from(end.units()).unwrap_or(i128::MAX);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut ticks = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for k in 0..count {
        let at = now_ms - 1_000 - k * spacing;
        let price = Price::from_units(units.unsigned_abs()).unwrap_or(Price::MIN);
        ticks.push(json!({ "asset": asset, "price": price.to_string(), "timestamp": at }));
        // xorshift64*: a drift now and then gives the chart some trend.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let step = i128::from((r >> 40) % 11) - 5 + i128::from((k / 97) % 3) - 1;
        units = (units - step * PIP).max(1_000_000_000);
    }
    ticks.reverse();
    ticks
}

/// Posts `ticks` to `base`'s ingest API in requests of at most 5,000.
///
/// # Errors
///
/// When a request fails or is refused.
pub async fn ingest(base: &str, token: &str, ticks: &[Value]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for chunk in ticks.chunks(5_000) {
        let response = http
            .post(format!("{base}/api/ticks"))
            .bearer_auth(token)
            .json(chunk)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "ingest refused: {}",
            response.text().await?
        );
    }
    Ok(())
}

/// A live feed of real ticks of `asset`, as an operator's source sends them
/// to `base`: one every `every`, stamped now, walking on from
/// [`simulator_start`] as the simulator would, until the task is aborted or
/// the server refuses.
#[must_use]
pub fn live_feed(
    base: &str,
    token: &str,
    asset: &str,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let (base, token, asset) = (base.to_owned(), token.to_owned(), Asset::new(asset));
    tokio::spawn(async move {
        let mut walk = server::simulator::Walk::new(asset, 42);
        // The history ends at the first price.
        walk.next_price();
        let mut timer = tokio::time::interval(every);
        loop {
            timer.tick().await;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let tick = json!({
                "asset": asset.as_str(),
                "price": walk.next_price().to_string(),
                "timestamp": u64::try_from(now_ms).unwrap_or(u64::MAX),
            });
            if ingest(&base, &token, &[tick]).await.is_err() {
                break;
            }
        }
    })
}
