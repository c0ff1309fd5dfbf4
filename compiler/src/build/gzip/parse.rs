//! miniz's lazy matching: what each search's result makes of the input, and when a
//! block is full. Shared by the drivers, which differ in how they keep the window.

use super::blocks::{BitSink, Block, CODE_BUF_SIZE};
use super::deflate::WINDOW_MASK;

const MIN_MATCH: u32 = 3;

/// A code one step of the parse emitted: a literal, or a match of `len` bytes at
/// `at` that copies the bytes `dist` before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Literal(u8),
    Match { len: u32, dist: u32, at: usize },
}

pub struct Parser<'a, S: BitSink> {
    input: &'a [u8],
    /// The position of the next search.
    pub pos: usize,
    /// A match found at the previous position, held to see whether this one is
    /// longer (0: none).
    pub saved_len: u32,
    pub saved_dist: u32,
    saved_literal: u8,
    block: Block,
    out: S,
    block_start: usize,
}

impl<'a, S: BitSink> Parser<'a, S> {
    pub fn new(input: &'a [u8], out: S) -> Parser<'a, S> {
        Parser {
            input,
            pos: 0,
            saved_len: 0,
            saved_dist: 0,
            saved_literal: 0,
            block: Block::new(!S::COUNTS_ONLY),
            out,
            block_start: 0,
        }
    }

    /// The match the search at `pos` has to beat.
    #[inline]
    pub fn beat(&self) -> u32 {
        if self.saved_len != 0 {
            self.saved_len
        } else {
            MIN_MATCH - 1
        }
    }

    /// Takes the search's result at `pos`, emits what it decides (through `emit`
    /// too) and moves on.
    #[inline]
    pub fn step(&mut self, mut dist: u32, mut len: u32, mut emit: impl FnMut(Token)) {
        let pos = self.pos;
        let far_and_short = len == MIN_MATCH && dist >= 8 * 1024;
        if far_and_short || pos & WINDOW_MASK == dist as usize {
            dist = 0;
            len = 0;
        }
        let mut advance = 1;
        if self.saved_len != 0 {
            if len > self.saved_len {
                self.literal(self.saved_literal, &mut emit);
                if len >= 128 {
                    self.matched(len, dist, pos, &mut emit);
                    self.saved_len = 0;
                    advance = len as usize;
                } else {
                    self.saved_literal = self.input[pos];
                    self.saved_dist = dist;
                    self.saved_len = len;
                }
            } else {
                self.matched(self.saved_len, self.saved_dist, pos - 1, &mut emit);
                advance = self.saved_len as usize - 1;
                self.saved_len = 0;
            }
        } else if dist == 0 {
            self.literal(self.input[pos], &mut emit);
        } else if len >= 128 {
            self.matched(len, dist, pos, &mut emit);
            advance = len as usize;
        } else {
            self.saved_literal = self.input[pos];
            self.saved_dist = dist;
            self.saved_len = len;
        }
        self.pos += advance;
    }

    #[inline]
    fn literal(&mut self, byte: u8, emit: &mut impl FnMut(Token)) {
        self.block.literal(byte);
        emit(Token::Literal(byte));
    }

    #[inline]
    fn matched(&mut self, len: u32, dist: u32, at: usize, emit: &mut impl FnMut(Token)) {
        self.block.matched(len, dist);
        emit(Token::Match { len, dist, at });
    }

    /// Emits `token` as a step of the parse would.
    #[inline]
    pub fn emit(&mut self, token: Token) {
        match token {
            Token::Literal(byte) => self.block.literal(byte),
            Token::Match { len, dist, .. } => self.block.matched(len, dist),
        }
    }

    /// Sets where the parse is, after tokens were emitted with [`Self::emit`].
    #[inline]
    pub fn set_state(&mut self, pos: usize, saved_len: u32, saved_dist: u32) {
        self.pos = pos;
        self.saved_len = saved_len;
        self.saved_dist = saved_dist;
        if saved_len != 0 {
            self.saved_literal = self.input[pos - 1];
        }
    }

    /// The block being filled.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// Whether miniz ends the block here: its code buffer nearly full, or codes
    /// nearly as long as the bytes they stand for.
    #[inline]
    pub fn block_is_full(&self) -> bool {
        let codes = self.block.code_len();
        codes > CODE_BUF_SIZE - 8
            || (self.block.total_bytes > 31 * 1024
                && (codes * 115) >> 7 >= self.block.total_bytes as usize)
    }

    /// Writes the block; `dict_size` is how much of the input is in the window.
    pub fn flush_block(&mut self, dict_size: usize, last: bool) {
        let in_window = self.pos - self.block_start <= dict_size;
        let total = self.block.total_bytes as usize;
        self.block
            .flush(&mut self.out, last, self.input, self.block_start, in_window);
        self.block_start += total;
    }

    /// The stream, after the last block (not yet padded to a byte).
    pub fn finish(mut self, dict_size: usize) -> S {
        self.flush_block(dict_size, true);
        self.out
    }
}
