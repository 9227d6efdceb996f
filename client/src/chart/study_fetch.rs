//! The server's values of a study from `GET /api/indicators`, read with
//! the browser's `JSON.parse` (correctly rounded, so each double is the
//! server's own) into [`ServerValues`].

use std::collections::BTreeMap;

use serde::Deserialize;
use shared::indicators::{Bands, MacdValue, Study, Value};
use shared::{Asset, Timeframe};

use super::study_track::ServerValues;
use crate::api::{ApiError, fetch_text};

/// Most points asked for at once (the server's `limit` bound).
pub const MAX_POINTS: usize = 5_000;

/// A point as the server writes it: `{time, value}`, `{time, basis, upper,
/// lower}` or `{time, macd, signal, histogram}`.
#[derive(Deserialize)]
struct RawPoint {
    time: i64,
    value: Option<f64>,
    basis: Option<f64>,
    upper: Option<f64>,
    lower: Option<f64>,
    macd: Option<f64>,
    signal: Option<f64>,
    histogram: Option<f64>,
}

impl RawPoint {
    fn value(&self) -> Option<Value> {
        if let Some(value) = self.value {
            return Some(Value::Line { value });
        }
        if let (Some(basis), Some(upper), Some(lower)) = (self.basis, self.upper, self.lower) {
            return Some(Value::Bands(Bands {
                basis,
                upper,
                lower,
            }));
        }
        Some(Value::Macd(MacdValue {
            macd: self.macd?,
            signal: self.signal?,
            histogram: self.histogram?,
        }))
    }
}

#[derive(Deserialize)]
struct Answer {
    points: Vec<RawPoint>,
}

/// The query of `study`'s points for candles opening from `from` on.
#[must_use]
pub fn indicators_path(asset: Asset, timeframe: Timeframe, study: Study, from: i64) -> String {
    let params = match study {
        Study::Sma { period } | Study::Ema { period } | Study::Rsi { period } => {
            format!("period={period}")
        }
        Study::Bb { period, mult } => format!("period={period}&mult={mult}"),
        Study::Macd { fast, slow, signal } => format!("fast={fast}&slow={slow}&signal={signal}"),
    };
    format!(
        "/api/indicators?asset={asset}&timeframe={timeframe}&name={}&{params}&from={from}&limit={MAX_POINTS}",
        study.name()
    )
}

async fn points(
    asset: Asset,
    timeframe: Timeframe,
    study: Study,
    from: i64,
) -> Result<Vec<(i64, Value)>, ApiError> {
    let text = fetch_text(&indicators_path(asset, timeframe, study, from)).await?;
    let parsed = js_sys::JSON::parse(&text).map_err(|_| ApiError::Body("not JSON".to_owned()))?;
    let answer: Answer =
        serde_wasm_bindgen::from_value(parsed).map_err(|e| ApiError::Body(e.to_string()))?;
    Ok(answer
        .points
        .iter()
        .filter_map(|p| Some((p.time, p.value()?)))
        .collect())
}

/// `study`'s values for candles opening in `from..before` (those closed
/// when asked), MACD's EMAs with them.
///
/// # Errors
///
/// [`ApiError`] when a request fails.
pub async fn server_values(
    asset: Asset,
    timeframe: Timeframe,
    study: Study,
    from: i64,
    before: i64,
) -> Result<ServerValues, ApiError> {
    let closed = |points: Vec<(i64, Value)>| -> Vec<(i64, Value)> {
        points.into_iter().filter(|(t, _)| *t < before).collect()
    };
    let line = |points: Vec<(i64, Value)>| -> BTreeMap<i64, f64> {
        closed(points)
            .into_iter()
            .filter_map(|(t, v)| match v {
                Value::Line { value } => Some((t, value)),
                _ => None,
            })
            .collect()
    };
    let mut values = ServerValues {
        points: closed(points(asset, timeframe, study, from).await?)
            .into_iter()
            .collect(),
        ..ServerValues::default()
    };
    if let Study::Macd { fast, slow, .. } = study {
        let ema = |period| Study::Ema { period };
        values.fast = line(points(asset, timeframe, ema(fast), from).await?);
        values.slow = line(points(asset, timeframe, ema(slow), from).await?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn asks_with_the_parameters_each_study_takes() {
        let path = |s: &str| {
            indicators_path(
                Asset::new("EURUSD_otc"),
                Timeframe::M5,
                s.parse().unwrap(),
                60,
            )
        };
        assert_eq!(
            path("sma:20"),
            "/api/indicators?asset=EURUSD_otc&timeframe=5M&name=sma&period=20&from=60&limit=5000"
        );
        assert!(path("bb:20:2.5").contains("&name=bb&period=20&mult=2.5&"));
        assert!(path("macd:12:26:9").contains("&name=macd&fast=12&slow=26&signal=9&"));
    }
}
