//! A family file's search: the template's where it may be taken, else its own
//! along the template's chains moved to it.

use super::*;
use crate::build::gzip::with_window;

/// The deflate stream of `bytes`, which fits `template` as `layout` says, into
/// `sink`.
pub(super) fn encode<S: BitSink>(template: &Template, layout: &Layout, bytes: &[u8], sink: S) -> S {
    if let Some(small) = &template.small
        && bytes.len() <= SMALL
    {
        let mut search = SmallFromTemplate::new(template, small, layout, bytes);
        return small::deflate_small(bytes, &mut search, sink);
    }
    let mut search = FromTemplate::new(template, layout);
    with_window(|window| deflate::deflate(bytes, window, &mut search, sink))
}

/// A file's search, taking the template's where it may.
pub(super) struct FromTemplate<'a> {
    pub(super) template: &'a Template,
    pub(super) layout: &'a Layout,
    /// The run of the last position searched: positions only grow.
    pub(super) run: usize,
}

impl<'a> FromTemplate<'a> {
    pub(super) fn new(template: &'a Template, layout: &'a Layout) -> FromTemplate<'a> {
        FromTemplate {
            template,
            layout,
            run: 0,
        }
    }

    #[inline]
    pub(super) fn taken(&mut self, window: &Window, query: Query) -> Option<(u32, u32)> {
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
/// position), `cursor` the run of the previous query, moved on to this one's.
#[inline]
pub(super) fn taken(
    template: &Template,
    layout: &Layout,
    cursor: &mut usize,
    bytes: &[u8],
    query: Query,
) -> Option<(u32, u32)> {
    if !takeable(query) {
        return None;
    }
    let (run, in_template) = layout.place(cursor, query.pos);
    let in_template = in_template?;
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
    let found_here = layout.moved(found_at)?;
    Some(((query.pos - found_here) as u32, u32::from(recorded.len)))
}

/// A small file's search, taking the template's where it may, and otherwise
/// following its hash chain as the template's chain moved to this file.
pub(super) struct SmallFromTemplate<'a> {
    pub(super) template: &'a Template,
    pub(super) small: &'a SmallTemplate,
    pub(super) layout: &'a Layout,
    pub(super) bytes: &'a [u8],
    pub(super) len: usize,
    pub(super) run: usize,
    /// This file's positions touching a zone with the hash searched, before it.
    pub(super) touching: Vec<usize>,
}

impl<'a> SmallFromTemplate<'a> {
    /// The template's step this file's parse is at, in the same state, if any, and
    /// the run it is in.
    pub(super) fn aligned_step(
        &mut self,
        pos: usize,
        saved_len: u32,
        saved_dist: u32,
    ) -> Option<(usize, Run)> {
        let (run, in_template) = self.layout.place(&mut self.run, pos);
        let in_template = in_template?;
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

    pub(super) fn new(
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
        replay::replay(trace, first, parser, self.layout, run, |step| {
            let in_file = run.to_file(step.pos as usize);
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
        let (run, in_run) = self.layout.place(&mut self.run, query.pos);
        let mut bound = in_run.unwrap_or(run.template_end);
        let mut state = None;
        if let Some(in_template) = in_run
            && let Some(resumed) = self.resumed(query, in_template, hash)
        {
            // The chain from where the template's search first read a zone byte.
            bound = resumed.0;
            state = Some(resumed.1);
        }
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
        match state {
            Some(state) => deflate::find_match_from(&mut chain, query, state, &mut Unobserved),
            None => deflate::find_match(&mut chain, query, &mut Unobserved),
        }
    }
}

impl SmallFromTemplate<'_> {
    /// Where the template's search at `in_template`, which read a zone byte, may be
    /// taken up in this file: the template's chain position before that step (the
    /// chain goes on from there), and the state there moved to this file. Only
    /// when no zone touches a position of the hash, in either file: then the
    /// chains are the same up to there, and so are the bytes compared.
    fn resumed(&self, query: Query, in_template: usize, hash: usize) -> Option<(usize, WalkState)> {
        if !takeable(query) || in_template + 2 >= self.layout.runs[self.run].template_end {
            return None;
        }
        let resumable = self
            .template
            .resumable
            .get(in_template)
            .copied()
            .flatten()?;
        if u32::from(resumable.beat) != query.beat
            || u32::from(resumable.max_len) != query.max_len
            || self.layout.touched_hashes.contains(hash)
        {
            return None;
        }
        let candidate = self.layout.moved(resumable.state.candidate)?;
        let best_dist = match resumable.found_at {
            NOT_FOUND => 0,
            found_at => (query.pos - self.layout.moved(found_at as usize)?) as u32,
        };
        Some((
            resumable.state.candidate,
            resumable.state.moved(candidate, best_dist),
        ))
    }
}

/// A file's hash chain made of the template's (less the positions touching a zone,
/// the rest moved to where they are in this file) and this file's positions
/// touching a zone.
pub(super) struct MovedChain<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) older: &'a [u16],
    pub(super) template_touching: &'a [bool],
    pub(super) runs: &'a [Run],
    pub(super) run: usize,
    pub(super) touching: &'a [usize],
}

impl Haystack for MovedChain<'_> {
    #[inline]
    fn u16_at(&self, pos: usize) -> u16 {
        deflate::u16_at(self.bytes, pos)
    }

    #[inline]
    fn common_length(&self, pos: usize, candidate: usize) -> usize {
        deflate::common_length(self.bytes, pos, candidate)
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
            run.to_file(last)
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
