//! The `tickstream` command line: `serve` (the default when no subcommand is
//! given) runs the server; `migrate` readies the tick store with the owner's
//! rights, adopting the original design's `historical_ticks` first;
//! `replay FILE` feeds a tick file; `health` and `monitor` are the
//! operator tools.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use shared::time::iso8601;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use anyhow::Context;

use crate::config::ServeConfig;
use crate::ops::health::{self, HealthArgs};
use crate::ops::monitor::{self, MonitorArgs};
use crate::replay::{self, ReplayArgs};
use crate::store::adopt::{AdoptError, Shape};
use crate::store::{PgStore, ReadLimits, StoreTarget, TickStore};
use crate::{app, shutdown};

/// Real-time market data: price ticks in, OHLC candles out, live in the browser.
#[derive(Debug, Parser)]
#[command(name = "tickstream", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    command: Option<Command>,

    /// Settings for the default `serve`.
    #[command(flatten)]
    serve: ServeConfig,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default). Boxed: the settings outweigh the
    /// other commands' many times.
    Serve(Box<ServeConfig>),
    /// Apply the tick store's migrations with the owner's rights; on
    /// PostgreSQL also the group roles tickstream_reader and
    /// tickstream_writer (NOLOGIN) and their grants, after adopting a
    /// `historical_ticks` made by the original design's schema (seconds to
    /// milliseconds, duplicates merged, the unique key added).
    Migrate(MigrateArgs),
    /// Feed a tick file into a running server or the Redis journal.
    Replay(ReplayArgs),
    /// Check Redis, pub/sub, the cache, the persister and the database;
    /// exit 0 when healthy, 1 otherwise.
    Health(HealthArgs),
    /// Sample Redis latency, memory, clients and hit ratio on an interval.
    Monitor(MonitorArgs),
}

impl Cli {
    /// Runs the chosen command to completion.
    ///
    /// # Errors
    ///
    /// When the server cannot start (address in use, say) or fails.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Some(Command::Serve(config)) => serve(*config).await,
            Some(Command::Migrate(args)) => migrate(args).await,
            Some(Command::Replay(args)) => replay::run(args).await,
            Some(Command::Health(args)) => {
                if health::run(args).await {
                    Ok(())
                } else {
                    std::process::exit(1)
                }
            }
            Some(Command::Monitor(args)) => monitor::run(args).await,
            None => serve(self.serve).await,
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} (BIND)", config.bind))?;
    let stop = CancellationToken::new();
    tokio::spawn(shutdown::cancel_on_signal(stop.clone()));
    app::run(listener, config, stop).await
}

/// Options of `tickstream migrate`.
#[derive(Debug, Clone, Args)]
struct MigrateArgs {
    /// The tick store, connected as its owner (a role that may create roles,
    /// on PostgreSQL); the same forms as `serve` takes. Unset or empty: the
    /// embedded store, `sqlite:data/tickstream.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Only say what would be done (adopting the original design's
    /// `historical_ticks`, the migrations pending) and change nothing.
    #[arg(long)]
    dry_run: bool,
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let target = StoreTarget::parse(args.database_url.as_deref())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    if args.dry_run {
        return dry_run(&target).await;
    }
    let Some(store) = TickStore::open(&target, Duration::from_secs(10), ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not usable: {e}"))?
    else {
        println!("DATABASE_URL=none: no tick store to migrate");
        return Ok(());
    };
    if let TickStore::Postgres(pg) = &store {
        adopt_original(pg).await?;
    }
    let applied = store.migrate().await.with_context(|| {
        format!(
            "cannot migrate the {} tick store (connect as its owner)",
            store.kind()
        )
    })?;
    println!(
        "{} tick store migrated: {applied} new migration(s) applied, schema current",
        store.kind()
    );
    if matches!(store, TickStore::Postgres(_)) {
        println!(
            "group roles tickstream_reader and tickstream_writer (NOLOGIN) hold the grants: \
             serve as a login role IN ROLE tickstream_writer"
        );
    }
    Ok(())
}

/// Says what `migrate` would do on `target`, changing nothing (not even
/// creating the embedded store's file).
async fn dry_run(target: &StoreTarget) -> anyhow::Result<()> {
    let pg = match target {
        StoreTarget::Nothing => {
            println!("DATABASE_URL=none: no tick store to migrate");
            return Ok(());
        }
        StoreTarget::Sqlite(path) => {
            println!(
                "the embedded store (sqlite:{}) has no original form: nothing to adopt; \
                 migrate applies its migrations",
                path.display()
            );
            println!("dry run: nothing changed");
            return Ok(());
        }
        StoreTarget::Postgres(url) => PgStore::connect_lazy(url, Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("DATABASE_URL is not usable: {e}"))?,
    };
    let shape = pg.adoption().await?;
    describe(&shape);
    if let Shape::Original(plan) = &shape
        && plan.non_positive > 0
    {
        return Err(AdoptError::NonPositive(plan.non_positive).into());
    }
    match pg.pending_migrations().await? {
        Some(behind) => println!("migrations: {behind}; migrate applies the rest"),
        None => println!("migrations: schema current"),
    }
    println!("dry run: nothing changed");
    Ok(())
}

/// Adopts the original design's `historical_ticks`, if that is what the
/// database holds, saying what it does.
async fn adopt_original(pg: &PgStore) -> anyhow::Result<()> {
    let shape = pg.adoption().await?;
    describe(&shape);
    if !matches!(shape, Shape::Original(_)) {
        return Ok(());
    }
    match pg.adopt().await? {
        Some(done) => println!(
            "adopted: {} row(s) now in Unix milliseconds, {} exact duplicate(s) merged, \
             unique key historical_ticks_identity in place",
            done.converted, done.merged
        ),
        None => println!("nothing to adopt any more: another run adopted historical_ticks"),
    }
    Ok(())
}

/// Prints what the database holds and, for the original design's table,
/// what adopting it does.
fn describe(shape: &Shape) {
    let plan = match shape {
        Shape::Absent => {
            println!("no historical_ticks yet: nothing to adopt (the migrations create it)");
            return;
        }
        Shape::Current => {
            println!(
                "historical_ticks has tickstream's unique key on (pair, timestamp, price): \
                 nothing to adopt"
            );
            return;
        }
        Shape::Original(plan) => plan,
    };
    let span = plan.span.map_or_else(String::new, |(oldest, newest)| {
        format!(
            ", stamped {oldest} ({}) to {newest} ({})",
            iso8601(oldest),
            iso8601(newest)
        )
    });
    println!(
        "historical_ticks is the original design's table (Unix seconds, no unique key on \
         (pair, timestamp, price)): {} row(s){span}",
        plan.rows
    );
    println!(
        "adopting it, in one transaction: merge {} exact duplicate(s) (same pair, timestamp \
         and price; the lowest id stays), convert {} row(s) from Unix seconds to milliseconds, \
         add the unique key historical_ticks_identity and the check \
         historical_ticks_price_positive; its row-level security policies stay",
        plan.duplicates,
        plan.converts()
    );
    if plan.non_positive > 0 {
        println!(
            "but {} row(s) have a price of 0 or less, which the check refuses: \
             adoption stops until they are fixed or deleted",
            plan.non_positive
        );
    }
}
