//! Fetching a file at boot: every download in the bootstrap is the same retried,
//! bounded `curl` that fails on HTTP errors, so a flaky mirror costs a retry and a
//! missing file stops the step.

/// `retry 5 10 curl … --output OUTPUT URL`, bounded to `max_seconds` per attempt.
/// `output` and `url` are shell words, already quoted (they may hold a variable).
pub fn curl_download(max_seconds: u32, output: &str, url: &str) -> String {
    format!(
        "retry 5 10 curl --fail --silent --show-error --location --max-time {max_seconds} --create-dirs --output {output} {url}"
    )
}
