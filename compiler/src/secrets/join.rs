//! Join tokens derived from the bundle's join seed, so that a host built at any time
//! carries a token the cluster knows when it boots, and no token lives long.
//!
//! Time is cut into windows of [`WINDOW_SECONDS`] (7 days, counted from the Unix
//! epoch). The token of window `w` and generation `g` is
//! `HMAC-SHA256(seed, "hac-join-token id g w")` and `… secret g w` turned into 6 and 16
//! characters of `[a-z0-9]` ([`token_chars`]). `hac build` gives every host the token
//! of the window its build time falls in; the keeper on the control planes (which
//! alone hold the seed) makes the tokens of the previous, current and, a day before
//! the boundary, next window exist, each expiring [`GRACE_SECONDS`] after its window
//! ends. So a host boots up to 6 days after its build, and no token is valid for
//! more than 14 days ([`MAX_TOKEN_SECONDS`]). The keeper computes the same function
//! in bash (`hac_join_token` in the keeper script); a test runs both.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::bundle::BootstrapToken;
use super::secret::Secret;

/// The length of a token window.
pub const WINDOW_SECONDS: i64 = 7 * 24 * 60 * 60;
/// How long a window's token stays valid after its window ended: a host built on the
/// window's last day still joins if it boots within this.
pub const GRACE_SECONDS: i64 = 6 * 24 * 60 * 60;
/// How long before the next window starts its token is made, so that hosts built just
/// after the boundary find it even if no keeper runs at that moment.
pub const EARLY_SECONDS: i64 = 24 * 60 * 60;
/// The longest any token hac makes is valid: made a day before its window, it
/// expires 6 days after the window's 7.
pub const MAX_TOKEN_SECONDS: i64 = EARLY_SECONDS + WINDOW_SECONDS + GRACE_SECONDS;

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The window `at` falls in.
pub fn window_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(WINDOW_SECONDS)
}

/// When the token of `window` expires: the window's end plus the grace.
pub fn expiry_of(window: i64) -> OffsetDateTime {
    let seconds = (window + 1) * WINDOW_SECONDS + GRACE_SECONDS;
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The token of `generation` and `window` under `seed` (64 hex characters).
pub fn token(seed: &Secret, generation: u32, window: i64) -> BootstrapToken {
    let key = decode_hex(seed.expose());
    let id = token_chars(
        &hmac_sha256(
            &key,
            format!("hac-join-token id {generation} {window}").as_bytes(),
        ),
        6,
    );
    let secret = token_chars(
        &hmac_sha256(
            &key,
            format!("hac-join-token secret {generation} {window}").as_bytes(),
        ),
        16,
    );
    BootstrapToken {
        id,
        secret: Secret::new(secret),
    }
}

/// `len` characters of `[a-z0-9]` from `digest`: each byte below 252 (= 7 × 36) gives
/// `ALPHABET[byte % 36]`, so every character is equally likely; should fewer than
/// `len` bytes qualify (chance below 10^-20), a second pass takes every byte.
fn token_chars(digest: &[u8; 32], len: usize) -> String {
    let mut out = String::with_capacity(len);
    for &byte in digest.iter().filter(|&&b| b < 252) {
        if out.len() == len {
            return out;
        }
        out.push(char::from(ALPHABET[usize::from(byte % 36)]));
    }
    for &byte in digest {
        if out.len() == len {
            break;
        }
        out.push(char::from(ALPHABET[usize::from(byte % 36)]));
    }
    out
}

/// RFC 2104 HMAC with SHA-256 (64-byte blocks); keys here are 32 bytes.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |value: u8| block.map(|b| b ^ value);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn decode_hex(text: &str) -> Vec<u8> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => 0,
            };
            digit(pair[0]) << 4 | pair.get(1).map_or(0, |&c| digit(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 1: a 20-byte key of 0x0b.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn tokens_depend_on_seed_generation_and_window_only() {
        let seed = Secret::new("11".repeat(32));
        let a = token(&seed, 0, 2900);
        assert_eq!(a, token(&seed, 0, 2900));
        assert_ne!(a, token(&seed, 1, 2900));
        assert_ne!(a, token(&seed, 0, 2901));
        assert_ne!(a, token(&Secret::new("22".repeat(32)), 0, 2900));
        let text = a.token();
        let (id, secret) = text.expose().split_once('.').unwrap();
        assert_eq!((id.len(), secret.len()), (6, 16));
        assert!(
            text.expose()
                .bytes()
                .all(|b| b == b'.' || b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }

    #[test]
    fn windows_and_expiries_bound_every_token_to_14_days() {
        let at = OffsetDateTime::from_unix_timestamp(1_765_000_000).unwrap();
        let window = window_of(at);
        let start = window * WINDOW_SECONDS;
        assert!(start <= at.unix_timestamp() && at.unix_timestamp() < start + WINDOW_SECONDS);
        // A host built on the window's last second still has 6 days.
        assert_eq!(
            expiry_of(window).unix_timestamp() - (start + WINDOW_SECONDS),
            GRACE_SECONDS
        );
        // Made a day early, the token lives 14 days at most.
        assert_eq!(
            expiry_of(window).unix_timestamp() - (start - EARLY_SECONDS),
            MAX_TOKEN_SECONDS
        );
        assert_eq!(MAX_TOKEN_SECONDS, 14 * 24 * 60 * 60);
    }

    #[test]
    fn the_second_pass_fills_a_digest_poor_in_usable_bytes() {
        let mut digest = [255u8; 32];
        digest[0] = 0;
        assert_eq!(token_chars(&digest, 6), "aadddd");
    }
}
