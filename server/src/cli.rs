//! The `tickstream` command line: `serve` (the default when no subcommand is
//! given) runs the server; `replay FILE` feeds a tick file; `health` and
//! `monitor` are the operator tools.

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use anyhow::Context;

use crate::config::ServeConfig;
use crate::ops::health::{self, HealthArgs};
use crate::ops::monitor::{self, MonitorArgs};
use crate::replay::{self, ReplayArgs};
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
