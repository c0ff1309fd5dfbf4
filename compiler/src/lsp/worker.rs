//! The analysis thread. The main loop keeps answering requests while a file is being
//! checked. When a file is edited again, the main loop cancels its running check
//! (evaluation stops at its next poll of the flag), checks queued for it are skipped
//! (only the newest text of each file is checked), and any result older than the
//! file's latest edit is dropped.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hac_lang::loader::OverlayLoader;
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

/// Starts the thread. It ends when `jobs` is closed or `outcomes` has no receiver.
pub fn spawn(jobs: Receiver<Job>, outcomes: Sender<Outcome>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("hac-lsp-check".into())
        .spawn(move || {
            let mut queue: VecDeque<Job> = VecDeque::new();
            loop {
                if queue.is_empty() {
                    match jobs.recv() {
                        Ok(job) => queue.push_back(job),
                        Err(_) => return,
                    }
                }
                for job in jobs.try_iter() {
                    queue.retain(|queued| queued.root != job.root);
                    queue.push_back(job);
                }
                let Some(job) = queue.pop_front() else {
                    continue;
                };
                if outcomes.send(check(job)).is_err() {
                    return;
                }
            }
        })
}

/// Runs the same analysis as `hac check`, with the CLI's budgets, over the editor's
/// texts.
pub fn check(job: Job) -> Outcome {
    let started = Instant::now();
    let loader = OverlayLoader {
        overlay: job.overlay,
        fallback: &FsLoader,
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
