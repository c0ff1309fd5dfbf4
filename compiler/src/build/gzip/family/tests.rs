use super::super::tests::{Lcg, flate2_gzip, text_like};
use super::*;

/// `base` with the word at each of `places` replaced by a generated one of
/// 1 to 12 characters.
fn variant(base: &[u8], places: &[usize], rng: &mut Lcg) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + 64);
    let mut from = 0;
    for &place in places {
        out.extend_from_slice(&base[from..place]);
        let len = 1 + rng.below(12);
        out.extend((0..len).map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789.-"[rng.below(38)]));
        from = place;
    }
    out.extend_from_slice(&base[from..]);
    out
}

/// A text with lines, and the starts of a few lines where a name goes.
fn family_base(rng: &mut Lcg, len: usize) -> (Vec<u8>, Vec<usize>) {
    let mut base = text_like(rng, len);
    // Names go after a space at a line start: whole lines of their own.
    let mut places = Vec::new();
    for _ in 0..6 {
        let at = rng.below(base.len());
        if let Some(newline) = base[at..].iter().position(|&c| c == b'\n') {
            let place = at + newline + 1;
            base.splice(place..place, b"name: \n".iter().copied());
            places.push(place + 6);
        }
    }
    places.sort();
    places.dedup();
    (base, places)
}

#[test]
fn a_family_compresses_to_exactly_the_encoders_bytes() {
    let mut rng = Lcg(3);
    for len in [2_000, 20_000, 32_000, 40_000] {
        let (base, places) = family_base(&mut rng, len);
        let families = Families::new();
        for i in 0..30 {
            let host = variant(&base, &places, &mut rng);
            assert_eq!(families.gzip_size(&host), flate2_gzip(&host).len());
            assert!(
                families.gzip(&host) == flate2_gzip(&host),
                "variant {i} of a {len}-byte family"
            );
        }
        let state = families.lock();
        assert_eq!(
            state.templates.len(),
            1,
            "one template for the {len}-byte family"
        );
    }
}

#[test]
fn files_that_differ_elsewhere_are_compressed_in_full_and_exactly() {
    let mut rng = Lcg(5);
    let (base, places) = family_base(&mut rng, 30_000);
    let families = Families::new();
    for _ in 0..3 {
        let host = variant(&base, &places, &mut rng);
        assert!(families.gzip(&host) == flate2_gzip(&host));
    }
    let template = families.lock().templates[0].clone();
    // A byte changed outside the zones; a line added; a zone's line shortened.
    let mut other = variant(&base, &places, &mut rng);
    other[10] ^= 1;
    assert!(template.fit(&other).is_none());
    assert!(families.gzip(&other) == flate2_gzip(&other));
    let mut longer = variant(&base, &places, &mut rng);
    longer.extend_from_slice(b"\nmore\n");
    assert!(template.fit(&longer).is_none());
    assert!(families.gzip(&longer) == flate2_gzip(&longer));
    let same = variant(&base, &places, &mut rng);
    assert!(template.fit(&same).is_some());
}

#[test]
fn a_zone_that_adds_to_a_hash_chain_is_searched_in_full() {
    // Later text matches nothing before it in the template, but matches what
    // one host has in its zone: that host's chain for it is longer.
    let mut rng = Lcg(13);
    let filler = text_like(&mut rng, 2_000);
    let file = |name: &str| {
        let mut out = format!("name: {name}\n").into_bytes();
        out.extend_from_slice(&filler);
        out.extend_from_slice(b"\nzebra-quagga-wolf-okapi\n");
        out.extend_from_slice(&filler);
        out
    };
    let families = Families::new();
    for name in ["a", "b", "zebra-quagga-wolf-okapi", "c"] {
        let host = file(name);
        assert!(families.gzip(&host) == flate2_gzip(&host), "host {name}");
    }
}

#[test]
fn a_zone_near_the_end_changes_how_far_searches_before_it_see() {
    // Before a zone in the last 258 bytes, a search sees less or more ahead as
    // the zone is shorter or longer than the template's.
    let mut rng = Lcg(17);
    let body = text_like(&mut rng, 3_000);
    let tail = text_like(&mut rng, 60);
    let file = |name: &str| {
        let mut out = body.clone();
        out.extend_from_slice(format!("\nname: {name}\n").as_bytes());
        out.extend_from_slice(&tail);
        out
    };
    let families = Families::new();
    for name in [
        "a",
        "b",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "c",
        "dd",
        "",
    ] {
        let host = file(name);
        assert_eq!(
            families.gzip_size(&host),
            flate2_gzip(&host).len(),
            "host {name:?}"
        );
        assert!(families.gzip(&host) == flate2_gzip(&host), "host {name:?}");
    }
}

#[test]
fn the_template_hands_on_most_searches() {
    let mut rng = Lcg(9);
    let (base, places) = family_base(&mut rng, 30_000);
    let a = variant(&base, &places, &mut rng);
    let b = variant(&base, &places, &mut rng);
    let zones = zones_between(&a, &b).expect("one family");
    let template = Template::record(&Arc::from(a), zones);
    let layout = template.fit(&b).expect("fits");
    let mut search = FromTemplate::new(&template, &layout);
    let mut counting = Counting {
        inner: &mut search,
        taken: 0,
        all: 0,
    };
    let mut window = Window::new();
    let out = deflate::deflate(&b, &mut window, &mut counting, BitCounter::default());
    assert!(out.bits > 0);
    assert!(
        counting.taken * 10 >= counting.all * 8,
        "{} of {} searches taken",
        counting.taken,
        counting.all
    );
}

struct Counting<'a, 'b> {
    inner: &'a mut FromTemplate<'b>,
    taken: usize,
    all: usize,
}

impl MatchSearch for Counting<'_, '_> {
    fn find(&mut self, window: &Window, query: Query) -> (u32, u32) {
        self.all += 1;
        match self.inner.taken(window, query) {
            Some(found) => {
                self.taken += 1;
                found
            }
            None => deflate::find_match(&mut WindowChains(window), query, &mut Unobserved),
        }
    }
}
