//! hac's gzip: exactly the bytes flate2's miniz_oxide 0.9 backend writes at
//! `Compression::best()` (no name, mtime 0), made faster for hosts that differ from
//! one another in a few words.
//!
//! Every host's gzip size is in `manifest.json`, whatever the flags, and rebuilds
//! take sizes and files from earlier builds: the bytes are part of hac's output and
//! must not change. Compressing thousands of user-data files at the best level was
//! most of a large build's time, though the workers' files are nearly the same: the
//! search for matches, nearly all of the work, reads the same bytes and finds the
//! same matches in each. So the encoder is miniz's own, re-implemented here
//! (`deflate`, `blocks`) so that its match search can be taken from a similar
//! host's (`family`); the tests compare every byte with flate2's.
//!
//! The LZ77 parse, the Huffman coding and the block layout follow miniz_oxide 0.9
//! (MIT, Copyright 2013-2014 RAD Game Tools and Valve Software, 2010-2014 Rich
//! Geldreich and Tenacious Software LLC, 2017 Frommi, 2017-2024 oyvindln).

mod blocks;
mod deflate;
mod family;
mod parse;
mod replay;
mod small;

use std::cell::RefCell;

use flate2::Crc;

use blocks::{BitCounter, BitSink, BitWriter};

pub use family::Families;

/// The gzip header hac writes: no flags, mtime 0, "best compression", unknown OS.
pub const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];

thread_local! {
    static WINDOW: RefCell<deflate::Window> = RefCell::new(deflate::Window::new());
}

/// The gzip form of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    framed(bytes, encode(bytes, header()))
}

/// The length of [`gzip`]'s result, without making it.
pub fn gzip_size(bytes: &[u8]) -> usize {
    size_of(encode(bytes, BitCounter::default()))
}

/// The deflate stream of `bytes`, into `sink`, by miniz's own search.
fn encode<S: BitSink>(bytes: &[u8], sink: S) -> S {
    if bytes.len() <= small::SMALL {
        let positions = small::Positions::of(bytes);
        let mut search = small::SmallChains {
            bytes,
            positions: &positions,
        };
        return small::deflate_small(bytes, &mut search, sink);
    }
    with_window(|window| deflate::deflate(bytes, window, &mut deflate::Chains, sink))
}

fn with_window<T>(f: impl FnOnce(&mut deflate::Window) -> T) -> T {
    WINDOW.with(|window| match window.try_borrow_mut() {
        Ok(mut window) => f(&mut window),
        // Not reentrant in practice; a fresh window keeps it correct if it were.
        Err(_) => f(&mut deflate::Window::new()),
    })
}

/// A writer that has the gzip header written.
fn header() -> BitWriter {
    let mut out = Vec::with_capacity(16 * 1024);
    out.extend_from_slice(&GZIP_HEADER);
    BitWriter::new(out)
}

/// The gzip file: the header and deflate stream in `deflated`, and the trailer.
fn framed(bytes: &[u8], deflated: BitWriter) -> Vec<u8> {
    let mut out = deflated.finish();
    let mut crc = Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// The gzip file's length: header, the counted stream padded to a byte, trailer.
fn size_of(counted: BitCounter) -> usize {
    GZIP_HEADER.len() + counted.bits.div_ceil(8) + 8
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, GzBuilder};

    use super::*;

    /// flate2's bytes, as hac wrote them before it had its own encoder.
    pub(super) fn flate2_gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A small deterministic generator, so that failures replay.
    pub(super) struct Lcg(pub u64);

    impl Lcg {
        pub fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Text like user-data: lines built from a small vocabulary, repeated with
    /// variations, so that matches are many, long and at all distances.
    pub(super) fn text_like(rng: &mut Lcg, len: usize) -> Vec<u8> {
        const WORDS: [&str; 16] = [
            "  - ",
            "path: /etc/hac/",
            "content: |",
            "kubeadm",
            "join",
            "worker",
            "\n",
            "    ",
            "permissions: '0600'",
            "systemctl restart kubelet",
            "#",
            "10.0.",
            "hostname: ",
            "runcmd:",
            "\"",
            "wait_until 'the cluster' forever 5",
        ];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            if rng.below(8) == 0 && out.len() > 100 {
                let from = rng.below(out.len() - 50);
                let take = 1 + rng.below(300.min(out.len() - from));
                let copy = out[from..from + take].to_vec();
                out.extend_from_slice(&copy);
            } else if rng.below(10) == 0 {
                out.push(rng.below(256) as u8);
            } else {
                out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
            }
        }
        out.truncate(len);
        out
    }

    #[track_caller]
    fn assert_same(bytes: &[u8], what: &str) {
        let ours = gzip(bytes);
        let theirs = flate2_gzip(bytes);
        assert_eq!(
            gzip_size(bytes),
            theirs.len(),
            "{what}: the size of hac's gzip"
        );
        assert!(
            ours == theirs,
            "{what} ({} bytes): hac's gzip differs from flate2's",
            bytes.len()
        );
    }

    #[test]
    fn writes_exactly_flate2s_bytes_on_edge_cases() {
        assert_same(b"", "empty");
        assert_same(b"a", "one byte");
        assert_same(b"ab", "two bytes");
        assert_same(b"abcabcabcabc", "a short repeat");
        assert_same(&[b'a'; 47], "a run under 48 bytes (a static block)");
        assert_same(&[b'a'; 48], "a run of 48 bytes");
        assert_same(&[0u8; 100_000], "100,000 zeros (matches of 258)");
        let mut rng = Lcg(7);
        let noise: Vec<u8> = (0..70_000).map(|_| rng.next() as u8).collect();
        assert_same(&noise[..33], "33 random bytes (a stored block)");
        assert_same(&noise[..5_000], "5,000 random bytes (a stored block)");
        assert_same(&noise, "70,000 random bytes (several stored blocks)");
        let mut mixed = text_like(&mut rng, 40_000);
        mixed.extend_from_slice(&noise[..20_000]);
        mixed.extend(text_like(&mut rng, 40_000));
        assert_same(&mixed, "text, noise, text");
        // Hash chains longer than the search may follow, with short matches all
        // along them: where the number of probes decides.
        let chains: Vec<u8> = (0..60_000)
            .flat_map(|_| [b'a', b'b', b'c', b"xyzw"[rng.below(4)], b"pq"[rng.below(2)]])
            .collect();
        assert_same(&chains, "long chains");
    }

    #[test]
    fn writes_exactly_flate2s_bytes_on_text_of_every_size() {
        let mut rng = Lcg(11);
        for len in [
            3, 10, 47, 48, 49, 200, 1_000, 4_096, 16_000, 32_000, 32_768, 33_000, 40_000, 65_536,
            70_000, 140_000, 300_000,
        ] {
            let text = text_like(&mut rng, len);
            assert_same(&text, "text");
        }
        for _ in 0..40 {
            let len = rng.below(50_000);
            let text = text_like(&mut rng, len);
            assert_same(&text, "text");
        }
    }
}
