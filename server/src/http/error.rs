//! [`ApiError`]: every refusal of the HTTP API, as a status code and a JSON
//! body `{"error": "...", "index": N?}` that says what was wrong.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or a wrong bearer token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The action is switched off by configuration.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The body is not what the route takes.
    #[error("{0}")]
    BadRequest(String),
    /// One item of a batch is wrong; nothing of the batch was kept.
    #[error("tick {index}: {reason}")]
    BadItem {
        /// Position of the item in the batch, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The request is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The server cannot take it now; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// Too many wrong tokens came from this address; retry later.
    #[error("too many wrong tokens from this address; try again in {retry_after_secs} s")]
    LockedOut {
        /// Seconds until the address may try again.
        retry_after_secs: u64,
    },
}

impl ApiError {
    /// A short label of the kind of refusal, for the metrics.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::BadRequest(_) => "malformed",
            Self::BadItem { .. } => "invalid_tick",
            Self::TooLarge(_) => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::LockedOut { .. } => "locked_out",
        }
    }
}

#[derive(Serialize)]
struct Body {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::BadItem { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
        };
        let index = match &self {
            Self::BadItem { index, .. } => Some(*index),
            _ => None,
        };
        tracing::debug!(%status, "refused: {self}");
        let mut response = (
            status,
            Json(Body {
                error: self.to_string(),
                index,
            }),
        )
            .into_response();
        let retry_after = match &self {
            Self::LockedOut { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, secs.into());
                }
            }
            StatusCode::UNAUTHORIZED => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
