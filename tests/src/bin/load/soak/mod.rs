//! The chaos run of `scripts/soak` (issue 11), in three parts the script
//! drives from the outside: a retrying ingest client ([`client`]), a TCP
//! proxy that cuts PostgreSQL on a signal ([`proxy`]), and the final check of
//! the store and a fresh server's candles against what was accepted
//! ([`check`]). None of them links the server: they talk HTTP, WebSocket,
//! SQL and signals only, so they keep working whatever the server's insides.

pub mod check;
pub mod client;
mod expected;
pub mod proxy;
mod ticks;
