//! Where things are: the workspace root, the `tickstream` binary and the built
//! page, each overridable through the environment.

use std::path::PathBuf;

/// The workspace root (the parent of this crate).
#[must_use]
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The cargo target folder: `CARGO_TARGET_DIR` or `<workspace>/target`.
#[must_use]
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The server binary: `TICKSTREAM_BIN`, or the debug build that `cargo test`
/// makes alongside these tests.
#[must_use]
pub fn tickstream_bin() -> PathBuf {
    std::env::var_os("TICKSTREAM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join("tickstream"))
}

/// The built client: `DIST_DIR` or `<workspace>/dist`.
#[must_use]
pub fn dist() -> PathBuf {
    std::env::var_os("DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"))
}

/// A folder for test output such as screenshots: `<target>/e2e`.
#[must_use]
pub fn artifacts() -> PathBuf {
    target_dir().join("e2e")
}
