//! The main loop: document notifications, requests, and publishing the checks'
//! results.
//!
//! Every open document is checked as a file of its own (a *root*), at the cluster
//! level unless another open document imports it, in which case it is checked as
//! plain language and its cluster-level diagnostics come from the importer. The
//! diagnostics shown for a file are the union of what every root reported there, so
//! an imported file shows the mistakes its importers find in it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use hac_lang::FileId;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    Request as LspRequest,
};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

use crate::analysis::{Analysis, Depth};

use super::documents::{Document, Documents};
use super::features::{self, Context};
use super::worker::{self, Job, Outcome};
use super::{convert, uri};

/// How long a request that uses the evaluated value waits for a pending check; checks
/// of ordinary files take milliseconds.
const CHECK_WAIT: Duration = Duration::from_millis(500);

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_owned(), "\"".to_owned()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: features::FORMATTING.then_some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// What the last check of one root found.
struct Checked {
    generation: u64,
    depth: Depth,
    /// Every file the check read, the root first.
    dependencies: Vec<PathBuf>,
    diagnostics: HashMap<PathBuf, Vec<lsp_types::Diagnostic>>,
    analysis: Arc<Analysis>,
}

struct Server<'c> {
    sender: &'c Sender<Message>,
    documents: Documents,
    /// Bumped on every edit; a check result older than its root's latest request is
    /// stale.
    generation: u64,
    requested: HashMap<PathBuf, u64>,
    /// The cancellation flag of each root's newest check.
    cancels: HashMap<PathBuf, Arc<AtomicBool>>,
    checked: HashMap<PathBuf, Checked>,
    /// Files that currently show diagnostics in the editor.
    published: HashSet<PathBuf>,
    jobs: Sender<Job>,
    outcomes: Receiver<Outcome>,
}

/// Serves one client until it disconnects or asks to exit.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let capabilities = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    match connection.initialize(capabilities) {
        Ok(_) => {}
        // The client went away before it said hello: nothing to serve.
        Err(err) if err.channel_is_disconnected() => return Ok(()),
        Err(err) => return Err(err.to_string()),
    }
    let (jobs, job_receiver) = crossbeam_channel::unbounded();
    let (outcome_sender, outcomes) = crossbeam_channel::unbounded();
    let worker = worker::spawn(job_receiver, outcome_sender).map_err(|e| e.to_string())?;
    let mut server = Server {
        sender: &connection.sender,
        documents: Documents::default(),
        generation: 0,
        requested: HashMap::new(),
        cancels: HashMap::new(),
        checked: HashMap::new(),
        published: HashSet::new(),
        jobs,
        outcomes,
    };
    let result = server.run(connection);
    drop(server);
    let _ = worker.join();
    result
}

impl Server<'_> {
    fn run(&mut self, connection: &Connection) -> Result<(), String> {
        let outcomes = self.outcomes.clone();
        loop {
            select! {
                recv(connection.receiver) -> message => {
                    let Ok(message) = message else { return Ok(()) };
                    match message {
                        Message::Request(request) => {
                            if connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                                return Ok(());
                            }
                            let response = self.request(request);
                            self.send(response.into());
                        }
                        Message::Notification(notification) => {
                            if notification.method == "exit" {
                                return Ok(());
                            }
                            self.notification(notification);
                        }
                        Message::Response(_) => {}
                    }
                }
                recv(outcomes) -> outcome => {
                    if let Ok(outcome) = outcome {
                        self.checked_one(outcome);
                    }
                }
            }
        }
    }

    fn send(&self, message: Message) {
        // A closed channel means the client is gone; the loop ends on the next read.
        let _ = self.sender.send(message);
    }

    // ----- documents ------------------------------------------------------------

    fn notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(params) = notification
                    .extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    let doc = params.text_document;
                    if let Some(path) = uri::to_path(&doc.uri) {
                        self.documents.open(Document::new(
                            doc.uri,
                            path.clone(),
                            doc.version,
                            doc.text,
                        ));
                        self.changed(&path);
                    }
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(params) = notification.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    let Some(path) = uri::to_path(&params.text_document.uri) else {
                        return;
                    };
                    // Full synchronisation: the last change is the whole text.
                    if let Some(change) = params.content_changes.into_iter().next_back() {
                        self.documents.open(Document::new(
                            params.text_document.uri,
                            path.clone(),
                            params.text_document.version,
                            change.text,
                        ));
                        self.changed(&path);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(params) = notification
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                    && let Some(path) = uri::to_path(&params.text_document.uri)
                {
                    self.closed(&path);
                }
            }
            _ => {}
        }
    }

    /// Re-checks `path` and every open document that read it.
    fn changed(&mut self, path: &Path) {
        self.generation += 1;
        self.schedule(path.to_path_buf());
        for root in self.importers(path) {
            self.schedule(root);
        }
    }

    /// The other open documents whose last check read `path`.
    fn importers(&self, path: &Path) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self
            .checked
            .iter()
            .filter(|(root, checked)| {
                root.as_path() != path && checked.dependencies.iter().any(|d| d == path)
            })
            .map(|(root, _)| root.clone())
            .collect();
        roots.sort();
        roots
    }

    fn schedule(&mut self, root: PathBuf) {
        if self.documents.get(&root).is_none() {
            return;
        }
        let depth = self.depth_for(&root);
        self.requested.insert(root.clone(), self.generation);
        let cancel = Arc::new(AtomicBool::new(false));
        if let Some(previous) = self.cancels.insert(root.clone(), cancel.clone()) {
            previous.store(true, Ordering::Relaxed);
        }
        let _ = self.jobs.send(Job {
            root,
            generation: self.generation,
            depth,
            overlay: self.documents.overlay(),
            cancel,
        });
    }

    /// A file another open document imports is a library: its cluster-level
    /// diagnostics come from the importer.
    fn depth_for(&self, root: &Path) -> Depth {
        let imported = self.checked.iter().any(|(other, checked)| {
            other.as_path() != root && checked.dependencies.iter().any(|d| d == root)
        });
        if imported {
            Depth::Language
        } else {
            Depth::Cluster
        }
    }

    fn closed(&mut self, path: &Path) {
        self.documents.close(path);
        self.requested.remove(path);
        if let Some(cancel) = self.cancels.remove(path) {
            cancel.store(true, Ordering::Relaxed);
        }
        self.generation += 1;
        let mut affected: HashSet<PathBuf> = HashSet::from([path.to_path_buf()]);
        if let Some(checked) = self.checked.remove(path) {
            affected.extend(checked.diagnostics.into_keys());
            // Files it imported may now be roots of their own.
            for dependency in checked.dependencies.iter().skip(1) {
                if self.depth_for(dependency) == Depth::Cluster
                    && self
                        .checked
                        .get(dependency)
                        .is_some_and(|c| c.depth == Depth::Language)
                {
                    self.schedule(dependency.clone());
                }
            }
        }
        // Its importers now read it from disk, which may differ from the buffer; until
        // they are re-checked, what they found in the buffer is hidden.
        for root in self.importers(path) {
            self.schedule(root);
        }
        for file in affected {
            self.publish(&file);
        }
    }

    fn checked_one(&mut self, outcome: Outcome) {
        if self.requested.get(&outcome.root) != Some(&outcome.generation) {
            return; // Edited since, or closed: a newer check is queued or none is wanted.
        }
        let root = outcome.root;
        let sources = &outcome.analysis.sources;
        let mut diagnostics: HashMap<PathBuf, Vec<lsp_types::Diagnostic>> = HashMap::new();
        for diagnostic in &outcome.analysis.diagnostics {
            let fallback = sources.find(&root).unwrap_or(FileId(0));
            if let Some((file, converted)) = convert::diagnostic(diagnostic, sources, fallback) {
                diagnostics
                    .entry(hac_lang::loader::normalize(&file))
                    .or_default()
                    .push(converted);
            }
        }
        let mut dependencies: Vec<PathBuf> = vec![root.clone()];
        dependencies.extend(
            sources
                .iter()
                .map(|(_, file)| hac_lang::loader::normalize(&file.path))
                .filter(|path| *path != root),
        );
        let mut affected: HashSet<PathBuf> = diagnostics.keys().cloned().collect();
        affected.insert(root.clone());
        if let Some(previous) = self.checked.get(&root) {
            affected.extend(previous.diagnostics.keys().cloned());
        }
        let newly_imported: Vec<PathBuf> = dependencies
            .iter()
            .skip(1)
            .filter(|d| {
                self.checked
                    .get(*d)
                    .is_some_and(|c| c.depth == Depth::Cluster)
            })
            .cloned()
            .collect();
        self.checked.insert(
            root.clone(),
            Checked {
                generation: outcome.generation,
                depth: outcome.depth,
                dependencies,
                diagnostics,
                analysis: Arc::new(outcome.analysis),
            },
        );
        for file in affected {
            self.publish(&file);
        }
        // Open files this one imports were checked as clusters; now they are libraries.
        for library in newly_imported {
            self.schedule(library);
        }
    }

    /// Sends the union of every root's diagnostics in `file`; an empty list clears
    /// what the editor showed.
    fn publish(&mut self, file: &Path) {
        let mut all: Vec<lsp_types::Diagnostic> = Vec::new();
        let mut roots: Vec<(&PathBuf, &Checked)> = self.checked.iter().collect();
        roots.sort_by_key(|(root, _)| (root.as_path() != file, *root));
        for (root, checked) in roots {
            // An importer being re-checked after an edit here would show outdated
            // findings; its new ones follow shortly.
            let outdated = self.requested.get(root) != Some(&checked.generation);
            if root.as_path() != file && outdated {
                continue;
            }
            for diagnostic in checked.diagnostics.get(file).into_iter().flatten() {
                if !all.contains(diagnostic) {
                    all.push(diagnostic.clone());
                }
            }
        }
        if all.is_empty() && !self.published.contains(file) && self.documents.get(file).is_none() {
            return;
        }
        if all.is_empty() {
            self.published.remove(file);
        } else {
            self.published.insert(file.to_path_buf());
        }
        let (uri, version) = match self.documents.get(file) {
            Some(doc) => (doc.uri.clone(), Some(doc.version)),
            None => match uri::from_path(file) {
                Some(uri) => (uri, None),
                None => return,
            },
        };
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics: all,
            version,
        };
        self.send(Notification::new(PublishDiagnostics::METHOD.to_owned(), params).into());
    }

    // ----- requests -------------------------------------------------------------

    fn request(&mut self, request: Request) -> Response {
        // Answers that use the evaluated value wait (briefly) for the check of the
        // current text, so an outline asked for right after opening lists the hosts.
        if matches!(
            request.method.as_str(),
            HoverRequest::METHOD | DocumentSymbolRequest::METHOD
        ) && let Some(path) = request
            .params
            .pointer("/textDocument/uri")
            .and_then(|uri| serde_json::from_value::<Uri>(uri.clone()).ok())
            .and_then(|uri| uri::to_path(&uri))
        {
            self.await_check(&path, CHECK_WAIT);
        }
        match request.method.as_str() {
            HoverRequest::METHOD => self.answer::<HoverRequest>(request, |ctx, params| {
                features::hover(ctx, params.text_document_position_params.position)
            }),
            Completion::METHOD => self.answer::<Completion>(request, |ctx, params| {
                features::completion(ctx, params.text_document_position.position)
            }),
            GotoDefinition::METHOD => self.answer::<GotoDefinition>(request, |ctx, params| {
                features::definition(ctx, params.text_document_position_params.position)
            }),
            DocumentSymbolRequest::METHOD => {
                self.answer::<DocumentSymbolRequest>(request, |ctx, _| features::symbols(ctx))
            }
            Formatting::METHOD => {
                self.answer::<Formatting>(request, |ctx, _| features::formatting(ctx))
            }
            _ => Response::new_err(
                request.id,
                ErrorCode::MethodNotFound as i32,
                format!("`{}` is not supported", request.method),
            ),
        }
    }

    /// Takes in check results until `path`'s newest check is in, or `limit` passed.
    fn await_check(&mut self, path: &Path, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.documents.get(path).is_some()
            && self.requested.get(path) != self.checked.get(path).map(|checked| &checked.generation)
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.outcomes.recv_timeout(left) {
                Ok(outcome) => self.checked_one(outcome),
                Err(_) => return,
            }
        }
    }

    /// Answers a request about one open document; `None` for documents that are not
    /// open.
    fn answer<R>(
        &self,
        request: Request,
        handler: impl FnOnce(&Context<'_>, R::Params) -> R::Result,
    ) -> Response
    where
        R: LspRequest,
        R::Params: serde::de::DeserializeOwned + HasDocument,
        R::Result: serde::Serialize + Default,
    {
        let params: R::Params = match serde_json::from_value(request.params) {
            Ok(params) => params,
            Err(err) => {
                return Response::new_err(
                    request.id,
                    ErrorCode::InvalidParams as i32,
                    err.to_string(),
                );
            }
        };
        let document = uri::to_path(params.document()).and_then(|p| self.documents.get(&p));
        let Some(document) = document else {
            return Response::new_ok(request.id, R::Result::default());
        };
        // Values from the last check are only trusted while the text is unchanged.
        let analysis = self
            .checked
            .get(&document.file.path)
            .filter(|checked| {
                checked
                    .analysis
                    .sources
                    .find(&document.file.path)
                    .or_else(|| checked.analysis.sources.iter().next().map(|(id, _)| id))
                    .and_then(|id| checked.analysis.sources.try_get(id))
                    .is_some_and(|f| f.text == document.file.text)
            })
            .map(|checked| checked.analysis.as_ref());
        let context = Context {
            uri: &document.uri,
            file: &document.file,
            parse: document.parse(),
            analysis,
            open: &self.documents,
        };
        Response::new_ok(request.id, handler(&context, params))
    }
}

/// Requests about one document name it.
pub trait HasDocument {
    fn document(&self) -> &Uri;
}

impl HasDocument for lsp_types::HoverParams {
    fn document(&self) -> &Uri {
        &self.text_document_position_params.text_document.uri
    }
}

impl HasDocument for lsp_types::CompletionParams {
    fn document(&self) -> &Uri {
        &self.text_document_position.text_document.uri
    }
}

impl HasDocument for lsp_types::GotoDefinitionParams {
    fn document(&self) -> &Uri {
        &self.text_document_position_params.text_document.uri
    }
}

impl HasDocument for lsp_types::DocumentSymbolParams {
    fn document(&self) -> &Uri {
        &self.text_document.uri
    }
}

impl HasDocument for lsp_types::DocumentFormattingParams {
    fn document(&self) -> &Uri {
        &self.text_document.uri
    }
}
