//! Waiting until late ticks are in the store, so that candles recomputed
//! from it hold them: the store holds every one of them, and (with Redis)
//! the persister has acknowledged every journal entry up to the newest one,
//! so every tick journaled before them is stored too. Waits as long as the
//! store or Redis is away: late ticks are never forgotten.

use std::time::{Duration, Instant};

use shared::Tick;
use tokio_util::sync::CancellationToken;

use super::acks;
use crate::journal::Journal;
use crate::store::TickStore;

/// First pause between two looks; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
/// Ticks looked up in the store at a time.
const LOOKUP_CHUNK: usize = 10_000;
/// Longest pause between two looks.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);
/// How long late ticks may be missing from the store once the persister
/// has acknowledged them (it refused them as rows, and logged why) before
/// the candles are restated without them.
const REFUSED_AFTER: Duration = Duration::from_secs(60);

/// Where the journal is, for the acknowledgement check.
#[derive(Clone)]
pub struct JournalStream {
    /// The journal (its Redis connection).
    pub journal: Journal,
    /// The journal streams' keys (one per shard).
    pub streams: Vec<String>,
    /// The persister's consumer group.
    pub group: String,
}

/// Sleeps for `pause` (or until `stop`) and doubles it; `false` when stopped.
async fn pause(pause: &mut Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => return false,
        () = tokio::time::sleep(*pause) => {}
    }
    *pause = (*pause * 2).min(LONGEST_PAUSE);
    true
}

/// Waits until `ticks` are stored and, with `stream`, everything journaled
/// up to now is acknowledged. Returns `false` when `stop` came first.
pub async fn wait(
    store: &TickStore,
    stream: Option<&JournalStream>,
    ticks: &[Tick],
    stop: &CancellationToken,
) -> bool {
    let Some(stream) = stream else {
        // The store is the journal: ticks are committed before the feed
        // sees them.
        return true;
    };
    let mut gap = FIRST_PAUSE;
    let mut missing: Vec<Tick> = {
        let mut distinct = ticks.to_vec();
        distinct.sort_unstable_by_key(|t| (t.asset, t.timestamp, t.price));
        distinct.dedup();
        distinct
    };
    // The newest entry when the ticks were first missed, and since when the
    // persister has acknowledged it.
    let mut first_missed: Option<Newest> = None;
    let mut acked_since: Option<Instant> = None;
    loop {
        // Parts found stored are not looked up again.
        let mut still = Vec::new();
        for part in missing.chunks(LOOKUP_CHUNK) {
            match store.contains(part).await {
                Ok(n) if n >= part.len() as u64 => {}
                Ok(_) => still.extend_from_slice(part),
                Err(e) => {
                    tracing::debug!("late ticks: the store cannot be read yet: {e}");
                    still.extend_from_slice(part);
                }
            }
        }
        missing = still;
        if missing.is_empty() {
            break;
        }
        if first_missed.is_none() {
            first_missed = newest(stream).await.ok().flatten();
        }
        // Missing though acknowledged: refused rows; go on without them.
        if let Some(upto) = &first_missed
            && acknowledged(stream, upto).await == Some(true)
        {
            let since = *acked_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= REFUSED_AFTER {
                tracing::warn!(
                    "late ticks acknowledged by the persister are not in the store (refused rows): restating without them"
                );
                break;
            }
        }
        if !pause(&mut gap, stop).await {
            return false;
        }
    }
    // Everything journaled up to now (a fixed point: live ticks keep coming).
    let mut gap = FIRST_PAUSE;
    let upto = loop {
        match newest(stream).await {
            Ok(Some(id)) => break id,
            // Nothing was ever journaled.
            Ok(None) => return true,
            Err(()) => {}
        }
        if !pause(&mut gap, stop).await {
            return false;
        }
    };
    let mut gap = FIRST_PAUSE;
    loop {
        if acknowledged(stream, &upto).await == Some(true) {
            return true;
        }
        if !pause(&mut gap, stop).await {
            return false;
        }
    }
}

/// Per journal stream, the id of its newest entry (`None`: it has none).
type Newest = Vec<Option<acks::Id>>;

/// The ids of the newest entries journaled, per stream (`None`: there is
/// none in any); `Err` when Redis cannot say.
async fn newest(stream: &JournalStream) -> Result<Option<Newest>, ()> {
    let mut conn = stream.journal.connection().await.ok_or(())?;
    let mut ids = Vec::with_capacity(stream.streams.len());
    for key in &stream.streams {
        let id = acks::last_generated(&mut conn, key)
            .await
            .map_err(|e| tracing::debug!("late ticks: the journal cannot be read: {e}"))?;
        ids.push(id);
    }
    Ok(ids.iter().any(Option::is_some).then_some(ids))
}

/// Whether the persister has stored every entry journaled up to `upto` in
/// every stream; `None` when Redis cannot say.
async fn acknowledged(stream: &JournalStream, upto: &Newest) -> Option<bool> {
    let mut conn = stream.journal.connection().await?;
    for (key, upto) in stream.streams.iter().zip(upto) {
        let Some(upto) = upto else { continue };
        let done = acks::acknowledged(&mut conn, key, &stream.group, *upto)
            .await
            .inspect_err(|e| {
                tracing::debug!("late ticks: the persister's progress cannot be read: {e}")
            })
            .ok()?;
        if !done {
            return Some(false);
        }
    }
    Some(true)
}
