//! The candles the stored ticks make, computed by SQL in PostgreSQL itself
//! (not by the server's code): open is the earliest tick's price, close the
//! latest's, volume the number of ticks, buckets aligned on the epoch
//! (`DAY_START` 00:00 UTC).

use std::collections::BTreeMap;

use shared::{Asset, Candle, CandleState, Price, Timeframe};
use sqlx::{PgConnection, Row};

/// Every asset's candles of `timeframe`, oldest first.
///
/// # Errors
///
/// When the query fails or a row is not a valid candle.
pub async fn candles(
    conn: &mut PgConnection,
    timeframe: Timeframe,
) -> anyhow::Result<BTreeMap<Asset, Vec<Candle>>> {
    let rows = sqlx::query(
        "SELECT pair, (timestamp / 1000 / $1) * $1 AS bucket,
                (array_agg(price ORDER BY timestamp, id))[1]::text AS open,
                max(price)::text AS high, min(price)::text AS low,
                (array_agg(price ORDER BY timestamp DESC, id DESC))[1]::text AS close,
                count(*) AS volume
         FROM historical_ticks GROUP BY pair, bucket ORDER BY pair, bucket",
    )
    .bind(timeframe.seconds())
    .fetch_all(conn)
    .await?;
    let mut out: BTreeMap<Asset, Vec<Candle>> = BTreeMap::new();
    for row in rows {
        let pair: String = row.try_get("pair")?;
        let asset = Asset::new_checked(&pair)?;
        let price = |name: &str| -> anyhow::Result<Price> {
            let text: String = row.try_get(name)?;
            Ok(Price::new_checked(&text)?)
        };
        let volume: i64 = row.try_get("volume")?;
        let candle = Candle::new_checked(
            asset,
            timeframe,
            row.try_get("bucket")?,
            price("open")?,
            price("high")?,
            price("low")?,
            price("close")?,
            u64::try_from(volume)?,
            CandleState::Closed,
        )?;
        out.entry(asset).or_default().push(candle);
    }
    Ok(out)
}

/// What differs between two candle lists (state aside), or `None`.
#[must_use]
pub fn difference(expected: &[Candle], got: &[Candle]) -> Option<String> {
    let key = |c: &Candle| {
        (
            c.open_time(),
            c.open(),
            c.high(),
            c.low(),
            c.close(),
            c.volume(),
        )
    };
    let show = |c: Option<&Candle>| {
        c.map_or_else(
            || "none".to_owned(),
            |c| {
                format!(
                    "{} o {} h {} l {} c {} v {}",
                    shared::protocol::wire_time(c.open_time() * 1000),
                    c.open(),
                    c.high(),
                    c.low(),
                    c.close(),
                    c.volume()
                )
            },
        )
    };
    let at = (0..expected.len().max(got.len()))
        .find(|&i| expected.get(i).map(key) != got.get(i).map(key))?;
    Some(format!(
        "{} candles expected, {} served; first difference at #{at}: store [{}], served [{}]",
        expected.len(),
        got.len(),
        show(expected.get(at)),
        show(got.get(at))
    ))
}
