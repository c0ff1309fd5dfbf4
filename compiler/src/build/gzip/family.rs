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

use super::deflate::{
    self, HASH_SIZE, Haystack, MAX_MATCH, MatchSearch, Query, Reads, Unobserved, WINDOW, Window,
    WindowChains,
};
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
        if let Some((template, layout)) = self.template_for(bytes) {
            if let Some(small) = &template.small
                && bytes.len() <= SMALL
            {
                let mut search = SmallFromTemplate::new(&template, small, &layout, bytes);
                return super::framed(bytes, |out| small::deflate_small(bytes, &mut search, out));
            }
            let mut search = FromTemplate::new(&template, &layout);
            return super::with_window(|window| {
                super::framed(bytes, |out| {
                    deflate::deflate(bytes, window, &mut search, out)
                })
            });
        }
        super::gzip(bytes)
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
            if zones.len() > MAX_ZONES {
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
}

/// Whether a search at `query` may be recorded or taken: its window has not
/// wrapped, so positions are positions in the file, and it can find a match of
/// any length.
fn takeable(query: Query) -> bool {
    query.pos + MAX_MATCH + 2 < WINDOW
        && query.max_len as usize == MAX_MATCH
        && query.max_dist == query.pos
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
                bytes: small::padded(bytes),
                positions: &positions,
            };
            small::deflate_small(bytes, &mut search, Vec::new());
            let mut touching = vec![false; bytes.len()];
            for zone in &zones {
                for pos in touching_positions(bytes.len(), zone.start, zone.end) {
                    touching[pos] = true;
                }
            }
            Some(SmallTemplate {
                positions,
                touching,
            })
        } else {
            let mut window = Window::new();
            deflate::deflate(bytes, &mut window, &mut recording, Vec::new());
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
    bytes: Vec<u8>,
    positions: &'a Positions,
}

impl SmallSearch for SmallRecording<'_> {
    fn find(&mut self, query: Query) -> (u32, u32) {
        let mut chain = Chain::new(&self.bytes, self.positions, query.pos);
        self.recording.record(&mut chain, query)
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
        taken(self.template, self.layout, &mut self.run, &window.dict, query)
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
        if recorded.beat == 0 || u32::from(recorded.beat) != query.beat {
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
    bytes: Vec<u8>,
    run: usize,
    /// This file's positions touching a zone with the hash searched, before it.
    touching: Vec<usize>,
}

impl<'a> SmallFromTemplate<'a> {
    fn new(
        template: &'a Template,
        small: &'a SmallTemplate,
        layout: &'a Layout,
        bytes: &[u8],
    ) -> SmallFromTemplate<'a> {
        SmallFromTemplate {
            template,
            small,
            layout,
            bytes: small::padded(bytes),
            run: 0,
            touching: Vec::new(),
        }
    }
}

impl SmallSearch for SmallFromTemplate<'_> {
    #[inline]
    fn find(&mut self, query: Query) -> (u32, u32) {
        if let Some(found) = taken(self.template, self.layout, &mut self.run, &self.bytes, query) {
            return found;
        }
        let hash = hash3(&self.bytes, query.pos);
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
            bytes: &self.bytes,
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
        let out = deflate::deflate(&b, &mut window, &mut counting, Vec::new());
        assert!(!out.is_empty());
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
