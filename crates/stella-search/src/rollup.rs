//! Entity rollups: what the events of one partition say about each entity (a host, for host
//! ID), kept up to date as events are indexed, so a question about one entity costs a lookup
//! instead of an aggregation over all of its events. Elasticsearch's answer to the same need is
//! an entity-centric index kept by a continuous transform; here the rollup lives beside each
//! daily partition and follows it exactly:
//!
//! * **What**: a hook registered with the index ([`Rollup`], in [`IndexOptions`]) turns an
//!   event into facts `(entity, list, value)`. Per partition, each fact is kept once with the
//!   first and last event time and the number of events that stated it ([`Stat`]).
//! * **Durable with the partition's commit**: the indexer collects the facts of the events it
//!   hands a partition's writer, and before each commit of that partition appends them as one
//!   frame, tagged with the commit's log position, to the partition's `ROLLUP` file (fsynced).
//!   A frame past the position of the partition's commit (the server stopped between the two)
//!   is never read, and is cut off when a writer next opens the partition; the log replays
//!   those events and they are collected again. So the rollup holds exactly the committed
//!   events, however the server stops, with the WAL or with JetStream, on every server.
//! * **Retention and backups**: the file is in the partition's directory, so a dropped day
//!   takes its rollup with it; `backup.rs` copies it after the commit it goes with.
//! * **Bounded**: at most [`MAX_VALUES`] values per entity and list (more marks the list
//!   full), at most [`MAX_ENTITIES`] entities per partition. A partition past that, one
//!   written before rollups existed (no `ROLLUP` file), or one written by another version of
//!   the hook is *incomplete*: [`crate::EventIndex::rollup`] then answers `None` and the
//!   caller asks the events themselves.
//! * **Compacted**: when the frames grow past twice the size of the last compaction (plus
//!   4 MiB), the writer folds them into one frame in a new file, renamed over the old one.
//!
//! Facts add up (the first time is the earliest, the last the latest, counts sum), so frames
//! are folded in any grouping. An event's facts are those of its first version: a replaced
//! event (`replace`: an analyst's tags, status or comments on it) is not counted again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

use crate::error::SearchError;
use crate::tape::{Node, Tape};

/// Maps keyed by event text: foldhash, seeded at random per map (so crafted values cannot be
/// made to collide), several times cheaper than SipHash on these short keys.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Most values kept for one entity and list in one partition; past it the list is full.
pub const MAX_VALUES: usize = 1000;
/// Most entities one partition's rollup keeps before it is incomplete.
pub const MAX_ENTITIES: usize = 500_000;
/// Longest value kept (as the columnar index keeps strings, see `tokenizer.rs`).
const MAX_VALUE_CHARS: usize = crate::tokenizer::KEYWORD_IGNORE_ABOVE;
/// Lists per entity (list ids are below this).
pub const MAX_LISTS: u8 = 32;

pub(crate) const FILE: &str = "ROLLUP";
const MAGIC: &[u8; 8] = b"STLRLP01";
/// magic, hook version.
const HEADER: usize = 12;
/// body length, crc32 of (lsn, kind, body), lsn, kind.
const FRAME_HEADER: usize = 4 + 4 + 8 + 1;
const KIND_FACTS: u8 = 0;
const KIND_OVERFLOW: u8 = 1;
/// A compaction's frame (always the first): sorted, with an index (`Fold::encode_indexed`).
const KIND_INDEXED: u8 = 2;
const COMPACT_SLACK: u64 = 4 * 1024 * 1024;

/// The hook that says which facts an event states. `version` changes whenever the facts an
/// event yields change: rollups written by another version are incomplete.
pub trait Rollup: Send + Sync + 'static {
    fn version(&self) -> u32;
    /// The facts `event` states, pushed to `out` (duplicates are removed by the caller).
    fn facts<'a>(&self, event: &EventView<'a>, out: &mut Vec<Fact<'a>>);
}

/// The hook as [`IndexOptions`] holds it.
#[derive(Clone)]
pub struct RollupHook(pub Arc<dyn Rollup>);

impl std::fmt::Debug for RollupHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RollupHook(version {})", self.0.version())
    }
}

/// One fact: `entity` (say, an address) has `value` in `list` (say, a user agent it sent).
/// Borrowed from the event's text where it can be: most facts repeat what the rollup has, and
/// are then counted without copying anything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fact<'a> {
    pub entity: Cow<'a, str>,
    pub list: u8,
    pub value: Cow<'a, str>,
}

/// When a fact was first and last stated, and by how many events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub first_ms: i64,
    pub last_ms: i64,
    pub count: u64,
}

impl Stat {
    fn add(&mut self, o: &Stat) {
        self.first_ms = self.first_ms.min(o.first_ms);
        self.last_ms = self.last_ms.max(o.last_ms);
        self.count = self.count.saturating_add(o.count);
    }
}

/// A scalar of an event, as the hook sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leaf<'a> {
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// One event, read-only, for a [`Rollup`] hook.
pub struct EventView<'a> {
    tape: &'a Tape,
    text: &'a str,
    ts_ms: i64,
}

impl<'a> EventView<'a> {
    pub(crate) fn new(tape: &'a Tape, text: &'a str, ts_ms: i64) -> EventView<'a> {
        EventView { tape, text, ts_ms }
    }

    /// The event's time (epoch milliseconds).
    pub fn ts_ms(&self) -> i64 {
        self.ts_ms
    }

    /// Every scalar at the dotted `path`, arrays flattened at any level (as the index sees a
    /// path: `dns.answers.rrname` is the `rrname` of every answer).
    pub fn each(&self, path: &str, f: &mut dyn FnMut(Leaf<'a>)) {
        self.walk(0, Some(path), f);
    }

    /// The first string at `path`.
    pub fn str(&self, path: &str) -> Option<&'a str> {
        let mut out = None;
        self.each(path, &mut |l| {
            if let (None, Leaf::Str(s)) = (out, l) {
                out = Some(s);
            }
        });
        out
    }

    /// `path`: the keys still to follow (`None` once followed).
    fn walk(&self, i: usize, path: Option<&str>, f: &mut dyn FnMut(Leaf<'a>)) {
        let (tape, text) = (self.tape, self.text);
        match tape.node(i) {
            Node::Array { .. } => {
                for e in tape.elements(i) {
                    self.walk(e, path, f);
                }
            }
            Node::Object { .. } => {
                if let Some(path) = path {
                    let (first, rest) = match path.split_once('.') {
                        Some((first, rest)) => (first, Some(rest)),
                        None => (path, None),
                    };
                    if let Some(v) = tape.get(text, i, first) {
                        self.walk(v, rest, f);
                    }
                }
            }
            _ if path.is_some() => {}
            Node::Null => {}
            Node::Bool(b) => f(Leaf::Bool(b)),
            Node::I64(n) => f(Leaf::I64(n)),
            Node::U64(n) => f(Leaf::U64(n)),
            Node::F64(n) => f(Leaf::F64(n)),
            Node::Str { .. } => {
                let s = tape.str(text, i);
                if s.len() <= MAX_VALUE_CHARS || s.chars().count() <= MAX_VALUE_CHARS {
                    f(Leaf::Str(s))
                }
            }
        }
    }
}

/// What one entity has in one partition (or several, folded): by list, each value's
/// [`Stat`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityFacts {
    lists: Vec<(u8, Map<Box<str>, Stat>)>,
    /// Lists that reached [`MAX_VALUES`] (a bit per list id).
    full: u32,
}

impl EntityFacts {
    fn add(&mut self, list: u8, value: &str, stat: &Stat) {
        if list >= MAX_LISTS {
            return;
        }
        let at = match self.lists.iter().position(|(id, _)| *id == list) {
            Some(at) => at,
            None => {
                self.lists.push((list, Map::default()));
                self.lists.len() - 1
            }
        };
        let values = &mut self.lists[at].1;
        if let Some(s) = values.get_mut(value) {
            s.add(stat);
        } else if values.len() >= MAX_VALUES {
            self.full |= 1 << list;
        } else {
            values.insert(Box::from(value), *stat);
        }
    }

    /// Folds `other` in (another partition, or a later frame).
    pub fn merge(&mut self, other: &EntityFacts) {
        self.full |= other.full;
        for (list, values) in &other.lists {
            for (value, stat) in values {
                self.add(*list, value, stat);
            }
        }
    }

    /// The values of list `id` and their stats.
    pub fn list(&self, id: u8) -> impl Iterator<Item = (&str, &Stat)> {
        self.lists
            .iter()
            .filter(move |(l, _)| *l == id)
            .flat_map(|(_, values)| values.iter().map(|(v, s)| (&**v, s)))
    }

    /// Whether list `id` had more values than were kept.
    pub fn is_full(&self, id: u8) -> bool {
        id < MAX_LISTS && self.full & (1 << id) != 0
    }

    fn value_count(&self) -> usize {
        self.lists.iter().map(|(_, v)| v.len()).sum()
    }
}

/// Facts by entity: a partition's rollup, or the facts collected since its last commit.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    pub entities: Map<Box<str>, EntityFacts>,
    /// Past [`MAX_ENTITIES`]: no longer a full account.
    pub overflowed: bool,
}

impl Fold {
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && !self.overflowed
    }

    fn entity(&mut self, entity: &str) -> Option<&mut EntityFacts> {
        if !self.entities.contains_key(entity) {
            if self.entities.len() >= MAX_ENTITIES {
                self.overflowed = true;
                return None;
            }
            self.entities
                .insert(Box::from(entity), EntityFacts::default());
        }
        self.entities.get_mut(entity)
    }

    /// The facts of one event at `ts_ms` (sorted and deduplicated here: each event counts
    /// once per fact).
    pub fn add_event(&mut self, facts: &mut Vec<Fact<'_>>, ts_ms: i64) {
        facts.sort_unstable();
        facts.dedup();
        let stat = Stat {
            first_ms: ts_ms,
            last_ms: ts_ms,
            count: 1,
        };
        // Sorted by entity: each entity is looked up once.
        for group in facts.chunk_by(|a, b| a.entity == b.entity) {
            if let Some(e) = self.entity(&group[0].entity) {
                for f in group {
                    e.add(f.list, &f.value, &stat);
                }
            }
        }
        facts.clear();
    }

    fn merge(&mut self, other: Fold) {
        self.overflowed |= other.overflowed;
        for (name, facts) in other.entities {
            if let Some(e) = self.entity(&name) {
                e.merge(&facts);
            }
        }
    }

    /// A delta frame's body: the entities in any order.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((self.entities.len() as u32).to_le_bytes());
        for (name, e) in &self.entities {
            put_entity(&mut out, name, e);
        }
        out
    }

    fn decode(body: &[u8]) -> Option<Fold> {
        let mut r = Reader(body);
        let mut fold = Fold::default();
        for _ in 0..r.u32()? {
            let (name, e) = take_entity(&mut r)?;
            match fold.entity(name) {
                Some(slot) => slot.merge(&e),
                None => break,
            }
        }
        r.0.is_empty().then_some(fold)
    }

    /// A compacted frame's body: the entities sorted by name, then each one's offset in the
    /// body (u64), their number and where the offsets start (u64 each), so a reader finds one
    /// entity by binary search without reading the others.
    fn encode_indexed(&self) -> Vec<u8> {
        let mut names: Vec<&str> = self.entities.keys().map(|k| &**k).collect();
        names.sort_unstable();
        let mut out = Vec::new();
        let mut offsets = Vec::with_capacity(names.len());
        for name in &names {
            offsets.push(out.len() as u64);
            put_entity(&mut out, name, &self.entities[*name]);
        }
        let records = out.len() as u64;
        for o in offsets {
            out.extend(o.to_le_bytes());
        }
        out.extend((names.len() as u64).to_le_bytes());
        out.extend(records.to_le_bytes());
        out
    }

    fn decode_indexed(body: &[u8]) -> Option<Fold> {
        let (_, records) = indexed_trailer(body)?;
        let mut r = Reader(body.get(..records as usize)?);
        let mut fold = Fold::default();
        while !r.0.is_empty() {
            let (name, e) = take_entity(&mut r)?;
            fold.entity(name)?.merge(&e);
        }
        Some(fold)
    }
}

/// (entities, bytes of records) from an indexed body's last 16 bytes.
fn indexed_trailer(body: &[u8]) -> Option<(u64, u64)> {
    let t = body.len().checked_sub(16)?;
    let n = u64::from_le_bytes(body[t..t + 8].try_into().ok()?);
    let records = u64::from_le_bytes(body[t + 8..].try_into().ok()?);
    (records.checked_add(n.checked_mul(8)?)? == t as u64).then_some((n, records))
}

fn put_entity(out: &mut Vec<u8>, name: &str, e: &EntityFacts) {
    put_str(out, name);
    out.extend(e.full.to_le_bytes());
    out.extend((e.value_count() as u32).to_le_bytes());
    for (list, values) in &e.lists {
        for (value, s) in values {
            out.push(*list);
            put_str(out, value);
            out.extend(s.first_ms.to_le_bytes());
            out.extend(s.last_ms.to_le_bytes());
            out.extend(s.count.to_le_bytes());
        }
    }
}

fn take_entity<'a>(r: &mut Reader<'a>) -> Option<(&'a str, EntityFacts)> {
    let name = r.str()?;
    let mut e = EntityFacts {
        full: r.u32()?,
        ..EntityFacts::default()
    };
    for _ in 0..r.u32()? {
        let list = r.u8()?;
        let value = r.str()?;
        let stat = Stat {
            first_ms: r.i64()?,
            last_ms: r.i64()?,
            count: r.u64()?,
        };
        e.add(list, value, &stat);
    }
    Some((name, e))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> SearchError {
    SearchError::io(format!("{what} {}", path.display()), e)
}

/// Creates an empty rollup for a partition that has just been created (so it will hold
/// every event of the partition).
pub(crate) fn create(dir: &Path, version: u32) -> Result<(), SearchError> {
    let path = dir.join(FILE);
    let mut bytes = MAGIC.to_vec();
    bytes.extend(version.to_le_bytes());
    let mut f = File::create(&path).map_err(|e| io("creating", &path, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io("writing", &path, e))
}

/// One frame read from a rollup file.
struct Frame {
    lsn: u64,
    kind: u8,
    body: Vec<u8>,
    /// Bytes the frame takes in the file.
    len: u64,
}

/// The frame at the reader's position; `None` at the end or at a torn or damaged frame.
fn read_frame(f: &mut impl Read) -> Option<Frame> {
    let mut h = [0u8; FRAME_HEADER];
    f.read_exact(&mut h).ok()?;
    let len = u32::from_le_bytes(h[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(h[4..8].try_into().ok()?);
    let mut body = vec![0u8; len];
    f.read_exact(&mut body).ok()?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h[8..]);
    hasher.update(&body);
    (hasher.finalize() == crc).then(|| Frame {
        lsn: u64::from_le_bytes(h[8..16].try_into().unwrap_or_default()),
        kind: h[16],
        body,
        len: (FRAME_HEADER + len) as u64,
    })
}

fn frame_bytes(lsn: u64, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut tail = lsn.to_le_bytes().to_vec();
    tail.push(kind);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&tail);
    hasher.update(body);
    let mut out = Vec::with_capacity(FRAME_HEADER + body.len());
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(hasher.finalize().to_le_bytes());
    out.extend(tail);
    out.extend(body);
    out
}

/// The file's hook version, if it is a rollup file.
fn read_header(f: &mut impl Read) -> Option<u32> {
    let mut h = [0u8; HEADER];
    f.read_exact(&mut h).ok()?;
    (&h[..8] == MAGIC).then(|| u32::from_le_bytes(h[8..12].try_into().unwrap_or_default()))
}

/// The writer's side of one partition's rollup: facts collected since the last commit.
pub(crate) struct Pending {
    pub fold: Fold,
    /// The file's size after the last frame written, and after the last compaction.
    len: u64,
    compacted: u64,
    version: u32,
}

impl Pending {
    /// Opens a partition's rollup for writing, cutting off frames past `committed` (the
    /// server stopped between a frame and its commit). `None` when the partition has no
    /// complete rollup of this `version`: its facts are then not collected.
    pub fn open(dir: &Path, version: u32, committed: u64) -> Result<Option<Pending>, SearchError> {
        let path = dir.join(FILE);
        let mut f = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening", &path, e)),
        };
        let mut r = std::io::BufReader::new(&mut f);
        if read_header(&mut r) != Some(version) {
            return Ok(None);
        }
        let mut keep = HEADER as u64;
        while let Some(frame) = read_frame(&mut r) {
            if frame.kind == KIND_OVERFLOW {
                return Ok(None);
            }
            if frame.lsn > committed {
                break;
            }
            keep += frame.len;
        }
        drop(r);
        let size = f.metadata().map_err(|e| io("reading", &path, e))?.len();
        if size != keep {
            f.set_len(keep)
                .and_then(|_| f.sync_all())
                .map_err(|e| io("truncating", &path, e))?;
        }
        Ok(Some(Pending {
            fold: Fold::default(),
            len: keep,
            compacted: keep,
            version,
        }))
    }

    /// Appends what was collected as the frame of the commit at `lsn`, before that commit.
    /// Collecting then starts afresh: should the commit fail and a later one succeed, this
    /// frame is that commit's too (its position is past this one).
    pub fn write(&mut self, dir: &Path, lsn: u64) -> Result<(), SearchError> {
        if self.fold.is_empty() {
            return Ok(());
        }
        let fold = std::mem::take(&mut self.fold);
        let bytes = if fold.overflowed {
            frame_bytes(lsn, KIND_OVERFLOW, &[])
        } else {
            frame_bytes(lsn, KIND_FACTS, &fold.encode())
        };
        let path = dir.join(FILE);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io("opening", &path, e))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_data())
            .map_err(|e| io("appending to", &path, e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// After the commit at `lsn`: folds the file into one indexed frame when what was
    /// appended since the last compaction passes half of it (plus 4 MiB), so readers hold at
    /// most that much in memory.
    pub fn maybe_compact(&mut self, dir: &Path, lsn: u64) -> Result<(), SearchError> {
        if self.len - self.compacted <= self.compacted / 2 + COMPACT_SLACK {
            return Ok(());
        }
        self.compact(dir, lsn)
    }

    /// Folds the file into one indexed frame now, if anything was appended since the last
    /// compaction (a writer closing for idleness: its day is likely done).
    pub fn compact_if_appended(&mut self, dir: &Path, lsn: u64) -> Result<(), SearchError> {
        if self.len == self.compacted {
            return Ok(());
        }
        self.compact(dir, lsn)
    }

    fn compact(&mut self, dir: &Path, lsn: u64) -> Result<(), SearchError> {
        let version = self.version;
        let path = dir.join(FILE);
        let Some(fold) = load_full(&path, version, lsn)? else {
            return Ok(());
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend(version.to_le_bytes());
        if fold.overflowed {
            bytes.extend(frame_bytes(lsn, KIND_OVERFLOW, &[]));
        } else {
            bytes.extend(frame_bytes(lsn, KIND_INDEXED, &fold.encode_indexed()));
        }
        let tmp = dir.join(format!("{FILE}.tmp"));
        let mut f = File::create(&tmp).map_err(|e| io("creating", &tmp, e))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| io("writing", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io("renaming", &tmp, e))?;
        crate::wal::segment::sync_dir(dir).map_err(|e| io("syncing", dir, e))?;
        self.len = bytes.len() as u64;
        self.compacted = self.len;
        Ok(())
    }
}

/// The position of the first frame of a rollup file, if it has one.
pub(crate) fn first_lsn(path: &Path) -> Option<u64> {
    let mut r = std::io::BufReader::new(File::open(path).ok()?);
    read_header(&mut r)?;
    read_frame(&mut r).map(|f| f.lsn)
}

/// The whole file folded up to `committed` (compaction); `None` when the file is missing,
/// of another version, or overflowed.
fn load_full(path: &Path, version: u32, committed: u64) -> Result<Option<Fold>, SearchError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("opening", path, e)),
    };
    let size = f.metadata().map_err(|e| io("reading", path, e))?.len();
    let mut r = std::io::BufReader::new(f);
    if read_header(&mut r) != Some(version) {
        return Ok(None);
    }
    let mut fold = Fold::default();
    let mut at = HEADER as u64;
    loop {
        let Some(frame) = read_frame(&mut r) else {
            // Not the end of the file: a damaged frame, and nothing after it can be read.
            if at != size {
                return Ok(None);
            }
            break;
        };
        at += frame.len;
        if frame.lsn > committed {
            break;
        }
        let part = match frame.kind {
            KIND_FACTS => Fold::decode(&frame.body),
            KIND_INDEXED => Fold::decode_indexed(&frame.body),
            _ => None,
        };
        match part {
            Some(part) => fold.merge(part),
            None => return Ok(None),
        }
        if fold.overflowed {
            return Ok(None);
        }
    }
    Ok(Some(fold))
}

/// A compacted frame in the file, searched in place.
#[derive(Debug, Clone, Copy)]
struct Indexed {
    /// Where its body starts in the file, its entities, the bytes of their records.
    body: u64,
    n: u64,
    records: u64,
}

impl Indexed {
    /// Checks the frame at the reader's position (its checksum, over the whole body, once).
    fn check(r: &mut impl Read, at: u64, committed: u64) -> Option<(Indexed, u64)> {
        let mut h = [0u8; FRAME_HEADER];
        r.read_exact(&mut h).ok()?;
        let len = u32::from_le_bytes(h[0..4].try_into().ok()?) as u64;
        let crc = u32::from_le_bytes(h[4..8].try_into().ok()?);
        let lsn = u64::from_le_bytes(h[8..16].try_into().ok()?);
        if h[16] != KIND_INDEXED || lsn > committed || len < 16 {
            return None;
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&h[8..]);
        let mut left = len;
        let mut buf = vec![0u8; 1 << 16];
        let mut tail = [0u8; 16];
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            r.read_exact(&mut buf[..n]).ok()?;
            hasher.update(&buf[..n]);
            // The last 16 bytes of the body are its trailer.
            let got = &buf[..n];
            if n >= 16 {
                tail.copy_from_slice(&got[n - 16..]);
            } else {
                tail.copy_within(n.., 0);
                tail[16 - n..].copy_from_slice(got);
            }
            left -= n as u64;
        }
        if hasher.finalize() != crc {
            return None;
        }
        let n = u64::from_le_bytes(tail[..8].try_into().ok()?);
        let records = u64::from_le_bytes(tail[8..].try_into().ok()?);
        if records.checked_add(n.checked_mul(8)?)?.checked_add(16)? != len {
            return None;
        }
        let body = at + FRAME_HEADER as u64;
        Some((Indexed { body, n, records }, FRAME_HEADER as u64 + len))
    }

    fn u64_at(f: &File, at: u64) -> std::io::Result<u64> {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 8];
        f.read_exact_at(&mut b, at)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The record of `entity`, by binary search over the sorted offsets.
    fn find(&self, f: &File, entity: &str) -> std::io::Result<Option<EntityFacts>> {
        use std::os::unix::fs::FileExt;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "rollup index");
        let offset = |i: u64| Self::u64_at(f, self.body + self.records + 8 * i);
        let name_at = |off: u64| -> std::io::Result<Vec<u8>> {
            let mut len = [0u8; 4];
            f.read_exact_at(&mut len, self.body + off)?;
            let len = u32::from_le_bytes(len) as usize;
            if off + 4 + len as u64 > self.records {
                return Err(bad());
            }
            let mut name = vec![0u8; len];
            f.read_exact_at(&mut name, self.body + off + 4)?;
            Ok(name)
        };
        let (mut lo, mut hi) = (0u64, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let off = offset(mid)?;
            match name_at(off)?.as_slice().cmp(entity.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let end = if mid + 1 < self.n {
                        offset(mid + 1)?
                    } else {
                        self.records
                    };
                    if end < off || end > self.records {
                        return Err(bad());
                    }
                    let mut rec = vec![0u8; (end - off) as usize];
                    f.read_exact_at(&mut rec, self.body + off)?;
                    let mut r = Reader(&rec);
                    return match take_entity(&mut r) {
                        Some((_, e)) if r.0.is_empty() => Ok(Some(e)),
                        _ => Err(bad()),
                    };
                }
            }
        }
        Ok(None)
    }
}

/// Folds the delta frames at the reader's position up to `committed` into `fold`,
/// advancing `at` past each one folded. An indexed frame here (not first) or one that does
/// not decode marks the fold overflowed: not trusted.
fn fold_frames(r: &mut impl Read, committed: u64, fold: &mut Fold, at: &mut u64) {
    while let Some(frame) = read_frame(r) {
        if frame.lsn > committed {
            break;
        }
        match (frame.kind, Fold::decode(&frame.body)) {
            (KIND_FACTS, Some(part)) => fold.merge(part),
            _ => fold.overflowed = true,
        }
        *at += frame.len;
        if fold.overflowed {
            fold.entities.clear();
            break;
        }
    }
}

/// The readers' side of one partition's rollup: the compacted frame searched in place, and
/// the frames after it folded in memory.
#[derive(Default)]
pub(crate) struct Folded {
    /// The file (device, inode) read; a compaction replaces it.
    file: Option<(u64, u64)>,
    at: u64,
    indexed: Option<Indexed>,
    /// `None`: incomplete.
    fold: Option<Fold>,
}

impl Folded {
    /// Reads the file afresh: its compacted frame (checked, not loaded) and the frames after.
    fn open(
        f: &File,
        path: &Path,
        id: (u64, u64),
        version: u32,
        committed: u64,
    ) -> Result<Folded, SearchError> {
        let mut out = Folded {
            file: Some(id),
            ..Folded::default()
        };
        let mut r = std::io::BufReader::new(f);
        if read_header(&mut r) != Some(version) {
            return Ok(out);
        }
        out.at = HEADER as u64;
        let starts_indexed = {
            use std::io::BufRead;
            let buf = r.fill_buf().map_err(|e| io("reading", path, e))?;
            buf.len() >= FRAME_HEADER && buf[FRAME_HEADER - 1] == KIND_INDEXED
        };
        if starts_indexed {
            match Indexed::check(&mut r, out.at, committed) {
                Some((ix, len)) => {
                    out.indexed = Some(ix);
                    out.at += len;
                }
                None => return Ok(out), // damaged, or past the commit: incomplete
            }
        }
        let mut fold = Fold::default();
        fold_frames(&mut r, committed, &mut fold, &mut out.at);
        out.fold = (!fold.overflowed).then_some(fold);
        Ok(out)
    }

    /// The facts of `entity` in this partition's committed events (`committed` is the
    /// partition's commit position): `None` when the partition's rollup is incomplete,
    /// `Some(None)` when the entity is not in it.
    pub fn lookup(
        &mut self,
        dir: &Path,
        version: u32,
        committed: u64,
        entity: &str,
    ) -> Result<Option<Option<EntityFacts>>, SearchError> {
        let path = dir.join(FILE);
        // One handle for everything below: a compaction may rename a new file over this one
        // meanwhile, and offsets into one file must not be used in the other.
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening", &path, e)),
        };
        let meta = f.metadata().map_err(|e| io("reading", &path, e))?;
        let id = (meta.dev(), meta.ino());
        if self.file != Some(id) {
            *self = Folded::open(&f, &path, id, version, committed)?;
        } else if meta.len() > self.at {
            if let Some(fold) = self.fold.as_mut() {
                f.seek(SeekFrom::Start(self.at))
                    .map_err(|e| io("reading", &path, e))?;
                let mut r = std::io::BufReader::new(&f);
                fold_frames(&mut r, committed, fold, &mut self.at);
                if fold.overflowed {
                    self.fold = None;
                }
            }
        }
        let Some(fold) = self.fold.as_ref() else {
            return Ok(None);
        };
        let mut found = match &self.indexed {
            Some(ix) => match ix.find(&f, entity) {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!("rollup {}: {e}; asking the events", path.display());
                    return Ok(None);
                }
            },
            None => None,
        };
        if let Some(more) = fold.entities.get(entity) {
            found.get_or_insert_with(EntityFacts::default).merge(more);
        }
        Ok(Some(found))
    }
}

/// Appends a frame of `count` events of `entity` (list 0) at `lsn`, as a writer would.
#[cfg(test)]
pub(crate) fn append_for_test(dir: &Path, lsn: u64, entity: &str, count: u64) {
    let mut fold = Fold::default();
    for _ in 0..count {
        fold.add_event(
            &mut vec![Fact {
                entity: entity.into(),
                list: 0,
                value: "".into(),
            }],
            0,
        );
    }
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.join(FILE))
        .unwrap();
    f.write_all(&frame_bytes(lsn, KIND_FACTS, &fold.encode()))
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(entity: &str, list: u8, value: &str) -> Fact<'static> {
        Fact {
            entity: entity.to_owned().into(),
            list,
            value: value.to_owned().into(),
        }
    }

    fn get(e: &EntityFacts, list: u8, value: &str) -> Stat {
        *e.list(list).find(|(v, _)| *v == value).unwrap().1
    }

    fn stat(first_ms: i64, last_ms: i64, count: u64) -> Stat {
        Stat {
            first_ms,
            last_ms,
            count,
        }
    }

    #[test]
    fn frames_past_the_commit_are_never_read_and_are_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), 7).unwrap();
        let mut p = Pending::open(dir.path(), 7, 0).unwrap().unwrap();
        p.fold
            .add_event(&mut vec![fact("h", 0, "a"), fact("h", 0, "a")], 10);
        p.write(dir.path(), 5).unwrap();
        // The server stops after the second frame, before its commit (at 9).
        p.fold
            .add_event(&mut vec![fact("h", 0, "a"), fact("h", 1, "b")], 20);
        p.write(dir.path(), 9).unwrap();

        let mut r = Folded::default();
        let h = r.lookup(dir.path(), 7, 5, "h").unwrap().unwrap().unwrap();
        assert_eq!(h.value_count(), 1, "{h:?}");
        assert_eq!(get(&h, 0, "a"), stat(10, 10, 1));
        // Reopened at commit 5: the frame of 9 goes; replay collects its events again.
        let mut p = Pending::open(dir.path(), 7, 5).unwrap().unwrap();
        p.fold
            .add_event(&mut vec![fact("h", 0, "a"), fact("h", 1, "b")], 20);
        p.write(dir.path(), 9).unwrap();
        let h = r.lookup(dir.path(), 7, 9, "h").unwrap().unwrap().unwrap();
        assert_eq!(get(&h, 0, "a"), stat(10, 20, 2));
        assert_eq!(get(&h, 1, "b"), stat(20, 20, 1));
        assert_eq!(r.lookup(dir.path(), 7, 9, "nobody").unwrap(), Some(None));
        // Another version of the hook: incomplete.
        assert_eq!(
            Folded::default().lookup(dir.path(), 8, 9, "h").unwrap(),
            None
        );
        assert!(Pending::open(dir.path(), 8, 9).unwrap().is_none());
    }

    #[test]
    fn a_torn_frame_is_not_read_and_compaction_keeps_every_fact() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), 1).unwrap();
        let mut p = Pending::open(dir.path(), 1, 0).unwrap().unwrap();
        for i in 0..50 {
            p.fold
                .add_event(&mut vec![fact("h", 2, &format!("v{}", i % 7))], i);
            p.write(dir.path(), i as u64 + 1).unwrap();
        }
        let path = dir.path().join(FILE);
        let whole = fs::read(&path).unwrap();
        fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let h = Folded::default()
            .lookup(dir.path(), 1, 50, "h")
            .unwrap()
            .unwrap()
            .unwrap();
        let total: u64 = h.list(2).map(|(_, s)| s.count).sum();
        assert_eq!(total, 49, "the torn last frame is not read");
        fs::write(&path, &whole).unwrap();
        p.compacted = 0;
        p.len = COMPACT_SLACK + 1;
        p.maybe_compact(dir.path(), 50).unwrap();
        assert!(fs::metadata(&path).unwrap().len() < whole.len() as u64);
        let h = Folded::default()
            .lookup(dir.path(), 1, 50, "h")
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(h.value_count(), 7);
        assert_eq!(get(&h, 2, "v0"), stat(0, 49, 8));
    }

    fn flat(e: &EntityFacts) -> std::collections::BTreeMap<(u8, String), Stat> {
        let mut out = std::collections::BTreeMap::new();
        for list in 0..MAX_LISTS {
            for (v, s) in e.list(list) {
                out.insert((list, v.to_owned()), *s);
            }
        }
        out
    }

    #[test]
    fn a_compacted_rollup_is_searched_in_place_with_later_frames_on_top() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), 1).unwrap();
        let mut p = Pending::open(dir.path(), 1, 0).unwrap().unwrap();
        let mut all = Fold::default();
        let mut lsn = 0;
        let mut frame = |p: &mut Pending, all: &mut Fold, names: std::ops::Range<u32>, ts: i64| {
            for i in names {
                let mut facts = vec![
                    fact(&format!("e{i:03}"), (i % 3) as u8, &format!("v{}", i % 5)),
                    fact(&format!("e{i:03}"), 7, ""),
                ];
                all.add_event(&mut facts.clone(), ts + i64::from(i));
                p.fold.add_event(&mut facts, ts + i64::from(i));
            }
            lsn += 1;
            p.write(dir.path(), lsn).unwrap();
            lsn
        };
        for k in 0..5 {
            frame(&mut p, &mut all, k * 40..k * 40 + 120, i64::from(k) * 1000);
        }
        let at = frame(&mut p, &mut all, 0..1, 0);
        p.compact_if_appended(dir.path(), at).unwrap();
        let mut r = Folded::default();
        let check = |r: &mut Folded, all: &Fold, committed: u64| {
            for i in 0..400 {
                let name = format!("e{i:03}");
                let got = r.lookup(dir.path(), 1, committed, &name).unwrap().unwrap();
                match all.entities.get(name.as_str()) {
                    Some(want) => assert_eq!(flat(&got.unwrap()), flat(want), "{name}"),
                    None => assert!(got.is_none(), "{name}"),
                }
            }
            for absent in ["", "a", "e", "e0", "e1000", "zzz"] {
                assert_eq!(
                    r.lookup(dir.path(), 1, committed, absent).unwrap(),
                    Some(None)
                );
            }
        };
        check(&mut r, &all, at);
        assert!(r.indexed.is_some() && r.fold.as_ref().unwrap().entities.is_empty());
        // Later frames: known entities and new ones, folded on top of the compacted frame.
        let at = frame(&mut p, &mut all, 150..300, 9000);
        check(&mut r, &all, at);
        // A damaged compacted frame is not trusted: the partition is then incomplete.
        let path = dir.path().join(FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER + FRAME_HEADER + 10] ^= 1;
        fs::write(dir.path().join("copy"), &bytes).unwrap();
        fs::rename(dir.path().join("copy"), &path).unwrap();
        assert_eq!(r.lookup(dir.path(), 1, at, "e001").unwrap(), None);
        // Nor compacted: what follows the damage would be lost.
        p.len += 1;
        p.compact_if_appended(dir.path(), at).unwrap();
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn lists_and_partitions_are_bounded() {
        let mut e = EntityFacts::default();
        for i in 0..MAX_VALUES + 5 {
            e.add(3, &i.to_string(), &stat(1, 1, 1));
        }
        assert_eq!(e.value_count(), MAX_VALUES);
        assert!(e.is_full(3) && !e.is_full(2));
        e.add(3, "0", &stat(0, 2, 1));
        assert_eq!(get(&e, 3, "0"), stat(0, 2, 2), "known values still add up");
        let mut fold = Fold::default();
        for i in 0..MAX_ENTITIES + 1 {
            fold.add_event(&mut vec![fact(&i.to_string(), 0, "")], 1);
        }
        assert!(fold.overflowed);
        assert_eq!(fold.entities.len(), MAX_ENTITIES);
    }

    #[test]
    fn paths_flatten_arrays_and_skip_long_strings() {
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        let text = format!(
            r#"{{"dns":{{"answers":[{{"rrname":"a"}},{{"rrname":["b",3]}},{{"rrname":"{long}"}}]}},"n":1.5}}"#
        );
        let tape = Tape::parse(&text, 20).unwrap();
        let v = EventView::new(&tape, &text, 0);
        let mut got = Vec::new();
        v.each("dns.answers.rrname", &mut |l| got.push(format!("{l:?}")));
        assert_eq!(got, ["Str(\"a\")", "Str(\"b\")", "I64(3)"]);
        assert_eq!(v.str("dns.answers.rrname"), Some("a"));
        assert_eq!(v.str("n"), None);
        assert_eq!(v.str("dns"), None);
    }
}
