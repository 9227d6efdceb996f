//! [`Wal`]: the write-ahead file that holds batches accepted while the
//! configured Redis is away, until they are in the stream.
//!
//! Layout: a 16-byte header (`TSWAL001` and the file's random id, which
//! names its flushed-position key in Redis), then records, each
//! `[payload length u32 LE][CRC-32 of the payload u32 LE][payload]`, the
//! payload being the batch's `asset,price,timestamp_ms` lines as in a
//! stream entry. Records are numbered from 1 in file order. A torn record
//! at the end (a crash mid-write) fails its length or checksum and is
//! truncated at start-up; nothing else is ever dropped. The file is bounded
//! in bytes: past the bound an append is refused, and it is emptied (a new
//! id) once every record is in Redis.
//!
//! A file is locked by the process that uses it; another process on the
//! same path takes the next free of `NAME-1.EXT` .. `NAME-15.EXT`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use shared::Tick;

use super::entry;

const MAGIC: &[u8; 8] = b"TSWAL001";
const HEADER: u64 = 16;
const RECORD_HEAD: usize = 8;
/// No batch comes near this (10,000 ticks of about 40 bytes); a larger
/// length can only be a torn record.
const MAX_RECORD: u32 = 16 << 20;
/// Files tried when the configured one is locked by another process.
const SLOTS: usize = 16;

/// Why the write-ahead file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The file or its folder cannot be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds something else.
    #[error("{0} is not a tickstream write-ahead file (JOURNAL_WAL_PATH)")]
    Foreign(String),
    /// Every slot is locked by another process.
    #[error("{0} and its 15 alternatives are all in use by other processes (JOURNAL_WAL_PATH)")]
    Busy(String),
}

/// Where the write-ahead file lives and how large it may grow.
#[derive(Debug, Clone)]
pub struct WalSettings {
    /// The file (`JOURNAL_WAL_PATH`).
    pub path: PathBuf,
    /// Largest size in bytes (`JOURNAL_WAL_MAX_BYTES`).
    pub max_bytes: u64,
}

/// A record not yet in Redis.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    /// Its number in the file, from 1.
    pub number: u64,
    offset: u64,
    len: u32,
    /// Ticks it holds.
    pub ticks: usize,
    /// The append number of its first tick in this process.
    pub first_oseq: u64,
}

/// An open, locked write-ahead file and the records it holds.
#[derive(Debug)]
pub struct Wal {
    file: File,
    path: PathBuf,
    id: u64,
    held: VecDeque<Held>,
    next_number: u64,
    len: u64,
    max_bytes: u64,
    held_ticks: usize,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Wal {
    /// Opens (creating it and its folder) and locks the first free slot,
    /// reads its records and truncates a torn tail. Records found get
    /// append numbers from `first_oseq` on.
    ///
    /// # Errors
    ///
    /// [`WalError`] when no slot can be opened, or the file is not ours.
    pub fn open(settings: &WalSettings, first_oseq: u64) -> Result<Self, WalError> {
        if let Some(dir) = settings.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        for slot in 0..SLOTS {
            let path = slot_path(&settings.path, slot);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io(&path))?;
            match file.try_lock() {
                Ok(()) => return Self::load(file, path, settings.max_bytes, first_oseq),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
        Err(WalError::Busy(settings.path.display().to_string()))
    }

    fn load(file: File, path: PathBuf, max_bytes: u64, first_oseq: u64) -> Result<Self, WalError> {
        let size = file.metadata().map_err(io(&path))?.len();
        let mut wal = Self {
            file,
            path,
            id: 0,
            held: VecDeque::new(),
            next_number: 1,
            len: HEADER,
            max_bytes,
            held_ticks: 0,
        };
        if size < HEADER {
            wal.reset()?;
            return Ok(wal);
        }
        let mut reader = BufReader::new(&wal.file);
        let mut header = [0u8; HEADER as usize];
        reader.read_exact(&mut header).map_err(io(&wal.path))?;
        if &header[..8] != MAGIC {
            return Err(WalError::Foreign(wal.path.display().to_string()));
        }
        wal.id = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        let mut oseq = first_oseq;
        let mut found = Vec::new();
        while let Some((len, ticks)) = next_record(&mut reader, size - wal.len) {
            found.push(Held {
                number: wal.next_number,
                offset: wal.len,
                len,
                ticks,
                first_oseq: oseq,
            });
            oseq += ticks as u64;
            wal.next_number += 1;
            wal.len += RECORD_HEAD as u64 + u64::from(len);
        }
        drop(reader);
        for held in found {
            wal.held_ticks += held.ticks;
            wal.held.push_back(held);
        }
        if wal.len < size {
            tracing::warn!(
                file = %wal.path.display(),
                bytes = size - wal.len,
                "a torn record at the end of the write-ahead file (a crash mid-write) is dropped"
            );
            wal.file.set_len(wal.len).map_err(io(&wal.path))?;
            wal.file.sync_all().map_err(io(&wal.path))?;
        }
        Ok(wal)
    }

    /// The file's id, which names its flushed-position key.
    #[must_use]
    pub const fn id(&self) -> u64 {
        self.id
    }

    /// The file in use.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records held, oldest first.
    pub fn held(&self) -> impl Iterator<Item = &Held> {
        self.held.iter()
    }

    /// Whether no record waits for Redis.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Ticks waiting for Redis.
    #[must_use]
    pub const fn held_ticks(&self) -> usize {
        self.held_ticks
    }

    /// Bytes the file holds.
    #[must_use]
    pub const fn bytes(&self) -> u64 {
        self.len
    }

    /// Whether `more` bytes of records fit under the bound.
    #[must_use]
    pub const fn fits(&self, more: u64) -> bool {
        self.len + more <= self.max_bytes
    }

    /// Appends records (from [`encode`]) with their tick counts and first
    /// append numbers, then one `fsync`: all are durable when this returns.
    ///
    /// # Errors
    ///
    /// An I/O error; the file is cut back to where it was.
    pub fn append(&mut self, records: &[(Vec<u8>, usize, u64)]) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(records.iter().map(|r| r.0.len()).sum());
        for (record, _, _) in records {
            bytes.extend_from_slice(record);
        }
        let written = self
            .file
            .write_all_at(&bytes, self.len)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        let mut offset = self.len;
        for (record, ticks, first_oseq) in records {
            let len = u32::try_from(record.len() - RECORD_HEAD).unwrap_or(u32::MAX);
            self.held.push_back(Held {
                number: self.next_number,
                offset,
                len,
                ticks: *ticks,
                first_oseq: *first_oseq,
            });
            self.next_number += 1;
            self.held_ticks += ticks;
            offset += record.len() as u64;
        }
        self.len = offset;
        Ok(())
    }

    /// Held records numbered after `after`, oldest first, with their ticks:
    /// at most `max_ticks` ticks (at least one record).
    ///
    /// # Errors
    ///
    /// An I/O error, or a record that no longer parses.
    pub fn read(&self, after: u64, max_ticks: usize) -> std::io::Result<Vec<(Held, Vec<Tick>)>> {
        let mut out = Vec::new();
        let mut total = 0;
        for held in self.held.iter().filter(|h| h.number > after) {
            if !out.is_empty() && total + held.ticks > max_ticks {
                break;
            }
            let mut payload = vec![0u8; held.len as usize];
            self.file
                .read_exact_at(&mut payload, held.offset + RECORD_HEAD as u64)?;
            let ticks = std::str::from_utf8(&payload)
                .ok()
                .and_then(entry::parse_lines)
                .ok_or_else(|| std::io::Error::other("a write-ahead record no longer parses"))?;
            total += ticks.len();
            out.push((*held, ticks));
        }
        Ok(out)
    }

    /// Forgets records up to number `through` (they are in Redis); once none
    /// is left, empties the file under a new id.
    ///
    /// # Errors
    ///
    /// An I/O error while emptying the file.
    pub fn flushed(&mut self, through: u64) -> Result<(), WalError> {
        while let Some(held) = self.held.front().filter(|h| h.number <= through) {
            self.held_ticks -= held.ticks;
            self.held.pop_front();
        }
        if self.held.is_empty() && self.len > HEADER {
            self.reset()?;
        }
        Ok(())
    }

    /// Empties the file and gives it a new id.
    fn reset(&mut self) -> Result<(), WalError> {
        self.id = RandomState::new().hash_one((std::process::id(), crate::clock::now_millis()));
        let mut header = [0u8; HEADER as usize];
        header[..8].copy_from_slice(MAGIC);
        header[8..].copy_from_slice(&self.id.to_le_bytes());
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all_at(&header, 0))
            .and_then(|()| self.file.sync_all())
            .map_err(io(&self.path))?;
        self.len = HEADER;
        self.next_number = 1;
        self.held.clear();
        self.held_ticks = 0;
        Ok(())
    }
}

/// A record of `ticks`, ready for [`Wal::append`].
#[must_use]
pub fn encode(ticks: &[Tick]) -> Vec<u8> {
    let payload = entry::lines(ticks);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut record = Vec::with_capacity(RECORD_HEAD + payload.len());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&crc32(payload.as_bytes()).to_le_bytes());
    record.extend_from_slice(payload.as_bytes());
    record
}

/// Reads one whole, intact record of at most `left` bytes: its length and
/// tick count; `None` at the end or at a torn record.
fn next_record(reader: &mut impl Read, left: u64) -> Option<(u32, usize)> {
    let mut head = [0u8; RECORD_HEAD];
    if left < RECORD_HEAD as u64 || reader.read_exact(&mut head).is_err() {
        return None;
    }
    let len = u32::from_le_bytes(head[..4].try_into().ok()?);
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    if len > MAX_RECORD || u64::from(len) > left - RECORD_HEAD as u64 {
        return None;
    }
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload).ok()?;
    if crc32(&payload) != crc {
        return None;
    }
    let ticks = entry::parse_lines(std::str::from_utf8(&payload).ok()?)?;
    Some((len, ticks.len()))
}

fn slot_path(path: &Path, slot: usize) -> PathBuf {
    if slot == 0 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().map_or_else(
        || "journal".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{slot}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{slot}"),
    };
    path.with_file_name(name)
}

/// CRC-32 (IEEE), table-driven.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, b| {
        TABLE[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use shared::{Asset, Price, TimestampMs};

    use super::*;

    fn ticks(n: i64) -> Vec<Tick> {
        (0..n)
            .map(|i| {
                Tick::new(
                    Asset::new("WAL_otc"),
                    Price::new("1.0823"),
                    TimestampMs::new(1_705_314_600_000 + i),
                )
            })
            .collect()
    }

    fn settings(dir: &Path) -> WalSettings {
        WalSettings {
            path: dir.join("sub").join("journal.wal"),
            max_bytes: 1 << 20,
        }
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn records_survive_a_reopen_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let mut wal = Wal::open(&s, 1).unwrap();
        let id = wal.id();
        wal.append(&[(encode(&ticks(3)), 3, 1), (encode(&ticks(2)), 2, 4)])
            .unwrap();
        let good = wal.bytes();
        drop(wal);
        // A crash mid-write: half a record at the end.
        let half = &encode(&ticks(5))[..20];
        let file = OpenOptions::new().write(true).open(&s.path).unwrap();
        file.write_all_at(half, good).unwrap();
        drop(file);

        let wal = Wal::open(&s, 10).unwrap();
        assert_eq!(wal.id(), id);
        assert_eq!(wal.bytes(), good);
        assert_eq!(std::fs::metadata(&s.path).unwrap().len(), good);
        let numbers: Vec<(u64, usize, u64)> = wal
            .held()
            .map(|h| (h.number, h.ticks, h.first_oseq))
            .collect();
        assert_eq!(numbers, vec![(1, 3, 10), (2, 2, 13)]);
        let read = wal.read(0, 100).unwrap();
        assert_eq!(wal.read(1, 100).unwrap().len(), 1);
        assert_eq!(read[0].1, ticks(3));
        assert_eq!(read[1].1, ticks(2));
    }

    #[test]
    fn a_flushed_file_is_emptied_under_a_new_id_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.max_bytes = 300;
        let mut wal = Wal::open(&s, 1).unwrap();
        let record = encode(&ticks(3));
        assert!(wal.fits(record.len() as u64));
        wal.append(&[(record.clone(), 3, 1)]).unwrap();
        assert!(!wal.fits(3 * record.len() as u64));
        let id = wal.id();
        wal.flushed(1).unwrap();
        assert!(wal.is_empty());
        assert_ne!(wal.id(), id);
        assert_eq!(std::fs::metadata(&s.path).unwrap().len(), HEADER);
    }

    #[test]
    fn a_second_process_takes_the_next_slot() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let first = Wal::open(&s, 1).unwrap();
        let second = Wal::open(&s, 1).unwrap();
        assert_eq!(second.path(), dir.path().join("sub").join("journal-1.wal"));
        drop((first, second));
    }
}
