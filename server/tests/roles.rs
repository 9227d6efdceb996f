//! Real database roles (issue 10, item 6), against the real PostgreSQL and
//! Redis: `tickstream migrate` makes `tickstream_reader` and
//! `tickstream_writer` group roles; `serve` as a login member of
//! `tickstream_writer` stores ticks on a migrated database, stops naming
//! `tickstream migrate` on one that is not current, and without INSERT is
//! not ready and says why until the grant comes back.

mod common;

use std::time::{Duration, Instant};

use common::{
    as_role, cleanup, drop_database, drop_role, fresh_database, login_role, ticks_json,
    unique_prefix,
};
use sqlx::Connection;

/// Runs `sql` on `url` as whoever `url` logs in as.
async fn run(url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

/// `batch_status` once `done` holds for it, within 15 s.
async fn batch_status_when(
    base: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let status = common::status(base).await["batch_status"].clone();
        if done(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn migrate_makes_group_roles_and_a_writer_member_serves_and_stores() {
    let (url, db) = fresh_database("roles_serve").await;
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("NOLOGIN"), "{out}");
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok && out.contains("0 new"), "idempotent: {out}");
    let mut owner = sqlx::PgConnection::connect(&url).await.unwrap();
    let login: Vec<(String, bool)> = sqlx::query_as(
        "SELECT rolname::text, rolcanlogin FROM pg_roles \
         WHERE rolname IN ('tickstream_reader', 'tickstream_writer') ORDER BY 1",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        login,
        [
            ("tickstream_reader".to_owned(), false),
            ("tickstream_writer".to_owned(), false)
        ]
    );

    let app = login_role("app", "tickstream_writer").await;
    let prefix = unique_prefix("roles_serve");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &as_role(&url, &app), &[]).await;
    let t0 = 1_705_314_600_000;
    server
        .ingest(&ticks_json("ROLE", &[("1.5", t0), ("1.7", t0 + 1_000)]))
        .await;
    let status = batch_status_when(&server.base, |s| s["rows_written"] == 2).await;
    assert_eq!(status["writable"], true, "{status}");
    assert_eq!(server.get("/readyz").await.0, 200);
    // It reads what it needs: candles from the database.
    let (code, body) = server
        .get(&format!(
            "/api/candles?asset=ROLE&timeframe=1M&from={}&to={}",
            t0 / 1000,
            t0 / 1000
        ))
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""source":"database""#), "{body}");
    server.stop().await;
    cleanup(&prefix).await;

    // The group roles themselves cannot log in.
    let err = sqlx::PgConnection::connect(&as_role(&url, "tickstream_writer"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not permitted to log in"), "{err}");
    drop(owner);
    drop_database(&db).await;
    drop_role(&app).await;
}

#[tokio::test]
async fn a_writer_member_on_a_schema_that_is_not_current_stops_naming_migrate() {
    let (url, db) = fresh_database("roles_behind").await;
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok, "{out}");
    let (bare_url, bare_db) = fresh_database("roles_bare").await;
    let app = login_role("behind", "tickstream_writer").await;
    let prefix = unique_prefix("roles_behind");
    let dist = tempfile::tempdir().unwrap();

    // Not migrated at all, then one migration behind.
    run(&url, "DELETE FROM _sqlx_migrations WHERE version = 2").await;
    for (target, needle) in [(&bare_url, "0 of 3"), (&url, "2 of 3")] {
        let server = common::start_with_db(dist.path(), &prefix, &as_role(target, &app), &[]).await;
        let err = server.refusal().await;
        assert!(
            err.contains("tickstream migrate") && err.contains(needle),
            "{err}"
        );
    }
    // The owner brings it up to date; then the member starts.
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok && out.contains("1 new"), "{out}");
    let server = common::start_with_db(dist.path(), &prefix, &as_role(&url, &app), &[]).await;
    let status = batch_status_when(&server.base, |s| s["writable"] == true).await;
    assert_eq!(status["last_error"], serde_json::Value::Null);
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
    drop_database(&bare_db).await;
    drop_role(&app).await;
}

#[tokio::test]
async fn a_role_without_insert_is_not_ready_and_says_why_until_granted() {
    let (url, db) = fresh_database("roles_noinsert").await;
    let (ok, out) = common::migrate(&url, &[]);
    assert!(ok, "{out}");
    // Grants are per database: this one's writers lose INSERT.
    run(
        &url,
        "REVOKE INSERT ON historical_ticks FROM tickstream_writer",
    )
    .await;
    let app = login_role("noinsert", "tickstream_writer").await;
    let prefix = unique_prefix("roles_noinsert");
    let dist = tempfile::tempdir().unwrap();
    let server = common::start_with_db(dist.path(), &prefix, &as_role(&url, &app), &[]).await;

    let status = batch_status_when(&server.base, |s| s["writable"] == false).await;
    let why = status["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(
        why.contains(&app) && why.contains("may not insert into historical_ticks"),
        "{status}"
    );
    let (code, body) = server.get("/readyz").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("may not insert"), "{body}");
    // Ingest still answers 200: the journal keeps the batch.
    let t0 = 1_705_314_600_000;
    server.ingest(&ticks_json("NOINS", &[("1.5", t0)])).await;

    // Granted again: the persister's next attempt stores the tick.
    run(
        &url,
        "GRANT INSERT ON historical_ticks TO tickstream_writer",
    )
    .await;
    let status = batch_status_when(&server.base, |s| s["rows_written"] == 1).await;
    assert_eq!(status["writable"], true, "{status}");
    assert_eq!(server.get("/readyz").await.0, 200);
    server.stop().await;
    cleanup(&prefix).await;
    drop_database(&db).await;
    drop_role(&app).await;
}
