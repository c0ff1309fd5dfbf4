//! `hac lsp` as a process speaking the protocol over stdin/stdout, started the way
//! VS Code's client starts it (with `--stdio`).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn frame(message: &serde_json::Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[test]
fn the_server_answers_over_stdio_and_exits_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hac"))
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hac lsp");
    let mut input = Vec::new();
    for message in [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        input.extend(frame(&message));
    }
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hac lsp did not exit after `exit`");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{status}: {out}");
    assert!(out.contains("\"hoverProvider\":true"), "{out}");
    assert!(out.contains("\"documentFormattingProvider\":true"), "{out}");
    assert!(out.contains("\"id\":2"), "the shutdown is answered: {out}");
}

/// Reads framed messages from `child`'s stdout on a thread, so a test can wait with a
/// deadline.
fn messages(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<serde_json::Value> {
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = value.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            if sender.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    receiver
}

fn start() -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hac"))
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hac lsp")
}

fn wait_for_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hac lsp did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A header claiming an absurd body is a protocol error: an error response, a message
/// on stderr and exit status 2, never an abort while allocating the claimed size.
#[test]
fn a_huge_content_length_is_a_protocol_error_not_an_abort() {
    let mut child = start();
    let received = messages(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let initialize = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}});
    stdin.write_all(&frame(&initialize)).unwrap();
    stdin
        .write_all(b"Content-Length: 99999999999999\r\n\r\n{}")
        .unwrap();
    stdin.flush().unwrap();
    let status = wait_for_exit(&mut child);
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{status}: {stderr}");
    assert!(stderr.contains("Content-Length"), "{stderr}");
    let answers: Vec<serde_json::Value> = received.try_iter().collect();
    assert!(
        answers.iter().any(|m| m["id"].is_null()
            && m["error"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("64 MiB"))),
        "{answers:?}"
    );
}

/// A body that is not JSON is answered with a parse error and the server reads on.
#[test]
fn a_malformed_body_is_answered_and_the_server_goes_on() {
    let mut child = start();
    let received = messages(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let mut input = frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    input.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    ));
    input.extend(b"Content-Length: 5\r\n\r\n{oops");
    input.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    ));
    input.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ));
    stdin.write_all(&input).unwrap();
    drop(stdin);
    let status = wait_for_exit(&mut child);
    assert!(status.success(), "{status}");
    let answers: Vec<serde_json::Value> = received.iter().collect();
    assert!(
        answers.iter().any(|m| m["error"]["code"] == -32700),
        "{answers:?}"
    );
    assert!(answers.iter().any(|m| m["id"] == 2), "{answers:?}");
}

/// A document that reads `/dev/stdin` must not eat the protocol stream: the requests
/// sent after it are answered and the server exits when asked.
#[test]
fn a_document_reading_stdin_does_not_take_the_protocol_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stdin.hac");
    let uri = format!("file://{}", path.display());
    let mut child = start();
    let received = messages(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    let mut input = frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    input.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    ));
    input.extend(frame(&serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "hac", "version": 1, "text": "builtins.readFile /dev/stdin\n"}
    }})));
    stdin.write_all(&input).unwrap();
    stdin.flush().unwrap();
    // Give the check time to start reading before anything else is sent.
    std::thread::sleep(Duration::from_millis(500));
    let mut rest = frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/documentSymbol", "params": {"textDocument": {"uri": uri}}}),
    );
    rest.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
    ));
    rest.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ));
    stdin.write_all(&rest).unwrap();
    stdin.flush().unwrap();
    let status = wait_for_exit(&mut child);
    drop(stdin);
    assert!(status.success(), "{status}");
    let answers: Vec<serde_json::Value> = received.iter().collect();
    assert!(answers.iter().any(|m| m["id"] == 2), "{answers:?}");
    assert!(answers.iter().any(|m| m["id"] == 3), "{answers:?}");
    assert!(
        answers
            .iter()
            .any(|m| m["method"] == "textDocument/publishDiagnostics"
                && m.to_string().contains("hac::eval::file_refused")),
        "{answers:?}"
    );
}
