//! A stack of known size for the recursive phases (parsing and checking), so that
//! deeply nested input behaves the same whatever thread the caller runs on: a test
//! thread (2 MiB), an editor's worker thread or a main thread (8 MiB).

/// Enough for [`super::MAX_DEPTH`] levels of parsing in debug builds, several
/// times over. Only the pages actually touched are ever allocated.
const STACK_SIZE: usize = 64 << 20;

/// Runs `work` with at least [`STACK_SIZE`] bytes of stack: on the current stack
/// when that much is left (the evaluation thread, which imports files, has
/// more), else on a new stack segment of that size on the same thread. A thread
/// per parse would cost a thread's start and a fresh set of allocator pages for
/// every imported file.
pub fn with_parser_stack<T>(work: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(STACK_SIZE, STACK_SIZE, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the caller's thread offers does not matter: the work always has the
    /// whole size, and runs on the caller's thread.
    #[test]
    fn work_gets_the_whole_stack_on_any_thread() {
        let caller = std::thread::current().id();
        for small in [64 * 1024, 2 << 20] {
            let left = std::thread::Builder::new()
                .stack_size(small)
                .spawn(|| {
                    let left = with_parser_stack(|| {
                        (stacker::remaining_stack(), std::thread::current().id())
                    });
                    (left, std::thread::current().id())
                })
                .unwrap()
                .join()
                .unwrap();
            let ((remaining, ran_on), spawned) = left;
            assert_eq!(ran_on, spawned, "runs on the calling thread");
            assert!(remaining.unwrap() >= STACK_SIZE - 64 * 1024);
        }
        let (remaining, ran_on) =
            with_parser_stack(|| (stacker::remaining_stack(), std::thread::current().id()));
        assert_eq!(ran_on, caller);
        assert!(remaining.unwrap() >= STACK_SIZE - 64 * 1024);
    }

    /// A panic in the work reaches the caller as a panic.
    #[test]
    fn panics_reach_the_caller() {
        let caught = std::panic::catch_unwind(|| with_parser_stack(|| panic!("inner")));
        assert!(caught.is_err());
    }
}
