//! Redis helpers shared by the journal, the candle cache, the status and the
//! metrics: a connection with the configured timeouts ([`connect`]), `INFO`
//! figures ([`info`]), the journal stream's figures ([`stream`]) and raw
//! replies read as text ([`reply`]).

pub mod info;
pub mod reply;
pub mod stream;

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::config::RedisConfig;

/// Opens one multiplexed connection, with `REDIS_SOCKET_TIMEOUT` for both
/// the connection attempt and each reply.
///
/// # Errors
///
/// When Redis does not answer in time or refuses.
pub async fn connect(
    client: &redis::Client,
    config: &RedisConfig,
) -> redis::RedisResult<MultiplexedConnection> {
    let settings = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.timeout()))
        .set_response_timeout(Some(config.timeout()));
    client
        .get_multiplexed_async_connection_with_config(&settings)
        .await
}
