//! Adopting the original design's database (issue 12, item 2), against the
//! real PostgreSQL and Redis: the original DDL run verbatim, `tickstream
//! migrate --dry-run` then `tickstream migrate` (the real binary) convert
//! seconds to milliseconds and merge exact duplicates in one transaction,
//! the schema then equals a fresh one plus the original policies, and
//! `serve` shows the old ticks at their true times and stores new ones once.

#[path = "../common/mod.rs"]
mod common;
mod original;

use std::time::{Duration, Instant};

use common::{cleanup, drop_database, fresh_database, migrate, ticks_json, unique_prefix};
use shared::Candle;
use sqlx::Connection;

use original::{OLD_ROWS, SCHEMA, T0, constraints, lines, original_database, policies, rows};

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
        "0 of 3 migrations applied",
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
    assert!(out.contains("3 new migration(s) applied"), "{out}");
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
    // Their one-minute candles were backfilled: pair, open time, ticks.
    assert_eq!(
        lines(
            &url,
            "SELECT pair || ' ' || bucket || ' ' || ticks FROM candles_1m ORDER BY pair, bucket"
        )
        .await,
        [
            format!("EURUSD_otc {T0} 3"),
            format!("EURUSD_otc {} 1", T0 + 60),
            format!("GBPUSD_otc {T0} 1")
        ]
    );
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
    let err = server.refusal().await;
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
        out.contains("no historical_ticks yet") && out.contains("0 of 3"),
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
