//! [`Target`] and [`Link`]: one Redis (`REDIS_URL`) or a Redis Cluster
//! (`REDIS_CLUSTER_NODES`) behind one connection type, so every part of the
//! server sends the same commands to either. Cluster routing (slots,
//! `MOVED`, `ASK`, topology changes) is the redis crate's cluster-async
//! client; nothing here routes by hand.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, Pipeline, RedisFuture, Value};

use crate::config::RedisConfig;

/// Where Redis is: one server or a cluster.
#[derive(Clone)]
pub enum Target {
    /// One Redis server (`REDIS_URL`, or `REDIS_HOST` and friends).
    Single(Box<redis::Client>),
    /// A Redis Cluster, reached through some of its nodes.
    Cluster(Box<ClusterClient>),
}

impl Target {
    /// The Redis `config` names: the cluster when `REDIS_CLUSTER_NODES` is
    /// set, else the one server; `Ok(None)` for no Redis (`REDIS_URL=none`).
    ///
    /// # Errors
    ///
    /// The variable and why its value is not usable.
    pub fn from_config(config: &RedisConfig) -> Result<Option<Self>, String> {
        if !config.redis_cluster_nodes.is_empty() {
            let client = ClusterClient::builder(config.redis_cluster_nodes.clone())
                .connection_timeout(config.timeout())
                .response_timeout(config.timeout())
                .build()
                .map_err(|e| format!("REDIS_CLUSTER_NODES is not usable: {e}"))?;
            return Ok(Some(Self::Cluster(Box::new(client))));
        }
        let Some(url) = config.url() else {
            return Ok(None);
        };
        redis::Client::open(url.as_str())
            .map(|c| Some(Self::Single(Box::new(c))))
            .map_err(|e| format!("REDIS_URL is not usable: {e}"))
    }

    /// Whether this is a cluster.
    #[must_use]
    pub const fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Opens a connection, with `REDIS_SOCKET_TIMEOUT` for both the
    /// connection attempt and each reply. A cluster connection reaches every
    /// node it needs by itself.
    ///
    /// # Errors
    ///
    /// When Redis does not answer in time or refuses.
    pub async fn connect(&self, config: &RedisConfig) -> redis::RedisResult<Link> {
        match self {
            Self::Single(client) => {
                let settings = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(config.timeout()))
                    .set_response_timeout(Some(config.timeout()));
                client
                    .get_multiplexed_async_connection_with_config(&settings)
                    .await
                    .map(Link::Single)
            }
            Self::Cluster(client) => client.get_async_connection().await.map(Link::Cluster),
        }
    }
}

/// A connection to one Redis or to a cluster; cheap to clone (clones share
/// the underlying connections).
#[derive(Clone)]
pub enum Link {
    /// A multiplexed connection to one server.
    Single(MultiplexedConnection),
    /// The cluster-async connection.
    Cluster(ClusterConnection),
}

impl Link {
    /// Whether this is a cluster connection.
    #[must_use]
    pub const fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Runs a server-wide command (`INFO`, `PING`) on one node: the server,
    /// or any node of the cluster.
    ///
    /// # Errors
    ///
    /// A Redis error, or a reply of another type.
    pub async fn on_one_node<T: FromRedisValue>(&mut self, cmd: &Cmd) -> redis::RedisResult<T> {
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random);
                let value = c.route_command(cmd.clone(), routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }

    /// Runs a keyless command (`SCAN`) on the master holding the slot of
    /// `key`: the server, or that node of the cluster.
    ///
    /// # Errors
    ///
    /// A Redis error, or a reply of another type.
    pub async fn on_node_of<T: FromRedisValue>(
        &mut self,
        key: &str,
        cmd: &Cmd,
    ) -> redis::RedisResult<T> {
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => {
                let route = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let value = c.route_command(cmd.clone(), routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
