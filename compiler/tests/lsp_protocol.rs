//! The language server driven in-process through `Connection::memory()`: every
//! message a real client would send, every answer checked.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Exit, Initialized,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, Initialize,
    Request as LspRequest, Shutdown,
};
use lsp_types::{
    CompletionParams, CompletionResponse, Diagnostic, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentFormattingParams,
    DocumentSymbolParams, DocumentSymbolResponse, FormattingOptions, GotoDefinitionParams,
    GotoDefinitionResponse, HoverContents, HoverParams, Position, PublishDiagnosticsParams, Range,
    TextDocumentContentChangeEvent, TextDocumentIdentifier, TextDocumentItem,
    TextDocumentPositionParams, Uri, VersionedTextDocumentIdentifier,
};

const WAIT: Duration = Duration::from_secs(20);

struct Client {
    connection: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
    /// Notifications received while waiting for something else.
    pending: Vec<Notification>,
    dir: tempfile::TempDir,
    /// The position encoding the server chose.
    encoding: Option<lsp_types::PositionEncodingKind>,
}

impl Client {
    fn start() -> Client {
        Client::start_with(serde_json::json!({}))
    }

    /// A client with these `capabilities`.
    fn start_with(capabilities: serde_json::Value) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || hac::lsp::serve(&server_side));
        let mut client = Client {
            connection: client_side,
            server: Some(server),
            next_id: 0,
            pending: Vec::new(),
            dir: tempfile::tempdir().expect("temporary directory"),
            encoding: None,
        };
        let result = client.request::<Initialize>(
            serde_json::from_value(serde_json::json!({ "capabilities": capabilities })).unwrap(),
        );
        assert!(result.capabilities.hover_provider.is_some());
        client.encoding = result.capabilities.position_encoding;
        client.notify::<Initialized>(lsp_types::InitializedParams {});
        client
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn uri(&self, name: &str) -> Uri {
        uri_of(&self.path(name))
    }

    fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        let message = Notification::new(N::METHOD.to_owned(), params);
        self.connection.sender.send(message.into()).unwrap();
    }

    fn request<R: LspRequest>(&mut self, params: R::Params) -> R::Result {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let request = Request::new(id.clone(), R::METHOD.to_owned(), params);
        self.connection.sender.send(request.into()).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left) {
                Ok(Message::Response(response)) if response.id == id => {
                    let result = response.response_result.expect("a successful answer");
                    return serde_json::from_value(result).expect("response shape");
                }
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(err) => panic!("no answer to {}: {err}", R::METHOD),
            }
        }
    }

    fn open(&self, name: &str, text: &str) -> Uri {
        let uri = self.uri(name);
        self.notify::<DidOpenTextDocument>(DidOpenTextDocumentParams {
            text_document: TextDocumentItem::new(uri.clone(), "hac".into(), 1, text.into()),
        });
        uri
    }

    fn change(&self, uri: &Uri, version: i32, text: &str) {
        self.notify::<DidChangeTextDocument>(DidChangeTextDocumentParams {
            text_document: VersionedTextDocumentIdentifier::new(uri.clone(), version),
            content_changes: vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: text.into(),
            }],
        });
    }

    /// The next diagnostics published for `uri` that satisfy `accept`.
    fn diagnostics_where(
        &mut self,
        uri: &Uri,
        mut accept: impl FnMut(&PublishDiagnosticsParams) -> bool,
    ) -> Vec<Diagnostic> {
        let deadline = Instant::now() + WAIT;
        loop {
            // Those for other files are kept for later.
            let mut index = 0;
            while index < self.pending.len() {
                let n = &self.pending[index];
                if n.method != PublishDiagnostics::METHOD {
                    index += 1;
                    continue;
                }
                let mut params: PublishDiagnosticsParams =
                    serde_json::from_value(n.params.clone()).unwrap();
                // Without the advice every fixture gets for its named endpoint (the DNS
                // record to create, which tests/cli.rs covers).
                params.diagnostics.retain(|d| {
                    d.code
                        != Some(lsp_types::NumberOrString::String(
                            "hac::lint::endpoint_dns_record".into(),
                        ))
                });
                if params.uri != *uri {
                    index += 1;
                    continue;
                }
                self.pending.remove(index);
                if accept(&params) {
                    return params.diagnostics;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left) {
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(err) => panic!("no diagnostics for {}: {err}", uri.as_str()),
            }
        }
    }

    fn diagnostics(&mut self, uri: &Uri, version: i32) -> Vec<Diagnostic> {
        self.diagnostics_where(uri, |p| p.version == Some(version))
    }

    fn at(&self, uri: &Uri, position: Position) -> TextDocumentPositionParams {
        TextDocumentPositionParams {
            text_document: TextDocumentIdentifier::new(uri.clone()),
            position,
        }
    }

    fn hover(&mut self, uri: &Uri, position: Position) -> Option<String> {
        let params = HoverParams {
            text_document_position_params: self.at(uri, position),
            work_done_progress_params: Default::default(),
        };
        let hover = self.request::<HoverRequest>(params)?;
        match hover.contents {
            HoverContents::Markup(markup) => Some(markup.value),
            other => panic!("{other:?}"),
        }
    }

    fn complete(&mut self, uri: &Uri, position: Position) -> Vec<String> {
        let params = CompletionParams {
            text_document_position: self.at(uri, position),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
            context: None,
        };
        match self.request::<Completion>(params) {
            Some(CompletionResponse::Array(items)) => items.into_iter().map(|i| i.label).collect(),
            Some(CompletionResponse::List(list)) => {
                list.items.into_iter().map(|i| i.label).collect()
            }
            None => Vec::new(),
        }
    }

    fn definition(&mut self, uri: &Uri, position: Position) -> Option<(Uri, Range)> {
        let params = GotoDefinitionParams {
            text_document_position_params: self.at(uri, position),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
        };
        match self.request::<GotoDefinition>(params)? {
            GotoDefinitionResponse::Scalar(location) => Some((location.uri, location.range)),
            other => panic!("{other:?}"),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.request::<Shutdown>(());
        self.notify::<Exit>(());
        let result = self.server.take().unwrap().join().expect("server thread");
        assert_eq!(result, Ok(()));
    }
}

fn uri_of(path: &Path) -> Uri {
    Uri::from_str(&format!("file://{}", path.display())).unwrap()
}

/// The position of the `nth` (0-based) occurrence of `needle` in `text`, plus `shift`
/// characters (ASCII texts only).
fn find(text: &str, needle: &str, nth: usize, shift: u32) -> Position {
    let offset = text.match_indices(needle).nth(nth).expect(needle).0;
    let line = text[..offset].matches('\n').count() as u32;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    Position::new(line, column as u32 + shift)
}

const CLUSTER: &str = r#"let
  host = name: octet: { inherit name; address = "10.0.0.${toString octet}"; };
  count = 2;
in
{
  name = "prod";
  kubernetes = "1.36.1";
  endpoint = "api.example.com:6443";
  network = {
    cni = "flannel";
  };
  controlplanes = [ (host "cp1" 11) { name = "cp2"; address = "10.0.0.12"; } (host "cp3" 13) ];
  workers = builtins.genList (i: host "w${toString i}" (20 + i)) count;
  versions.flannel.unverified = true; # hac: allow unverified_download_allowed
}
"#;

#[test]
fn a_typo_is_reported_with_did_you_mean_and_cleared_when_fixed() {
    let mut client = Client::start();
    let typo = CLUSTER.replace("  network = {", "  netwrok = {");
    let uri = client.open("cluster.hac", &typo);
    let diagnostics = client.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    let start = find(&typo, "netwrok", 0, 0);
    assert_eq!(
        d.range,
        Range::new(start, Position::new(start.line, start.character + 7))
    );
    assert!(
        d.message.contains("unknown attribute `netwrok`"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("did you mean `network`?"),
        "{}",
        d.message
    );
    assert_eq!(
        d.code,
        Some(lsp_types::NumberOrString::String(
            "hac::model::unknown_attribute".into()
        ))
    );

    client.change(&uri, 2, CLUSTER);
    assert_eq!(client.diagnostics(&uri, 2), Vec::new());

    client.change(&uri, 3, &CLUSTER.replace("\"prod\"", "\"prod"));
    let syntax = client.diagnostics(&uri, 3);
    assert!(!syntax.is_empty());
    assert!(syntax.iter().all(|d| d.code.is_some()));

    client.notify::<DidCloseTextDocument>(DidCloseTextDocumentParams {
        text_document: TextDocumentIdentifier::new(uri.clone()),
    });
    // Closed: published without a version.
    assert_eq!(
        client.diagnostics_where(&uri, |p| p.version.is_none()),
        Vec::new()
    );
}

#[test]
fn secondary_labels_become_related_information() {
    let mut client = Client::start();
    let text = CLUSTER.replace("\"cp2\"", "\"cp1\"");
    let uri = client.open("dup.hac", &text);
    let diagnostics = client.diagnostics(&uri, 1);
    let with_related: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.related_information.is_some())
        .collect();
    assert!(!with_related.is_empty(), "{diagnostics:#?}");
    let related = &with_related[0].related_information.as_ref().unwrap()[0];
    assert_eq!(related.location.uri, uri);
}

#[test]
fn rapid_edits_end_with_the_newest_text() {
    let mut client = Client::start();
    let uri = client.open("rapid.hac", CLUSTER);
    let mut last = 1;
    for version in 2..=31 {
        let text = if version % 2 == 0 {
            CLUSTER.replace("  network = {", "  netwrok = {")
        } else {
            CLUSTER.to_owned()
        };
        client.change(&uri, version, &text);
        last = version;
    }
    // Results are published in edit order, and the last one is for the last text.
    let mut seen = Vec::new();
    let diagnostics = client.diagnostics_where(&uri, |p| {
        seen.push(p.version);
        p.version == Some(last)
    });
    assert_eq!(diagnostics, Vec::new(), "version 31 is the clean text");
    let versions: Vec<i32> = seen.into_iter().flatten().collect();
    assert!(versions.is_sorted(), "{versions:?}");
}

#[test]
fn an_edit_in_an_imported_file_rechecks_its_importer() {
    let mut client = Client::start();
    let lib = "{ cni = \"flannel\"; }\n";
    std::fs::write(client.path("net.hac"), lib).unwrap();
    let main = CLUSTER.replace(
        "network = {\n    cni = \"flannel\";\n  };",
        "network = import ./net.hac;",
    );
    let main_uri = client.open("main.hac", &main);
    assert_eq!(client.diagnostics(&main_uri, 1), Vec::new());

    // The imported file is opened and edited without being saved.
    let lib_uri = client.open("net.hac", lib);
    client.change(&lib_uri, 2, "{ cni = \"flanel\"; }\n");
    let in_lib = client.diagnostics_where(&lib_uri, |p| !p.diagnostics.is_empty());
    let in_main = client.diagnostics_where(&main_uri, |p| !p.diagnostics.is_empty());
    assert!(in_main[0].message.contains("`./net.hac` has an error"));
    // Only the importer's finding: the library is not itself checked as a cluster.
    assert_eq!(in_lib.len(), 1, "{in_lib:#?}");
    assert!(in_lib[0].message.contains("flanel"), "{in_lib:#?}");
    assert_eq!(in_lib[0].range.start, Position::new(0, 8));

    client.change(&lib_uri, 3, lib);
    // Until the importer's new check arrives its old findings are hidden, never shown
    // against the new text.
    assert_eq!(
        client.diagnostics_where(&lib_uri, |p| p.version == Some(3)),
        Vec::new()
    );
    // The importer marked the import of the broken file, and clears the mark.
    client.diagnostics_where(&main_uri, |p| p.diagnostics.is_empty());

    // Closed without saving: the importer reads the file on disk again.
    client.change(&lib_uri, 4, "{ cni = \"flanel\"; }\n");
    client.diagnostics_where(&lib_uri, |p| {
        p.version == Some(4) && !p.diagnostics.is_empty()
    });
    client.notify::<DidCloseTextDocument>(DidCloseTextDocumentParams {
        text_document: TextDocumentIdentifier::new(lib_uri.clone()),
    });
    let after_close = client.diagnostics_where(&lib_uri, |p| p.version.is_none());
    assert_eq!(after_close, Vec::new());
}

#[test]
fn hover_shows_schema_builtin_and_binding_docs() {
    let mut client = Client::start();
    let uri = client.open("hover.hac", CLUSTER);
    client.diagnostics(&uri, 1);

    let cni = client.hover(&uri, find(CLUSTER, "cni", 0, 1)).unwrap();
    let doc = hac::model::schema::lookup("network", "cni").unwrap().doc;
    assert!(cni.contains(doc), "{cni}");

    let address = client
        .hover(&uri, find(CLUSTER, "address = \"10.0.0.12", 0, 2))
        .unwrap();
    assert!(address.contains(hac::model::schema::lookup("host", "address").unwrap().doc));

    let gen_list = client.hover(&uri, find(CLUSTER, "genList", 0, 2)).unwrap();
    assert!(gen_list.contains("builtins.genList f length"), "{gen_list}");

    let count = client.hover(&uri, find(CLUSTER, "count;", 0, 1)).unwrap();
    assert!(
        count.contains("`count`: let binding") && count.contains("int"),
        "{count}"
    );
    let host = client
        .hover(&uri, find(CLUSTER, "host \"cp1\"", 0, 1))
        .unwrap();
    assert!(
        host.contains("function") && host.contains("host = name: octet:"),
        "{host}"
    );

    assert_eq!(client.hover(&uri, find(CLUSTER, "1.36.1", 0, 2)), None);

    // In a function the set is not known to be a host: every `address` is shown.
    let in_function = client
        .hover(&uri, find(CLUSTER, "address = \"10.0.0.${", 0, 1))
        .unwrap();
    assert!(in_function.contains("(a host)"), "{in_function}");
    let name = client
        .hover(&uri, find(CLUSTER, "  name = \"prod\"", 0, 3))
        .unwrap();
    assert!(
        name.contains("(the cluster)") && !name.contains("(a host)"),
        "{name}"
    );
}

#[test]
fn completion_offers_what_fits_the_cursor() {
    let mut client = Client::start();
    let text = CLUSTER
        .replace("    cni = \"flannel\";\n", "    cni = \"\";\n    \n")
        .replace("{ name = \"cp2\";", "{ name = \"cp2\"; ");
    let uri = client.open("complete.hac", &text);

    let in_network = client.complete(&uri, find(&text, "    \n", 0, 4));
    for name in ["pods", "services", "domain"] {
        assert!(in_network.contains(&name.to_owned()), "{in_network:?}");
    }
    // `cni` is already there; `kubernetes` belongs to the cluster.
    assert!(!in_network.contains(&"cni".to_owned()), "{in_network:?}");
    assert!(!in_network.contains(&"kubernetes".to_owned()));

    let top = client.complete(&uri, find(&text, "  kubernetes", 0, 2));
    assert!(top.contains(&"kubernetes".to_owned()) && top.contains(&"loadbalancer".to_owned()));
    assert!(!top.contains(&"controlplanes".to_owned()), "{top:?}");

    let host = client.complete(&uri, find(&text, "{ name = \"cp2\"; ", 0, 16));
    assert!(
        host.contains(&"taints".to_owned()) && host.contains(&"labels".to_owned()),
        "{host:?}"
    );

    let cni = client.complete(&uri, find(&text, "cni = \"\"", 0, 7));
    assert_eq!(cni, ["flannel", "calico", "cilium", "none"]);

    let builtins = client.complete(&uri, find(&text, "genList", 0, 3));
    assert!(builtins.contains(&"genList".to_owned()) && builtins.contains(&"attrNames".to_owned()));
    assert!(!builtins.contains(&"count".to_owned()));

    let scope = client.complete(&uri, find(&text, "20 + i", 0, 0));
    for name in ["count", "host", "i", "toString"] {
        assert!(scope.contains(&name.to_owned()), "{name}: {scope:?}");
    }
}

#[test]
fn definition_finds_bindings_arguments_and_imports() {
    let mut client = Client::start();
    std::fs::write(client.path("net.hac"), "{ cni = \"flannel\"; }\n").unwrap();
    let text = CLUSTER.replace(
        "network = {\n    cni = \"flannel\";\n  };",
        "network = import ./net.hac;",
    );
    let uri = client.open("def.hac", &text);

    let (target, range) = client
        .definition(&uri, find(&text, "count;", 0, 2))
        .unwrap();
    assert_eq!(target, uri);
    assert_eq!(range.start, find(&text, "count = 2", 0, 0));

    let (_, range) = client
        .definition(&uri, find(&text, "octet}", 0, 1))
        .unwrap();
    assert_eq!(range.start, find(&text, "octet:", 0, 0));

    let (_, range) = client.definition(&uri, find(&text, "i}\"", 0, 0)).unwrap();
    assert_eq!(range.start, find(&text, "(i:", 0, 1));

    let (target, range) = client
        .definition(&uri, find(&text, "./net.hac", 0, 3))
        .unwrap();
    assert_eq!(target, client.uri("net.hac"));
    assert_eq!(range, Range::default());

    assert_eq!(client.definition(&uri, find(&text, "\"prod\"", 0, 2)), None);
}

#[test]
fn the_outline_lists_attributes_and_hosts() {
    let mut client = Client::start();
    // Asked for right after opening: the server waits for the check to list hosts.
    let uri = client.open("outline.hac", CLUSTER);
    let params = DocumentSymbolParams {
        text_document: TextDocumentIdentifier::new(uri.clone()),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    };
    let Some(DocumentSymbolResponse::Nested(symbols)) =
        client.request::<DocumentSymbolRequest>(params)
    else {
        panic!("nested symbols expected");
    };
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "name",
            "kubernetes",
            "endpoint",
            "network",
            "controlplanes",
            "workers",
            "versions.flannel.unverified"
        ]
    );
    let hosts = |index: usize| -> Vec<String> {
        symbols[index]
            .children
            .iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect()
    };
    assert_eq!(hosts(4), ["cp1", "cp2", "cp3"]);
    assert_eq!(hosts(5), ["w0", "w1"]);
    assert_eq!(hosts(3), ["cni"]);
    let cp1 = &symbols[4].children.as_ref().unwrap()[0];
    assert_eq!(cp1.selection_range.start, find(CLUSTER, "\"cp1\"", 0, 0));
}

/// The positions of `hac check --format json`'s diagnostics, 0-based: lines, and
/// columns from the field pair `column` (characters) or `column_utf16`.
fn cli_positions(path: &Path, column: &str) -> Vec<(String, u64, u64, u64, u64)> {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut io = hac::cli::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        style: hac::report::Style::plain(),
    };
    let args = ["hac", "check", "--format", "json", path.to_str().unwrap()];
    hac::cli::run(args, &hac_lang::FsLoader, &mut io);
    let from_cli: Vec<serde_json::Value> = serde_json::from_slice(&stdout).unwrap();
    assert!(from_cli.len() >= 2, "{from_cli:#?}");
    from_cli
        .iter()
        .map(|d| {
            let n = |key: &str| d[key].as_u64().unwrap() - 1;
            (
                d["code"].as_str().unwrap().to_owned(),
                n("line"),
                n(column),
                n("end_line"),
                n(&format!("end_{column}")),
            )
        })
        .collect()
}

fn server_positions(diagnostics: &[Diagnostic]) -> Vec<(String, u64, u64, u64, u64)> {
    diagnostics
        .iter()
        .map(|d| {
            let code = match &d.code {
                Some(lsp_types::NumberOrString::String(code)) => code.clone(),
                other => panic!("{other:?}"),
            };
            let r = d.range;
            (
                code,
                r.start.line.into(),
                r.start.character.into(),
                r.end.line.into(),
                r.end.character.into(),
            )
        })
        .collect()
}

#[test]
fn check_json_and_the_server_agree_on_positions() {
    // Mistakes after an emoji (two UTF-16 units, four bytes) and a combining accent
    // (`e` and U+0301: two characters) on the same line.
    let text = CLUSTER
        .replace("  network = {", "  netwrok = {")
        .replace("\"cp2\"", "\"cp1\"")
        .replace("10.0.0.12", "10.0.0.999")
        .replace(
            "(host \"cp1\" 11) {",
            "(host \"cp1\" 11) /* 🚀🚀 cafe\u{301} */ {",
        );

    // A client that offers nothing gets UTF-16, the protocol's default: the JSON
    // report's `column_utf16`.
    let mut client = Client::start();
    assert_eq!(
        client.encoding,
        Some(lsp_types::PositionEncodingKind::UTF16)
    );
    let path = client.path("same.hac");
    std::fs::write(&path, &text).unwrap();
    let uri = client.open("same.hac", &text);
    let utf16 = server_positions(&client.diagnostics(&uri, 1));
    assert_eq!(cli_positions(&path, "column_utf16"), utf16);

    // A client that accepts UTF-32 counts characters, as the JSON report's `column`.
    let mut client = Client::start_with(serde_json::json!({
        "general": { "positionEncodings": ["utf-16", "utf-32"] }
    }));
    assert_eq!(
        client.encoding,
        Some(lsp_types::PositionEncodingKind::UTF32)
    );
    let uri = client.open("same.hac", &text);
    let path = client.path("same.hac");
    std::fs::write(&path, &text).unwrap();
    let utf32 = server_positions(&client.diagnostics(&uri, 1));
    assert_eq!(cli_positions(&path, "column"), utf32);
    // The two differ after the emoji: the test compares what it should.
    assert_ne!(utf16, utf32);
    let line = text.lines().find(|l| l.contains("🚀")).unwrap();
    let invalid = line.find("\"10.0.0.999\"").unwrap();
    let characters = line[..invalid].chars().count() as u64;
    assert!(
        utf32.iter().any(|p| p.2 == characters) && utf16.iter().any(|p| p.2 == characters + 2),
        "{utf32:?} {utf16:?}"
    );

    // UTF-8 counts bytes; hover and definition read positions the same way.
    let mut client = Client::start_with(serde_json::json!({
        "general": { "positionEncodings": ["utf-8", "utf-16"] }
    }));
    assert_eq!(client.encoding, Some(lsp_types::PositionEncodingKind::UTF8));
    let uri = client.open("same.hac", &text);
    let utf8 = server_positions(&client.diagnostics(&uri, 1));
    assert!(utf8.iter().any(|p| p.2 == invalid as u64), "{utf8:?}");
    let line_number = text.lines().position(|l| l.contains("🚀")).unwrap() as u32;
    let address = line.find("address").unwrap() as u32 + 2;
    let hover = client
        .hover(&uri, Position::new(line_number, address))
        .unwrap();
    assert!(
        hover.contains(hac::model::schema::lookup("host", "address").unwrap().doc),
        "{hover}"
    );
}

#[test]
fn formatting_uses_the_canonical_layout_and_refuses_broken_files() {
    let mut client = Client::start();
    let messy = "{ name   =  \"prod\";\n      # the release\n  kubernetes=\"1.36.1\"; }\n";
    let expected = hac_lang::format::format(hac_lang::FileId(0), messy).unwrap();
    assert_ne!(expected, messy);
    let uri = client.open("messy.hac", messy);
    let params = |uri: &Uri| DocumentFormattingParams {
        text_document: TextDocumentIdentifier::new(uri.clone()),
        options: FormattingOptions {
            tab_size: 8,
            insert_spaces: false,
            ..FormattingOptions::default()
        },
        work_done_progress_params: Default::default(),
    };
    let edits = client.request::<Formatting>(params(&uri)).unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].range,
        Range::new(Position::new(0, 0), Position::new(3, 0))
    );
    assert_eq!(edits[0].new_text, expected);
    assert!(
        edits[0].new_text.contains("  # the release\n"),
        "{}",
        edits[0].new_text
    );

    let tidy = client.open("tidy.hac", &expected);
    assert_eq!(
        client.request::<Formatting>(params(&tidy)),
        Some(Vec::new())
    );

    let broken = client.open("broken.hac", "{ name = ; }\n");
    assert_eq!(client.request::<Formatting>(params(&broken)), None);
}

#[test]
fn completion_works_while_the_text_is_incomplete() {
    let mut client = Client::start();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "{\n  name = \"x\";\n  netw\n}\n",
            "netw",
            &["network", "kubernetes"],
        ),
        (
            "{\n  network = { cni = ; };\n}\n",
            "= ;",
            &["flannel", "cilium"],
        ),
        ("{\n  network = { c };\n}\n", "c }", &["cni"]),
        (
            "{\n  controlplanes = [ { add } ];\n}\n",
            "add",
            &["address", "taints"],
        ),
        (
            "{\n  os = \"deb\";\n}\n",
            "deb",
            &["debian-12", "ubuntu-24.04"],
        ),
        (
            "{\n  workers = [ { name = \"w\"; } ];\n  \n}\n",
            "  \n}",
            &["controlplanes"],
        ),
        (
            "{\n  name = \"x\";\n  network.c\n}\n",
            "network.c",
            &["cni"],
        ),
        (
            "{\n  name = \"x\";\n  network.\n}\n",
            "network.",
            &["cni", "pods"],
        ),
        ("{\n  ssh.\n}\n", "ssh.", &["authorizedKeys"]),
        (
            "let\n  host = i: { name = \"h${toString i}\"; add };\nin\n{ controlplanes = [ (host 1) ]; }\n",
            "add",
            &["address", "labels"],
        ),
    ];
    for (index, (text, marker, expected)) in cases.iter().enumerate() {
        let uri = client.open(&format!("partial{index}.hac"), text);
        let shift = match *marker {
            "= ;" => 2,
            "  \n}" => 2,
            other => other.trim_end_matches([' ', '}', ';']).len() as u32,
        };
        let labels = client.complete(&uri, find(text, marker, 0, shift));
        for name in *expected {
            assert!(
                labels.contains(&name.to_string()),
                "case {index}: `{name}` in {labels:?}"
            );
        }
    }
}

#[test]
fn an_edit_cancels_a_runaway_check() {
    let mut client = Client::start();
    // Runs until the 50-million-step budget stops it: seconds even in a release build.
    let runaway = "let l = builtins.genList (i: i) 100000; in builtins.foldl' (a: x: a + builtins.foldl' (s: y: s + y) 0 l) 0 l\n";
    let uri = client.open("runaway.hac", runaway);
    std::thread::sleep(Duration::from_millis(200));
    let edited = Instant::now();
    client.change(&uri, 2, CLUSTER);
    assert_eq!(client.diagnostics(&uri, 2), Vec::new());
    // Without cancellation the worker would first finish the runaway check.
    assert!(
        edited.elapsed() < Duration::from_secs(5),
        "{:?}",
        edited.elapsed()
    );
}

#[test]
fn hover_shows_the_evaluated_value_of_a_binding() {
    let mut client = Client::start();
    let text = CLUSTER
        .replace(
            "  count = 2;\n",
            "  count = 2;\n  pods = \"10.32.0.0/12\";\n",
        )
        .replace(
            "    cni = \"flannel\";\n",
            "    cni = \"flannel\";\n    inherit pods;\n",
        );
    let uri = client.open("values.hac", &text);
    assert_eq!(client.diagnostics(&uri, 1), Vec::new());
    let hover = client.hover(&uri, find(&text, "pods;", 0, 1)).unwrap();
    assert!(hover.contains("`pods`: let binding, string"), "{hover}");
    assert!(hover.contains("\"10.32.0.0/12\""), "{hover}");
    // `pods` is also a schema attribute, but here it is the binding.
    let at_binding = client.hover(&uri, find(&text, "pods = ", 0, 1)).unwrap();
    assert!(
        at_binding.starts_with("`pods`: let binding, string"),
        "{at_binding}"
    );
}

/// Runs until the step budget stops it: seconds in a release build, about 12 s in a
/// debug one (the same program as `lsp_latency.rs`'s `RUNAWAY`).
const RUNAWAY: &str = "let l = builtins.genList (i: i) 100000; in builtins.foldl' (a: x: a + builtins.foldl' (s: y: s + y) 0 l) 0 l\n";

#[test]
fn a_slow_file_does_not_hold_up_other_files() {
    let mut client = Client::start();
    let slow = client.open("a.hac", RUNAWAY);
    std::thread::sleep(Duration::from_millis(200));

    // A syntax error is published from the main thread's parse at once.
    let opened = Instant::now();
    let broken = client.open("b.hac", "{ a = ; }\n");
    let syntax = client.diagnostics(&broken, 1);
    let syntax_after = opened.elapsed();
    assert!(!syntax.is_empty());
    assert!(
        syntax_after < Duration::from_secs(1),
        "b's syntax error after {syntax_after:?}"
    );

    // A whole check of another file runs beside the slow one.
    let opened = Instant::now();
    let typo = CLUSTER.replace("  network = {", "  netwrok = {");
    let other = client.open("c.hac", &typo);
    let checked = client.diagnostics(&other, 1);
    let checked_after = opened.elapsed();
    assert!(checked[0].message.contains("netwrok"), "{checked:#?}");
    assert!(
        checked_after < Duration::from_secs(1),
        "c's check after {checked_after:?}"
    );

    // An outline of the slow file waits for its check without blocking the rest:
    // a completion asked for after it is answered first.
    client.next_id += 1;
    let outline_id = RequestId::from(client.next_id);
    let params = DocumentSymbolParams {
        text_document: TextDocumentIdentifier::new(slow.clone()),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    };
    let asked = Instant::now();
    client
        .connection
        .sender
        .send(
            Request::new(
                outline_id.clone(),
                DocumentSymbolRequest::METHOD.into(),
                params,
            )
            .into(),
        )
        .unwrap();
    let mut answered_first = Vec::new();
    client.next_id += 1;
    let completion_id = RequestId::from(client.next_id);
    let params = CompletionParams {
        text_document_position: client.at(&other, find(&typo, "  kubernetes", 0, 2)),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
        context: None,
    };
    client
        .connection
        .sender
        .send(Request::new(completion_id.clone(), Completion::METHOD.into(), params).into())
        .unwrap();
    while answered_first.len() < 2 {
        match client.connection.receiver.recv_timeout(WAIT).unwrap() {
            Message::Response(response) => answered_first.push((response.id, asked.elapsed())),
            Message::Notification(n) => client.pending.push(n),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(answered_first[0].0, completion_id, "{answered_first:?}");
    assert!(
        answered_first[0].1 < Duration::from_millis(400),
        "{answered_first:?}"
    );
    // The outline is answered from the syntax tree once its wait is over.
    assert_eq!(answered_first[1].0, outline_id);
    assert!(
        answered_first[1].1 < Duration::from_secs(2),
        "{answered_first:?}"
    );

    client.notify::<DidCloseTextDocument>(DidCloseTextDocumentParams {
        text_document: TextDocumentIdentifier::new(slow),
    });
}

#[test]
fn an_open_imported_file_shows_each_mistake_once() {
    let mut client = Client::start();
    std::fs::write(client.path("net.hac"), "{ cni = \"flannel\"; }\n").unwrap();
    let main = CLUSTER.replace(
        "network = {\n    cni = \"flannel\";\n  };",
        "network = import ./net.hac;",
    );
    let main_uri = client.open("main.hac", &main);
    assert_eq!(client.diagnostics(&main_uri, 1), Vec::new());
    // The library's own check and its importer's find the same syntax error; the
    // importer adds where it imports the file.
    let lib_uri = client.open("net.hac", "{ cni = ; }\n");
    let importing = |d: &Diagnostic| {
        d.related_information
            .iter()
            .flatten()
            .any(|r| r.message == "while importing this file" && r.location.uri == main_uri)
    };
    let in_lib = client.diagnostics_where(&lib_uri, |p| p.diagnostics.iter().any(&importing));
    assert_eq!(in_lib.len(), 1, "{in_lib:#?}");

    // An evaluation error: the importer's copy says which attribute it was reading,
    // the library's own check only the attribute of the library. Once both checks
    // are in, one diagnostic has both.
    client.change(&lib_uri, 2, "{ cni = 1 + \"x\"; }\n");
    let related = |d: &Diagnostic, message: &str| {
        d.related_information
            .iter()
            .flatten()
            .any(|r| r.message == message)
    };
    let in_lib = client.diagnostics_where(&lib_uri, |p| {
        p.diagnostics
            .iter()
            .any(|d| related(d, "while evaluating the attribute `cni`"))
            && p.diagnostics
                .iter()
                .any(|d| related(d, "while evaluating the attribute `network.cni`"))
    });
    assert_eq!(in_lib.len(), 1, "{in_lib:#?}");
}

#[test]
fn an_importer_shows_that_an_imported_file_is_broken() {
    let mut client = Client::start();
    // Not open in the editor, so its own diagnostics are not shown.
    std::fs::write(
        client.path("hosts.hac"),
        "[ { name = \"w0\"; address = ; } ]\n",
    )
    .unwrap();
    let main = CLUSTER.replace(
        "builtins.genList (i: host \"w${toString i}\" (20 + i)) count",
        "import ./hosts.hac",
    );
    let main_uri = client.open("main.hac", &main);
    let in_main = client.diagnostics(&main_uri, 1);
    assert_eq!(in_main.len(), 1, "{in_main:#?}");
    let start = find(&main, "import ./hosts.hac", 0, 0);
    assert_eq!(
        in_main[0].range,
        Range::new(start, Position::new(start.line, start.character + 18))
    );
    assert!(
        in_main[0]
            .message
            .starts_with("the imported file `./hosts.hac` has an error: "),
        "{}",
        in_main[0].message
    );
    let related = &in_main[0].related_information.as_ref().unwrap()[0];
    assert_eq!(related.location.uri, client.uri("hosts.hac"));
    assert!((25..=27).contains(&related.location.range.start.character));

    // An evaluation error in it is marked too.
    std::fs::write(client.path("hosts.hac"), "[ { name = 1 + \"x\"; } ]\n").unwrap();
    client.change(&main_uri, 2, &main);
    let in_main = client.diagnostics(&main_uri, 2);
    assert!(
        in_main
            .iter()
            .any(|d| d.message.contains("cannot add a string to an integer")),
        "{in_main:#?}"
    );

    // A mistake two imports away is marked at the first.
    std::fs::write(client.path("hosts.hac"), "[ { name = 1 + \"x\"; } ]\n").unwrap();
    std::fs::write(client.path("more.hac"), "import ./hosts.hac\n").unwrap();
    let main = main.replace("import ./hosts.hac", "import ./more.hac");
    client.change(&main_uri, 3, &main);
    let in_main = client.diagnostics(&main_uri, 3);
    let mark = in_main
        .iter()
        .find(|d| {
            d.message
                .contains("`./more.hac` imports a file with an error")
        })
        .unwrap_or_else(|| panic!("{in_main:#?}"));
    let related = &mark.related_information.as_ref().unwrap()[0];
    assert_eq!(related.location.uri, client.uri("hosts.hac"));
}

#[test]
fn the_primary_label_joins_the_message() {
    let mut client = Client::start();
    let uri = client.open("label.hac", "{ a = ; }\n");
    let diagnostics = client.diagnostics_where(&uri, |p| !p.diagnostics.is_empty());
    let text: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        text.iter()
            .any(|m| m.ends_with("\nexpected an expression before `;`")),
        "{text:#?}"
    );
    // A label that only repeats the message is left out.
    let typo = CLUSTER.replace("  network = {", "  netwrok = {");
    let uri = client.open("typo.hac", &typo);
    let diagnostics = client.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 1);
    let lines: Vec<&str> = diagnostics[0].message.lines().collect();
    assert_eq!(lines[0], "unknown attribute `netwrok` in the cluster");
    assert_eq!(lines.last().copied(), Some("help: did you mean `network`?"));
}

#[test]
fn the_outline_lists_inherited_attributes_and_their_hosts() {
    let mut client = Client::start();
    let text = r#"let
  workers = [ { name = "w0"; address = "10.0.0.20"; } { name = "w1"; address = "10.0.0.21"; } ];
  cp = name: octet: { inherit name; address = "10.0.0.${toString octet}"; };
  hosts = { controlplanes = [ (cp "cp1" 11) (cp "cp2" 12) (cp "cp3" 13) ]; };
  name = "prod";
in
{
  inherit name;
  kubernetes = "1.36.1";
  endpoint = "api.example.com:6443";
  inherit (hosts) controlplanes;
  inherit workers;
  versions.flannel.unverified = true; # hac: allow unverified_download_allowed
}
"#;
    let uri = client.open("inherit.hac", text);
    assert_eq!(client.diagnostics(&uri, 1), Vec::new());
    let params = DocumentSymbolParams {
        text_document: TextDocumentIdentifier::new(uri.clone()),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    };
    let Some(DocumentSymbolResponse::Nested(symbols)) =
        client.request::<DocumentSymbolRequest>(params)
    else {
        panic!("nested symbols expected");
    };
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "name",
            "kubernetes",
            "endpoint",
            "controlplanes",
            "workers",
            "versions.flannel.unverified"
        ]
    );
    let hosts = |index: usize| -> Vec<String> {
        symbols[index]
            .children
            .iter()
            .flatten()
            .map(|s| s.name.clone())
            .collect()
    };
    assert_eq!(hosts(3), ["cp1", "cp2", "cp3"]);
    assert_eq!(hosts(4), ["w0", "w1"]);
    assert_eq!(symbols[4].kind, lsp_types::SymbolKind::ARRAY);
    assert_eq!(symbols[0].kind, lsp_types::SymbolKind::STRING);
    let at = find(text, "workers;", 0, 0);
    assert_eq!(symbols[4].selection_range.start, at);
}

/// A document can read neither the secrets bundle beside it nor the server's own
/// standard input (the protocol stream): both are refused at the path, hover shows no
/// secret, and the server goes on answering.
#[test]
fn documents_read_no_secret_and_not_the_protocol_stream() {
    let mut client = Client::start();
    let secret = "abcdef.0123456789abcdef";
    std::fs::write(
        client.path("prod.secrets"),
        format!("token = \"{secret}\"\n"),
    )
    .unwrap();
    let text = "let\n  leaked = builtins.readFile ./prod.secrets;\n  protocol = builtins.readFile /dev/stdin;\nin\n[ leaked protocol ]\n";
    let uri = client.open("leak.hac", text);
    let diagnostics = client.diagnostics(&uri, 1);
    let refused: Vec<_> = diagnostics
        .iter()
        .filter(|d| {
            d.code
                == Some(lsp_types::NumberOrString::String(
                    "hac::eval::file_refused".into(),
                ))
        })
        .collect();
    assert_eq!(refused.len(), 1, "{diagnostics:#?}");
    assert_eq!(refused[0].range.start, Position::new(1, 29));
    assert!(!format!("{diagnostics:?}").contains(secret));
    let hover = client.hover(&uri, find(text, "leaked", 1, 1));
    assert!(!hover.unwrap_or_default().contains(secret));
    // Without the first, the second read is refused too.
    client.change(&uri, 2, "builtins.readFile /dev/stdin\n");
    let diagnostics = client.diagnostics(&uri, 2);
    assert!(
        diagnostics[0].message.contains("refused to read"),
        "{diagnostics:#?}"
    );
    assert!(client.complete(&uri, Position::new(0, 0)).len() > 1);
}

/// A request waiting for a slow check is answered `RequestCancelled` as soon as the
/// client cancels it, and one not cancelled is answered while the check still runs.
#[test]
fn waiting_requests_are_cancelled_or_answered_while_a_check_runs() {
    let mut client = Client::start();
    // Millions of evaluation steps: long enough that the requests below find the
    // check still running.
    let text =
        "let xs = builtins.genList (x: x * 2) 1000000; in builtins.foldl' (a: b: a + b) 0 xs\n";
    let uri = client.open("slow.hac", text);
    let hover = |id: i32| {
        Request::new(
            RequestId::from(id),
            HoverRequest::METHOD.to_owned(),
            HoverParams {
                text_document_position_params: client.at(&uri, Position::new(0, 5)),
                work_done_progress_params: Default::default(),
            },
        )
    };
    let (first, second) = (hover(100), hover(101));
    client.connection.sender.send(first.into()).unwrap();
    client.connection.sender.send(second.into()).unwrap();
    client.notify::<lsp_types::notification::Cancel>(lsp_types::CancelParams {
        id: lsp_types::NumberOrString::Number(100),
    });
    let started = Instant::now();
    let mut answers = std::collections::HashMap::new();
    while answers.len() < 2 {
        let left = WAIT.saturating_sub(started.elapsed());
        match client.connection.receiver.recv_timeout(left) {
            Ok(Message::Response(response)) => {
                answers.insert(response.id.clone(), response);
            }
            Ok(Message::Notification(n)) => client.pending.push(n),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => panic!("requests left unanswered: {err}"),
        }
    }
    let cancelled = &answers[&RequestId::from(100)];
    assert_eq!(
        cancelled.response_result.as_ref().err().map(|e| e.code),
        Some(lsp_server::ErrorCode::RequestCanceled as i32),
        "{cancelled:?}"
    );
    assert!(answers[&RequestId::from(101)].response_result.is_ok());
}

#[test]
fn an_allowed_warning_is_not_shown() {
    let mut client = Client::start();
    let code = |d: &Diagnostic| match &d.code {
        Some(lsp_types::NumberOrString::String(code)) => code.clone(),
        _ => String::new(),
    };
    let bare_ip = CLUSTER.replace("api.example.com:6443", "10.0.0.11:6443");
    let uri = client.open("cluster.hac", &bare_ip);
    let shown: Vec<String> = client.diagnostics(&uri, 1).iter().map(code).collect();
    assert!(
        shown.iter().any(|c| c == "hac::lint::endpoint_is_ip"),
        "{shown:?}"
    );

    let allowed = bare_ip.replace(
        "  endpoint =",
        "  # hac: allow endpoint_is_ip -- a lab without DNS\n  endpoint =",
    );
    client.change(&uri, 2, &allowed);
    let shown: Vec<String> = client.diagnostics(&uri, 2).iter().map(code).collect();
    assert!(
        !shown.iter().any(|c| c == "hac::lint::endpoint_is_ip"),
        "{shown:?}"
    );
    // Only that lint: the others at the same place are still shown.
    assert!(
        shown
            .iter()
            .any(|c| c == "hac::lint::endpoint_single_point"),
        "{shown:?}"
    );
}
