//! Adopting the original design's database (issue 12, item 2), against the
//! real PostgreSQL and Redis: the original DDL run verbatim, `tickstream
//! migrate --dry-run` then `tickstream migrate` (the real binary) convert
//! seconds to milliseconds and merge exact duplicates in one transaction,
//! the schema then equals a fresh one plus the original policies, and
//! `serve` shows the old ticks at their true times and stores new ones once.

mod common;

use std::time::{Duration, Instant};

use common::{cleanup, drop_database, fresh_database, ticks_json, unique_prefix};
use shared::Candle;
use sqlx::Connection;

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
const T0: i64 = 1_705_314_600;

/// The original's rows, in seconds: three exact duplicates (ids 2, 5 and 8)
/// and one near-duplicate (id 3: same pair and time as id 1, another price).
const OLD_ROWS: [(&str, &str, i64); 8] = [
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0825", T0),
    ("EURUSD_otc", "1.0830", T0 + 30),
    ("EURUSD_otc", "1.0823", T0),
    ("EURUSD_otc", "1.0810", T0 + 60),
    ("GBPUSD_otc", "1.2700", T0 + 5),
    ("GBPUSD_otc", "1.27", T0 + 5),
];

/// `tickstream migrate ARGS` (the real binary) against `url`: success and
/// everything it printed.
fn migrate(url: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickstream"))
        .arg("migrate")
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A fresh database holding the original design's table with `rows`.
async fn original_database(name: &str, rows: &[(&str, &str, i64)]) -> (String, String) {
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
async fn rows(url: &str) -> Vec<(i64, String, String, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT id, pair::text, price::text, timestamp FROM historical_ticks ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// What a query answers as text lines, for comparing schemas.
async fn lines(url: &str, sql: &str) -> Vec<String> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
}

/// Names of the constraints on `historical_ticks`.
async fn constraints(url: &str) -> Vec<String> {
    lines(
        url,
        "SELECT conname::text FROM pg_constraint \
         WHERE conrelid = 'historical_ticks'::regclass ORDER BY 1",
    )
    .await
}

/// Names of the policies on `historical_ticks`.
async fn policies(url: &str) -> Vec<String> {
    lines(
        url,
        "SELECT polname::text FROM pg_policy \
         WHERE polrelid = 'historical_ticks'::regclass ORDER BY 1",
    )
    .await
}

/// Everything about `historical_ticks` and the migrations' bookkeeping
/// that a fresh schema and an adopted one must share.
const SCHEMA: [&str; 6] = [
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

#[tokio::test]
async fn the_original_table_is_adopted_then_served_and_written_once() {
    let (url, db) = original_database("adopt_full", &OLD_ROWS).await;
    let before = rows(&url).await;

    // The dry run says what it would do and changes nothing.
    let (ok, out) = migrate(&url, &["--dry-run"]);
    assert!(ok, "{out}");
    for needle in [
        "original design's table",
        "8 row(s), stamped 1705314600 (2024-01-15T10:30:00Z) to 1705314660",
        "merge 3 exact duplicate(s)",
        "convert 5 row(s) from Unix seconds to milliseconds",
        "0 of 2 migrations applied",
        "dry run: nothing changed",
    ] {
        assert!(out.contains(needle), "{needle:?} in {out}");
    }
    assert_eq!(rows(&url).await, before);
    assert_eq!(constraints(&url).await, ["historical_ticks_pkey"]);
    assert!(
        lines(
            &url,
            "SELECT relname::text FROM pg_class WHERE relname = '_sqlx_migrations'"
        )
        .await
        .is_empty()
    );

    // Adopted: milliseconds, the lowest id of each duplicate kept, the near
    // duplicate kept, the key in place, the original policies still there.
    let (ok, out) = migrate(&url, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("adopted: 5 row(s) now in Unix milliseconds, 3 exact duplicate(s) merged"),
        "{out}"
    );
    assert!(out.contains("2 new migration(s) applied"), "{out}");
    let expected: Vec<_> = [
        (1, "EURUSD_otc", "1.0823000000", T0),
        (3, "EURUSD_otc", "1.0825000000", T0),
        (4, "EURUSD_otc", "1.0830000000", T0 + 30),
        (6, "EURUSD_otc", "1.0810000000", T0 + 60),
        (7, "GBPUSD_otc", "1.2700000000", T0 + 5),
    ]
    .map(|(id, pair, price, ts)| (id, pair.to_owned(), price.to_owned(), ts * 1000))
    .into();
    let adopted = rows(&url).await;
    assert_eq!(adopted, expected);
    assert_eq!(
        constraints(&url).await,
        [
            "historical_ticks_identity",
            "historical_ticks_pkey",
            "historical_ticks_price_positive"
        ]
    );
    assert_eq!(
        policies(&url).await,
        [
            "Historical ticks are insertable by authenticated users",
            "Historical ticks are viewable by everyone",
            "historical_ticks_insertable",
            "historical_ticks_viewable"
        ]
    );

    // The schema is a fresh tickstream schema's, the original policies aside.
    let (fresh_url, fresh_db) = fresh_database("adopt_fresh").await;
    let (ok, out) = migrate(&fresh_url, &[]);
    assert!(ok, "{out}");
    for sql in SCHEMA {
        let adopted = lines(&url, sql).await;
        assert!(!adopted.is_empty(), "{sql}");
        assert_eq!(adopted, lines(&fresh_url, sql).await, "{sql}");
    }
    drop_database(&fresh_db).await;

    // Again: nothing to adopt, nothing changes.
    let (ok, out) = migrate(&url, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to adopt"), "{out}");
    assert!(out.contains("0 new migration(s) applied"), "{out}");
    assert_eq!(rows(&url).await, adopted);
    let (ok, out) = migrate(&url, &["--dry-run"]);
    assert!(ok && out.contains("nothing to adopt"), "{out}");

    // Served: the old ticks' candles at their true times.
    let prefix = unique_prefix("adopt_full");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &url, &[]).await;
    let (code, body) = server
        .get(&format!(
            "/api/candles?asset=EURUSD_otc&timeframe=1M&from={T0}&to={}",
            T0 + 60
        ))
        .await;
    assert_eq!(code, 200, "{body}");
    #[derive(serde::Deserialize)]
    struct Body {
        source: String,
        candles: Vec<Candle>,
    }
    let answer: Body = serde_json::from_str(&body).unwrap();
    assert_eq!(answer.source, "database", "{body}");
    let seen: Vec<_> = answer
        .candles
        .iter()
        .map(|c| {
            (
                c.open_time(),
                c.open().to_string(),
                c.high().to_string(),
                c.low().to_string(),
                c.close().to_string(),
                c.volume(),
            )
        })
        .collect();
    let candle = |t: i64, o: &str, h: &str, l: &str, c: &str, v: u64| {
        (t, o.to_owned(), h.to_owned(), l.to_owned(), c.to_owned(), v)
    };
    assert_eq!(
        seen,
        [
            candle(T0, "1.0823", "1.083", "1.0823", "1.083", 3),
            candle(T0 + 60, "1.081", "1.081", "1.081", "1.081", 1)
        ],
        "{body}"
    );

    // New ticks are stored, a repeat of an old one exactly once.
    let new_ms = (T0 + 90) * 1000;
    server
        .ingest(&ticks_json(
            "EURUSD_otc",
            &[("1.0823", T0 * 1000), ("1.0840", new_ms)],
        ))
        .await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let started = Instant::now();
    loop {
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM historical_ticks WHERE timestamp = $1")
                .bind(new_ms)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        if stored == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let repeated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM historical_ticks \
         WHERE pair = 'EURUSD_otc' AND timestamp = $1 AND price = 1.0823",
    )
    .bind(T0 * 1000)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(repeated, 1);
    assert_eq!(rows(&url).await.len(), 6);
    let status = common::status(&server.base).await["batch_status"].clone();
    assert_eq!(status["last_error"], serde_json::Value::Null, "{status}");
    assert_eq!(status["rows_written"], 1, "{status}");
    assert_eq!(status["duplicates_skipped"], 1, "{status}");
    server.stop().await;
    cleanup(&prefix).await;
    drop(conn);
    drop_database(&db).await;
}

#[tokio::test]
async fn a_failure_mid_way_leaves_the_original_table_unchanged() {
    // The last row's seconds fit BIGINT, its milliseconds do not: the
    // conversion fails after the duplicates were deleted.
    let mut rows_in = OLD_ROWS.to_vec();
    rows_in.push(("EURUSD_otc", "1.09", -9_223_372_036_854_776));
    let (url, db) = original_database("adopt_fail", &rows_in).await;
    let before = rows(&url).await;
    let (ok, out) = migrate(&url, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("does not fit BIGINT") && out.contains("nothing changed"),
        "{out}"
    );
    assert_eq!(rows(&url).await, before);
    assert_eq!(constraints(&url).await, ["historical_ticks_pkey"]);
    assert!(
        lines(
            &url,
            "SELECT relname::text FROM pg_class WHERE relname = '_sqlx_migrations'"
        )
        .await
        .is_empty()
    );
    // The duplicates had been deleted before the failure (and rolled back).
    let started = Instant::now();
    loop {
        let deleted: Vec<String> = lines(
            &url,
            "SELECT n_tup_del::text FROM pg_stat_user_tables WHERE relname = 'historical_ticks'",
        )
        .await;
        if deleted == ["3"] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{deleted:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // With the bad row gone, a second run adopts the rest.
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM historical_ticks WHERE timestamp < 0")
        .execute(&mut conn)
        .await
        .unwrap();
    let (ok, out) = migrate(&url, &[]);
    assert!(
        ok && out.contains("adopted: 5 row(s) now in Unix milliseconds, 3 exact duplicate(s)"),
        "{out}"
    );
    drop(conn);
    drop_database(&db).await;
}

#[tokio::test]
async fn a_price_of_zero_or_a_table_in_milliseconds_is_refused_and_left_alone() {
    let (url, db) = original_database("adopt_zero", &[("EURUSD_otc", "0", T0), OLD_ROWS[0]]).await;
    let before = rows(&url).await;
    for args in [&["--dry-run"][..], &[]] {
        let (ok, out) = migrate(&url, args);
        assert!(!ok, "{out}");
        assert!(
            out.contains("1 row(s) of historical_ticks have a price of 0 or less"),
            "{out}"
        );
        assert_eq!(rows(&url).await, before);
    }
    drop_database(&db).await;

    // No unique key, but milliseconds: not the original's.
    let (url, db) = original_database("adopt_ms", &[("EURUSD_otc", "1.1", T0 * 1000)]).await;
    let (ok, out) = migrate(&url, &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("is not Unix seconds"), "{out}");
    assert_eq!(rows(&url).await[0].3, T0 * 1000);
    drop_database(&db).await;
}

#[tokio::test]
async fn serve_on_the_original_table_stops_naming_migrate_and_an_empty_one_is_adopted() {
    let (url, db) = original_database("adopt_serve", &[]).await;
    let prefix = unique_prefix("adopt_serve");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &url, &[]).await;
    let outcome = tokio::time::timeout(Duration::from_secs(15), server.task)
        .await
        .expect("serve stops")
        .unwrap();
    let err = format!("{:#}", outcome.expect_err("serve must not start"));
    assert!(
        err.contains("no unique key") && err.contains("tickstream migrate"),
        "{err}"
    );
    assert_eq!(constraints(&url).await, ["historical_ticks_pkey"]);
    cleanup(&prefix).await;

    // Empty, it is still the original's: adopted, then current.
    let (ok, out) = migrate(&url, &["--dry-run"]);
    assert!(ok && out.contains("merge 0 exact duplicate(s)"), "{out}");
    let (ok, out) = migrate(&url, &[]);
    assert!(ok && out.contains("adopted: 0 row(s)"), "{out}");
    assert!(
        constraints(&url)
            .await
            .contains(&"historical_ticks_identity".to_owned())
    );
    drop_database(&db).await;
}

#[tokio::test]
async fn a_dry_run_on_a_new_database_or_the_embedded_store_changes_nothing() {
    let (url, db) = fresh_database("adopt_new").await;
    let (ok, out) = migrate(&url, &["--dry-run"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("no historical_ticks yet") && out.contains("0 of 2"),
        "{out}"
    );
    assert!(lines(&url, "SELECT relname::text FROM pg_class WHERE relname LIKE '%historical_ticks%' OR relname = '_sqlx_migrations'")
        .await
        .is_empty());
    drop_database(&db).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let (ok, out) = migrate(&format!("sqlite:{}", file.display()), &["--dry-run"]);
    assert!(ok && out.contains("no original form"), "{out}");
    assert!(!file.exists());
}

#[tokio::test]
async fn a_table_an_older_migrate_recorded_without_the_key_is_adopted_too() {
    // An older tickstream's migrations ran over the original table: they
    // are recorded, but the table kept its seconds and has no key.
    let (url, db) = fresh_database("adopt_older").await;
    let (ok, out) = migrate(&url, &[]);
    assert!(ok, "{out}");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "ALTER TABLE historical_ticks DROP CONSTRAINT historical_ticks_identity, \
           DROP CONSTRAINT historical_ticks_price_positive; \
         INSERT INTO historical_ticks (pair, price, timestamp) \
           VALUES ('EURUSD_otc', 1.5, 1705314600), ('EURUSD_otc', 1.5, 1705314600)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let (ok, out) = migrate(&url, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("adopted: 1 row(s) now in Unix milliseconds, 1 exact duplicate(s)")
            && out.contains("0 new migration(s)"),
        "{out}"
    );
    assert_eq!(rows(&url).await[0].3, 1_705_314_600_000);
    assert_eq!(
        constraints(&url).await,
        [
            "historical_ticks_identity",
            "historical_ticks_pkey",
            "historical_ticks_price_positive"
        ]
    );
    drop(conn);
    drop_database(&db).await;
}
