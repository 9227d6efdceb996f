//! `POST /api/ticks`: a JSON array of `{asset, price, timestamp}` with
//! `Authorization: Bearer $INGEST_TOKEN`. All or nothing: every tick is
//! checked first; `200 {"accepted": N}` comes back once all are journaled,
//! otherwise a 4xx names the first bad item and nothing is kept.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, header};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use shared::{BatchError, Tick, parse_batch};

use super::client_ip::ClientIp;
use super::error::ApiError;
use super::lockout::Verdict;
use crate::clock::now_millis;
use crate::journal::Durability;
use crate::state::AppState;

/// The ingest route.
pub fn router(max_body: usize) -> Router<AppState> {
    Router::new()
        .route("/api/ticks", post(ingest))
        .layer(DefaultBodyLimit::max(max_body))
}

#[derive(Serialize)]
struct Accepted {
    accepted: usize,
    /// `redis`; `local` while Redis is away (in the write-ahead file);
    /// `store` without Redis (the tick store is the journal).
    journal: &'static str,
}

async fn ingest(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, ApiError> {
    let answer = accept(&state, ip, &headers, body).await;
    if let Err(e) = &answer {
        state.metrics.ingest_refused(e.reason());
    }
    answer
}

async fn accept(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, ApiError> {
    authorize(state, ip, headers)?;
    // A body over MAX_INGEST_BYTES gets the same JSON error as the rest.
    let body = body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(format!(
            "the body is larger than {} bytes (MAX_INGEST_BYTES)",
            state.config.limits.max_ingest_bytes
        )),
        _ => ApiError::BadRequest(format!("the body could not be read: {}", e.body_text())),
    })?;
    let limits = &state.config.limits;
    let ticks = parse(
        &body,
        limits.max_ingest_ticks,
        now_millis(),
        limits.max_future_skew_ms,
    )?;
    match state.journal.append(&ticks).await {
        Ok(d) => Ok(Json(Accepted {
            accepted: ticks.len(),
            journal: match d {
                Durability::Redis => "redis",
                Durability::Local => "local",
                Durability::Store => "store",
            },
        })),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

/// The bearer token must be `INGEST_TOKEN`; a wrong one counts against the
/// address, which is refused (429) once it has tried too many.
fn authorize(state: &AppState, ip: std::net::IpAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = state.config.access.ingest_token.as_deref();
    if token.is_none() {
        return Err(ApiError::Forbidden(
            "ingest is disabled: start the server with INGEST_TOKEN set",
        ));
    }
    // A missing header guesses nothing and is not counted.
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized(
            "missing `Authorization: Bearer <INGEST_TOKEN>`",
        ))?;
    match state.lockout.check(ip, given, token) {
        Verdict::Accepted => Ok(()),
        Verdict::Wrong => Err(ApiError::Unauthorized("wrong ingest token")),
        Verdict::LockedOut { retry_after_secs } => Err(ApiError::LockedOut { retry_after_secs }),
    }
}

/// Checks a whole batch; the first bad item (one stamped more than
/// `max_skew_ms` ahead of `now_ms` among them) refuses all of it.
pub(crate) fn parse(
    body: &[u8],
    max_ticks: usize,
    now_ms: i64,
    max_skew_ms: i64,
) -> Result<Vec<Tick>, ApiError> {
    parse_batch(body, max_ticks, now_ms, max_skew_ms).map_err(|e| match e {
        BatchError::BadItem { index, reason } => ApiError::BadItem { index, reason },
        e @ BatchError::TooMany { .. } => ApiError::TooLarge(e.to_string()),
        e => ApiError::BadRequest(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_705_314_600_000;

    fn err(body: &str) -> String {
        parse(body.as_bytes(), 3, NOW, 2_000)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn accepts_numbers_and_strings_exactly() {
        let ticks = parse(
            br#"[{"asset":"EURUSD_otc","price":1.0823,"timestamp":1705314600000},
                {"asset":"BTCUSD","price":"65000.5","timestamp":1705314600001}]"#,
            3,
            NOW,
            2_000,
        )
        .unwrap();
        assert_eq!(ticks[0].price.to_string(), "1.0823");
        assert_eq!(ticks[1].price.to_string(), "65000.5");
    }

    #[test]
    fn names_the_bad_item_and_why() {
        let ok = r#"{"asset":"A","price":1,"timestamp":1705314600000}"#;
        assert!(err("{}").contains("JSON array"));
        assert!(err("[]").contains("no ticks"));
        assert!(err(&format!("[{ok},{ok},{ok},{ok}]")).contains("at most 3"));
        let e = err(&format!(
            r#"[{ok},{{"asset":"A","price":-1,"timestamp":1705314600000}}]"#
        ));
        assert!(
            e.starts_with("tick 1:") && e.contains("greater than zero"),
            "{e}"
        );
        let e = err(r#"[{"asset":"A","price":1,"timestamp":1805314600000}]"#);
        assert!(e.contains("ahead of the server clock"), "{e}");
        // Issue 11: 4 min 50 s ahead was accepted; now 2 s ahead is the most.
        let e = err(&format!(
            r#"[{ok},{{"asset":"A","price":1,"timestamp":{}}}]"#,
            NOW + 290_000
        ));
        assert!(
            e.starts_with("tick 1:")
                && e.contains("290000 ms ahead")
                && e.contains("MAX_FUTURE_SKEW_MS"),
            "{e}"
        );
        assert!(
            parse(
                format!(r#"[{{"asset":"A","price":1,"timestamp":{}}}]"#, NOW + 2_000).as_bytes(),
                3,
                NOW,
                2_000
            )
            .is_ok()
        );
        let e = err(r#"[{"asset":"A","price":"NaN","timestamp":1705314600000}]"#);
        assert!(e.contains("not a decimal number"), "{e}");
    }
}
