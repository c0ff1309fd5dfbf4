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
    Cancel, DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    Request as LspRequest,
};
use lsp_types::{
    CompletionOptions, DiagnosticRelatedInformation, DiagnosticSeverity, HoverProviderCapability,
    Location, OneOf, PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri,
};

use crate::analysis::{Analysis, Depth};

use super::convert::Encoding;
use super::documents::{Document, Documents};
use super::features::{self, Context};
use super::worker::{self, Job, Outcome};
use super::{convert, definition, syntax, uri};

/// How long the answer to a request that uses the evaluated value waits for a pending
/// check; checks of ordinary files take milliseconds. Other messages are handled
/// meanwhile.
const CHECK_WAIT: Duration = Duration::from_millis(500);

/// A request whose answer waits for the pending check of its document.
struct Deferred {
    request: Request,
    path: PathBuf,
    deadline: Instant,
}

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
    /// Hover and outline requests waiting for a check, oldest first.
    deferred: Vec<Deferred>,
    /// How positions count characters, as negotiated with the client.
    encoding: Encoding,
}

/// Serves one client until it disconnects or asks to exit.
pub fn serve(connection: &Connection) -> Result<(), String> {
    let (id, params) = match connection.initialize_start() {
        Ok(started) => started,
        // The client went away before it said hello: nothing to serve.
        Err(err) if err.channel_is_disconnected() => return Ok(()),
        Err(err) => return Err(err.to_string()),
    };
    let offered: Vec<lsp_types::PositionEncodingKind> = params
        .pointer("/capabilities/general/positionEncodings")
        .and_then(|offered| serde_json::from_value(offered.clone()).ok())
        .unwrap_or_default();
    let encoding = Encoding::negotiate(&offered);
    let capabilities = ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        ..capabilities()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "hac", "version": env!("CARGO_PKG_VERSION") },
    });
    match connection.initialize_finish(id, result) {
        Ok(()) => {}
        Err(err) if err.channel_is_disconnected() => return Ok(()),
        Err(err) => return Err(err.to_string()),
    }
    let (jobs, job_receiver) = crossbeam_channel::unbounded();
    let (outcome_sender, outcomes) = crossbeam_channel::unbounded();
    let workers = worker::spawn(job_receiver, outcome_sender).map_err(|e| e.to_string())?;
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
        deferred: Vec::new(),
        encoding,
    };
    let result = server.run(connection);
    // Checks still running are of no use any more.
    for cancel in server.cancels.values() {
        cancel.store(true, Ordering::Relaxed);
    }
    drop(server);
    for worker in workers {
        let _ = worker.join();
    }
    result
}

impl Server<'_> {
    fn run(&mut self, connection: &Connection) -> Result<(), String> {
        let outcomes = self.outcomes.clone();
        loop {
            // Wake up for the first deferred answer whose wait is over.
            let timeout = self
                .deferred
                .iter()
                .map(|d| d.deadline.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(Duration::from_secs(3600));
            select! {
                recv(connection.receiver) -> message => {
                    let Ok(message) = message else { return Ok(()) };
                    match message {
                        Message::Request(request) => {
                            if connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                                return Ok(());
                            }
                            self.request(request);
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
                default(timeout) => {}
            }
            self.answer_deferred();
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
                        self.publish_syntax(&path);
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
                        self.publish_syntax(&path);
                    }
                }
            }
            Cancel::METHOD => {
                if let Ok(params) = notification.extract::<lsp_types::CancelParams>(Cancel::METHOD)
                {
                    self.cancel(params.id);
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
        // A fresh generation: a check cancelled by this one, even of the same text,
        // must not count as this one's result.
        self.generation += 1;
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
            if let Some((file, converted)) =
                convert::diagnostic(diagnostic, sources, fallback, self.encoding)
            {
                diagnostics
                    .entry(hac_lang::loader::normalize(&file))
                    .or_default()
                    .push(converted);
            }
        }
        self.import_errors(&root, sources, &mut diagnostics);
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

    /// Marks each `import` in `root` of a file with errors, or of a file importing
    /// one: editors show diagnostics only for open files, and the imported file is
    /// often not open. The first error is related information.
    fn import_errors(
        &self,
        root: &Path,
        sources: &hac_lang::SourceMap,
        diagnostics: &mut HashMap<PathBuf, Vec<lsp_types::Diagnostic>>,
    ) {
        let Some(document) = self.documents.get(root) else {
            return;
        };
        let mut marks = Vec::new();
        for (text, span) in syntax::imports(&document.parse().expr) {
            let target = definition::resolve_path(root, text);
            if target == root {
                continue;
            }
            let first = imported_from(&target, sources)
                .into_iter()
                .find_map(|file| {
                    let error = diagnostics
                        .get(&file)?
                        .iter()
                        .find(|d| d.severity == Some(DiagnosticSeverity::ERROR))?;
                    Some((file, error))
                });
            let Some((file, first)) = first else {
                continue;
            };
            let Some(file_uri) = uri::from_path(&file) else {
                continue;
            };
            let summary = first.message.lines().next().unwrap_or_default();
            let message = if file == target {
                format!("the imported file `{text}` has an error: {summary}")
            } else {
                format!("the imported file `{text}` imports a file with an error: {summary}")
            };
            marks.push(lsp_types::Diagnostic {
                range: convert::range(&document.file, span, self.encoding),
                severity: Some(DiagnosticSeverity::ERROR),
                code: first.code.clone(),
                source: Some("hac".to_owned()),
                message,
                related_information: Some(vec![DiagnosticRelatedInformation {
                    location: Location {
                        uri: file_uri,
                        range: first.range,
                    },
                    message: first.message.clone(),
                }]),
                ..lsp_types::Diagnostic::default()
            });
        }
        if !marks.is_empty() {
            diagnostics
                .entry(root.to_path_buf())
                .or_default()
                .extend(marks);
        }
    }

    /// Sends the union of every root's diagnostics in `file`; an empty list clears
    /// what the editor showed.
    fn publish(&mut self, file: &Path) {
        let mut all: Vec<lsp_types::Diagnostic> = Vec::new();
        // While the file's own check is pending, its syntax errors (found on the main
        // thread) stand in for the outdated findings.
        let own_current = self
            .checked
            .get(file)
            .is_some_and(|checked| self.requested.get(file) == Some(&checked.generation));
        let syntax = if own_current {
            Vec::new()
        } else {
            self.syntax_diagnostics(file)
        };
        let mut roots: Vec<(&PathBuf, &Checked)> = self.checked.iter().collect();
        roots.sort_by_key(|(root, _)| (root.as_path() != file, *root));
        for (root, checked) in roots {
            // A check of an older text (this file's own, or an importer's being re-run
            // after an edit here) would show outdated findings, perhaps next to new
            // ones; the new ones follow shortly.
            if self.requested.get(root) != Some(&checked.generation) {
                continue;
            }
            for diagnostic in checked.diagnostics.get(file).into_iter().flatten() {
                merge(&mut all, diagnostic.clone());
            }
        }
        for diagnostic in syntax {
            merge(&mut all, diagnostic);
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

    /// The syntax errors of an open document's current text, from the main thread's
    /// parse.
    fn syntax_diagnostics(&self, file: &Path) -> Vec<lsp_types::Diagnostic> {
        let Some(document) = self.documents.get(file) else {
            return Vec::new();
        };
        let parse = document.parse();
        if parse.diagnostics.is_empty() {
            return Vec::new();
        }
        let mut sources = hac_lang::SourceMap::new();
        let id = sources.add(document.file.path.clone(), document.file.text.clone());
        parse
            .diagnostics
            .iter()
            .filter_map(|d| convert::diagnostic(d, &sources, id, self.encoding))
            .map(|(_, converted)| converted)
            .collect()
    }

    /// Publishes the syntax errors of a just-edited document at once, without waiting
    /// for its check (which may wait behind a slow one); the check's findings replace
    /// them.
    fn publish_syntax(&mut self, file: &Path) {
        if self
            .documents
            .get(file)
            .is_some_and(|document| !document.parse().diagnostics.is_empty())
        {
            self.publish(file);
        }
    }

    // ----- requests -------------------------------------------------------------

    fn request(&mut self, request: Request) {
        // Answers that use the evaluated value wait (briefly) for the check of the
        // current text, so an outline asked for right after opening lists the hosts.
        // Meanwhile other messages are handled.
        if matches!(
            request.method.as_str(),
            HoverRequest::METHOD | DocumentSymbolRequest::METHOD
        ) && let Some(path) = request
            .params
            .pointer("/textDocument/uri")
            .and_then(|uri| serde_json::from_value::<Uri>(uri.clone()).ok())
            .and_then(|uri| uri::to_path(&uri))
            && !self.check_done(&path)
        {
            self.deferred.push(Deferred {
                request,
                path,
                deadline: Instant::now() + CHECK_WAIT,
            });
            return;
        }
        let response = self.respond(request);
        self.send(response.into());
    }

    /// Answers a request still waiting for its check with `RequestCancelled`; requests
    /// already answered need nothing more.
    fn cancel(&mut self, id: lsp_types::NumberOrString) {
        let id: lsp_server::RequestId = match id {
            lsp_types::NumberOrString::Number(n) => n.into(),
            lsp_types::NumberOrString::String(s) => s.into(),
        };
        let (cancelled, waiting): (Vec<Deferred>, Vec<Deferred>) =
            std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|d| d.request.id == id);
        self.deferred = waiting;
        for deferred in cancelled {
            self.send(
                Response::new_err(
                    deferred.request.id,
                    ErrorCode::RequestCanceled as i32,
                    "cancelled by the client".to_owned(),
                )
                .into(),
            );
        }
    }

    /// Whether there is nothing to wait for before answering about `path`: it is not
    /// open, or its newest check is in.
    fn check_done(&self, path: &Path) -> bool {
        self.documents.get(path).is_none()
            || self.requested.get(path) == self.checked.get(path).map(|c| &c.generation)
    }

    /// Answers the deferred requests whose check is in or whose wait is over.
    fn answer_deferred(&mut self) {
        let now = Instant::now();
        let (ready, waiting): (Vec<Deferred>, Vec<Deferred>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|d| d.deadline <= now || self.check_done(&d.path));
        self.deferred = waiting;
        for deferred in ready {
            let response = self.respond(deferred.request);
            self.send(response.into());
        }
    }

    fn respond(&mut self, request: Request) -> Response {
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
            encoding: self.encoding,
        };
        Response::new_ok(request.id, handler(&context, params))
    }
}

/// `file` and the files it imports, directly or not, as far as the check read them
/// (`sources`), nearest first.
fn imported_from(file: &Path, sources: &hac_lang::SourceMap) -> Vec<PathBuf> {
    let mut files = vec![file.to_path_buf()];
    let mut next = 0;
    while let Some(current) = files.get(next).cloned() {
        next += 1;
        let source = sources
            .iter()
            .find(|(_, source)| hac_lang::loader::normalize(&source.path) == current);
        let Some((id, source)) = source else {
            continue;
        };
        let parse = hac_lang::syntax::parse(id, &source.text);
        for (text, _) in syntax::imports(&parse.expr) {
            let imported = definition::resolve_path(&current, text);
            if !files.contains(&imported) {
                files.push(imported);
            }
        }
    }
    files
}

/// Adds `diagnostic` to `all`, merging it into one already there at the same place
/// with the same code and message (an imported file's mistake found by the file's own
/// check and by its importer's, which adds "while importing this file").
fn merge(all: &mut Vec<lsp_types::Diagnostic>, diagnostic: lsp_types::Diagnostic) {
    let same = all.iter_mut().find(|d| {
        d.range == diagnostic.range && d.code == diagnostic.code && d.message == diagnostic.message
    });
    let Some(existing) = same else {
        all.push(diagnostic);
        return;
    };
    for related in diagnostic.related_information.into_iter().flatten() {
        let list = existing.related_information.get_or_insert_with(Vec::new);
        if !list.contains(&related) {
            list.push(related);
        }
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
