//! The checks of `cache_historical_data` beyond each candle's own (prices
//! and time, checked by the protocol): the request's candles, sorted.

use shared::protocol::{CacheRequest, wire_time};
use shared::{Candle, Sessions};

/// The candles of `request`, sorted by open time, when every one is of the
/// named asset and timeframe, opens where a bucket opens (days and weeks at
/// `sessions`' opens, `DAY_START`), none after the forming candle at
/// `now_ms`, and no two share an open time; otherwise why not.
pub fn checked(
    request: CacheRequest,
    now_ms: i64,
    sessions: &Sessions,
) -> Result<Vec<Candle>, String> {
    let CacheRequest {
        asset,
        timeframe,
        data,
    } = request;
    if data.is_empty() {
        return Err("cache_historical_data needs at least one candle".to_owned());
    }
    // A candle from the future would sort after the forming one and hide it
    // from every reader.
    let forming = sessions.bucket_of_millis(timeframe, now_ms);
    if let Some((i, c)) = data
        .iter()
        .enumerate()
        .find(|(_, c)| !sessions.is_aligned(timeframe, c.open_time()))
    {
        return Err(format!(
            "candle {i} opens at {}, not where a {timeframe} candle opens (DAY_START); nothing was cached",
            wire_time(c.open_time().saturating_mul(1000))
        ));
    }
    if let Some((i, c)) = data
        .iter()
        .enumerate()
        .find(|(_, c)| c.open_time() > forming)
    {
        return Err(format!(
            "candle {i} opens at {}, after the forming {timeframe} candle ({}); nothing was cached",
            wire_time(c.open_time().saturating_mul(1000)),
            wire_time(forming * 1000)
        ));
    }
    if let Some((i, c)) = data
        .iter()
        .enumerate()
        .find(|(_, c)| c.asset() != asset || c.timeframe() != timeframe)
    {
        return Err(format!(
            "candle {i} is for {} {}, not {asset} {timeframe}; nothing was cached",
            c.asset(),
            c.timeframe()
        ));
    }
    let mut sorted = data;
    sorted.sort_by_key(Candle::open_time);
    if sorted
        .windows(2)
        .any(|w| w[0].open_time() == w[1].open_time())
    {
        return Err("two candles share an open time; nothing was cached".to_owned());
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use shared::{Asset, CandleState, DayStart, Price, Timeframe};

    use super::*;

    fn day(open: i64) -> CacheRequest {
        let p = Price::new("1.1");
        let candle = Candle::new_checked(
            Asset::new("A"),
            Timeframe::D1,
            open,
            p,
            p,
            p,
            p,
            1,
            CandleState::Closed,
        )
        .unwrap();
        CacheRequest {
            asset: Asset::new("A"),
            timeframe: Timeframe::D1,
            data: vec![candle],
        }
    }

    #[test]
    fn days_open_at_day_start() {
        let ny: DayStart = "17:00 America/New_York".parse().unwrap();
        let sessions = ny.sessions();
        // Tuesday 2026-03-10T12:00Z; the session opened Monday 17:00 EDT,
        // 2026-03-09T21:00Z, and the one before Sunday 21:00Z.
        let now_ms = 1_773_144_000_000;
        let monday = 1_773_090_000;
        assert!(checked(day(monday), now_ms, &sessions).is_ok());
        assert!(checked(day(monday - 86_400), now_ms, &sessions).is_ok());
        // UTC midnight is no session open in New York.
        let err = checked(day(1_773_100_800), now_ms, &sessions).unwrap_err();
        assert!(err.contains("DAY_START"), "{err}");
        // With UTC days it is, and a New York open is not.
        assert!(checked(day(1_773_100_800), now_ms, &Sessions::utc()).is_ok());
        assert!(checked(day(monday), now_ms, &Sessions::utc()).is_err());
    }
}
