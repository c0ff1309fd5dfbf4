//! The LZ77 parse of miniz_oxide 0.9 at level 9 (lazy matching, 768 probes into
//! hash chains of three-byte hashes over a 32 KiB window), with the match search
//! behind a trait so that a host's search can be taken from a similar host's
//! (`super::family`).

use super::blocks::BitSink;
use super::parse::Parser;

pub const WINDOW: usize = 32 * 1024;
pub const WINDOW_MASK: usize = WINDOW - 1;
pub const MAX_MATCH: usize = 258;
const MIN_MATCH: u32 = 3;
pub const HASH_SIZE: usize = 32 * 1024;
/// Chain steps (in groups of three) for a first match, and when the lazy
/// match to beat is already 32 bytes or longer.
const PROBES: [u32; 2] = [1 + 768_u32.div_ceil(3), 1 + (768_u32 >> 2).div_ceil(3)];

/// The window and its hash chains. Kept per thread and cleared per input:
/// allocating them costs about as much as compressing a small file.
pub struct Window {
    /// The window, its first bytes repeated after its end so that a match can be
    /// read past the end without wrapping.
    pub dict: Box<[u8]>,
    /// For each position (modulo the window), the previous position with the
    /// same hash; 0 ends a chain.
    pub next: Box<[u16]>,
    head: Box<[u16]>,
}

impl Window {
    pub fn new() -> Window {
        Window {
            dict: vec![0; WINDOW + MAX_MATCH].into_boxed_slice(),
            next: vec![0; WINDOW].into_boxed_slice(),
            head: vec![0; HASH_SIZE].into_boxed_slice(),
        }
    }

    fn clear(&mut self) {
        self.dict.fill(0);
        self.next.fill(0);
        self.head.fill(0);
    }

    /// Two bytes at `pos` (less than [`WINDOW`]), past the end from the copy.
    #[inline]
    pub fn u16_at(&self, pos: usize) -> u16 {
        u16_at(&self.dict, pos)
    }

    /// [`common_length`] at window positions (less than [`WINDOW`]): a match
    /// running past the window's end reads its start's copy.
    #[inline]
    pub fn common_length(&self, pos: usize, candidate: usize) -> usize {
        common_length(&self.dict, pos, candidate)
    }
}

/// The byte at `pos`, or 0 past the end, as miniz's window holds zeros there.
#[inline]
pub fn byte_at(bytes: &[u8], pos: usize) -> u8 {
    bytes.get(pos).copied().unwrap_or(0)
}

/// Two bytes, little-endian, as miniz reads them.
#[inline]
pub fn u16_at(bytes: &[u8], pos: usize) -> u16 {
    match bytes.get(pos..pos + 2) {
        Some(&[first, second]) => u16::from_le_bytes([first, second]),
        _ => u16::from_le_bytes([byte_at(bytes, pos), byte_at(bytes, pos + 1)]),
    }
}

#[inline]
fn u64_at(bytes: &[u8], pos: usize) -> u64 {
    let chunk: [u8; 8] = match bytes.get(pos..pos + 8) {
        Some(chunk) => chunk.try_into().unwrap_or([0; 8]),
        None => std::array::from_fn(|i| byte_at(bytes, pos + i)),
    };
    u64::from_le_bytes(chunk)
}

/// How many bytes at `pos` and `candidate` agree, from the third on (the first
/// two are known to), as miniz counts: 8 bytes at a time, at most 258.
#[inline]
pub fn common_length(bytes: &[u8], pos: usize, candidate: usize) -> usize {
    let (mut p, mut q) = (pos + 2, candidate + 2);
    for _ in 0..32 {
        let differ = u64_at(bytes, p) ^ u64_at(bytes, q);
        if differ != 0 {
            return p - pos + (differ.trailing_zeros() as usize >> 3);
        }
        p += 8;
        q += 8;
    }
    MAX_MATCH
}

/// One search for a match: what the parse knows when it asks.
#[derive(Clone, Copy)]
pub struct Query {
    /// The position in the input.
    pub pos: usize,
    /// Bytes of the input in the window before `pos`: no match reaches further.
    pub max_dist: usize,
    /// Bytes from `pos` on that are in the window (258 but at the end).
    pub max_len: u32,
    /// The match to beat: a match found at the previous position (lazy
    /// matching), or 2.
    pub beat: u32,
}

/// How the parse finds matches.
pub trait MatchSearch {
    /// The closest of the longest matches longer than `query.beat` among the
    /// candidates miniz would probe, as (distance, length); (0, `beat`) if none.
    fn find(&mut self, window: &Window, query: Query) -> (u32, u32);
}

/// miniz's own search: along the hash chains of the window.
pub struct Chains;

impl MatchSearch for Chains {
    #[inline]
    fn find(&mut self, window: &Window, query: Query) -> (u32, u32) {
        find_match(&mut WindowChains(window), query, &mut Unobserved)
    }
}

/// The input and its hash chains as a search sees them, by position in the input.
pub trait Haystack {
    fn u16_at(&self, pos: usize) -> u16;
    /// See [`common_length`].
    fn common_length(&self, pos: usize, candidate: usize) -> usize;
    /// The position before `candidate` on the chain the search follows (0: its
    /// end). Called along one chain, newest to oldest.
    fn next(&mut self, candidate: usize) -> usize;
}

pub struct WindowChains<'a>(pub &'a Window);

impl Haystack for WindowChains<'_> {
    #[inline]
    fn u16_at(&self, pos: usize) -> u16 {
        self.0.u16_at(pos & WINDOW_MASK)
    }

    #[inline]
    fn common_length(&self, pos: usize, candidate: usize) -> usize {
        self.0
            .common_length(pos & WINDOW_MASK, candidate & WINDOW_MASK)
    }

    #[inline]
    fn next(&mut self, candidate: usize) -> usize {
        usize::from(self.0.next[candidate & WINDOW_MASK])
    }
}

/// What a search reads of the input, in positions of the input: every byte its
/// result depends on, besides the hash chains.
pub trait Reads {
    /// Bytes `from..=to` were compared.
    fn range(&mut self, from: usize, to: usize);

    /// The search stepped along the chain to position `to` (0: the chain's end).
    fn stepped(&mut self, _to: usize) {}

    /// The search is about to step on from `state`.
    fn checkpoint(&mut self, _state: &WalkState) {}
}

pub struct Unobserved;

impl Reads for Unobserved {
    #[inline(always)]
    fn range(&mut self, _from: usize, _to: usize) {}
}

/// Where a search along a chain is: from this state it goes on as it would have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkState {
    /// The chain position reached (the searched position itself at first).
    pub candidate: usize,
    probes_left: u32,
    steps_left_in_group: u32,
    pub best_len: u32,
    pub best_dist: u32,
}

impl WalkState {
    /// A search's state before its first step.
    pub fn start(query: Query) -> WalkState {
        let best_len = query.beat.max(1);
        WalkState {
            candidate: query.pos,
            probes_left: if best_len < 32 { PROBES[0] } else { PROBES[1] },
            steps_left_in_group: 0,
            best_len,
            best_dist: 0,
        }
    }

    /// The same state in a file where the chain position is `candidate` and the
    /// best match so far `best_dist` back.
    pub fn moved(self, candidate: usize, best_dist: u32) -> WalkState {
        WalkState {
            candidate,
            best_dist,
            ..self
        }
    }
}

/// miniz's `find_match`: along the hash chain of `query.pos`, at most 768 steps
/// (in groups of three; 192 when the match to beat is 32 bytes or longer), the
/// first of the longest matches longer than `query.beat`, as (distance, length);
/// (0, `beat`) if there is none. A candidate is compared only when the two bytes
/// where it would have to outdo the current match agree.
#[inline]
pub fn find_match(hay: &mut impl Haystack, query: Query, reads: &mut impl Reads) -> (u32, u32) {
    let state = WalkState::start(query);
    let max_len = query.max_len.min(MAX_MATCH as u32);
    if max_len > state.best_len {
        reads.range(query.pos, query.pos + 1);
        reads.range(
            query.pos + state.best_len as usize - 1,
            query.pos + state.best_len as usize,
        );
    }
    find_match_from(hay, query, state, reads)
}

/// [`find_match`] from `state` on.
#[inline]
pub fn find_match_from(
    hay: &mut impl Haystack,
    query: Query,
    mut state: WalkState,
    reads: &mut impl Reads,
) -> (u32, u32) {
    let max_len = query.max_len.min(MAX_MATCH as u32);
    if max_len <= state.best_len {
        return (state.best_dist, state.best_len);
    }
    let pos = query.pos;
    let mut ends = hay.u16_at(pos + state.best_len as usize - 1);
    let starts = hay.u16_at(pos);
    loop {
        if state.steps_left_in_group == 0 {
            state.probes_left -= 1;
            if state.probes_left == 0 {
                return (state.best_dist, state.best_len);
            }
            state.steps_left_in_group = 3;
        }
        reads.checkpoint(&state);
        let next = hay.next(state.candidate);
        reads.stepped(next);
        state.steps_left_in_group -= 1;
        let dist = pos.wrapping_sub(next) & 0xFFFF;
        if next == 0 || dist > query.max_dist {
            return (state.best_dist, state.best_len);
        }
        let candidate = pos - dist;
        state.candidate = candidate;
        let best_len = state.best_len as usize;
        reads.range(candidate + best_len - 1, candidate + best_len);
        if hay.u16_at(candidate + best_len - 1) != ends {
            continue;
        }
        // A candidate ends a group of three steps: the next step starts a new one.
        state.steps_left_in_group = 0;
        if dist == 0 {
            return (state.best_dist, state.best_len);
        }
        reads.range(candidate, candidate + 1);
        if hay.u16_at(candidate) != starts {
            continue;
        }
        let len = hay.common_length(pos, candidate);
        let last_read = len.min(MAX_MATCH - 1);
        reads.range(pos + 2, pos + last_read);
        reads.range(candidate + 2, candidate + last_read);
        if len >= MAX_MATCH {
            return (dist as u32, max_len);
        }
        if len > best_len {
            state.best_dist = dist as u32;
            state.best_len = (len as u32).min(max_len);
            if state.best_len >= max_len {
                return (state.best_dist, state.best_len);
            }
            ends = hay.u16_at((pos + state.best_len as usize).saturating_sub(1));
            reads.range(
                pos + state.best_len as usize - 1,
                pos + state.best_len as usize,
            );
        }
    }
}

/// The raw deflate stream of `input`, into `out`, as miniz_oxide writes it at
/// level 9 with the whole input given at once.
pub fn deflate<S: BitSink>(
    input: &[u8],
    window: &mut Window,
    search: &mut impl MatchSearch,
    out: S,
) -> S {
    window.clear();
    let mut parser = Parser::new(input, out);
    let mut src = 0usize;
    let mut lookahead_size = 0usize;
    let mut dict_size = 0usize;
    while src < input.len() || lookahead_size != 0 {
        let lookahead_pos = parser.pos;
        let take = (input.len() - src).min(MAX_MATCH - lookahead_size);
        let bytes = &input[src..src + take];
        if lookahead_size + dict_size >= 2 && take > 0 {
            let mut dst = (lookahead_pos + lookahead_size) & WINDOW_MASK;
            let first_insert = lookahead_pos + lookahead_size - 2;
            let mut hash = ((u16::from(window.dict[first_insert & WINDOW_MASK]) << 5)
                ^ u16::from(window.dict[(first_insert + 1) & WINDOW_MASK]))
                & (HASH_SIZE as u16 - 1);
            lookahead_size += take;
            for (insert, &byte) in (first_insert..).zip(bytes) {
                window.dict[dst] = byte;
                if dst < MAX_MATCH - 1 {
                    window.dict[WINDOW + dst] = byte;
                }
                hash = ((hash << 5) ^ u16::from(byte)) & (HASH_SIZE as u16 - 1);
                window.next[insert & WINDOW_MASK] = window.head[usize::from(hash)];
                window.head[usize::from(hash)] = insert as u16;
                dst = (dst + 1) & WINDOW_MASK;
            }
        } else {
            for &byte in bytes {
                let dst = (lookahead_pos + lookahead_size) & WINDOW_MASK;
                window.dict[dst] = byte;
                if dst < MAX_MATCH - 1 {
                    window.dict[WINDOW + dst] = byte;
                }
                lookahead_size += 1;
                if lookahead_size + dict_size >= MIN_MATCH as usize {
                    let insert = lookahead_pos + lookahead_size - 3;
                    let hash = ((u32::from(window.dict[insert & WINDOW_MASK]) << 10)
                        ^ (u32::from(window.dict[(insert + 1) & WINDOW_MASK]) << 5)
                        ^ u32::from(byte))
                        & (HASH_SIZE as u32 - 1);
                    window.next[insert & WINDOW_MASK] = window.head[hash as usize];
                    window.head[hash as usize] = insert as u16;
                }
            }
        }
        src += take;
        dict_size = dict_size.min(WINDOW - lookahead_size);
        let query = Query {
            pos: lookahead_pos,
            max_dist: dict_size,
            max_len: lookahead_size as u32,
            beat: parser.beat(),
        };
        let (dist, len) = search.find(window, query);
        parser.step(dist, len, |_| {});
        let advance = parser.pos - lookahead_pos;
        lookahead_size -= advance;
        dict_size = (dict_size + advance).min(WINDOW);
        if parser.block_is_full() {
            parser.flush_block(dict_size, false);
        }
    }
    parser.finish(dict_size)
}
