//! What the adoption tests share: the original design's DDL and rows in
//! seconds, the real `tickstream migrate`, and readings of the schema.

use sqlx::Connection;

use crate::common::fresh_database;

/// Phase 3.1 of the original design, verbatim.
const ORIGINAL_DDL: &str = r#"
-- =====================================================
-- HISTORICAL_TICKS TABLE
-- =====================================================
-- Stores individual tick data for high-resolution analysis
CREATE TABLE IF NOT EXISTS historical_ticks (
    id BIGSERIAL PRIMARY KEY,
    pair VARCHAR(20) NOT NULL,        -- e.g., 'EURUSD_otc'
    price DECIMAL(20,10) NOT NULL,    -- Tick price
    timestamp BIGINT NOT NULL,        -- Unix timestamp
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- =====================================================
-- INDEXES FOR HISTORICAL_TICKS
-- =====================================================
CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair_timestamp 
    ON historical_ticks (pair, timestamp DESC);

CREATE INDEX IF NOT EXISTS idx_historical_ticks_timestamp 
    ON historical_ticks (timestamp DESC);

CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair 
    ON historical_ticks (pair);

-- =====================================================
-- ROW LEVEL SECURITY (RLS) POLICIES FOR HISTORICAL_TICKS
-- =====================================================
ALTER TABLE historical_ticks ENABLE ROW LEVEL SECURITY;

-- Policies for historical_ticks table
CREATE POLICY "Historical ticks are viewable by everyone" ON historical_ticks
    FOR SELECT USING (true);

CREATE POLICY "Historical ticks are insertable by authenticated users" ON historical_ticks
    FOR INSERT WITH CHECK (auth.role() = 'authenticated');
"#;

/// Supabase's `auth.role()`, so the original DDL runs on plain PostgreSQL.
const AUTH_SHIM: &str = "CREATE SCHEMA auth; \
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE \
    AS $$ SELECT current_setting('request.jwt.claim.role', true) $$;";

/// The minute the old ticks start at, Unix seconds (2024-01-15 10:30 UTC).
pub const T0: i64 = 1_705_314_600;

/// The original's rows, in seconds: three exact duplicates (ids 2, 5 and 8)
/// and one near-duplicate (id 3: same pair and time as id 1, another price).
pub const OLD_ROWS: [(&str, &str, i64); 8] = [
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0825", T0),
    ("EURUSD_otc", "1.0830", T0 + 30),
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0810", T0 + 60),
    ("GBPUSD_otc", "1.2700", T0 + 5),
    ("GBPUSD_otc", "1.27", T0 + 5),
];

/// A fresh database holding the original design's table with `rows`.
pub async fn original_database(name: &str, rows: &[(&str, &str, i64)]) -> (String, String) {
    let (url, db) = fresh_database(name).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(AUTH_SHIM).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(ORIGINAL_DDL)
        .execute(&mut conn)
        .await
        .unwrap();
    for (pair, price, ts) in rows {
        sqlx::query(
            "INSERT INTO historical_ticks (pair, price, timestamp) VALUES ($1, $2::numeric, $3)",
        )
        .bind(pair)
        .bind(price)
        .bind(ts)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    (url, db)
}

/// Every row as (id, pair, price, timestamp), by id.
pub async fn rows(url: &str) -> Vec<(i64, String, String, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT id, pair::text, price::text, timestamp FROM historical_ticks ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// What a query answers as text lines, for comparing schemas.
pub async fn lines(url: &str, sql: &str) -> Vec<String> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
}

/// Names of the constraints on `historical_ticks`.
pub async fn constraints(url: &str) -> Vec<String> {
    lines(
        url,
        "SELECT conname::text FROM pg_constraint \
         WHERE conrelid = 'historical_ticks'::regclass ORDER BY 1",
    )
    .await
}

/// Names of the policies on `historical_ticks`.
pub async fn policies(url: &str) -> Vec<String> {
    lines(
        url,
        "SELECT polname::text FROM pg_policy \
         WHERE polrelid = 'historical_ticks'::regclass ORDER BY 1",
    )
    .await
}

/// Everything about `historical_ticks` and the migrations' bookkeeping
/// that a fresh schema and an adopted one must share.
pub const SCHEMA: [&str; 6] = [
    "SELECT attname::text || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull \
       || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' ' || coalesce(attacl::text, '-') \
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE attrelid = 'historical_ticks'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    "SELECT conname::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
     WHERE conrelid = 'historical_ticks'::regclass ORDER BY 1",
    "SELECT indexdef FROM pg_indexes WHERE tablename = 'historical_ticks' ORDER BY 1",
    "SELECT relrowsecurity || ' ' || relforcerowsecurity || ' ' || coalesce(relacl::text, '-') \
     FROM pg_class WHERE oid = 'historical_ticks'::regclass",
    "SELECT polname::text || ' ' || polcmd::text || ' ' || polroles::regrole[]::text || ' ' \
       || coalesce(pg_get_expr(polqual, polrelid), '-') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-') \
     FROM pg_policy WHERE polrelid = 'historical_ticks'::regclass \
       AND polname NOT LIKE 'Historical ticks are %' ORDER BY 1",
    "SELECT version || ' ' || encode(checksum, 'hex') || ' ' || success FROM _sqlx_migrations ORDER BY version",
];
