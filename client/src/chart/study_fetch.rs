//! The server's values of a study from `GET /api/indicators`, read with
//! the browser's `JSON.parse` (correctly rounded, so each double is the
//! server's own) into [`ServerValues`].

use shared::indicators::{Averaged, Averages, Bands, MacdAverages, MacdValue, Study, Value};
use shared::{Asset, Timeframe};

use super::study_track::ServerValues;
use wasm_bindgen::JsValue;

use crate::api::{ApiError, fetch_text};

/// Most points asked for at once (the server's `limit` bound).
pub const MAX_POINTS: usize = 5_000;

/// A number field of a parsed JSON object.
fn number(object: &JsValue, key: &str) -> Option<f64> {
    js_sys::Reflect::get(object, &JsValue::from_str(key))
        .ok()?
        .as_f64()
}

/// A point as the server writes it: `{time, value}`, `{time, basis, upper,
/// lower}` or `{time, macd, signal, histogram}`.
fn read_point(point: &JsValue) -> Option<(i64, Value)> {
    let n = |key| number(point, key);
    #[allow(clippy::cast_possible_truncation)]
    let time = n("time")? as i64;
    let value = if let Some(value) = n("value") {
        Value::Line { value }
    } else if let Some(basis) = n("basis") {
        Value::Bands(Bands {
            basis,
            upper: n("upper")?,
            lower: n("lower")?,
        })
    } else {
        Value::Macd(MacdValue {
            macd: n("macd")?,
            signal: n("signal")?,
            histogram: n("histogram")?,
        })
    };
    Some((time, value))
}

/// The query of `study`'s points for candles opening from `from` to
/// before `before`.
#[must_use]
pub fn indicators_path(
    asset: Asset,
    timeframe: Timeframe,
    study: Study,
    (from, before): (i64, i64),
) -> String {
    let params = match study {
        Study::Sma { period } | Study::Ema { period } | Study::Rsi { period } => {
            format!("period={period}")
        }
        Study::Bb { period, mult } => format!("period={period}&mult={mult}"),
        Study::Macd { fast, slow, signal } => format!("fast={fast}&slow={slow}&signal={signal}"),
    };
    format!(
        "/api/indicators?asset={asset}&timeframe={timeframe}&name={}&{params}&from={from}&to={}&limit={MAX_POINTS}",
        study.name(),
        before.saturating_sub(1)
    )
}

/// The answer's `state` when it has one: RSI's `{time, up, down}` or
/// MACD's `{time, fast, slow, signal}`.
fn read_state(answer: &JsValue) -> Option<(i64, Averaged)> {
    let state = js_sys::Reflect::get(answer, &JsValue::from_str("state")).ok()?;
    let n = |key| number(&state, key);
    #[allow(clippy::cast_possible_truncation)]
    let time = n("time")? as i64;
    let averages = if let Some(up) = n("up") {
        Averaged::Rsi(Averages {
            up,
            down: n("down")?,
        })
    } else {
        Averaged::Macd(MacdAverages {
            fast: n("fast")?,
            slow: n("slow")?,
            signal: n("signal")?,
        })
    };
    Some((time, averages))
}

/// The points of an answer, and its state.
type Answer = (Vec<(i64, Value)>, Option<(i64, Averaged)>);

async fn points(
    asset: Asset,
    timeframe: Timeframe,
    study: Study,
    window: (i64, i64),
) -> Result<Answer, ApiError> {
    let text = fetch_text(&indicators_path(asset, timeframe, study, window)).await?;
    let parsed = js_sys::JSON::parse(&text).map_err(|_| ApiError::Body("not JSON".to_owned()))?;
    let points = js_sys::Reflect::get(&parsed, &JsValue::from_str("points"))
        .ok()
        .filter(js_sys::Array::is_array)
        .ok_or_else(|| ApiError::Body("no points".to_owned()))?;
    let points = js_sys::Array::from(&points)
        .iter()
        .filter_map(|p| read_point(&p))
        .collect();
    Ok((points, read_state(&parsed)))
}

/// `study`'s values for candles opening in `from..before` (those closed
/// when asked), and its state there, in one request.
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
    let (answered, state) = points(asset, timeframe, study, (from, before)).await?;
    Ok(ServerValues {
        points: answered.into_iter().filter(|(t, _)| *t < before).collect(),
        state: state.filter(|(t, _)| *t < before),
    })
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
                (60, 900),
            )
        };
        assert_eq!(
            path("sma:20"),
            "/api/indicators?asset=EURUSD_otc&timeframe=5M&name=sma&period=20&from=60&to=899&limit=5000"
        );
        assert!(path("bb:20:2.5").contains("&name=bb&period=20&mult=2.5&"));
        assert!(path("macd:12:26:9").contains("&name=macd&fast=12&slow=26&signal=9&"));
    }
}
