//! [`figures`]: the Redis `INFO` figures `redis_status` shows.

use std::time::Duration;

use super::Link;

/// The `INFO` fields shown, as the original design listed them.
const WANTED: [&str; 8] = [
    "redis_version",
    "uptime_in_seconds",
    "connected_clients",
    "used_memory",
    "used_memory_human",
    "keyspace_hits",
    "keyspace_misses",
    "total_commands_processed",
];

/// The wanted `INFO` fields as name to value (numbers as numbers), of one
/// node on a cluster; empty when Redis does not answer within `timeout`.
pub async fn figures(
    conn: &mut Link,
    timeout: Duration,
) -> serde_json::Map<String, serde_json::Value> {
    let info = tokio::time::timeout(timeout, conn.on_one_node::<String>(&redis::cmd("INFO"))).await;
    match info {
        Ok(Ok(text)) => parse(&text),
        _ => serde_json::Map::new(),
    }
}

fn parse(text: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for line in text.lines() {
        if let Some((k, v)) = line.trim().split_once(':')
            && WANTED.contains(&k)
        {
            let value = v
                .parse::<u64>()
                .map_or_else(|_| serde_json::Value::from(v), serde_json::Value::from);
            out.insert(k.to_owned(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_wanted_fields_numbers_as_numbers() {
        let map =
            super::parse("# Server\r\nredis_version:7.2.4\r\nused_memory:1024\r\nos:Linux\r\n");
        assert_eq!(map["redis_version"], "7.2.4");
        assert_eq!(map["used_memory"], 1024);
        assert!(!map.contains_key("os"));
    }
}
