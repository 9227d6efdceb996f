//! The `tickstream` binary: parses the command line and hands over to the
//! library. Nothing else lives here.

use clap::Parser;
use server::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A `.env` file, when present, supplies settings not in the environment.
    let _ = dotenvy::dotenv();
    // TLS (rediss://, sslmode) uses ring; an error means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::telemetry::init();
    Cli::parse().run().await
}
