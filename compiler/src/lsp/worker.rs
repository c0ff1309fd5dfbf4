//! The analysis threads. The main loop keeps answering requests while files are
//! being checked, and a slow check of one file leaves the other thread free for the
//! rest. When a file is edited again, the main loop cancels its running check
//! (evaluation stops at its next poll of the flag), checks queued for it are skipped
//! (only the newest text of each file is checked), and any result older than the
//! file's latest edit is dropped.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hac_lang::loader::{Confined, OverlayLoader};
use hac_lang::{FsLoader, Limits};

use crate::analysis::{self, Analysis, Depth};

/// A request to check `root` as the documents were at `generation`.
pub struct Job {
    pub root: PathBuf,
    pub generation: u64,
    pub depth: Depth,
    pub overlay: HashMap<PathBuf, String>,
    /// Set when a newer text makes this check pointless.
    pub cancel: Arc<AtomicBool>,
}

pub struct Outcome {
    pub root: PathBuf,
    pub generation: u64,
    pub depth: Depth,
    pub analysis: Analysis,
    pub elapsed: Duration,
}

/// How many checks run at once: a file that takes long (one that loops until the step
/// budget stops it, say) does not hold up the checks of other files.
pub const WORKERS: usize = 2;

/// Starts [`WORKERS`] threads taking jobs from `jobs`. They end when `jobs` is closed
/// or `outcomes` has no receiver.
pub fn spawn(
    jobs: Receiver<Job>,
    outcomes: Sender<Outcome>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let queue = Arc::new(Mutex::new(VecDeque::new()));
    (0..WORKERS)
        .map(|index| {
            let jobs = jobs.clone();
            let outcomes = outcomes.clone();
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("hac-lsp-check-{index}"))
                .spawn(move || {
                    while let Some(job) = next(&jobs, &queue) {
                        if outcomes.send(check(job)).is_err() {
                            return;
                        }
                    }
                })
        })
        .collect()
}

/// The oldest queued job, waiting for one when none is queued; `None` once `jobs`
/// is closed. Only the newest job of each root is kept (an older one is stale). The
/// worker that holds the queue waits on the channel; the others wait for the queue.
fn next(jobs: &Receiver<Job>, queue: &Mutex<VecDeque<Job>>) -> Option<Job> {
    let mut queue = queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if queue.is_empty() {
        queue.push_back(jobs.recv().ok()?);
    }
    for job in jobs.try_iter() {
        queue.retain(|queued| queued.root != job.root);
        queue.push_back(job);
    }
    queue.pop_front()
}

/// Runs the same analysis as `hac check`, with the CLI's budgets and its sandbox
/// (so a document can read neither a secret nor the server's own standard input),
/// over the editor's texts.
pub fn check(job: Job) -> Outcome {
    let started = Instant::now();
    let texts = OverlayLoader {
        overlay: job.overlay,
        fallback: &FsLoader,
    };
    let loader = Confined {
        sandbox: crate::sandbox::for_description(&job.root, None, None),
        inner: &texts,
    };
    let analysis = analysis::analyze_cancellable(
        &loader,
        &job.root,
        &Limits::default(),
        job.depth,
        &job.cancel,
    );
    Outcome {
        root: job.root,
        generation: job.generation,
        depth: job.depth,
        analysis,
        elapsed: started.elapsed(),
    }
}
