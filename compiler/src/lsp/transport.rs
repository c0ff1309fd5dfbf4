//! The stdio transport: `Content-Length` framed JSON-RPC, read defensively. A client
//! can send anything; the server must answer or stop with a protocol error, never
//! allocate what a header claims or abort.
//!
//! A frame whose body is not a JSON-RPC message gets a JSON-RPC error response and the
//! server reads on (the framing is intact). A frame whose header is unusable (no or a
//! garbled `Content-Length`, more than [`MAX_CONTENT_LENGTH`], header lines without
//! end) leaves no way to find the next frame: the server answers with a protocol
//! error, stops reading and exits with an error.

use std::io::{self, BufRead, Read, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{Connection, Message};
use serde_json::json;

/// The largest message body accepted: far above any real document (sources are capped
/// at 64 MiB too), far below what would exhaust memory.
pub const MAX_CONTENT_LENGTH: usize = 64 * 1024 * 1024;

/// The longest header line, and the most header lines in one frame.
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;

/// JSON-RPC's code for a body that is not JSON.
const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's code for JSON that is not a valid message.
const INVALID_REQUEST: i32 = -32600;

/// One frame read from the client.
#[derive(Debug)]
pub enum Frame {
    Message(Message),
    /// A well-framed body that is not a message; the JSON-RPC error to answer with.
    Malformed(serde_json::Value),
}

/// Why reading cannot go on.
#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    /// The header is unusable: the error to answer with, then stop.
    Protocol(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(err) => write!(f, "cannot read from the client: {err}"),
            FrameError::Protocol(reason) => write!(f, "protocol error: {reason}"),
        }
    }
}

/// Reads one frame; `None` at the end of the stream between frames.
pub fn read_frame(input: &mut impl BufRead) -> Result<Option<Frame>, FrameError> {
    let mut length = None;
    let mut headers = 0;
    loop {
        let mut line = Vec::new();
        let read = input
            .by_ref()
            .take(MAX_HEADER_LINE as u64)
            .read_until(b'\n', &mut line)
            .map_err(FrameError::Io)?;
        if read == 0 {
            return if headers == 0 {
                Ok(None)
            } else {
                Err(FrameError::Protocol(
                    "the stream ended inside a header".to_owned(),
                ))
            };
        }
        if !line.ends_with(b"\n") {
            return Err(FrameError::Protocol(if read == MAX_HEADER_LINE {
                format!("a header line is longer than {MAX_HEADER_LINE} bytes")
            } else {
                "the stream ended inside a header".to_owned()
            }));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if headers == 0 {
                continue; // Tolerate blank lines between frames.
            }
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(FrameError::Protocol(format!(
                "more than {MAX_HEADERS} header lines"
            )));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(FrameError::Protocol(format!(
                "`{}` is not a header",
                line.escape_debug()
            )));
        };
        if name.trim().eq_ignore_ascii_case("Content-Length") {
            let value = value.trim();
            let parsed = value.parse::<u64>().map_err(|_| {
                FrameError::Protocol(format!(
                    "`Content-Length: {}` is not a byte count",
                    value.escape_debug()
                ))
            })?;
            if parsed > MAX_CONTENT_LENGTH as u64 {
                return Err(FrameError::Protocol(format!(
                    "`Content-Length: {parsed}` is larger than the {} MiB limit",
                    MAX_CONTENT_LENGTH / 1024 / 1024
                )));
            }
            length = Some(parsed as usize);
        }
    }
    let Some(length) = length else {
        return Err(FrameError::Protocol(
            "a frame without `Content-Length`".to_owned(),
        ));
    };
    let mut body = Vec::new();
    input
        .by_ref()
        .take(length as u64)
        .read_to_end(&mut body)
        .map_err(FrameError::Io)?;
    if body.len() < length {
        return Err(FrameError::Protocol(format!(
            "the stream ended after {} of {length} body bytes",
            body.len()
        )));
    }
    Ok(Some(parse_body(&body)))
}

fn parse_body(body: &[u8]) -> Frame {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            return Frame::Malformed(error_response(
                serde_json::Value::Null,
                PARSE_ERROR,
                &format!("the message is not JSON: {err}"),
            ));
        }
    };
    let id = value
        .get("id")
        .filter(|id| id.is_string() || id.is_number())
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Frame::Message(message),
        Err(err) => Frame::Malformed(error_response(
            id,
            INVALID_REQUEST,
            &format!("not a JSON-RPC message: {err}"),
        )),
    }
}

fn error_response(id: serde_json::Value, code: i32, message: &str) -> serde_json::Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn write_frame(output: &mut impl Write, body: &[u8]) -> io::Result<()> {
    write!(output, "Content-Length: {}\r\n\r\n", body.len())?;
    output.write_all(body)?;
    output.flush()
}

/// The reader and writer threads of [`stdio`].
pub struct IoThreads {
    reader: JoinHandle<Result<(), String>>,
    writer: JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Waits for both threads; the reader's protocol error, if any.
    pub fn join(self) -> Result<(), String> {
        let read = self
            .reader
            .join()
            .unwrap_or_else(|_| Err("the reader thread failed".to_owned()));
        let written = self
            .writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread failed")));
        read?;
        written.map_err(|err| format!("cannot write to the client: {err}"))
    }
}

/// A connection over stdin and stdout with this module's framing.
pub fn stdio() -> io::Result<(Connection, IoThreads)> {
    let (to_server, from_client) = crossbeam_channel::unbounded::<Message>();
    let (to_client, from_server) = crossbeam_channel::unbounded::<Message>();
    let (raw_sender, raw_receiver) = crossbeam_channel::unbounded::<serde_json::Value>();
    let writer = std::thread::Builder::new()
        .name("hac-lsp-writer".into())
        .spawn(move || write_loop(&from_server, &raw_receiver, &mut io::stdout().lock()))?;
    let reader = std::thread::Builder::new()
        .name("hac-lsp-reader".into())
        .spawn(move || read_loop(&mut io::stdin().lock(), &to_server, &raw_sender))?;
    let connection = Connection {
        sender: to_client,
        receiver: from_client,
    };
    Ok((connection, IoThreads { reader, writer }))
}

/// Reads frames until the end of input, an `exit` notification, a protocol error or
/// the server's going away. Error responses to malformed frames go to `raw`.
pub fn read_loop(
    input: &mut impl BufRead,
    server: &Sender<Message>,
    raw: &Sender<serde_json::Value>,
) -> Result<(), String> {
    loop {
        match read_frame(input) {
            Ok(None) => return Ok(()),
            Ok(Some(Frame::Message(message))) => {
                let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                if server.send(message).is_err() || exit {
                    return Ok(());
                }
            }
            Ok(Some(Frame::Malformed(response))) => {
                let _ = raw.send(response);
            }
            Err(FrameError::Protocol(reason)) => {
                let _ = raw.send(error_response(
                    serde_json::Value::Null,
                    INVALID_REQUEST,
                    &format!("protocol error, the server stops: {reason}"),
                ));
                return Err(format!("protocol error: {reason}"));
            }
            Err(err @ FrameError::Io(_)) => return Err(err.to_string()),
        }
    }
}

/// Writes the server's messages and the transport's own error responses until both
/// senders are gone.
fn write_loop(
    messages: &Receiver<Message>,
    raw: &Receiver<serde_json::Value>,
    output: &mut impl Write,
) -> io::Result<()> {
    let mut messages_open = true;
    let mut raw_open = true;
    while messages_open || raw_open {
        let body = select! {
            recv(messages) -> message => match message {
                Ok(message) => serde_json::to_vec(&message).map_err(io::Error::other)?,
                Err(_) => { messages_open = false; continue; }
            },
            recv(raw) -> value => match value {
                Ok(value) => serde_json::to_vec(&value).map_err(io::Error::other)?,
                Err(_) => { raw_open = false; continue; }
            },
        };
        write_frame(output, &body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Result<Option<Frame>, FrameError>> {
        let mut reader = io::BufReader::new(input);
        let mut out = Vec::new();
        loop {
            let frame = read_frame(&mut reader);
            let stop = !matches!(frame, Ok(Some(_)));
            out.push(frame);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn a_huge_content_length_is_a_protocol_error() {
        let got = frames(b"Content-Length: 99999999999999\r\n\r\n{}");
        assert!(
            matches!(&got[0], Err(FrameError::Protocol(reason)) if reason.contains("64 MiB")),
            "{got:?}"
        );
    }

    #[test]
    fn garbled_headers_are_protocol_errors() {
        for input in [
            &b"Content-Length: -1\r\n\r\n"[..],
            b"Content-Length: 12abc\r\n\r\n",
            b"Content-Type: x\r\n\r\n{}",
            b"no colon here\r\n\r\n",
            b"Content-Length: 10\r\n\r\n{}",
        ] {
            let got = frames(input);
            assert!(
                matches!(got.last(), Some(Err(FrameError::Protocol(_)))),
                "{:?}: {got:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long = format!("X-Long: {}\r\n", "a".repeat(MAX_HEADER_LINE * 2));
        assert!(matches!(
            frames(long.as_bytes()).last(),
            Some(Err(FrameError::Protocol(_)))
        ));
    }

    #[test]
    fn a_bad_body_is_answered_and_reading_goes_on() {
        let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let input = [
            frame("{{{"),
            frame("[1, 2]"),
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
        ]
        .concat();
        let got = frames(input.as_bytes());
        assert!(
            matches!(&got[0], Ok(Some(Frame::Malformed(v))) if v["error"]["code"] == PARSE_ERROR && v["id"].is_null()),
            "{got:?}"
        );
        assert!(
            matches!(&got[1], Ok(Some(Frame::Malformed(v))) if v["error"]["code"] == INVALID_REQUEST),
            "{got:?}"
        );
        assert!(
            matches!(&got[2], Ok(Some(Frame::Message(Message::Notification(n)))) if n.method == "exit")
        );
        assert!(matches!(&got[3], Ok(None)));
    }
}
