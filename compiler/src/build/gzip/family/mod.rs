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
//!
//! This module finds the families (which files are alike, and where they differ);
//! `template` records the template's searches and lays a file against it;
//! `search` makes a file's searches from them; `counts` has a file's gzip size from
//! the template's symbol counts without going through the steps it replays.

use std::sync::{Arc, Mutex, PoisonError};

use super::blocks::{BitCounter, BitSink, Counts};
use super::deflate::{
    self, HASH_SIZE, Haystack, MAX_MATCH, MatchSearch, Query, Reads, Unobserved, WINDOW, WalkState,
    Window, WindowChains,
};
use super::parse::{Parser, Token};
use super::replay::{self, CHECK_HASH, Moves, REPLAYABLE, Run, Step, Trace};
use super::small::{self, Chain, Positions, SMALL, SmallSearch, hash3};

mod counts;
mod search;
mod template;
#[cfg(test)]
mod tests;

use counts::*;
use search::*;
use template::*;

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
