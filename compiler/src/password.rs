//! Reading a password from standard input: from a terminal with echo off after a
//! prompt on stderr, from a pipe or file as it is (one trailing line break dropped).
//! Never from the command line, where the process list and the shell history see it.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use crate::secrets::Secret;

/// More than any registry token; a larger input is refused rather than cut.
const MAX_BYTES: u64 = 8192;

/// The password on standard input. `prompt` goes to `stderr` only for a terminal.
pub fn read(prompt: &str, stderr: &mut dyn Write) -> io::Result<Secret> {
    let stdin = io::stdin();
    let text = if stdin.is_terminal() {
        let _ = stderr.write_all(prompt.as_bytes());
        let _ = stderr.flush();
        let line = without_echo(|| {
            let mut line = String::new();
            stdin.lock().read_line_bounded(&mut line)?;
            Ok(line)
        });
        // The Enter the user typed was not echoed either.
        let _ = stderr.write_all(b"\n");
        line?
    } else {
        let mut text = String::new();
        stdin
            .lock()
            .take(MAX_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|_| invalid("standard input is not UTF-8 text"))?;
        if text.len() as u64 > MAX_BYTES {
            return Err(invalid(
                "the password on standard input is longer than 8 KiB",
            ));
        }
        text
    };
    Ok(Secret::new(strip_line_break(text)))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `printf '%s\n' "$TOKEN" | hac …` and `echo` end the password with a line break that
/// is not part of it; only one is dropped.
fn strip_line_break(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

trait ReadLineBounded {
    fn read_line_bounded(&mut self, line: &mut String) -> io::Result<()>;
}

impl<R: io::BufRead> ReadLineBounded for R {
    fn read_line_bounded(&mut self, line: &mut String) -> io::Result<()> {
        self.by_ref().take(MAX_BYTES + 1).read_line(line)?;
        if line.len() as u64 > MAX_BYTES {
            return Err(invalid("the password is longer than 8 KiB"));
        }
        Ok(())
    }
}

/// Runs `read` with the terminal's echo off, restoring it afterwards whatever happens.
#[cfg(target_os = "linux")]
fn without_echo<T>(read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = io::stdin();
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet
        .local_modes
        .remove(LocalModes::ECHO | LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Flush, &quiet)?;
    let result = read();
    tcsetattr(&stdin, OptionalActions::Now, &saved)?;
    result
}

/// Elsewhere hac cannot turn echo off, so a terminal is refused: pipe the password.
#[cfg(not(target_os = "linux"))]
fn without_echo<T>(_read: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    Err(invalid(
        "cannot turn off the terminal's echo here: pipe the password on standard input",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_line_break_is_dropped() {
        assert_eq!(strip_line_break("s3cret\n".to_owned()), "s3cret");
        assert_eq!(strip_line_break("s3cret\r\n".to_owned()), "s3cret");
        assert_eq!(strip_line_break("s3cret\n\n".to_owned()), "s3cret\n");
        assert_eq!(strip_line_break("s3cret".to_owned()), "s3cret");
    }
}
