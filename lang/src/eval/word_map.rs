//! Maps keyed by a machine word (the address of a list or set, a builtin), hashed
//! with one multiplication: the keys are the process's own, not text a file
//! chooses, and SipHash on them cost more than the rest of the lookup.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from addresses.
pub(crate) type AddressMap<V> = HashMap<usize, V, BuildHasherDefault<WordHasher>>;

/// A map from keys that hash as one or a few machine words.
pub(crate) type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// Multiplies by an odd constant with well-spread bits, then folds the high half
/// (where the multiplication mixes best) into the low one, which picks the bucket:
/// addresses differ mostly in their middle bits and end in zeros.
#[derive(Default, Clone, Copy)]
pub(crate) struct WordHasher(u64);

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(MULTIPLIER);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_addresses_spread_over_the_buckets() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<WordHasher>::default();
        let buckets: std::collections::HashSet<u64> = (0..4096usize)
            .map(|i| build.hash_one(0x7f00_0000_0000 + i * 48) & 1023)
            .collect();
        assert!(buckets.len() > 900, "{} of 1024 buckets", buckets.len());
    }
}
