//! The `tickstream` command line: `serve` (the default when no subcommand is
//! given) runs the server; `migrate` readies the tick store with the owner's
//! rights; `replay FILE` feeds a tick file; `health` and `monitor` are the
//! operator tools.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use anyhow::Context;

use crate::config::ServeConfig;
use crate::ops::health::{self, HealthArgs};
use crate::ops::monitor::{self, MonitorArgs};
use crate::replay::{self, ReplayArgs};
use crate::store::{ReadLimits, StoreTarget, TickStore};
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
    /// tickstream_writer (NOLOGIN) and their grants.
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
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let target = StoreTarget::parse(args.database_url.as_deref())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let Some(store) = TickStore::open(&target, Duration::from_secs(10), ReadLimits::default())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not usable: {e}"))?
    else {
        println!("DATABASE_URL=none: no tick store to migrate");
        return Ok(());
    };
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
