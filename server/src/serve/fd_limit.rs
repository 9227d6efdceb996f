//! The open-files limit: raised from the soft to the hard limit at start-up
//! (through the `rlimit` crate, as this workspace forbids `unsafe`), and
//! the connection cap that fits in it.

/// Descriptors kept for everything but client connections: Redis, the
/// database pools, files of the page, refusals being written, the runtime.
pub const RESERVED: u64 = 128;

/// Raises the soft `RLIMIT_NOFILE` to the hard one and returns the soft
/// limit now in force, or `None` where it cannot be read. Logs both.
#[cfg(unix)]
pub fn raise() -> Option<u64> {
    let raised = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!("cannot read the open-files limit: {e}");
            return None;
        }
    };
    if let Err(e) = raised {
        tracing::warn!("cannot raise the open-files limit (soft {soft}, hard {hard}): {e}");
    }
    tracing::info!(soft, hard, "open-files limit");
    Some(soft)
}

/// Elsewhere there is no such limit to raise.
#[cfg(not(unix))]
pub fn raise() -> Option<u64> {
    None
}

/// The connection cap in force: `max_connections`, or fewer when the
/// open-files limit `nofile` cannot hold that many plus [`RESERVED`] (the
/// server would otherwise fail to accept, or to open anything else, with
/// "Too many open files"). Warns when it lowers the cap.
#[must_use]
pub fn fitting(max_connections: u32, nofile: Option<u64>) -> usize {
    let wanted = u64::from(max_connections);
    let Some(nofile) = nofile else {
        return usize::try_from(wanted).unwrap_or(usize::MAX);
    };
    let room = nofile.saturating_sub(RESERVED).max(1);
    if wanted > room {
        tracing::warn!(
            "MAX_CONNECTIONS={wanted} does not fit in the open-files limit of {nofile} \
             ({RESERVED} kept for the server itself): at most {room} connections will be \
             accepted; raise the hard limit (`ulimit -Hn`, LimitNOFILE=) to allow more"
        );
    }
    usize::try_from(wanted.min(room)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_in_the_limit() {
        assert_eq!(fitting(10_000, Some(1_048_576)), 10_000);
        assert_eq!(fitting(10_000, Some(256)), 128);
        assert_eq!(fitting(10_000, Some(100)), 1);
        assert_eq!(fitting(50, None), 50);
    }
}
