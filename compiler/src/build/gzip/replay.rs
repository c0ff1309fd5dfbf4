//! Whole steps of a template's parse, replayed in a file of its family.
//!
//! Once a file's parse reaches a position of a run in the same state as the
//! template's parse there (the same match held back, from the same place), and the
//! template's searches from there on may be taken (`super::family`), the file's
//! parse makes the same decisions and emits the same codes: the distances of
//! matches that reach into an earlier run are moved, nothing else changes. So the
//! codes are copied from the template's, step by step, until a step whose search
//! may not be taken, the end of the run, or a full block.

use super::blocks::BitSink;
use super::parse::{Parser, Token};

/// One step of the template's parse: where, the state before it, and its codes.
#[derive(Clone, Copy)]
pub struct Step {
    pub pos: u32,
    /// The match held back before the step (0: none), and where it copies from.
    pub saved_len: u16,
    pub saved_from: u32,
    /// Whether the step may be replayed in a file that fits the template, and
    /// whether only if the hash of its position touches none of the file's zones.
    pub flags: u8,
    pub hash: u16,
    /// Its codes: `tokens[tokens_start..]` up to the next step's.
    pub tokens_start: u32,
}

pub const REPLAYABLE: u8 = 1;
pub const CHECK_HASH: u8 = 2;
const NO_STEP: u32 = u32::MAX;

/// A code, with where a match copies from.
#[derive(Clone, Copy)]
pub struct TraceToken {
    pub token: Token,
    pub from: u32,
}

/// The template's parse, step by step.
#[derive(Default)]
pub struct Trace {
    pub steps: Vec<Step>,
    pub tokens: Vec<TraceToken>,
    /// By position: the step there, or none.
    step_at: Vec<u32>,
}

impl Trace {
    pub fn new(len: usize) -> Trace {
        Trace {
            steps: Vec::new(),
            tokens: Vec::new(),
            step_at: vec![NO_STEP; len],
        }
    }

    pub fn begin_step(&mut self, pos: usize, saved_len: u32, saved_dist: u32) {
        self.step_at[pos] = self.steps.len() as u32;
        self.steps.push(Step {
            pos: pos as u32,
            saved_len: saved_len as u16,
            saved_from: if saved_len == 0 {
                0
            } else {
                (pos - 1 - saved_dist as usize) as u32
            },
            flags: 0,
            hash: 0,
            tokens_start: self.tokens.len() as u32,
        });
    }

    pub fn emitted(&mut self, token: Token) {
        let from = match token {
            Token::Match { dist, at, .. } => (at - dist as usize) as u32,
            Token::Literal(_) => 0,
        };
        self.tokens.push(TraceToken { token, from });
    }

    pub fn step_at(&self, pos: usize) -> Option<usize> {
        let step = *self.step_at.get(pos)?;
        (step != NO_STEP).then_some(step as usize)
    }
}

/// How a file lies against the template, for replaying.
pub trait Moves {
    /// The file's position of the template's `pos`, if it is outside the zones.
    fn moved(&self, pos: usize) -> Option<usize>;
}

/// A run of the template (`template_start..template_end`) and where it starts in
/// a file of its family: bytes equal in both, between two zones.
#[derive(Clone, Copy)]
pub struct Run {
    pub template_start: usize,
    pub template_end: usize,
    pub start: usize,
}

impl Run {
    /// The file's position of the template's `pos` (in the run, or at its end).
    pub fn to_file(self, pos: usize) -> usize {
        pos - self.template_start + self.start
    }
}

/// The parser's state before `step` (in `run`) in the file: the position, and the
/// match held back, length and distance. None if the held match copies from a
/// zone (no search whose result was taken could have found it).
pub fn state_before(step: &Step, run: Run, moves: &impl Moves) -> Option<(usize, u32, u32)> {
    let pos = run.to_file(step.pos as usize);
    let saved_dist = match step.saved_len {
        0 => 0,
        _ => (pos - 1 - moves.moved(step.saved_from as usize)?) as u32,
    };
    Some((pos, u32::from(step.saved_len), saved_dist))
}

/// Replays the template's steps from `first`, in `run`, while `replayable` allows
/// each, into `parser` (whose state matches the template's before `first`).
/// Returns the steps replayed.
pub fn replay<S: BitSink>(
    trace: &Trace,
    first: usize,
    parser: &mut Parser<'_, S>,
    moves: &impl Moves,
    run: Run,
    mut replayable: impl FnMut(&Step) -> bool,
) -> usize {
    let to_file = |pos: usize| run.to_file(pos);
    let moved = |pos: usize| {
        if (run.template_start..run.template_end).contains(&pos) {
            Some(to_file(pos))
        } else {
            moves.moved(pos)
        }
    };
    let mut next = first;
    let mut state = None;
    // The last step is never replayed, so that the state after a step is known.
    while next + 1 < trace.steps.len() {
        let step = trace.steps[next];
        let after = trace.steps[next + 1];
        if step.flags & REPLAYABLE == 0
            || (step.pos as usize) < run.template_start
            || step.pos as usize + 2 >= run.template_end
            || after.pos as usize > run.template_end
            || !replayable(&step)
        {
            break;
        }
        let Some(state_after) = state_before(&after, run, moves) else {
            break;
        };
        let traced = &trace.tokens[step.tokens_start as usize..after.tokens_start as usize];
        let mut codes = [None; 2];
        if traced.len() > codes.len() {
            break;
        }
        let mut all_moved = true;
        for (code, traced) in codes.iter_mut().zip(traced) {
            *code = match traced.token {
                Token::Match { len, at, .. } => match moved(traced.from as usize) {
                    Some(from) => Some(Token::Match {
                        len,
                        dist: (to_file(at) - from) as u32,
                        at: to_file(at),
                    }),
                    None => {
                        all_moved = false;
                        None
                    }
                },
                literal => Some(literal),
            };
        }
        if !all_moved {
            break;
        }
        for code in codes.into_iter().flatten() {
            parser.emit(code);
        }
        state = Some(state_after);
        next += 1;
        if parser.block_is_full() {
            break;
        }
    }
    if let Some((pos, saved_len, saved_dist)) = state {
        parser.set_state(pos, saved_len, saved_dist);
    }
    next - first
}
