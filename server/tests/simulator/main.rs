//! The simulator belongs to the operator: `start_stream` subscribes, and
//! simulates only when `SIMULATOR_ON_DEMAND` is on, only an asset that never
//! had a real tick, a bounded number at once, for as long as a session holds
//! it. Simulated ticks reach subscribers on every process, are never stored,
//! and never share a candle with real ones.

#[path = "../common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::{
    Client, cleanup, journal_len, start_bare, start_on_redis, start_with_db, status, ticks_json,
    unique_prefix,
};
use shared::{Asset, ServerMessage, Timeframe};
use support::{
    RATE, entries, journaled, now_ms, on_demand, rows_written, simulated, start_stream,
    stays_still, stop_stream, stored_rows, update_of, within,
};

#[tokio::test]
async fn without_on_demand_start_stream_subscribes_and_simulates_nothing() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("sim-off");
    let server = start_on_redis(dist.path(), &prefix, &["--simulator-rate", RATE]).await;
    let mut client = Client::connect(&server.ws).await;
    let started = start_stream(&mut client, "FRESH1").await.unwrap();
    assert_eq!(started.asset.as_str(), "FRESH1");
    assert!(stays_still(&prefix, "FRESH1").await);
    assert_eq!(journal_len(&prefix).await, 0, "nothing was journaled");
    assert!(simulated(&server).await.is_empty());
    // The session is subscribed: a real tick of the asset reaches it.
    server
        .ingest(&ticks_json("FRESH1", &[("1.2345", now_ms())]))
        .await;
    update_of(&mut client, "FRESH1", Some("1.2345")).await;
    stop_stream(&mut client).await;
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn an_on_demand_simulation_is_shown_and_never_stored() {
    let dist = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let url = format!("sqlite:{}", file.display());
    let prefix = unique_prefix("sim-store");
    let server = start_with_db(
        dist.path(),
        &prefix,
        &url,
        &["--simulator-on-demand", "--simulator-rate", RATE],
    )
    .await;
    let mut client = Client::connect(&server.ws).await;
    start_stream(&mut client, "DEMO1").await.unwrap();
    update_of(&mut client, "DEMO1", None).await;
    assert_eq!(simulated(&server).await, vec!["DEMO1".to_owned()]);
    let journal = entries(&prefix).await;
    let (first_id, first) = journal.first().unwrap();
    assert!(first.simulated && first.ticks[0].asset.as_str() == "DEMO1");
    // A real tick of another asset: the persister's batches run meanwhile.
    server
        .ingest(&ticks_json("REAL1", &[("2.5", now_ms())]))
        .await;
    rows_written(&server, 1).await;
    // Another batch interval with simulated entries in it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(journaled(&prefix, "DEMO1").await.0, 0);
    let s = status(&server.base).await;
    assert_eq!(s["batch_status"]["rows_written"], 1, "{s}");
    server.stop().await;
    // The persister acknowledged the simulated entries (the journal was
    // trimmed past the first) and stored none of them.
    assert!(
        entries(&prefix).await.iter().all(|(id, _)| id != first_id),
        "the first simulated entry is still in the journal"
    );
    assert_eq!(stored_rows(&file, "DEMO1").await, 0);
    assert_eq!(stored_rows(&file, "REAL1").await, 1);
    // No capped tick list is left behind for the simulated asset.
    let mut conn = common::redis().await;
    let exists: bool = redis::cmd("EXISTS")
        .arg(format!("{prefix}ticks:DEMO1"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!exists);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn without_redis_simulated_ticks_reach_only_the_candles() {
    let dist = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let url = format!("sqlite:{}", file.display());
    let server = start_bare(
        dist.path(),
        &[
            "--redis-url",
            "none",
            "--database-url",
            &url,
            "--ingest-token",
            common::TOKEN,
            "--simulator-on-demand",
            "--simulator-rate",
            RATE,
        ],
    )
    .await;
    let mut client = Client::connect(&server.ws).await;
    start_stream(&mut client, "DEMO2").await.unwrap();
    for _ in 0..3 {
        update_of(&mut client, "DEMO2", None).await;
    }
    server
        .ingest(&ticks_json("REAL2", &[("3.25", now_ms())]))
        .await;
    server.stop().await;
    assert_eq!(stored_rows(&file, "DEMO2").await, 0);
    assert_eq!(stored_rows(&file, "REAL2").await, 1);
}

#[tokio::test]
async fn an_asset_with_real_ticks_is_never_simulated() {
    let dist = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticks.db");
    let url = format!("sqlite:{}", file.display());
    let prefix = unique_prefix("sim-real");
    let args = ["--simulator-on-demand", "--simulator-rate", RATE];
    let server = start_with_db(dist.path(), &prefix, &url, &args).await;
    let t = now_ms();
    server
        .ingest(&ticks_json("REAL3", &[("7.5", t), ("7.6", t + 1)]))
        .await;
    let mut client = Client::connect(&server.ws).await;
    // Real in the live candles: streamed, not simulated.
    let started = start_stream(&mut client, "REAL3").await.unwrap();
    assert_eq!(started.asset.as_str(), "REAL3");
    assert!(stays_still(&prefix, "REAL3").await);
    assert_eq!(journaled(&prefix, "REAL3").await, (2, 0));
    assert!(simulated(&server).await.is_empty());
    rows_written(&server, 2).await;
    server.stop().await;

    // Known only to the tick store (a fresh journal): still not simulated.
    let fresh = unique_prefix("sim-real-stored");
    let server = start_with_db(dist.path(), &fresh, &url, &args).await;
    let mut client = Client::connect(&server.ws).await;
    start_stream(&mut client, "REAL3").await.unwrap();
    assert!(stays_still(&fresh, "REAL3").await);
    assert_eq!(journaled(&fresh, "REAL3").await, (0, 0));
    assert!(simulated(&server).await.is_empty());
    server.stop().await;
    cleanup(&prefix).await;
    cleanup(&fresh).await;
}

#[tokio::test]
async fn past_the_most_simulations_start_stream_is_refused() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("sim-max");
    // The default SIMULATOR_MAX_ASSETS: 8.
    let server = on_demand(dist.path(), &prefix, &[]).await;
    let mut clients = Vec::new();
    for i in 0..8 {
        let mut client = Client::connect(&server.ws).await;
        start_stream(&mut client, &format!("MAXSIM{i}"))
            .await
            .unwrap();
        clients.push(client);
    }
    let mut ninth = Client::connect(&server.ws).await;
    let refused = start_stream(&mut ninth, "MAXSIM8").await.unwrap_err();
    assert!(refused.error.contains("8 simulations"), "{}", refused.error);
    assert!(!refused.timestamp.is_empty());
    // Nothing of the refused one runs; watching a running one is fine.
    assert_eq!(journaled(&prefix, "MAXSIM8").await, (0, 0));
    start_stream(&mut ninth, "MAXSIM3").await.unwrap();
    assert_eq!(simulated(&server).await.len(), 8);
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_simulation_ends_after_its_last_session_leaves() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("sim-linger");
    let server = on_demand(dist.path(), &prefix, &[]).await;
    let mut a = Client::connect(&server.ws).await;
    let mut b = Client::connect(&server.ws).await;
    start_stream(&mut a, "LINGER1").await.unwrap();
    start_stream(&mut b, "LINGER1").await.unwrap();
    update_of(&mut b, "LINGER1", None).await;
    // The first session goes: the second still holds the simulation.
    drop(a);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !stays_still(&prefix, "LINGER1").await,
        "it stopped too soon"
    );
    // The last one goes: it ends after the linger (1 s here).
    drop(b);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(stays_still(&prefix, "LINGER1").await, "it goes on");

    // stop_stream by the only holder ends it at once.
    let mut c = Client::connect(&server.ws).await;
    start_stream(&mut c, "LINGER2").await.unwrap();
    update_of(&mut c, "LINGER2", None).await;
    stop_stream(&mut c).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stays_still(&prefix, "LINGER2").await, "it goes on");
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn stop_stream_stops_only_what_that_session_holds() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("sim-stop");
    let server = on_demand(dist.path(), &prefix, &["--simulate", "OPSFEED"]).await;
    let mut a = Client::connect(&server.ws).await;
    start_stream(&mut a, "DEMO3").await.unwrap();
    let mut stranger = Client::connect(&server.ws).await;
    // Holding nothing, stopping stops nothing.
    stop_stream(&mut stranger).await;
    // The operator's feed: streamed, never stopped by a session.
    start_stream(&mut stranger, "OPSFEED").await.unwrap();
    stop_stream(&mut stranger).await;
    // Joining the first session's simulation and stopping lets go of the
    // stranger's hold only.
    start_stream(&mut stranger, "DEMO3").await.unwrap();
    stop_stream(&mut stranger).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!stays_still(&prefix, "DEMO3").await, "DEMO3 stopped");
    assert!(!stays_still(&prefix, "OPSFEED").await, "OPSFEED stopped");
    update_of(&mut a, "DEMO3", None).await;
    // The operator's ticks are real (stored, as the operator chose).
    let (real, sim) = journaled(&prefix, "OPSFEED").await;
    assert!(real > 0 && sim == 0, "{real} real, {sim} simulated");
    assert_eq!(
        simulated(&server).await,
        vec!["DEMO3".to_owned(), "OPSFEED".to_owned()]
    );
    server.stop().await;
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_real_tick_ends_the_simulation_and_its_simulated_candles() {
    let dist = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("sim-turns-real");
    let server = on_demand(dist.path(), &prefix, &[]).await;
    let mut a = Client::connect(&server.ws).await;
    start_stream(&mut a, "TURNS").await.unwrap();
    for _ in 0..3 {
        update_of(&mut a, "TURNS", None).await;
    }
    server
        .ingest(&ticks_json("TURNS", &[("500", now_ms())]))
        .await;
    // The session is told its candles are void, then gets the real one.
    within(&mut a, |m| match m {
        ServerMessage::CandleSnapshot(s)
            if s.asset.as_str() == "TURNS" && s.timeframe == Timeframe::M1 =>
        {
            assert!(s.data.is_empty(), "{:?}", s.data);
            Some(())
        }
        _ => None,
    })
    .await;
    update_of(&mut a, "TURNS", Some("500")).await;
    // The simulation ended: no simulated tick after a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stays_still(&prefix, "TURNS").await, "still simulated");
    assert!(simulated(&server).await.is_empty());
    // Only the real tick is in the candles.
    let mut b = Client::connect(&server.ws).await;
    for tf in [Timeframe::M1, Timeframe::H1, Timeframe::D1] {
        b.subscribe("TURNS", Some(tf)).await;
        let s = b.snapshot().await;
        assert_eq!(s.data.len(), 1, "{:?}", s.data);
        let c = s.data[0];
        assert_eq!(c.asset(), Asset::new("TURNS"));
        assert_eq!(c.volume(), 1);
        for p in [c.open(), c.high(), c.low(), c.close()] {
            assert_eq!(p.to_string(), "500");
        }
    }
    // And it cannot be simulated again.
    let before = journaled(&prefix, "TURNS").await;
    start_stream(&mut b, "TURNS").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(journaled(&prefix, "TURNS").await, before);
    server.stop().await;
    cleanup(&prefix).await;
}
