//! `GET /api/candles?asset=A&timeframe=1M[&from=S&to=S][&limit=N]`: candle
//! history, oldest first with the forming candle last, and its source.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use shared::protocol::HistorySource;
use shared::{Asset, Candle, Timeframe};

use super::error::ApiError;
use crate::state::AppState;

/// Most candles one request returns.
pub const MAX_LIMIT: usize = 5_000;

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
    candles: Vec<Candle>,
}

async fn candles(
    State(state): State<AppState>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Answer>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let asset =
        Asset::new_checked(&p.asset).map_err(|e| ApiError::BadRequest(format!("asset: {e}")))?;
    let timeframe = match p.timeframe.as_deref() {
        None => Timeframe::M1,
        Some(t) => t
            .parse()
            .map_err(|e| ApiError::BadRequest(format!("timeframe: {e}")))?,
    };
    let limit = p
        .limit
        .unwrap_or(state.config.redis.redis_historical_cache_size as usize);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let found = match (p.from, p.to) {
        (None, None) => state.history.recent(asset, timeframe, limit).await,
        (from, to) => {
            let (from, to) = (from.unwrap_or(i64::MIN / 2), to.unwrap_or(i64::MAX / 2));
            if from > to {
                return Err(ApiError::BadRequest("from must not be after to".to_owned()));
            }
            state
                .history
                .range(asset, timeframe, from, to, limit)
                .await
                .map_err(ApiError::Unavailable)?
        }
    };
    Ok(Json(Answer {
        asset,
        timeframe,
        source: found.source,
        candles: found.candles.unwrap_or_default(),
    }))
}
