//! Deflate blocks: the LZ77 codes of one block, its Huffman codes and its bits,
//! exactly as miniz_oxide 0.9 writes them at level 9 (see the module above for why
//! exactly): the same code lengths from the same counts (a stable radix sort, the
//! in-place minimum-redundancy lengths, the same length limiting), the same
//! run-length coding of the code lengths, a static block under 48 bytes of input,
//! and a stored block when the coded one would not be smaller.

use super::parse::Token;

/// Bytes of LZ codes one block holds at most (miniz's `LZ_CODE_BUF_SIZE`).
pub const CODE_BUF_SIZE: usize = 64 * 1024;

const LITLEN_SYMBOLS: usize = 288;
const DIST_SYMBOLS: usize = 32;
const CODE_LENGTH_SYMBOLS: usize = 19;
const END_OF_BLOCK: usize = 256;

/// The order in which code-length code lengths are written (RFC 1951, 3.2.7).
const CODE_LENGTH_ORDER: [u8; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The length symbol (257…285, less 256) and extra bits of a match length less 3.
const fn length_code(len_minus_3: usize) -> (u8, u8) {
    if len_minus_3 == 255 {
        return (29, 0);
    }
    if len_minus_3 < 8 {
        return (1 + len_minus_3 as u8, 0);
    }
    // Lengths come in groups of four codes per extra bit.
    let extra = (usize::BITS - 1 - len_minus_3.leading_zeros()) as u8 - 2;
    let base = 1 + 4 * (extra as usize + 1);
    let symbol = base + ((len_minus_3 >> extra) & 3);
    (symbol as u8, extra)
}

/// The distance symbol (0…29) and extra bits of a distance less 1.
const fn distance_code(dist_minus_1: usize) -> (u8, u8) {
    if dist_minus_1 < 4 {
        return (dist_minus_1 as u8, 0);
    }
    let extra = (usize::BITS - 1 - dist_minus_1.leading_zeros()) as u8 - 1;
    let symbol = 2 * extra as usize + 2 + ((dist_minus_1 >> extra) & 1);
    (symbol as u8, extra)
}

/// Where a block's bits go: into bytes, or only counted.
pub trait BitSink {
    /// Whether only the number of bits matters: then blocks keep only their symbol
    /// counts, and their codes are counted from them.
    const COUNTS_ONLY: bool;
    fn put(&mut self, bits: u32, len: u32);
    /// A block's codes, coded with `tables`.
    fn codes(&mut self, block: &Block, tables: &Tables);
    fn put_bytes(&mut self, bytes: &[u8]);
    fn bit_len(&self) -> usize;
    fn truncate(&mut self, bit_len: usize);
    fn pad_to_byte(&mut self);
}

/// Counts the bits a stream would have.
#[derive(Default)]
pub struct BitCounter {
    pub bits: usize,
}

impl BitSink for BitCounter {
    const COUNTS_ONLY: bool = true;

    fn codes(&mut self, block: &Block, tables: &Tables) {
        let mut bits = 0usize;
        for (symbol, &count) in block.litlen_counts.iter().enumerate() {
            if count != 0 && symbol != END_OF_BLOCK {
                let extra = match symbol {
                    265..=284 => (symbol - 261) / 4,
                    _ => 0,
                };
                bits += usize::from(count) * (usize::from(tables.litlen_sizes[symbol]) + extra);
            }
        }
        for (symbol, &count) in block.dist_counts.iter().enumerate() {
            let extra = if symbol < 4 { 0 } else { symbol / 2 - 1 };
            bits += usize::from(count) * (usize::from(tables.dist_sizes[symbol]) + extra);
        }
        self.bits += bits;
    }

    #[inline]
    fn put(&mut self, _bits: u32, len: u32) {
        self.bits += len as usize;
    }

    fn put_bytes(&mut self, bytes: &[u8]) {
        self.bits += 8 * bytes.len();
    }

    fn bit_len(&self) -> usize {
        self.bits
    }

    fn truncate(&mut self, bit_len: usize) {
        self.bits = bit_len;
    }

    fn pad_to_byte(&mut self) {
        self.bits = self.bits.div_ceil(8) * 8;
    }
}

/// Bits, least significant first, into bytes.
pub struct BitWriter {
    pub bytes: Vec<u8>,
    buffer: u64,
    count: u32,
}

impl BitWriter {
    pub fn new(bytes: Vec<u8>) -> BitWriter {
        BitWriter {
            bytes,
            buffer: 0,
            count: 0,
        }
    }

    /// The bytes, after [`BitSink::pad_to_byte`].
    pub fn finish(mut self) -> Vec<u8> {
        self.pad_to_byte();
        let whole = self.count / 8;
        self.bytes
            .extend_from_slice(&self.buffer.to_le_bytes()[..whole as usize]);
        self.bytes
    }
}

impl BitSink for BitWriter {
    const COUNTS_ONLY: bool = false;

    fn codes(&mut self, block: &Block, tables: &Tables) {
        write_codes(&block.codes, tables, self);
    }

    #[inline]
    fn put(&mut self, bits: u32, len: u32) {
        self.buffer |= u64::from(bits) << self.count;
        self.count += len;
        if self.count >= 32 {
            self.bytes
                .extend_from_slice(&(self.buffer as u32).to_le_bytes());
            self.buffer >>= 32;
            self.count -= 32;
        }
    }

    fn put_bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.put(u32::from(byte), 8);
        }
    }

    /// Bits written so far.
    fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.count as usize
    }

    /// Back to `bit_len` bits written (an earlier value of [`Self::bit_len`]).
    fn truncate(&mut self, bit_len: usize) {
        let in_bytes = self.bytes.len() * 8;
        if bit_len >= in_bytes {
            self.count = (bit_len - in_bytes) as u32;
            self.buffer &= (1 << self.count) - 1;
        } else {
            let partial = bit_len % 8;
            let last = self.bytes[bit_len / 8] & ((1u16 << partial) - 1) as u8;
            self.bytes.truncate(bit_len / 8);
            self.buffer = u64::from(last);
            self.count = partial as u32;
        }
    }

    fn pad_to_byte(&mut self) {
        let partial = self.count % 8;
        if partial != 0 {
            self.put(0, 8 - partial);
        }
    }
}

/// One block's LZ77 codes, as miniz keeps them: a flag byte before every eight
/// codes (bit set: a match of three bytes, length less 3 then distance less 1;
/// clear: a literal byte), and the symbol counts.
pub struct Block {
    codes: Vec<u8>,
    /// Whether `codes` is kept (not when only the size is wanted).
    keep_codes: bool,
    code_len: usize,
    flag_position: usize,
    flags_left: u32,
    /// Input bytes the codes stand for.
    pub total_bytes: u32,
    litlen_counts: [u16; LITLEN_SYMBOLS],
    dist_counts: [u16; DIST_SYMBOLS],
}

/// Symbol counts of a block (literal/length, distance).
#[derive(Clone)]
pub struct Counts {
    pub litlen: [i64; LITLEN_SYMBOLS],
    pub dist: [i64; DIST_SYMBOLS],
}

impl Counts {
    pub fn new() -> Counts {
        Counts {
            litlen: [0; LITLEN_SYMBOLS],
            dist: [0; DIST_SYMBOLS],
        }
    }

    /// Counts `token`'s symbols `times` times (-1: takes them away).
    #[inline]
    pub fn add(&mut self, token: Token, times: i64) {
        match token {
            Token::Literal(byte) => self.litlen[usize::from(byte)] += times,
            Token::Match { len, dist, .. } => {
                self.litlen[usize::from(length_code(len as usize - 3).0) + 256] += times;
                self.dist[usize::from(distance_code(dist as usize - 1).0)] += times;
            }
        }
    }

    pub fn add_block(&mut self, block: &Block) {
        for (sum, &count) in self.litlen.iter_mut().zip(&block.litlen_counts) {
            *sum += i64::from(count);
        }
        for (sum, &count) in self.dist.iter_mut().zip(&block.dist_counts) {
            *sum += i64::from(count);
        }
    }

    /// The distance symbol of a match `dist` back.
    pub fn dist_symbol(dist: u32) -> usize {
        usize::from(distance_code(dist as usize - 1).0)
    }

    /// A block of `total_bytes` input bytes with these counts, if they are counts
    /// a block can have, and the length of miniz's codes for it (its
    /// `code_position`).
    pub fn block(&self, total_bytes: u32) -> Option<(Block, usize)> {
        let mut block = Block::new(false);
        let mut codes = 0;
        let mut code_bytes = 0;
        for (symbol, (count, &sum)) in block.litlen_counts.iter_mut().zip(&self.litlen).enumerate()
        {
            *count = u16::try_from(sum).ok()?;
            codes += sum;
            code_bytes += if symbol < 256 { sum } else { 3 * sum };
        }
        for (count, &sum) in block.dist_counts.iter_mut().zip(&self.dist) {
            *count = u16::try_from(sum).ok()?;
        }
        block.total_bytes = total_bytes;
        Some((block, 1 + code_bytes as usize + codes as usize / 8))
    }
}

impl Block {
    pub fn new(keep_codes: bool) -> Block {
        let mut codes = Vec::with_capacity(if keep_codes { CODE_BUF_SIZE } else { 1 });
        codes.push(0);
        Block {
            codes,
            keep_codes,
            code_len: 1,
            flag_position: 0,
            flags_left: 8,
            total_bytes: 0,
            litlen_counts: [0; LITLEN_SYMBOLS],
            dist_counts: [0; DIST_SYMBOLS],
        }
    }

    /// Bytes of codes so far (miniz's `code_position`).
    pub fn code_len(&self) -> usize {
        self.code_len
    }

    #[inline]
    fn consume_flag(&mut self) {
        self.flags_left -= 1;
        if self.flags_left == 0 {
            self.flags_left = 8;
            self.code_len += 1;
            if self.keep_codes {
                self.flag_position = self.codes.len();
                self.codes.push(0);
            }
        }
    }

    #[inline]
    pub fn literal(&mut self, byte: u8) {
        self.total_bytes += 1;
        self.code_len += 1;
        if self.keep_codes {
            self.codes.push(byte);
            self.codes[self.flag_position] >>= 1;
        }
        self.consume_flag();
        self.litlen_counts[usize::from(byte)] += 1;
    }

    #[inline]
    pub fn matched(&mut self, len: u32, dist: u32) {
        self.total_bytes += len;
        self.code_len += 3;
        let dist = dist - 1;
        let len = (len - 3) as usize;
        if self.keep_codes {
            self.codes
                .extend_from_slice(&[len as u8, dist as u8, (dist >> 8) as u8]);
            self.codes[self.flag_position] = (self.codes[self.flag_position] >> 1) | 0x80;
        }
        self.consume_flag();
        self.dist_counts[usize::from(distance_code(dist as usize).0)] += 1;
        self.litlen_counts[usize::from(length_code(len).0) + 256] += 1;
    }

    /// Writes the block to `out` and leaves this block empty. `input` is the whole
    /// input, `start` where this block's bytes begin in it; `in_window` whether they
    /// are all still in the window (miniz writes a stored block only then).
    pub fn flush<S: BitSink>(
        &mut self,
        out: &mut S,
        last: bool,
        input: &[u8],
        start: usize,
        in_window: bool,
    ) {
        // The flag byte of the codes not yet flagged is shifted down into place.
        if self.keep_codes {
            if self.flags_left == 8 {
                self.codes.pop();
            } else {
                self.codes[self.flag_position] >>= self.flags_left;
            }
        }
        out.put(u32::from(last), 1);
        let header_end = out.bit_len();
        let total = self.total_bytes as usize;
        let mut tables = Tables::new();
        if total < 48 {
            tables.set_static();
            out.put(1, 2);
        } else {
            tables.set_dynamic(&mut self.litlen_counts, &self.dist_counts, out);
        }
        out.codes(self, &tables);
        out.put(
            u32::from(tables.litlen_codes[END_OF_BLOCK]),
            u32::from(tables.litlen_sizes[END_OF_BLOCK]),
        );
        // Whole bytes written since the block header, as miniz counts them.
        let coded_bytes = out.bit_len() / 8 - header_end / 8;
        if total > 32 && coded_bytes + 1 >= total && in_window {
            out.truncate(header_end);
            out.put(0, 2);
            out.pad_to_byte();
            out.put(total as u32 & 0xFFFF, 16);
            out.put(!(total as u32) & 0xFFFF, 16);
            out.put_bytes(&input[start..start + total]);
        }
        self.codes.clear();
        self.codes.push(0);
        self.code_len = 1;
        self.flag_position = 0;
        self.flags_left = 8;
        self.total_bytes = 0;
        self.litlen_counts = [0; LITLEN_SYMBOLS];
        self.dist_counts = [0; DIST_SYMBOLS];
    }
}

fn write_codes(codes: &[u8], tables: &Tables, out: &mut BitWriter) {
    let mut flags = 1u32;
    let mut i = 0;
    while i < codes.len() {
        if flags == 1 {
            flags = u32::from(codes[i]) | 0x100;
            i += 1;
        }
        if flags & 1 == 1 {
            flags >>= 1;
            let len = usize::from(codes[i]);
            let dist = usize::from(codes[i + 1]) | usize::from(codes[i + 2]) << 8;
            i += 3;
            let (len_symbol, len_extra) = length_code(len);
            let len_symbol = usize::from(len_symbol) + 256;
            let len_size = u32::from(tables.litlen_sizes[len_symbol]);
            out.put(
                u32::from(tables.litlen_codes[len_symbol])
                    | (len as u32 & ((1 << len_extra) - 1)) << len_size,
                len_size + u32::from(len_extra),
            );
            let (dist_symbol, dist_extra) = distance_code(dist);
            let dist_symbol = usize::from(dist_symbol);
            let dist_size = u32::from(tables.dist_sizes[dist_symbol]);
            out.put(
                u32::from(tables.dist_codes[dist_symbol])
                    | (dist as u32 & ((1 << dist_extra) - 1)) << dist_size,
                dist_size + u32::from(dist_extra),
            );
        } else {
            // Up to three literals in a row, as miniz reads them.
            for _ in 0..3 {
                flags >>= 1;
                let literal = usize::from(codes[i]);
                i += 1;
                out.put(
                    u32::from(tables.litlen_codes[literal]),
                    u32::from(tables.litlen_sizes[literal]),
                );
                if flags & 1 == 1 || i >= codes.len() {
                    break;
                }
            }
        }
    }
}

pub struct Tables {
    litlen_sizes: [u8; LITLEN_SYMBOLS],
    litlen_codes: [u16; LITLEN_SYMBOLS],
    dist_sizes: [u8; DIST_SYMBOLS],
    dist_codes: [u16; DIST_SYMBOLS],
}

impl Tables {
    fn new() -> Tables {
        Tables {
            litlen_sizes: [0; LITLEN_SYMBOLS],
            litlen_codes: [0; LITLEN_SYMBOLS],
            dist_sizes: [0; DIST_SYMBOLS],
            dist_codes: [0; DIST_SYMBOLS],
        }
    }

    fn set_static(&mut self) {
        self.litlen_sizes[..144].fill(8);
        self.litlen_sizes[144..256].fill(9);
        self.litlen_sizes[256..280].fill(7);
        self.litlen_sizes[280..].fill(8);
        self.dist_sizes.fill(5);
        assign_codes(
            &self.litlen_sizes,
            &mut self.litlen_codes,
            &code_counts(&self.litlen_sizes),
            15,
        );
        assign_codes(
            &self.dist_sizes,
            &mut self.dist_codes,
            &code_counts(&self.dist_sizes),
            15,
        );
    }

    /// The block's own codes, and the block header that describes them.
    fn set_dynamic<S: BitSink>(
        &mut self,
        litlen_counts: &mut [u16; LITLEN_SYMBOLS],
        dist_counts: &[u16; DIST_SYMBOLS],
        out: &mut S,
    ) {
        litlen_counts[END_OF_BLOCK] = 1;
        optimal_codes(
            litlen_counts,
            &mut self.litlen_sizes,
            &mut self.litlen_codes,
            15,
        );
        optimal_codes(dist_counts, &mut self.dist_sizes, &mut self.dist_codes, 15);
        let lit_codes = written_codes(&self.litlen_sizes[..286], 257);
        let dist_codes = written_codes(&self.dist_sizes[..30], 1);
        let mut sizes = Vec::with_capacity(lit_codes + dist_codes);
        sizes.extend_from_slice(&self.litlen_sizes[..lit_codes]);
        sizes.extend_from_slice(&self.dist_sizes[..dist_codes]);
        let (packed, counts) = run_length_sizes(&sizes);
        let mut cl_sizes = [0u8; CODE_LENGTH_SYMBOLS];
        let mut cl_codes = [0u16; CODE_LENGTH_SYMBOLS];
        optimal_codes(&counts, &mut cl_sizes, &mut cl_codes, 7);
        out.put(2, 2);
        out.put((lit_codes - 257) as u32, 5);
        out.put((dist_codes - 1) as u32, 5);
        let used = 18
            - CODE_LENGTH_ORDER
                .iter()
                .rev()
                .take_while(|&&s| cl_sizes[usize::from(s)] == 0)
                .count();
        let cl_count = (used + 1).max(4);
        out.put(cl_count as u32 - 4, 4);
        for &symbol in &CODE_LENGTH_ORDER[..cl_count] {
            out.put(u32::from(cl_sizes[usize::from(symbol)]), 3);
        }
        let mut i = 0;
        while i < packed.len() {
            let code = usize::from(packed[i]);
            i += 1;
            out.put(u32::from(cl_codes[code]), u32::from(cl_sizes[code]));
            if code >= 16 {
                out.put(u32::from(packed[i]), [2, 3, 7][code - 16]);
                i += 1;
            }
        }
    }
}

/// How many of `sizes` a dynamic block's header lists: at least `least`, and none
/// of the zero sizes at the end past those.
fn written_codes(sizes: &[u8], least: usize) -> usize {
    least
        + sizes[least..]
            .iter()
            .rposition(|&size| size != 0)
            .map_or(0, |last| last + 1)
}

/// The code lengths run-length coded as miniz codes them (16: repeat the previous
/// 3–6 times, 17: 3–10 zeros, 18: 11–138 zeros), and the counts of the symbols.
fn run_length_sizes(sizes: &[u8]) -> (Vec<u8>, [u16; CODE_LENGTH_SYMBOLS]) {
    let mut packed = Vec::with_capacity(sizes.len() + 2);
    let mut counts = [0u16; CODE_LENGTH_SYMBOLS];
    let mut zeros = 0u32;
    let mut repeats = 0u16;
    let mut previous = 0xFFu8;
    let flush_repeats =
        |packed: &mut Vec<u8>, counts: &mut [u16; 19], repeats: &mut u16, previous: u8| {
            if *repeats != 0 {
                if *repeats < 3 {
                    counts[usize::from(previous)] =
                        counts[usize::from(previous)].wrapping_add(*repeats);
                    packed.extend(std::iter::repeat_n(previous, usize::from(*repeats)));
                } else {
                    counts[16] = counts[16].wrapping_add(1);
                    packed.extend_from_slice(&[16, (*repeats - 3) as u8]);
                }
                *repeats = 0;
            }
        };
    let flush_zeros = |packed: &mut Vec<u8>, counts: &mut [u16; 19], zeros: &mut u32| {
        if *zeros != 0 {
            if *zeros < 3 {
                counts[0] = counts[0].wrapping_add(*zeros as u16);
                packed.extend(std::iter::repeat_n(0, *zeros as usize));
            } else if *zeros <= 10 {
                counts[17] = counts[17].wrapping_add(1);
                packed.extend_from_slice(&[17, (*zeros - 3) as u8]);
            } else {
                counts[18] = counts[18].wrapping_add(1);
                packed.extend_from_slice(&[18, (*zeros - 11) as u8]);
            }
            *zeros = 0;
        }
    };
    for &size in sizes {
        if size == 0 {
            flush_repeats(&mut packed, &mut counts, &mut repeats, previous);
            zeros += 1;
            if zeros == 138 {
                flush_zeros(&mut packed, &mut counts, &mut zeros);
            }
        } else {
            flush_zeros(&mut packed, &mut counts, &mut zeros);
            if size != previous {
                flush_repeats(&mut packed, &mut counts, &mut repeats, previous);
                counts[usize::from(size)] = counts[usize::from(size)].wrapping_add(1);
                packed.push(size);
            } else {
                repeats += 1;
                if repeats == 6 {
                    flush_repeats(&mut packed, &mut counts, &mut repeats, previous);
                }
            }
        }
        previous = size;
    }
    if repeats != 0 {
        flush_repeats(&mut packed, &mut counts, &mut repeats, previous);
    } else {
        flush_zeros(&mut packed, &mut counts, &mut zeros);
    }
    (packed, counts)
}

#[derive(Clone, Copy, Default)]
struct SymbolFrequency {
    key: u16,
    symbol: u16,
}

fn code_counts(sizes: &[u8]) -> [i32; 33] {
    let mut counts = [0i32; 33];
    for &size in sizes {
        counts[usize::from(size)] += 1;
    }
    counts
}

/// Huffman code lengths for `counts` limited to `limit` bits, and their codes.
fn optimal_codes(counts: &[u16], sizes: &mut [u8], codes: &mut [u16], limit: usize) {
    let mut used: Vec<SymbolFrequency> = counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count != 0)
        .map(|(symbol, &count)| SymbolFrequency {
            key: count,
            symbol: symbol as u16,
        })
        .collect();
    radix_sort(&mut used);
    minimum_redundancy(&mut used);
    let mut num_codes = [0i32; 33];
    for symbol in &used {
        num_codes[usize::from(symbol.key)] += 1;
    }
    limit_code_sizes(&mut num_codes, used.len(), limit);
    sizes.fill(0);
    let mut last = used.len();
    for (size, &n) in num_codes.iter().enumerate().take(limit + 1).skip(1) {
        let first = last - n as usize;
        for symbol in &used[first..last] {
            sizes[usize::from(symbol.symbol)] = size as u8;
        }
        last = first;
    }
    assign_codes(sizes, codes, &num_codes, limit);
}

/// Canonical codes, bit-reversed for writing least significant bit first.
fn assign_codes(sizes: &[u8], codes: &mut [u16], num_codes: &[i32; 33], limit: usize) {
    let mut next_code = [0u32; 16];
    let mut code = 0;
    for i in 2..=limit {
        code = (code + num_codes[i - 1]) << 1;
        next_code[i] = code as u32;
    }
    for (&size, out) in sizes.iter().zip(codes.iter_mut()) {
        if size == 0 {
            *out = 0;
            continue;
        }
        let code = next_code[usize::from(size)];
        next_code[usize::from(size)] += 1;
        *out = (code as u16).reverse_bits() >> (16 - size);
    }
}

/// A stable sort by count (two byte-wise passes, the second skipped when every
/// count is below 256), as miniz sorts: ties keep symbol order.
fn radix_sort(symbols: &mut Vec<SymbolFrequency>) {
    let mut histogram = [[0usize; 256]; 2];
    for symbol in symbols.iter() {
        histogram[0][usize::from(symbol.key & 0xFF)] += 1;
        histogram[1][usize::from(symbol.key >> 8)] += 1;
    }
    let passes = if histogram[1][0] == symbols.len() {
        1
    } else {
        2
    };
    let mut other = vec![SymbolFrequency::default(); symbols.len()];
    for (pass, counts) in histogram.iter().enumerate().take(passes) {
        let mut offsets = [0usize; 256];
        let mut offset = 0;
        for (i, &count) in counts.iter().enumerate() {
            offsets[i] = offset;
            offset += count;
        }
        for symbol in symbols.iter() {
            let digit = usize::from((symbol.key >> (pass * 8)) & 0xFF);
            other[offsets[digit]] = *symbol;
            offsets[digit] += 1;
        }
        std::mem::swap(symbols, &mut other);
    }
}

/// In-place minimum-redundancy code lengths of symbols sorted by count
/// (Moffat and Katajainen), with miniz's 16-bit wrapping sums.
fn minimum_redundancy(symbols: &mut [SymbolFrequency]) {
    let n = symbols.len();
    match n {
        0 => {}
        1 => symbols[0].key = 1,
        _ => {
            symbols[0].key = symbols[0].key.wrapping_add(symbols[1].key);
            let mut root = 0;
            let mut leaf = 2;
            for next in 1..n - 1 {
                if leaf >= n || symbols[root].key < symbols[leaf].key {
                    symbols[next].key = symbols[root].key;
                    symbols[root].key = next as u16;
                    root += 1;
                } else {
                    symbols[next].key = symbols[leaf].key;
                    leaf += 1;
                }
                if leaf >= n || (root < next && symbols[root].key < symbols[leaf].key) {
                    symbols[next].key = symbols[next].key.wrapping_add(symbols[root].key);
                    symbols[root].key = next as u16;
                    root += 1;
                } else {
                    symbols[next].key = symbols[next].key.wrapping_add(symbols[leaf].key);
                    leaf += 1;
                }
            }
            symbols[n - 2].key = 0;
            for next in (0..n - 2).rev() {
                symbols[next].key = symbols[usize::from(symbols[next].key)].key + 1;
            }
            let mut available = 1;
            let mut used = 0;
            let mut depth = 0;
            let mut root = n as i32 - 2;
            let mut next = n as i32 - 1;
            while available > 0 {
                while root >= 0 && symbols[root as usize].key == depth {
                    used += 1;
                    root -= 1;
                }
                while available > used {
                    symbols[next as usize].key = depth;
                    next -= 1;
                    available -= 1;
                }
                available = 2 * used;
                depth += 1;
                used = 0;
            }
        }
    }
}

/// Lengthens codes until none is longer than `limit` bits, as miniz does.
fn limit_code_sizes(num_codes: &mut [i32; 33], used: usize, limit: usize) {
    if used <= 1 {
        return;
    }
    let over: i32 = num_codes[limit + 1..].iter().sum();
    num_codes[limit] += over;
    let total = num_codes[1..=limit]
        .iter()
        .rev()
        .enumerate()
        .fold(0u32, |total, (i, &n)| total + ((n as u32) << i));
    for _ in (1u32 << limit)..total {
        num_codes[limit] -= 1;
        for i in (1..limit).rev() {
            if num_codes[i] != 0 {
                num_codes[i] -= 1;
                num_codes[i + 1] += 2;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_distance_codes_follow_rfc_1951() {
        // (length, symbol, extra bits) from RFC 1951, 3.2.5.
        for (len, symbol, extra) in [
            (3, 257, 0),
            (10, 264, 0),
            (11, 265, 1),
            (13, 266, 1),
            (19, 269, 2),
            (35, 273, 3),
            (67, 277, 4),
            (131, 281, 5),
            (227, 284, 5),
            (257, 284, 5),
            (258, 285, 0),
        ] {
            let (s, e) = length_code(len - 3);
            assert_eq!((usize::from(s) + 256, e), (symbol, extra), "length {len}");
        }
        for (dist, symbol, extra) in [
            (1, 0, 0),
            (4, 3, 0),
            (5, 4, 1),
            (7, 5, 1),
            (9, 6, 2),
            (13, 7, 2),
            (17, 8, 3),
            (257, 16, 7),
            (513, 18, 8),
            (24577, 29, 13),
            (32768, 29, 13),
        ] {
            assert_eq!(distance_code(dist - 1), (symbol, extra), "distance {dist}");
        }
    }
}
