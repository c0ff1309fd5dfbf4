//! Inputs that fit the window with room to spare (all of a worker's user-data):
//! no byte ever leaves the window, so the hash chains are simply each hash's
//! positions in order, and the parse needs no window at all.

use super::blocks::BitSink;
use super::deflate::{
    HASH_SIZE, Haystack, MAX_MATCH, Query, WINDOW, byte_at, common_length, u16_at,
};
use super::parse::{Parser, Token};

/// The longest input this path takes: every search can look back to the start and
/// ahead a whole match without the window wrapping.
pub const SMALL: usize = WINDOW - MAX_MATCH - 2;

/// miniz's hash of the three bytes at `pos`.
#[inline]
pub fn hash3(bytes: &[u8], pos: usize) -> usize {
    ((usize::from(byte_at(bytes, pos)) << 10)
        ^ (usize::from(byte_at(bytes, pos + 1)) << 5)
        ^ usize::from(byte_at(bytes, pos + 2)))
        & (HASH_SIZE - 1)
}

/// Each hash's positions, oldest first: the hash chains of a small input, whole.
pub struct Positions {
    starts: Vec<u32>,
    positions: Vec<u16>,
}

impl Positions {
    pub fn of(input: &[u8]) -> Positions {
        let hashed = input.len().saturating_sub(2);
        let mut starts = vec![0u32; HASH_SIZE + 1];
        for pos in 0..hashed {
            starts[hash3(input, pos) + 1] += 1;
        }
        for hash in 0..HASH_SIZE {
            starts[hash + 1] += starts[hash];
        }
        let mut filled = starts.clone();
        let mut positions = vec![0u16; hashed];
        for pos in 0..hashed {
            let hash = hash3(input, pos);
            positions[filled[hash] as usize] = pos as u16;
            filled[hash] += 1;
        }
        Positions { starts, positions }
    }

    pub fn of_hash(&self, hash: usize) -> &[u16] {
        &self.positions[self.starts[hash] as usize..self.starts[hash + 1] as usize]
    }
}

/// A small input's chain for one search: its hash's positions before it.
pub struct Chain<'a> {
    pub bytes: &'a [u8],
    older: &'a [u16],
}

impl<'a> Chain<'a> {
    pub fn new(bytes: &'a [u8], positions: &'a Positions, pos: usize) -> Chain<'a> {
        let all = positions.of_hash(hash3(bytes, pos));
        let before = all.partition_point(|&older| usize::from(older) < pos);
        Chain {
            bytes,
            older: &all[..before],
        }
    }
}

impl Haystack for Chain<'_> {
    #[inline]
    fn u16_at(&self, pos: usize) -> u16 {
        u16_at(self.bytes, pos)
    }

    #[inline]
    fn common_length(&self, pos: usize, candidate: usize) -> usize {
        common_length(self.bytes, pos, candidate)
    }

    #[inline]
    fn next(&mut self, _candidate: usize) -> usize {
        match self.older.split_last() {
            Some((&last, older)) => {
                self.older = older;
                usize::from(last)
            }
            None => 0,
        }
    }
}

/// How the small path finds matches, and hears what each step emitted.
pub trait SmallSearch {
    fn find(&mut self, query: Query) -> (u32, u32);

    /// Before the parse's next step: may take whole steps at once (emitting their
    /// codes and setting the parser's state after them).
    fn replay<S: BitSink>(&mut self, _parser: &mut Parser<'_, S>) {}

    /// A step begins at `pos`, holding back a match of `saved_len` bytes
    /// `saved_dist` before `pos - 1` (0: none).
    fn begin_step(&mut self, _pos: usize, _saved_len: u32, _saved_dist: u32) {}

    fn emitted(&mut self, _token: Token) {}
}

/// The search at the parser's position in a small input of `len` bytes: all of
/// the input before it is in the window.
pub fn query<S: BitSink>(parser: &Parser<'_, S>, len: usize) -> Query {
    Query {
        pos: parser.pos,
        max_dist: parser.pos,
        max_len: (len - parser.pos).min(MAX_MATCH) as u32,
        beat: parser.beat(),
    }
}

/// The raw deflate stream of `input` (at most [`SMALL`] bytes), into `out`:
/// exactly [`super::deflate::deflate`]'s.
pub fn deflate_small<S: BitSink>(input: &[u8], search: &mut impl SmallSearch, out: S) -> S {
    debug_assert!(input.len() <= SMALL);
    let mut parser = Parser::new(input, out);
    while parser.pos < input.len() {
        search.replay(&mut parser);
        if parser.block_is_full() {
            parser.flush_block(parser.pos, false);
            continue;
        }
        if parser.pos >= input.len() {
            break;
        }
        search.begin_step(parser.pos, parser.saved_len, parser.saved_dist);
        let (dist, len) = search.find(query(&parser, input.len()));
        parser.step(dist, len, |token| search.emitted(token));
        if parser.block_is_full() {
            parser.flush_block(parser.pos, false);
        }
    }
    let dict_size = parser.pos;
    parser.finish(dict_size)
}

/// miniz's search on a small input.
pub struct SmallChains<'a> {
    pub bytes: &'a [u8],
    pub positions: &'a Positions,
}

impl SmallSearch for SmallChains<'_> {
    #[inline]
    fn find(&mut self, query: Query) -> (u32, u32) {
        let mut chain = Chain::new(self.bytes, self.positions, query.pos);
        super::deflate::find_match(&mut chain, query, &mut super::deflate::Unobserved)
    }
}
