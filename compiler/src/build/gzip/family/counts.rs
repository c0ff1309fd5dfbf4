//! A family file's gzip size from the template's symbol counts.

use super::*;
use crate::build::gzip::{blocks::CODE_BUF_SIZE, size_of};

/// The gzip size of `bytes` from the template's codes (see [`Stretches`]), when
/// the file is small and its codes make one block (as the template's need not).
pub(super) fn size_from_template(
    template: &Template,
    layout: &Layout,
    bytes: &[u8],
) -> Option<usize> {
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
            && let Some((pos, saved_len, saved_dist)) =
                replay::state_before(&trace.steps[end], run, layout)
        {
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
            parser.set_state(pos, saved_len, saved_dist);
            accounted = end;
            continue;
        }
        let (dist, found) = search.find(small::query(&parser, len));
        parser.step(dist, found, |_| {});
    }
    stretches.subtract_steps(trace, &mut counts, accounted, trace.steps.len());
    counts.add_block(parser.block());
    let (mut block, code_len) = counts.block(len as u32)?;
    // A block ends early only when its codes nearly fill miniz's buffer, or stand
    // for more than 31 KiB at over nine tenths of its size: neither at any point
    // if not at the end.
    if code_len > CODE_BUF_SIZE - 8 || (code_len * 115) >> 7 > 31 * 1024 {
        return None;
    }
    let mut counter = BitCounter::default();
    block.flush(&mut counter, true, bytes, 0, true);
    Some(size_of(counter))
}

/// Where a stretch of replayed steps from `first` ends in this file: at the first
/// step that cannot be replayed, whose search this file cannot take (too near its
/// end, or its hash is one of this file's zones'). None if it is empty.
pub(super) fn stretch_end(
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

/// What lets a file's gzip size be had from the template's without going
/// through the steps it replays: their codes are the template's, so the file's
/// symbol counts are the template's, less those of the steps it does not replay,
/// plus its own steps', with the distance symbols of matches that copy from an
/// earlier run moved.
pub(super) struct Stretches {
    /// For each step, the first step from it on that cannot be replayed, whatever
    /// the file (or is in another run, or is the last).
    pub(super) end: Vec<u32>,
    /// The steps that cannot be replayed in a file with a zone position of their
    /// hash, by hash (each hash's list in `by_hash[by_hash_starts[h]..][..]`).
    pub(super) by_hash_starts: Vec<u32>,
    pub(super) by_hash: Vec<u32>,
    /// Matches that copy from an earlier run, in order.
    pub(super) crossing: Vec<Crossing>,
    /// The counts of all the template's codes.
    pub(super) counts: Counts,
}

#[derive(Clone, Copy)]
pub(super) struct Crossing {
    pub(super) step: u32,
    pub(super) dist: u32,
    pub(super) run: u32,
    pub(super) from_run: u32,
}

impl Stretches {
    pub(super) fn of(
        trace: &Trace,
        bytes: &[u8],
        zones: &[Zone],
        template_touched: &HashSet,
    ) -> Stretches {
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
    pub(super) fn subtract_steps(
        &self,
        trace: &Trace,
        counts: &mut Counts,
        from: usize,
        to: usize,
    ) {
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
