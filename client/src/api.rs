//! The server's HTTP API as the page uses it: older candles from
//! `GET /api/candles` when the user scrolls left, and any answer's text
//! (`GET /api/indicators` for the studies).

use serde::Deserialize;
use shared::protocol::HistorySource;
use shared::{Asset, Candle, Timeframe, TimestampMs};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// Why a request gave no candles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer (network down, server gone).
    #[error("the server did not answer")]
    Network,
    /// The server answered with an error status.
    #[error("the server answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The answer was not the expected JSON.
    #[error("unreadable answer: {0}")]
    Body(String),
}

/// `GET /api/candles`'s answer.
#[derive(Debug, Deserialize)]
pub struct CandlePage {
    /// The asset.
    pub asset: Asset,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// Where the candles came from.
    pub source: HistorySource,
    /// Oldest first, each checked on parsing.
    pub candles: Vec<Candle>,
}

/// The query of the newest `limit` candles opening in `from..=to`.
#[must_use]
pub fn candles_path(
    asset: Asset,
    timeframe: Timeframe,
    from: i64,
    to: i64,
    limit: usize,
) -> String {
    format!("/api/candles?asset={asset}&timeframe={timeframe}&from={from}&to={to}&limit={limit}")
}

/// The newest `limit` candles of the series opening at or before `to` (Unix
/// seconds). It asks for a window of four times `limit` buckets first (the
/// database then aggregates only that), and, when that window is empty (a
/// long gap, a weekend), for everything before `to`.
///
/// # Errors
///
/// [`ApiError`] when the server does not answer, refuses, or answers
/// something that is not candles.
pub async fn candles_before(
    asset: Asset,
    timeframe: Timeframe,
    to: i64,
    limit: usize,
) -> Result<CandlePage, ApiError> {
    let buckets = i64::try_from(limit)
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(4);
    let earliest = TimestampMs::MIN.seconds();
    let from = to
        .saturating_sub(buckets.saturating_mul(timeframe.seconds()))
        .max(earliest);
    let page = fetch_page(&candles_path(asset, timeframe, from, to, limit)).await?;
    if !page.candles.is_empty() || from == earliest {
        return Ok(page);
    }
    fetch_page(&candles_path(asset, timeframe, earliest, to, limit)).await
}

async fn fetch_page(path: &str) -> Result<CandlePage, ApiError> {
    let text = fetch_text(path).await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Body(e.to_string()))
}

/// The body of a successful `GET path`.
///
/// # Errors
///
/// [`ApiError`] when the server does not answer or answers an error.
pub async fn fetch_text(path: &str) -> Result<String, ApiError> {
    let window = web_sys::window().ok_or(ApiError::Network)?;
    let response: Response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|_| ApiError::Network)?
        .dyn_into()
        .map_err(|_| ApiError::Network)?;
    let text = JsFuture::from(response.text().map_err(|_| ApiError::Network)?)
        .await
        .map_err(|_| ApiError::Network)?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(ApiError::Status {
            status: response.status(),
            message,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn asks_for_the_newest_candles_in_a_window() {
        assert_eq!(
            candles_path(
                Asset::new("EURUSD_otc"),
                Timeframe::M5,
                1_764_000_000,
                1_764_115_200,
                200
            ),
            "/api/candles?asset=EURUSD_otc&timeframe=5M&from=1764000000&to=1764115200&limit=200"
        );
    }
}
