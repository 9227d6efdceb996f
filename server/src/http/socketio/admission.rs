//! Who may connect over Socket.IO: the page's origin (`ALLOWED_ORIGINS`, as
//! on `/ws`), the caps on open clients in all and per address, and the admin
//! token, given as the handshake's `auth: {token}`. A refusal reaches the
//! client as `connect_error` with the reason.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;
use socketioxide::ParserError;
use socketioxide::extract::SocketRef;

use crate::gate::{Gate, Permit};
use crate::http::client_ip::ClientIp;
use crate::http::live::origin_allowed;
use crate::http::lockout::Verdict;
use crate::state::AppState;

/// The handshake's `auth` object: `{token}` to be privileged, or nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    token: Option<String>,
}

/// What a connected client was admitted as, kept in its socket's extensions
/// for the session.
#[derive(Clone)]
pub struct Admitted {
    /// Whether it presented the admin token.
    pub admin: bool,
    /// Its address.
    pub ip: IpAddr,
    /// Its place among open clients, given back when the session ends.
    pub place: Arc<Permit>,
}

/// Why a client was refused, as the client reads it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(String);

/// Admits `socket` or says why not.
///
/// # Errors
///
/// [`Refusal`] for a foreign origin, a full server or address, a malformed
/// `auth`, a wrong admin token or an address locked out for wrong tokens.
pub fn check(
    socket: &SocketRef,
    auth: Result<Auth, ParserError>,
    state: &AppState,
    gate: &Gate,
) -> Result<(), Refusal> {
    let parts = socket.req_parts();
    if !origin_allowed(&parts.headers, &state.config.access.allowed_origins) {
        return Err(Refusal("origin not allowed (ALLOWED_ORIGINS)".to_owned()));
    }
    let ClientIp(ip) = ClientIp::of(parts);
    let auth = auth.map_err(|_| {
        Refusal("auth must be an object {\"token\": ADMIN_TOKEN}, or left out".to_owned())
    })?;
    let admin = match auth.token {
        None => false,
        Some(given) => {
            let expected = state.config.access.admin_token.as_deref();
            match state.lockout.check(ip, &given, expected) {
                Verdict::Accepted => true,
                Verdict::Wrong => return Err(Refusal("wrong admin token".to_owned())),
                Verdict::LockedOut { retry_after_secs } => {
                    return Err(Refusal(format!(
                        "too many wrong tokens from this address; try again in {retry_after_secs} s"
                    )));
                }
            }
        }
    };
    let place = gate
        .connection(Some(ip))
        .map_err(|e| Refusal(e.to_string()))?;
    socket.extensions.insert(Admitted {
        admin,
        ip,
        place: Arc::new(place),
    });
    Ok(())
}
