//! The real server, in-process on `127.0.0.1:0`: liveness and the page.

mod common;

use std::path::Path;

use common::{Running, start as start_with};

async fn start(dist: &Path) -> Running {
    start_with(dist, &["--redis-url", "none"]).await
}

#[tokio::test]
async fn healthz_answers_ok() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(dist.path()).await;
    assert_eq!(server.get("/healthz").await, (200, "ok".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn serves_the_built_page_and_its_assets() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<h1>tickstream</h1>").unwrap();
    std::fs::write(dist.path().join("client-abc.js"), "export {}").unwrap();
    let server = start(dist.path()).await;
    assert_eq!(
        server.get("/").await,
        (200, "<h1>tickstream</h1>".to_owned())
    );
    assert_eq!(
        server.get("/client-abc.js").await,
        (200, "export {}".to_owned())
    );
    // The page owns its routes: any other path gets the page.
    assert_eq!(
        server.get("/chart/EURUSD_otc").await,
        (200, "<h1>tickstream</h1>".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn without_a_build_the_page_says_how_to_make_one() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(&dist.path().join("missing")).await;
    let (status, body) = server.get("/").await;
    assert_eq!(status, 503);
    assert!(body.contains("trunk build"), "{body}");
    assert_eq!(server.get("/healthz").await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn stops_when_told() {
    let dist = tempfile::tempdir().unwrap();
    let server = start(dist.path()).await;
    let base = server.base.clone();
    server.stop().await;
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
}
