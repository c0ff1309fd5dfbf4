//! A stack of known size for the recursive phases (parsing and checking), so that
//! deeply nested input behaves the same whatever thread the caller runs on: a test
//! thread (2 MiB), an editor's worker thread or a main thread (8 MiB).

/// Enough for [`super::MAX_DEPTH`] levels of parsing in debug builds, several
/// times over. Only the pages actually touched are ever allocated.
const STACK_SIZE: usize = 64 << 20;

/// Runs `work` on a fresh thread with a large stack, or on the current thread if
/// no thread can be started.
pub fn with_parser_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let mut work = Some(work);
    let spawned = std::thread::scope(|scope| {
        let job = &mut work;
        let handle = std::thread::Builder::new()
            .name("hac-parse".into())
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, move || job.take().map(|work| work()));
        match handle {
            Ok(handle) => match handle.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        }
    });
    match spawned {
        Some(result) => result,
        None => (work.take().expect("work runs exactly once"))(),
    }
}
