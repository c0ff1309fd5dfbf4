//! Taking a host's match search from a similar host's.
//!
//! Two workers' user-data differ in a few words (the host name, the address), at
//! the same lines. Call the first one compressed the *template* and the few words
//! where a second one differs from it its *zones*. While the template is compressed,
//! each search for a match is recorded with the match it found, unless it read a
//! byte of a zone. For another host that differs from the template only inside the
//! zones (the same lines, the same text around each zone), a search at a position
//! outside the zones finds what the template's search at the same place found
//! (moved by the difference in length of the zones before it), when:
//!
//! - the search starts from the same state (the same match to beat), the window
//!   has not yet wrapped, and the whole match length is ahead;
//! - the hash chain the search follows holds the same positions in the same order
//!   in both files as far as the template's search followed it: no position whose
//!   three bytes touch a zone, in either file, has the hash of the position
//!   searched, or the template's search stopped before the zone before it;
//! - the template's search read no byte of a zone: then every comparison along the
//!   chain compares the same bytes.
//!
//! Every other search is made in full, so the output is exactly the encoder's
//! whatever the input; only the time differs.

use std::sync::{Arc, Mutex, PoisonError};

use super::blocks::{BitCounter, BitSink, Counts};
use super::deflate::{
    self, HASH_SIZE, Haystack, MAX_MATCH, MatchSearch, Query, Reads, Unobserved, WINDOW, Window,
    WindowChains,
};
use super::parse::{Parser, Token};
use super::replay::{self, CHECK_HASH, Moves, REPLAYABLE, RunAt, Step, Trace};
use super::small::{self, Chain, Positions, SMALL, SmallSearch, hash3};

/// Templates kept by a build: one per kind of host is enough.
const MAX_TEMPLATES: usize = 16;
/// Files compressed without a template, kept to pair with a later similar one.
const MAX_LONERS: usize = 8;
/// At most this many zones, and at most one zone byte per this many bytes: more
/// different than that, two files are not of one family.
const MAX_ZONES: usize = 256;
const BYTES_PER_ZONE_BYTE: usize = 16;

/// Templates found so far in one build, shared by its threads.
#[derive(Default)]
pub struct Families {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    templates: Vec<Arc<Template>>,
    loners: Vec<Arc<[u8]>>,
}

impl Families {
    pub fn new() -> Families {
        Families::default()
    }

    /// The gzip form of `bytes`, exactly [`super::gzip`]'s.
    pub fn gzip(&self, bytes: &[u8]) -> Vec<u8> {
        match self.template_for(bytes) {
            Some((template, layout)) => {
                super::framed(bytes, encode(&template, &layout, bytes, super::header()))
            }
            None => super::gzip(bytes),
        }
    }

    /// The length of [`Self::gzip`]'s result, without making it.
    pub fn gzip_size(&self, bytes: &[u8]) -> usize {
        match self.template_for(bytes) {
            Some((template, layout)) => size_from_template(&template, &layout, bytes)
                .unwrap_or_else(|| {
                    super::size_of(encode(&template, &layout, bytes, BitCounter::default()))
                }),
            None => super::gzip_size(bytes),
        }
    }

    /// A template `bytes` fits: a kept one, or one made now of a kept loner similar
    /// to `bytes`. Otherwise `bytes` is kept as a loner.
    fn template_for(&self, bytes: &[u8]) -> Option<(Arc<Template>, Layout)> {
        let templates = self.lock().templates.clone();
        if let Some(found) = templates
            .iter()
            .find_map(|template| Some((template.clone(), template.fit(bytes)?)))
        {
            return Some(found);
        }
        // A template whose zones, widened to where `bytes` differs, stay few: the
        // first hosts of a family show only part of where their names differ.
        for old in &templates {
            let Some(zones) = zones_between(&old.bytes, bytes) else {
                continue;
            };
            let zones = union(&old.zones, &zones);
            if !few_enough(&zones, old.bytes.len()) {
                continue;
            }
            let template = Arc::new(Template::record(&old.bytes, zones));
            let layout = template.fit(bytes)?;
            let mut state = self.lock();
            if let Some(kept) = state
                .templates
                .iter_mut()
                .find(|kept| Arc::ptr_eq(kept, old))
            {
                *kept = template.clone();
            }
            return Some((template, layout));
        }
        let loners = self.lock().loners.clone();
        let paired = loners
            .iter()
            .find_map(|loner| Some((loner.clone(), zones_between(loner, bytes)?)));
        let Some((loner, zones)) = paired else {
            let mut state = self.lock();
            if state.loners.len() == MAX_LONERS {
                state.loners.remove(0);
            }
            state.loners.push(bytes.into());
            return None;
        };
        let template = Arc::new(Template::record(&loner, zones));
        let layout = template.fit(bytes)?;
        let mut state = self.lock();
        state.loners.retain(|kept| !Arc::ptr_eq(kept, &loner));
        if state.templates.len() < MAX_TEMPLATES {
            state.templates.push(template.clone());
        }
        Some((template, layout))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is only ever appended to whole: a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The deflate stream of `bytes`, which fits `template` as `layout` says, into
/// `sink`.
fn encode<S: BitSink>(template: &Template, layout: &Layout, bytes: &[u8], sink: S) -> S {
    if let Some(small) = &template.small
        && bytes.len() <= SMALL
    {
        let mut search = SmallFromTemplate::new(template, small, layout, bytes);
        return small::deflate_small(bytes, &mut search, sink);
    }
    let mut search = FromTemplate::new(template, layout);
    super::with_window(|window| deflate::deflate(bytes, window, &mut search, sink))
}

/// The gzip size of `bytes` from the template's codes (see [`Stretches`]), when
/// the file is small and its codes make one block (as the template's need not).
fn size_from_template(template: &Template, layout: &Layout, bytes: &[u8]) -> Option<usize> {
    let small = template.small.as_ref().filter(|_| bytes.len() <= SMALL)?;
    let trace = &small.trace;
    let stretches = &small.stretches;
    let mut blocked: Vec<u32> = Vec::new();
    let mut own_hashes: Vec<usize> = layout.touching.iter().map(|&(_, hash)| hash).collect();
    own_hashes.sort_unstable();
    own_hashes.dedup();
    for hash in own_hashes {
        let range =
            stretches.by_hash_starts[hash] as usize..stretches.by_hash_starts[hash + 1] as usize;
        blocked.extend_from_slice(&stretches.by_hash[range]);
    }
    blocked.sort_unstable();
    let offsets: Vec<isize> = layout
        .runs
        .iter()
        .map(|run| run.start as isize - run.template_start as isize)
        .collect();
    let mut counts = stretches.counts.clone();
    let mut search = SmallFromTemplate::new(template, small, layout, bytes);
    let mut parser = Parser::new(bytes, BitCounter::default());
    let len = bytes.len();
    let mut accounted = 0usize;
    while parser.pos < len {
        if let Some((first, run)) =
            search.aligned_step(parser.pos, parser.saved_len, parser.saved_dist)
            && first >= accounted
            && let Some(end) = stretch_end(
                stretches,
                trace,
                &blocked,
                first,
                run,
                len,
                template.bytes.len(),
            )
        {
            let after = trace.steps[end];
            let pos = after.pos as usize - run.template_start + run.start;
            let saved_dist = match after.saved_len {
                0 => Some(0),
                _ => layout
                    .moved(after.saved_from as usize)
                    .map(|from| (pos - 1 - from) as u32),
            };
            if let Some(saved_dist) = saved_dist {
                stretches.subtract_steps(trace, &mut counts, accounted, first);
                let crossing = &stretches.crossing;
                let from = crossing.partition_point(|c| (c.step as usize) < first);
                for c in crossing[from..]
                    .iter()
                    .take_while(|c| (c.step as usize) < end)
                {
                    let shift = offsets[c.run as usize] - offsets[c.from_run as usize];
                    let moved = (c.dist as isize + shift) as u32;
                    counts.dist[Counts::dist_symbol(c.dist)] -= 1;
                    counts.dist[Counts::dist_symbol(moved)] += 1;
                }
                parser.set_state(pos, u32::from(after.saved_len), saved_dist);
                accounted = end;
                continue;
            }
        }
        let pos = parser.pos;
        let query = Query {
            pos,
            max_dist: pos,
            max_len: (len - pos).min(MAX_MATCH) as u32,
            beat: parser.beat(),
        };
        let (dist, found) = search.find(query);
        parser.step(dist, found, |_| {});
    }
    stretches.subtract_steps(trace, &mut counts, accounted, trace.steps.len());
    counts.add_block(parser.block());
    let (mut block, code_len) = counts.block(len as u32)?;
    // A block ends early only when its codes nearly fill miniz's buffer, or stand
    // for more than 31 KiB at over nine tenths of its size: neither at any point
    // if not at the end.
    if code_len > super::blocks::CODE_BUF_SIZE - 8 || (code_len * 115) >> 7 > 31 * 1024 {
        return None;
    }
    let mut counter = BitCounter::default();
    block.flush(&mut counter, true, bytes, 0, true);
    Some(super::size_of(counter))
}

/// Where a stretch of replayed steps from `first` ends in this file: at the first
/// step that cannot be replayed, whose search this file cannot take (too near its
/// end, or its hash is one of this file's zones'). None if it is empty.
fn stretch_end(
    stretches: &Stretches,
    trace: &Trace,
    blocked: &[u32],
    first: usize,
    run: Run,
    len: usize,
    template_len: usize,
) -> Option<usize> {
    let mut end = stretches.end[first] as usize;
    // Steps whose search sees as long a match ahead in this file as in the
    // template: all in the last run (as far from the end in both), elsewhere those
    // that see a whole match ahead in both.
    if run.template_end != template_len {
        let last = (len + run.template_start)
            .checked_sub(MAX_MATCH + run.start)
            .zip(template_len.checked_sub(MAX_MATCH))
            .map(|(in_file, in_template)| in_file.min(in_template));
        end = match last {
            Some(last) => {
                first + trace.steps[first..end].partition_point(|step| step.pos as usize <= last)
            }
            None => first,
        };
    }
    let next_blocked = blocked.partition_point(|&step| (step as usize) < first);
    if let Some(&step) = blocked.get(next_blocked) {
        end = end.min(step as usize);
    }
    let after = trace.steps.get(end)?;
    (end > first && after.pos as usize <= run.template_end).then_some(end)
}

/// A byte range of the template, within one line, where files of its family
/// differ, and the end of its line (past the newline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Zone {
    start: usize,
    end: usize,
    line_end: usize,
}

/// The zones of `a` where `b` differs from it: per differing line (the lines must
/// be as many), from the first to the last differing byte (at least one byte of
/// `a`, so that a comparison across it shows). None when the files are not of one
/// family.
fn zones_between(a: &[u8], b: &[u8]) -> Option<Vec<Zone>> {
    let mut zones = Vec::new();
    let mut zone_bytes = 0;
    let (mut a_lines, mut b_lines) = (
        a.split_inclusive(|&c| c == b'\n'),
        b.split_inclusive(|&c| c == b'\n'),
    );
    let mut line_start = 0;
    loop {
        let (x, y) = match (a_lines.next(), b_lines.next()) {
            (None, None) => break,
            (Some(x), Some(y)) => (x, y),
            _ => return None,
        };
        if x != y {
            let prefix = x.iter().zip(y).take_while(|(p, q)| p == q).count();
            let most = x.len().min(y.len()) - prefix;
            let suffix = x
                .iter()
                .rev()
                .zip(y.iter().rev())
                .take(most)
                .take_while(|(p, q)| p == q)
                .count();
            let (mut start, mut end) = (prefix, x.len() - suffix);
            if start == end {
                // Only inserted in `b`: the zone takes the byte before (or after).
                match (start.checked_sub(1), x.get(end)) {
                    (Some(before), _) => start = before,
                    (None, Some(&after)) if after != b'\n' => end += 1,
                    _ => return None,
                }
            }
            let y_end = y.len() - (x.len() - end);
            if x[start..end].contains(&b'\n') || y[start..y_end].contains(&b'\n') {
                return None;
            }
            zones.push(Zone {
                start: line_start + start,
                end: line_start + end,
                line_end: line_start + x.len(),
            });
            zone_bytes += end - start;
            // Files of different kinds part here, after a few lines, not at the end.
            if zones.len() > MAX_ZONES || zone_bytes * BYTES_PER_ZONE_BYTE > a.len() {
                return None;
            }
        }
        line_start += x.len();
    }
    (!zones.is_empty() && few_enough(&zones, a.len())).then_some(zones)
}

fn few_enough(zones: &[Zone], len: usize) -> bool {
    let zone_bytes: usize = zones.iter().map(|zone| zone.end - zone.start).sum();
    zones.len() <= MAX_ZONES && zone_bytes * BYTES_PER_ZONE_BYTE <= len
}

/// The zones of both lists, a line's zones merged into one.
fn union(a: &[Zone], b: &[Zone]) -> Vec<Zone> {
    let mut all: Vec<Zone> = a.iter().chain(b).copied().collect();
    all.sort_by_key(|zone| (zone.line_end, zone.start));
    let mut merged: Vec<Zone> = Vec::with_capacity(all.len());
    for zone in all {
        match merged.last_mut() {
            Some(last) if last.line_end == zone.line_end => {
                last.start = last.start.min(zone.start);
                last.end = last.end.max(zone.end);
            }
            _ => merged.push(zone),
        }
    }
    merged
}

/// Where a file's bytes are in the template's: runs of bytes equal to the
/// template's (`template_start..template_end` at `start`), between its zones.
struct Layout {
    runs: Vec<Run>,
    /// Hashes of the positions whose three bytes touch a zone, in the template or
    /// in this file.
    touched_hashes: HashSet,
    /// This file's positions whose three bytes touch a zone, with their hashes, in
    /// order.
    touching: Vec<(usize, usize)>,
}

#[derive(Clone, Copy)]
struct Run {
    template_start: usize,
    template_end: usize,
    start: usize,
}

impl Moves for Layout {
    fn moved(&self, pos: usize) -> Option<usize> {
        let after = self.runs.partition_point(|run| run.template_start <= pos);
        let run = self.runs[after.checked_sub(1)?];
        (pos < run.template_end).then(|| pos - run.template_start + run.start)
    }
}

/// A set of three-byte hashes.
#[derive(Clone)]
struct HashSet(Box<[u64; HASH_SIZE / 64]>);

impl HashSet {
    fn new() -> HashSet {
        HashSet(Box::new([0; HASH_SIZE / 64]))
    }

    fn insert_touching(&mut self, bytes: &[u8], start: usize, end: usize) {
        for pos in touching_positions(bytes.len(), start, end) {
            let hash = hash3(bytes, pos);
            self.0[hash / 64] |= 1 << (hash % 64);
        }
    }

    fn contains(&self, hash: usize) -> bool {
        self.0[hash / 64] & (1 << (hash % 64)) != 0
    }
}

/// The positions of a file of `len` bytes whose three bytes touch the zone
/// `start..end` (or, for an empty zone, straddle it).
fn touching_positions(len: usize, start: usize, end: usize) -> impl Iterator<Item = usize> {
    (start.saturating_sub(2)..end.max(start)).filter(move |pos| pos + 2 < len)
}

/// A search of the template that another file may take: the match to beat, the
/// match found (its position in the template, or none), and how far back along the
/// hash chain the search went.
#[derive(Clone, Copy, Default)]
struct Recorded {
    /// 0: nothing recorded.
    beat: u16,
    /// The longest match the search could find (258, less near the end).
    max_len: u16,
    len: u16,
    found_at: u32,
    /// The oldest position the search stepped to; 0 if it reached the chain's end.
    reach: u32,
}

const NOT_FOUND: u32 = u32::MAX;

struct Template {
    bytes: Arc<[u8]>,
    zones: Vec<Zone>,
    touched_hashes: HashSet,
    /// By position in the template.
    searches: Vec<Recorded>,
    /// For a template of at most [`SMALL`] bytes: what lets a file's searches that
    /// cannot be taken follow their chains without building them.
    small: Option<SmallTemplate>,
}

struct SmallTemplate {
    /// The template's hash chains.
    positions: Positions,
    /// The template's positions whose three bytes touch a zone: no other file has
    /// them.
    touching: Vec<bool>,
    /// The template's parse, step by step.
    trace: Trace,
    stretches: Stretches,
}

/// What lets a file's gzip size be had from the template's without going
/// through the steps it replays: their codes are the template's, so the file's
/// symbol counts are the template's, less those of the steps it does not replay,
/// plus its own steps', with the distance symbols of matches that copy from an
/// earlier run moved.
struct Stretches {
    /// For each step, the first step from it on that cannot be replayed, whatever
    /// the file (or is in another run, or is the last).
    end: Vec<u32>,
    /// The steps that cannot be replayed in a file with a zone position of their
    /// hash, by hash (each hash's list in `by_hash[by_hash_starts[h]..][..]`).
    by_hash_starts: Vec<u32>,
    by_hash: Vec<u32>,
    /// Matches that copy from an earlier run, in order.
    crossing: Vec<Crossing>,
    /// The counts of all the template's codes.
    counts: Counts,
}

#[derive(Clone, Copy)]
struct Crossing {
    step: u32,
    dist: u32,
    run: u32,
    from_run: u32,
}

/// Whether a search at `query` may be recorded or taken: its window has not
/// wrapped, so positions are positions in the file. (A search taken must also see
/// as long a match ahead as the template's.)
fn takeable(query: Query) -> bool {
    query.pos + MAX_MATCH + 2 < WINDOW && query.max_dist == query.pos
}

impl Template {
    /// Compresses `bytes` (the output is not needed) to record its searches.
    fn record(bytes: &Arc<[u8]>, zones: Vec<Zone>) -> Template {
        let mut zone_bytes_before = vec![0u32; bytes.len() + 1];
        let mut in_zone = vec![false; bytes.len()];
        let mut touched_hashes = HashSet::new();
        for zone in &zones {
            in_zone[zone.start..zone.end].fill(true);
            touched_hashes.insert_touching(bytes, zone.start, zone.end);
        }
        for (i, &zoned) in in_zone.iter().enumerate() {
            zone_bytes_before[i + 1] = zone_bytes_before[i] + u32::from(zoned);
        }
        let mut recording = Recording {
            zone_bytes_before,
            searches: vec![Recorded::default(); bytes.len().min(WINDOW)],
        };
        let small = if bytes.len() <= SMALL {
            let positions = Positions::of(bytes);
            let mut search = SmallRecording {
                recording: &mut recording,
                bytes,
                positions: &positions,
                trace: Trace::new(bytes.len()),
            };
            small::deflate_small(bytes, &mut search, BitCounter::default());
            let mut trace = search.trace;
            mark_replayable(&mut trace, &recording.searches, bytes, &zones);
            let stretches = Stretches::of(&trace, bytes, &zones, &touched_hashes);
            let mut touching = vec![false; bytes.len()];
            for zone in &zones {
                for pos in touching_positions(bytes.len(), zone.start, zone.end) {
                    touching[pos] = true;
                }
            }
            Some(SmallTemplate {
                positions,
                touching,
                trace,
                stretches,
            })
        } else {
            let mut window = Window::new();
            deflate::deflate(bytes, &mut window, &mut recording, BitCounter::default());
            None
        };
        Template {
            bytes: bytes.clone(),
            zones,
            touched_hashes,
            searches: recording.searches,
            small,
        }
    }

    /// How `bytes` lies against the template, if it differs only inside the zones.
    fn fit(&self, bytes: &[u8]) -> Option<Layout> {
        let template = &*self.bytes;
        let mut runs = Vec::with_capacity(self.zones.len() + 1);
        let mut touched_hashes = self.touched_hashes.clone();
        let mut touching = Vec::new();
        let (mut from, mut at) = (0, 0);
        for zone in &self.zones {
            let before = &template[from..zone.start];
            if bytes.get(at..at + before.len())? != before {
                return None;
            }
            runs.push(Run {
                template_start: from,
                template_end: zone.start,
                start: at,
            });
            at += before.len();
            let rest_of_line = &template[zone.end..zone.line_end];
            let line_end = match rest_of_line.last() {
                Some(b'\n') => at + bytes[at..].iter().position(|&c| c == b'\n')? + 1,
                _ => bytes.len(),
            };
            let zone_end = line_end
                .checked_sub(rest_of_line.len())
                .filter(|&end| end >= at)?;
            if bytes[zone_end..line_end] != *rest_of_line || bytes[at..zone_end].contains(&b'\n') {
                return None;
            }
            touched_hashes.insert_touching(bytes, at, zone_end);
            for pos in touching_positions(bytes.len(), at, zone_end) {
                touching.push((pos, hash3(bytes, pos)));
            }
            at = zone_end;
            from = zone.end;
        }
        if bytes[at..] != template[from..] {
            return None;
        }
        runs.push(Run {
            template_start: from,
            template_end: template.len(),
            start: at,
        });
        touching.sort_unstable();
        touching.dedup();
        Some(Layout {
            runs,
            touched_hashes,
            touching,
        })
    }
}

/// The template's search, recording what it may hand on.
struct Recording {
    zone_bytes_before: Vec<u32>,
    searches: Vec<Recorded>,
}

struct ZoneReads<'a> {
    zone_bytes_before: &'a [u32],
    touched: bool,
    reach: usize,
}

impl Reads for ZoneReads<'_> {
    fn stepped(&mut self, to: usize) {
        self.reach = self.reach.min(to);
    }

    fn range(&mut self, from: usize, to: usize) {
        let end = (to + 1).min(self.zone_bytes_before.len() - 1);
        let from = from.min(end);
        if self.zone_bytes_before[end] != self.zone_bytes_before[from] {
            self.touched = true;
        }
    }
}

impl MatchSearch for Recording {
    fn find(&mut self, window: &Window, query: Query) -> (u32, u32) {
        self.record(&mut WindowChains(window), query)
    }
}

struct SmallRecording<'a> {
    recording: &'a mut Recording,
    bytes: &'a [u8],
    positions: &'a Positions,
    trace: Trace,
}

impl SmallSearch for SmallRecording<'_> {
    fn find(&mut self, query: Query) -> (u32, u32) {
        let mut chain = Chain::new(self.bytes, self.positions, query.pos);
        self.recording.record(&mut chain, query)
    }

    fn begin_step(&mut self, pos: usize, saved_len: u32, saved_dist: u32) {
        self.trace.begin_step(pos, saved_len, saved_dist);
    }

    fn emitted(&mut self, token: Token) {
        self.trace.emitted(token);
    }
}

/// The runs of the template: between its zones.
fn template_runs(len: usize, zones: &[Zone]) -> Vec<(usize, usize)> {
    let mut runs = Vec::with_capacity(zones.len() + 1);
    let mut from = 0;
    for zone in zones {
        runs.push((from, zone.start));
        from = zone.end;
    }
    runs.push((from, len));
    runs
}

/// The index of the run holding `pos`, if it is in one.
fn run_of(runs: &[(usize, usize)], pos: usize) -> Option<usize> {
    let after = runs.partition_point(|run| run.0 <= pos);
    let index = after.checked_sub(1)?;
    (pos < runs[index].1).then_some(index)
}

impl Stretches {
    fn of(trace: &Trace, bytes: &[u8], zones: &[Zone], template_touched: &HashSet) -> Stretches {
        let runs = template_runs(bytes.len(), zones);
        let steps = &trace.steps;
        let mut step_runs = Vec::with_capacity(steps.len());
        let mut replayable = Vec::with_capacity(steps.len());
        let mut crossing = Vec::new();
        let mut counts = Counts::new();
        for (index, step) in steps.iter().enumerate() {
            let run = run_of(&runs, step.pos as usize);
            step_runs.push(run.map_or(u32::MAX, |run| run as u32));
            let tokens_end = steps
                .get(index + 1)
                .map_or(trace.tokens.len(), |next| next.tokens_start as usize);
            let mut copies_from_zone = false;
            for traced in &trace.tokens[step.tokens_start as usize..tokens_end] {
                counts.add(traced.token, 1);
                if let (Token::Match { dist, .. }, Some(run)) = (traced.token, run)
                    && (traced.from as usize) < runs[run].0
                {
                    match run_of(&runs, traced.from as usize) {
                        Some(from_run) => crossing.push(Crossing {
                            step: index as u32,
                            dist,
                            run: run as u32,
                            from_run: from_run as u32,
                        }),
                        None => copies_from_zone = true,
                    }
                }
            }
            let template_checked =
                step.flags & CHECK_HASH != 0 && template_touched.contains(usize::from(step.hash));
            replayable.push(
                step.flags & REPLAYABLE != 0
                    && run.is_some()
                    && !copies_from_zone
                    && !template_checked,
            );
        }
        let mut end = vec![0u32; steps.len()];
        let mut next_stop = steps.len().saturating_sub(1);
        for index in (0..steps.len()).rev() {
            let run_changes = step_runs.get(index + 1) != Some(&step_runs[index]);
            if !replayable[index] || index + 1 == steps.len() {
                next_stop = index;
            } else if run_changes {
                next_stop = index + 1;
            }
            end[index] = next_stop as u32;
        }
        let mut by_hash_starts = vec![0u32; HASH_SIZE + 1];
        let checked = |step: &Step| step.flags & CHECK_HASH != 0;
        for step in steps.iter().filter(|step| checked(step)) {
            by_hash_starts[usize::from(step.hash) + 1] += 1;
        }
        for hash in 0..HASH_SIZE {
            by_hash_starts[hash + 1] += by_hash_starts[hash];
        }
        let mut filled = by_hash_starts.clone();
        let mut by_hash = vec![0u32; by_hash_starts[HASH_SIZE] as usize];
        for (index, step) in steps.iter().enumerate().filter(|(_, step)| checked(step)) {
            let slot = &mut filled[usize::from(step.hash)];
            by_hash[*slot as usize] = index as u32;
            *slot += 1;
        }
        Stretches {
            end,
            by_hash_starts,
            by_hash,
            crossing,
            counts,
        }
    }

    /// Counts of the codes of steps `from..to`, taken away.
    fn subtract_steps(&self, trace: &Trace, counts: &mut Counts, from: usize, to: usize) {
        let start = trace
            .steps
            .get(from)
            .map_or(trace.tokens.len(), |step| step.tokens_start as usize);
        let end = trace
            .steps
            .get(to)
            .map_or(trace.tokens.len(), |step| step.tokens_start as usize);
        for traced in &trace.tokens[start..end] {
            counts.add(traced.token, -1);
        }
    }
}

/// Marks the steps of the template's parse that a file of its family may replay
/// (see `super::replay`): in a run with the three bytes at their position, their
/// search recorded, the literal held back with a match (the byte before) in the
/// run too, and not a three-byte match from an earlier run (whether miniz keeps it
/// depends on its distance, which differs from file to file).
fn mark_replayable(trace: &mut Trace, searches: &[Recorded], bytes: &[u8], zones: &[Zone]) {
    let mut runs = Vec::with_capacity(zones.len() + 1);
    let mut from = 0;
    for zone in zones {
        runs.push((from, zone.start));
        from = zone.end;
    }
    runs.push((from, bytes.len()));
    let mut run = 0;
    for step in &mut trace.steps {
        let pos = step.pos as usize;
        while run + 1 < runs.len() && runs[run + 1].0 <= pos {
            run += 1;
        }
        let (start, end) = runs[run];
        let Some(recorded) = searches.get(pos).filter(|recorded| recorded.beat != 0) else {
            continue;
        };
        let found_before_run =
            recorded.found_at != NOT_FOUND && (recorded.found_at as usize) < start;
        if pos >= start
            && pos + 2 < end
            && (step.saved_len == 0 || pos > start)
            && !(recorded.len == 3 && found_before_run)
        {
            step.flags = REPLAYABLE;
            if (recorded.reach as usize) < start {
                step.flags |= CHECK_HASH;
                step.hash = hash3(bytes, pos) as u16;
            }
        }
    }
}

impl Recording {
    fn record(&mut self, hay: &mut impl Haystack, query: Query) -> (u32, u32) {
        if !takeable(query) {
            return deflate::find_match(hay, query, &mut Unobserved);
        }
        let mut reads = ZoneReads {
            zone_bytes_before: &self.zone_bytes_before,
            touched: false,
            reach: query.pos,
        };
        let (dist, len) = deflate::find_match(hay, query, &mut reads);
        if !reads.touched {
            self.searches[query.pos] = Recorded {
                beat: query.beat as u16,
                max_len: query.max_len as u16,
                len: len as u16,
                found_at: if dist == 0 {
                    NOT_FOUND
                } else {
                    (query.pos - dist as usize) as u32
                },
                reach: reads.reach as u32,
            };
        }
        (dist, len)
    }
}

/// A file's search, taking the template's where it may.
struct FromTemplate<'a> {
    template: &'a Template,
    layout: &'a Layout,
    /// The run of the last position searched: positions only grow.
    run: usize,
}

impl<'a> FromTemplate<'a> {
    fn new(template: &'a Template, layout: &'a Layout) -> FromTemplate<'a> {
        FromTemplate {
            template,
            layout,
            run: 0,
        }
    }

    #[inline]
    fn taken(&mut self, window: &Window, query: Query) -> Option<(u32, u32)> {
        taken(
            self.template,
            self.layout,
            &mut self.run,
            &window.dict,
            query,
        )
    }
}

/// The template's search for `query`, moved to this file, if it may be taken
/// (see the module's documentation); `bytes` is the file (at least up to the
/// position), `run` the run of the previous query, moved on to this one's.
#[inline]
fn taken(
    template: &Template,
    layout: &Layout,
    run: &mut usize,
    bytes: &[u8],
    query: Query,
) -> Option<(u32, u32)> {
    {
        if !takeable(query) {
            return None;
        }
        let runs = &layout.runs;
        while *run + 1 < runs.len() && runs[*run + 1].start <= query.pos {
            *run += 1;
        }
        let current = *run;
        let run = runs[current];
        let in_template = run.template_start + (query.pos.checked_sub(run.start)?);
        // Its three bytes must lie in the run.
        if in_template + 2 >= run.template_end {
            return None;
        }
        let recorded = template.searches[in_template];
        if recorded.beat == 0
            || u32::from(recorded.beat) != query.beat
            || u32::from(recorded.max_len) != query.max_len
        {
            return None;
        }
        // Zones change the chains of the hashes they touch, but only behind the run.
        if (recorded.reach as usize) < run.template_start
            && layout.touched_hashes.contains(hash3(bytes, query.pos))
        {
            return None;
        }
        if recorded.found_at == NOT_FOUND {
            return Some((0, u32::from(recorded.len)));
        }
        let found_at = recorded.found_at as usize;
        if found_at >= run.template_start {
            return Some(((in_template - found_at) as u32, u32::from(recorded.len)));
        }
        let found_run = runs[..current]
            .iter()
            .rev()
            .find(|run| run.template_start <= found_at)?;
        let found_here = found_at - found_run.template_start + found_run.start;
        Some(((query.pos - found_here) as u32, u32::from(recorded.len)))
    }
}

/// A small file's search, taking the template's where it may, and otherwise
/// following its hash chain as the template's chain moved to this file.
struct SmallFromTemplate<'a> {
    template: &'a Template,
    small: &'a SmallTemplate,
    layout: &'a Layout,
    bytes: &'a [u8],
    len: usize,
    run: usize,
    /// This file's positions touching a zone with the hash searched, before it.
    touching: Vec<usize>,
}

impl<'a> SmallFromTemplate<'a> {
    /// The template's step this file's parse is at, in the same state, if any, and
    /// the run it is in.
    fn aligned_step(
        &mut self,
        pos: usize,
        saved_len: u32,
        saved_dist: u32,
    ) -> Option<(usize, Run)> {
        let runs = &self.layout.runs;
        while self.run + 1 < runs.len() && runs[self.run + 1].start <= pos {
            self.run += 1;
        }
        let run = runs[self.run];
        let in_template = run.template_start + pos.checked_sub(run.start)?;
        if in_template >= run.template_end {
            return None;
        }
        let first = self.small.trace.step_at(in_template)?;
        let step = self.small.trace.steps[first];
        if u32::from(step.saved_len) != saved_len {
            return None;
        }
        if step.saved_len != 0 {
            let held_from = pos - 1 - saved_dist as usize;
            if self.layout.moved(step.saved_from as usize) != Some(held_from) {
                return None;
            }
        }
        Some((first, run))
    }

    fn new(
        template: &'a Template,
        small: &'a SmallTemplate,
        layout: &'a Layout,
        bytes: &'a [u8],
    ) -> SmallFromTemplate<'a> {
        SmallFromTemplate {
            template,
            small,
            layout,
            bytes,
            len: bytes.len(),
            run: 0,
            touching: Vec::new(),
        }
    }
}

impl SmallSearch for SmallFromTemplate<'_> {
    fn replay<S: BitSink>(&mut self, parser: &mut Parser<'_, S>) {
        let Some((first, run)) = self.aligned_step(parser.pos, parser.saved_len, parser.saved_dist)
        else {
            return;
        };
        let trace = &self.small.trace;
        let len = self.len;
        let template_len = self.template.bytes.len();
        let touched = &self.layout.touched_hashes;
        let at = RunAt {
            template_start: run.template_start,
            template_end: run.template_end,
            start: run.start,
        };
        replay::replay(trace, first, parser, self.layout, at, |step| {
            let in_file = step.pos as usize - run.template_start + run.start;
            (len - in_file).min(MAX_MATCH) == (template_len - step.pos as usize).min(MAX_MATCH)
                && (step.flags & CHECK_HASH == 0 || !touched.contains(usize::from(step.hash)))
        });
    }

    #[inline]
    fn find(&mut self, query: Query) -> (u32, u32) {
        if let Some(found) = taken(self.template, self.layout, &mut self.run, self.bytes, query) {
            return found;
        }
        let hash = hash3(self.bytes, query.pos);
        // The template's positions before this one: those of the runs before it.
        let runs = &self.layout.runs;
        let run = runs[self.run];
        let run_len = run.template_end - run.template_start;
        let bound = match query.pos.checked_sub(run.start) {
            Some(offset) if offset < run_len => run.template_start + offset,
            _ => run.template_end,
        };
        let all = self.small.positions.of_hash(hash);
        let older = &all[..all.partition_point(|&pos| usize::from(pos) < bound)];
        self.touching.clear();
        self.touching.extend(
            self.layout
                .touching
                .iter()
                .take_while(|(pos, _)| *pos < query.pos)
                .filter(|(_, touching_hash)| *touching_hash == hash)
                .map(|(pos, _)| *pos),
        );
        let mut chain = MovedChain {
            bytes: self.bytes,
            older,
            template_touching: &self.small.touching,
            runs,
            run: self.run,
            touching: &self.touching,
        };
        deflate::find_match(&mut chain, query, &mut Unobserved)
    }
}

/// A file's hash chain made of the template's (less the positions touching a zone,
/// the rest moved to where they are in this file) and this file's positions
/// touching a zone.
struct MovedChain<'a> {
    bytes: &'a [u8],
    older: &'a [u16],
    template_touching: &'a [bool],
    runs: &'a [Run],
    run: usize,
    touching: &'a [usize],
}

impl Haystack for MovedChain<'_> {
    #[inline]
    fn u16_at(&self, pos: usize) -> u16 {
        small::u16_at(self.bytes, pos)
    }

    #[inline]
    fn common_length(&self, pos: usize, candidate: usize) -> usize {
        small::common_length(self.bytes, pos, candidate)
    }

    #[inline]
    fn next(&mut self, _candidate: usize) -> usize {
        while let Some((&last, older)) = self.older.split_last()
            && self.template_touching[usize::from(last)]
        {
            self.older = older;
        }
        let moved = self.older.last().map(|&last| {
            let last = usize::from(last);
            while self.runs[self.run].template_start > last {
                self.run -= 1;
            }
            let run = self.runs[self.run];
            last - run.template_start + run.start
        });
        let own = self.touching.last().copied();
        match (moved, own) {
            (Some(moved), Some(own)) if own > moved => {
                self.touching = &self.touching[..self.touching.len() - 1];
                own
            }
            (Some(moved), _) => {
                self.older = &self.older[..self.older.len() - 1];
                moved
            }
            (None, Some(own)) => {
                self.touching = &self.touching[..self.touching.len() - 1];
                own
            }
            (None, None) => 0,
        }
    }
}

impl MatchSearch for FromTemplate<'_> {
    #[inline]
    fn find(&mut self, window: &Window, query: Query) -> (u32, u32) {
        match self.taken(window, query) {
            Some(found) => found,
            None => deflate::find_match(&mut WindowChains(window), query, &mut Unobserved),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Lcg, flate2_gzip, text_like};
    use super::*;

    /// `base` with the word at each of `places` replaced by a generated one of
    /// 1 to 12 characters.
    fn variant(base: &[u8], places: &[usize], rng: &mut Lcg) -> Vec<u8> {
        let mut out = Vec::with_capacity(base.len() + 64);
        let mut from = 0;
        for &place in places {
            out.extend_from_slice(&base[from..place]);
            let len = 1 + rng.below(12);
            out.extend((0..len).map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789.-"[rng.below(38)]));
            from = place;
        }
        out.extend_from_slice(&base[from..]);
        out
    }

    /// A text with lines, and the starts of a few lines where a name goes.
    fn family_base(rng: &mut Lcg, len: usize) -> (Vec<u8>, Vec<usize>) {
        let mut base = text_like(rng, len);
        // Names go after a space at a line start: whole lines of their own.
        let mut places = Vec::new();
        for _ in 0..6 {
            let at = rng.below(base.len());
            if let Some(newline) = base[at..].iter().position(|&c| c == b'\n') {
                let place = at + newline + 1;
                base.splice(place..place, b"name: \n".iter().copied());
                places.push(place + 6);
            }
        }
        places.sort();
        places.dedup();
        (base, places)
    }

    #[test]
    fn a_family_compresses_to_exactly_the_encoders_bytes() {
        let mut rng = Lcg(3);
        for len in [2_000, 20_000, 32_000, 40_000] {
            let (base, places) = family_base(&mut rng, len);
            let families = Families::new();
            for i in 0..30 {
                let host = variant(&base, &places, &mut rng);
                assert_eq!(families.gzip_size(&host), flate2_gzip(&host).len());
                assert!(
                    families.gzip(&host) == flate2_gzip(&host),
                    "variant {i} of a {len}-byte family"
                );
            }
            let state = families.lock();
            assert_eq!(
                state.templates.len(),
                1,
                "one template for the {len}-byte family"
            );
        }
    }

    #[test]
    fn files_that_differ_elsewhere_are_compressed_in_full_and_exactly() {
        let mut rng = Lcg(5);
        let (base, places) = family_base(&mut rng, 30_000);
        let families = Families::new();
        for _ in 0..3 {
            let host = variant(&base, &places, &mut rng);
            assert!(families.gzip(&host) == flate2_gzip(&host));
        }
        let template = families.lock().templates[0].clone();
        // A byte changed outside the zones; a line added; a zone's line shortened.
        let mut other = variant(&base, &places, &mut rng);
        other[10] ^= 1;
        assert!(template.fit(&other).is_none());
        assert!(families.gzip(&other) == flate2_gzip(&other));
        let mut longer = variant(&base, &places, &mut rng);
        longer.extend_from_slice(b"\nmore\n");
        assert!(template.fit(&longer).is_none());
        assert!(families.gzip(&longer) == flate2_gzip(&longer));
        let same = variant(&base, &places, &mut rng);
        assert!(template.fit(&same).is_some());
    }

    #[test]
    fn a_zone_that_adds_to_a_hash_chain_is_searched_in_full() {
        // Later text matches nothing before it in the template, but matches what
        // one host has in its zone: that host's chain for it is longer.
        let mut rng = Lcg(13);
        let filler = text_like(&mut rng, 2_000);
        let file = |name: &str| {
            let mut out = format!("name: {name}\n").into_bytes();
            out.extend_from_slice(&filler);
            out.extend_from_slice(b"\nzebra-quagga-wolf-okapi\n");
            out.extend_from_slice(&filler);
            out
        };
        let families = Families::new();
        for name in ["a", "b", "zebra-quagga-wolf-okapi", "c"] {
            let host = file(name);
            assert!(families.gzip(&host) == flate2_gzip(&host), "host {name}");
        }
    }

    #[test]
    fn a_zone_near_the_end_changes_how_far_searches_before_it_see() {
        // Before a zone in the last 258 bytes, a search sees less or more ahead as
        // the zone is shorter or longer than the template's.
        let mut rng = Lcg(17);
        let body = text_like(&mut rng, 3_000);
        let tail = text_like(&mut rng, 60);
        let file = |name: &str| {
            let mut out = body.clone();
            out.extend_from_slice(format!("\nname: {name}\n").as_bytes());
            out.extend_from_slice(&tail);
            out
        };
        let families = Families::new();
        for name in [
            "a",
            "b",
            "abcdefghijklmnopqrstuvwxyz0123456789",
            "c",
            "dd",
            "",
        ] {
            let host = file(name);
            assert_eq!(
                families.gzip_size(&host),
                flate2_gzip(&host).len(),
                "host {name:?}"
            );
            assert!(families.gzip(&host) == flate2_gzip(&host), "host {name:?}");
        }
    }

    #[test]
    fn the_template_hands_on_most_searches() {
        let mut rng = Lcg(9);
        let (base, places) = family_base(&mut rng, 30_000);
        let a = variant(&base, &places, &mut rng);
        let b = variant(&base, &places, &mut rng);
        let zones = zones_between(&a, &b).expect("one family");
        let template = Template::record(&Arc::from(a), zones);
        let layout = template.fit(&b).expect("fits");
        let mut search = FromTemplate::new(&template, &layout);
        let mut counting = Counting {
            inner: &mut search,
            taken: 0,
            all: 0,
        };
        let mut window = Window::new();
        let out = deflate::deflate(&b, &mut window, &mut counting, BitCounter::default());
        assert!(out.bits > 0);
        assert!(
            counting.taken * 10 >= counting.all * 8,
            "{} of {} searches taken",
            counting.taken,
            counting.all
        );
    }

    struct Counting<'a, 'b> {
        inner: &'a mut FromTemplate<'b>,
        taken: usize,
        all: usize,
    }

    impl MatchSearch for Counting<'_, '_> {
        fn find(&mut self, window: &Window, query: Query) -> (u32, u32) {
            self.all += 1;
            match self.inner.taken(window, query) {
                Some(found) => {
                    self.taken += 1;
                    found
                }
                None => deflate::find_match(&mut WindowChains(window), query, &mut Unobserved),
            }
        }
    }
}
