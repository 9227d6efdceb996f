//! [`StoreTarget`]: which tick store `DATABASE_URL` names.

use std::path::PathBuf;

/// Where the embedded store lives when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "data/tickstream.db";

/// Where ticks are kept, from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// `none`: ticks are not stored.
    Nothing,
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// `sqlite:PATH` or `sqlite://PATH`; unset or empty: [`DEFAULT_SQLITE_PATH`].
    Sqlite(PathBuf),
}

impl StoreTarget {
    /// Reads a `DATABASE_URL` value; `None` (unset) means the embedded store.
    ///
    /// # Errors
    ///
    /// A scheme that is neither PostgreSQL nor SQLite, or an empty SQLite path.
    pub fn parse(url: Option<&str>) -> Result<Self, String> {
        let url = url.map(str::trim).unwrap_or_default();
        if url.is_empty() {
            return Ok(Self::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)));
        }
        if url.eq_ignore_ascii_case("none") {
            return Ok(Self::Nothing);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err("a SQLite URL needs a file path: sqlite:data/tickstream.db".to_owned());
            }
            if path.contains('?') {
                return Err("a SQLite URL takes a file path and no options".to_owned());
            }
            if path == ":memory:" {
                return Err(
                    "an in-memory SQLite database keeps nothing: name a file, sqlite:data/tickstream.db"
                        .to_owned(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(format!(
            "expected postgres://..., sqlite:PATH or none, got {:?}",
            url.split(':').next().unwrap_or_default()
        ))
    }
}
