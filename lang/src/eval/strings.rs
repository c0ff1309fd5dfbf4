//! Building the evaluator's strings (interpolation, `toString`,
//! `concatStringsSep`) in one reused buffer, so that each string costs one
//! allocation of its final size rather than a growing buffer and a copy.

use std::cell::RefCell;
use std::rc::Rc;

use super::machine::R;

thread_local! {
    /// The buffer strings are built in, between two uses.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A buffer larger than this is given back to the allocator after use rather
/// than kept for the next string.
const KEPT: usize = 64 * 1024;

/// The text `write` makes, written into the reused buffer. A string built while
/// another is (a `__toString` that interpolates) gets a buffer of its own.
pub(crate) fn build(write: impl FnOnce(&mut String) -> R<()>) -> R<Rc<str>> {
    let mut buffer = SCRATCH.with(|scratch| std::mem::take(&mut *scratch.borrow_mut()));
    buffer.clear();
    let written = write(&mut buffer);
    let text = written.map(|()| Rc::from(buffer.as_str()));
    if buffer.capacity() <= KEPT {
        SCRATCH.with(|scratch| {
            let mut kept = scratch.borrow_mut();
            if kept.capacity() < buffer.capacity() {
                *kept = buffer;
            }
        });
    }
    text
}

/// Appends `i` in decimal, as `toString` and JSON write integers.
pub(crate) fn push_int(out: &mut String, i: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = i.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_as_rust_writes_them() {
        for i in [
            0,
            7,
            -7,
            10,
            99,
            -100,
            65_536,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut out = String::from("x");
            push_int(&mut out, i);
            assert_eq!(out, format!("x{i}"));
        }
    }

    #[test]
    fn a_string_built_inside_another_gets_its_own_buffer() {
        let outer = build(|out| {
            out.push_str("outer ");
            let inner = build(|inner| {
                inner.push_str("inner");
                Ok(())
            })?;
            out.push_str(&inner);
            out.push_str(" again");
            Ok(())
        })
        .unwrap();
        assert_eq!(&*outer, "outer inner again");
        // The buffer is empty again for the next string.
        assert_eq!(&*build(|_| Ok(())).unwrap(), "");
    }
}
