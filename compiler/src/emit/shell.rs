//! Shell quoting and a small builder for bash scripts.
//!
//! [`quote`] is the one function through which every value reaches a generated
//! script: it makes a POSIX single-quoted word, which bash and dash read back
//! byte for byte (no expansion of `$`, backticks, `\`, globs or newlines inside
//! single quotes). The only string no shell word can carry is one with a NUL
//! byte (shells use C strings), so [`quote`] refuses it instead of truncating.

use super::SpecError;

/// `word` as one POSIX shell word that expands to exactly `word`.
///
/// Words made only of characters that are never special to the shell are left
/// bare, so generated scripts stay readable (`apt-get`, `/etc/hosts`,
/// `10.0.0.1:6443`). Everything else is single-quoted, except that `'`, `$`,
/// `` ` `` and `\` are written outside the quotes with a backslash (`it'\''s`,
/// `'pa'\$'s'`): the same word for the shell, and shellcheck does not take a
/// quoted `$` for a forgotten expansion (SC2016) or a quoted trailing backslash
/// for a botched escape (SC1003). The empty string becomes `''`.
pub fn quote(word: &str) -> Result<String, SpecError> {
    if word.contains('\0') {
        return Err(SpecError::new(format!(
            "{} contains a NUL byte, which no shell word can carry",
            describe(word)
        ))
        .with_help("remove the NUL byte; to ship binary data use a file in `write_files` with base64 encoding"));
    }
    if word.is_empty() {
        return Ok("''".to_string());
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    let mut run = String::new();
    for c in word.chars() {
        if matches!(c, '\'' | '$' | '`' | '\\') {
            flush_run(&mut quoted, &mut run);
            quoted.push('\\');
            quoted.push(c);
        } else {
            run.push(c);
        }
    }
    flush_run(&mut quoted, &mut run);
    Ok(quoted)
}

/// Appends `run` to `out`, single-quoted unless every character is bare.
fn flush_run(out: &mut String, run: &mut String) {
    if run.is_empty() {
        return;
    }
    if run.bytes().all(is_bare) {
        out.push_str(run);
    } else {
        out.push('\'');
        out.push_str(run);
        out.push('\'');
    }
    run.clear();
}

/// A command line: every word quoted by [`quote`], joined by single spaces.
pub fn command<S: AsRef<str>>(words: &[S]) -> Result<String, SpecError> {
    let quoted = words
        .iter()
        .map(|word| quote(word.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quoted.join(" "))
}

/// Bytes that never need quoting in any position of a word. `=` and `~` are left
/// out on purpose: `a=b` as the first word is an assignment and `~` may expand.
fn is_bare(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(byte, b'-' | b'_' | b'.' | b'/' | b':' | b',' | b'+' | b'@')
}

/// A short, safe description of a possibly hostile string for messages.
fn describe(word: &str) -> String {
    const SHOWN: usize = 40;
    let escaped: String = word
        .chars()
        .take(SHOWN)
        .flat_map(char::escape_debug)
        .collect();
    if word.chars().count() > SHOWN {
        format!("the string `{escaped}…`")
    } else {
        format!("the string `{escaped}`")
    }
}

/// Lines of a bash script. Raw lines are the generator's own code; values from
/// the user go in through [`Script::command`] or [`quote`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    lines: Vec<String>,
}

impl Script {
    pub fn new() -> Self {
        Script::default()
    }

    /// Appends code as written (several lines if it contains newlines).
    pub fn line(&mut self, code: impl Into<String>) -> &mut Self {
        let code = code.into();
        // Keeps `lines()` one entry per script line even if the code has several.
        self.lines.extend(code.split('\n').map(str::to_string));
        self
    }

    /// Appends a command whose words are each quoted with [`quote`].
    pub fn command<S: AsRef<str>>(&mut self, words: &[S]) -> Result<&mut Self, SpecError> {
        let line = command(words)?;
        Ok(self.line(line))
    }

    /// Appends `# text`, one comment line per line of `text`.
    pub fn comment(&mut self, text: &str) -> &mut Self {
        for line in text.lines() {
            self.lines.push(format!("# {line}").trim_end().to_string());
        }
        self
    }

    pub fn blank(&mut self) -> &mut Self {
        self.lines.push(String::new());
        self
    }

    /// Appends every line of `other`.
    pub fn append(&mut self, other: &Script) -> &mut Self {
        self.lines.extend(other.lines.iter().cloned());
        self
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The script text: the lines joined with newlines, ending with one.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

impl From<Script> for Vec<String> {
    fn from(script: Script) -> Self {
        script.lines
    }
}
