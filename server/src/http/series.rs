//! What the history routes (`/api/candles`, `/api/indicators`) share: the
//! series named by `asset` and `timeframe`, the `limit`, and an answer
//! carrying the time spent in the server as `Server-Timing`.

use std::time::Instant;

use axum::Json;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::{Asset, Timeframe};

use super::error::ApiError;
use crate::config::MAX_CANDLES;
use crate::state::AppState;

/// Most candles (or points) one request returns.
pub const MAX_LIMIT: usize = MAX_CANDLES as usize;

/// The series asked for; `1M` when no timeframe is given.
///
/// # Errors
///
/// 400 naming the parameter that is wrong.
pub fn series(asset: &str, timeframe: Option<&str>) -> Result<(Asset, Timeframe), ApiError> {
    let asset =
        Asset::new_checked(asset).map_err(|e| ApiError::BadRequest(format!("asset: {e}")))?;
    let timeframe = match timeframe {
        None => Timeframe::M1,
        Some(t) => t
            .parse()
            .map_err(|e| ApiError::BadRequest(format!("timeframe: {e}")))?,
    };
    Ok((asset, timeframe))
}

/// The `limit` asked for, `REDIS_HISTORICAL_CACHE_SIZE` when none is.
///
/// # Errors
///
/// 400 outside 1 to [`MAX_LIMIT`].
pub fn limit(given: Option<usize>, state: &AppState) -> Result<usize, ApiError> {
    let limit = given.unwrap_or(state.config.redis.redis_historical_cache_size as usize);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit: must be 1 to {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

/// `answer` as JSON with `Server-Timing: {metric};dur=` the milliseconds
/// since `started`, so clients and operators can tell it from the network's.
pub fn timed(metric: &str, started: Instant, answer: &impl Serialize) -> Response {
    let mut response = Json(answer).into_response();
    let timing = format!(
        "{metric};dur={:.3}",
        started.elapsed().as_secs_f64() * 1000.0
    );
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}
