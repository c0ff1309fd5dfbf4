//! The template: its searches recorded, and how another file lies against it.

use super::*;

/// Where a file's bytes are in the template's: runs of bytes equal to the
/// template's (`template_start..template_end` at `start`), between its zones.
pub(super) struct Layout {
    pub(super) runs: Vec<Run>,
    /// Hashes of the positions whose three bytes touch a zone, in the template or
    /// in this file.
    pub(super) touched_hashes: HashSet,
    /// This file's positions whose three bytes touch a zone, with their hashes, in
    /// order.
    pub(super) touching: Vec<(usize, usize)>,
}

impl Layout {
    /// The run of `pos` (the last to start at or before it; `run` is the previous
    /// position's run, as positions only grow, and is moved on to this one's) and
    /// the template's position of `pos`, if `pos` is in the run rather than in the
    /// zone after it.
    pub(super) fn place(&self, run: &mut usize, pos: usize) -> (Run, Option<usize>) {
        while *run + 1 < self.runs.len() && self.runs[*run + 1].start <= pos {
            *run += 1;
        }
        let found = self.runs[*run];
        let in_template = pos
            .checked_sub(found.start)
            .map(|offset| found.template_start + offset)
            .filter(|&in_template| in_template < found.template_end);
        (found, in_template)
    }
}

impl Moves for Layout {
    fn moved(&self, pos: usize) -> Option<usize> {
        let after = self.runs.partition_point(|run| run.template_start <= pos);
        let run = self.runs[after.checked_sub(1)?];
        (pos < run.template_end).then(|| run.to_file(pos))
    }
}

/// A set of three-byte hashes.
#[derive(Clone)]
pub(super) struct HashSet(pub(super) Box<[u64; HASH_SIZE / 64]>);

impl HashSet {
    pub(super) fn new() -> HashSet {
        HashSet(Box::new([0; HASH_SIZE / 64]))
    }

    pub(super) fn insert_touching(&mut self, bytes: &[u8], start: usize, end: usize) {
        for pos in touching_positions(bytes.len(), start, end) {
            let hash = hash3(bytes, pos);
            self.0[hash / 64] |= 1 << (hash % 64);
        }
    }

    pub(super) fn contains(&self, hash: usize) -> bool {
        self.0[hash / 64] & (1 << (hash % 64)) != 0
    }
}

/// The positions of a file of `len` bytes whose three bytes touch the zone
/// `start..end` (or, for an empty zone, straddle it).
pub(super) fn touching_positions(
    len: usize,
    start: usize,
    end: usize,
) -> impl Iterator<Item = usize> {
    (start.saturating_sub(2)..end.max(start)).filter(move |pos| pos + 2 < len)
}

/// A search of the template that another file may take: the match to beat, the
/// match found (its position in the template, or none), and how far back along the
/// hash chain the search went.
#[derive(Clone, Copy, Default)]
pub(super) struct Recorded {
    /// 0: nothing recorded.
    pub(super) beat: u16,
    /// The longest match the search could find (258, less near the end).
    pub(super) max_len: u16,
    pub(super) len: u16,
    pub(super) found_at: u32,
    /// The oldest position the search stepped to; 0 if it reached the chain's end.
    pub(super) reach: u32,
}

pub(super) const NOT_FOUND: u32 = u32::MAX;

/// A search of the template that read a zone byte, up to the step that first did:
/// another file may take it up from there (see `search`).
#[derive(Clone, Copy)]
pub(super) struct Resumable {
    pub(super) beat: u16,
    pub(super) max_len: u16,
    /// The state before that step, positions in the template.
    pub(super) state: WalkState,
    /// Where the best match so far copies from (`NOT_FOUND`: none yet).
    pub(super) found_at: u32,
}

pub(super) struct Template {
    pub(super) bytes: Arc<[u8]>,
    pub(super) zones: Vec<Zone>,
    pub(super) touched_hashes: HashSet,
    /// By position in the template.
    pub(super) searches: Vec<Recorded>,
    /// By position in the template: the searches not recorded, where another file
    /// may take them up.
    pub(super) resumable: Vec<Option<Resumable>>,
    /// For a template of at most [`SMALL`] bytes: what lets a file's searches that
    /// cannot be taken follow their chains without building them.
    pub(super) small: Option<SmallTemplate>,
}

pub(super) struct SmallTemplate {
    /// The template's hash chains.
    pub(super) positions: Positions,
    /// The template's positions whose three bytes touch a zone: no other file has
    /// them.
    pub(super) touching: Vec<bool>,
    /// The template's parse, step by step.
    pub(super) trace: Trace,
    pub(super) stretches: Stretches,
}

/// Whether a search at `query` may be recorded or taken: its window has not
/// wrapped, so positions are positions in the file. (A search taken must also see
/// as long a match ahead as the template's.)
pub(super) fn takeable(query: Query) -> bool {
    query.pos + MAX_MATCH + 2 < WINDOW && query.max_dist == query.pos
}

impl Template {
    /// Compresses `bytes` (the output is not needed) to record its searches.
    pub(super) fn record(bytes: &Arc<[u8]>, zones: Vec<Zone>) -> Template {
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
            resumable: vec![None; bytes.len().min(WINDOW)],
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
            resumable: recording.resumable,
            small,
        }
    }

    /// How `bytes` lies against the template, if it differs only inside the zones.
    pub(super) fn fit(&self, bytes: &[u8]) -> Option<Layout> {
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
pub(super) struct Recording {
    pub(super) zone_bytes_before: Vec<u32>,
    pub(super) searches: Vec<Recorded>,
    pub(super) resumable: Vec<Option<Resumable>>,
}

pub(super) struct ZoneReads<'a> {
    pub(super) zone_bytes_before: &'a [u32],
    pub(super) touched: bool,
    pub(super) reach: usize,
    /// The last state before a zone byte was read.
    pub(super) clean: Option<WalkState>,
}

impl Reads for ZoneReads<'_> {
    fn stepped(&mut self, to: usize) {
        self.reach = self.reach.min(to);
    }

    fn checkpoint(&mut self, state: &WalkState) {
        if !self.touched {
            self.clean = Some(*state);
        }
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

pub(super) struct SmallRecording<'a> {
    pub(super) recording: &'a mut Recording,
    pub(super) bytes: &'a [u8],
    pub(super) positions: &'a Positions,
    pub(super) trace: Trace,
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
pub(super) fn template_runs(len: usize, zones: &[Zone]) -> Vec<(usize, usize)> {
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
pub(super) fn run_of(runs: &[(usize, usize)], pos: usize) -> Option<usize> {
    let after = runs.partition_point(|run| run.0 <= pos);
    let index = after.checked_sub(1)?;
    (pos < runs[index].1).then_some(index)
}

/// Marks the steps of the template's parse that a file of its family may replay
/// (see `super::replay`): in a run with the three bytes at their position, their
/// search recorded, the literal held back with a match (the byte before) in the
/// run too, and not a three-byte match from an earlier run (whether miniz keeps it
/// depends on its distance, which differs from file to file).
pub(super) fn mark_replayable(
    trace: &mut Trace,
    searches: &[Recorded],
    bytes: &[u8],
    zones: &[Zone],
) {
    let runs = template_runs(bytes.len(), zones);
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
    pub(super) fn record(&mut self, hay: &mut impl Haystack, query: Query) -> (u32, u32) {
        if !takeable(query) {
            return deflate::find_match(hay, query, &mut Unobserved);
        }
        let mut reads = ZoneReads {
            zone_bytes_before: &self.zone_bytes_before,
            touched: false,
            reach: query.pos,
            clean: None,
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
        } else if let Some(state) = reads.clean {
            self.resumable[query.pos] = Some(Resumable {
                beat: query.beat as u16,
                max_len: query.max_len as u16,
                state,
                found_at: match state.best_dist {
                    0 => NOT_FOUND,
                    dist => (query.pos - dist as usize) as u32,
                },
            });
        }
        (dist, len)
    }
}
