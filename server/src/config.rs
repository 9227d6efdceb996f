//! Settings for `tickstream serve`: each is a flag and an environment
//! variable, with the defaults of the design.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// How the server runs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "0.0.0.0:3001")]
    pub bind: SocketAddr,

    /// Folder holding the built client (`trunk build --release` writes it).
    #[arg(long, env = "DIST_DIR", default_value = "dist")]
    pub dist: PathBuf,
}
