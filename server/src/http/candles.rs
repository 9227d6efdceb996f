//! `GET /api/candles?asset=A&timeframe=1M[&from=S&to=S][&limit=N]`: candle
//! history, oldest first with the forming candle last, and its source. A
//! read that runs past `HISTORY_READ_TIMEOUT` answers 503 with `Retry-After`.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use shared::protocol::HistorySource;
use shared::{Asset, Timeframe, TimestampMs};

use super::error::ApiError;
use super::series::{limit, series, timed};
use crate::history::HistoryError;
use crate::state::AppState;

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The candles route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/candles", get(candles))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    asset: String,
    timeframe: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Answer {
    asset: Asset,
    timeframe: Timeframe,
    source: HistorySource,
    /// Oldest first; cache hits are passed through as they are stored.
    candles: Box<RawValue>,
}

/// The answer, with a `Server-Timing` header giving the time spent in the
/// server (ms), so clients and operators can tell it from the network's.
async fn candles(
    State(state): State<AppState>,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let answer = answer(state, params).await?;
    Ok(timed("history", started, &answer))
}

async fn answer(
    state: AppState,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Answer, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (asset, timeframe) = series(&p.asset, p.timeframe.as_deref())?;
    let limit = limit(p.limit, &state)?;
    let found = match (p.from, p.to) {
        (None, None) => {
            let (source, candles) = state.history.recent_json(asset, timeframe, limit).await?;
            return Ok(Answer {
                asset,
                timeframe,
                source,
                candles,
            });
        }
        (from, to) => {
            // An open end is the edge of the range a tick may have (1990 to
            // 2100): the stores compute in milliseconds, which must not overflow.
            let (first, last) = (TimestampMs::MIN.seconds(), TimestampMs::MAX.seconds());
            let (from, to) = (from.unwrap_or(first), to.unwrap_or(last));
            if from > to {
                return Err(ApiError::BadRequest("from must not be after to".to_owned()));
            }
            let (from, to) = (from.clamp(first, last), to.clamp(first, last));
            state
                .history
                .range(asset, timeframe, from, to, limit)
                .await?
        }
    };
    Ok(Answer {
        asset,
        timeframe,
        source: found.source,
        candles: serde_json::value::to_raw_value(&found.candles.unwrap_or_default())
            .map_err(|_| ApiError::Unavailable("the candles could not be written".to_owned()))?,
    })
}
