//! `GET /api/indicators?asset=A&timeframe=1M&name=sma&period=20[&mult=2]
//! [&fast=12&slow=26&signal=9][&from=S&to=S][&limit=N]`: a study of
//! `shared::indicators` over the closes of a series, oldest first.
//!
//! The study runs over the series' whole history (its newest
//! [`MAX_HISTORY`] candles, read as `/api/candles` reads them, under
//! `HISTORY_READ_TIMEOUT`, with the live forming candle last), so that EMA
//! and RSI do not depend on the window asked for; the points are then cut
//! to `from..=to` (open times, Unix seconds) and the newest `limit`.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use shared::indicators::{Point, Study, StudyParams, StudyState, compute, study_state};
use shared::{Asset, Timeframe};

use super::error::ApiError;
use super::series::{limit, series, timed};
use crate::state::AppState;

/// Most candles of history a study runs over.
pub const MAX_HISTORY: usize = 100_000;

/// The indicators route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/indicators", get(indicators))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    asset: String,
    timeframe: Option<String>,
    name: String,
    period: Option<String>,
    mult: Option<String>,
    fast: Option<String>,
    slow: Option<String>,
    signal: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Answer {
    asset: Asset,
    timeframe: Timeframe,
    /// `sma`, `ema`, `rsi`, `bb` or `macd`.
    name: &'static str,
    /// The study with all its parameters, defaults included: `bb:20:2`.
    study: String,
    /// Oldest first: `{time, value}`, `{time, basis, upper, lower}` or
    /// `{time, macd, signal, histogram}`.
    points: Vec<Point>,
    /// RSI and MACD only: their averages after the newest closed candle up
    /// to `to`, `{time, up, down}` or `{time, fast, slow, signal}`, from
    /// which a client steps on exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<StudyState>,
}

/// The answer, with a `Server-Timing` header giving the time spent in the
/// server (ms).
async fn indicators(
    State(state): State<AppState>,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let answer = answer(state, params).await?;
    Ok(timed("indicators", started, &answer))
}

async fn answer(
    state: AppState,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Answer, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (asset, timeframe) = series(&p.asset, p.timeframe.as_deref())?;
    let study = Study::from_params(
        &p.name,
        &StudyParams {
            period: p.period.as_deref(),
            mult: p.mult.as_deref(),
            fast: p.fast.as_deref(),
            slow: p.slow.as_deref(),
            signal: p.signal.as_deref(),
        },
    )
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let limit = limit(p.limit, &state)?;
    let (from, to) = (p.from.unwrap_or(i64::MIN), p.to.unwrap_or(i64::MAX));
    if from > to {
        return Err(ApiError::BadRequest("from must not be after to".to_owned()));
    }
    let candles = state.history.whole(asset, timeframe, MAX_HISTORY).await?;
    // Up to MAX_HISTORY × MAX_PERIOD steps: off the async workers.
    let (points, state) = tokio::task::spawn_blocking(move || {
        (compute(study, &candles), study_state(study, &candles, to))
    })
    .await
    .map_err(|_| ApiError::Unavailable("the study could not be computed".to_owned()))?;
    let mut points: Vec<Point> = points
        .into_iter()
        .filter(|p| (from..=to).contains(&p.time))
        .collect();
    points.drain(..points.len().saturating_sub(limit));
    Ok(Answer {
        asset,
        timeframe,
        name: study.name(),
        study: study.to_string(),
        points,
        state,
    })
}
