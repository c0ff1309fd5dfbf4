//! The per-host bootstrap script (`/usr/local/sbin/hac-bootstrap`): one bash
//! script that `runcmd` starts once and that brings the host into the cluster in
//! ordered, named steps.
//!
//! cloud-init runs `runcmd` at most once per instance, even after a failure or a
//! reboot half-way, so everything that must survive those lives in the script:
//! each finished step is recorded under `$HAC_STATE_DIR/steps/NAME` and skipped on
//! the next run. A step that fails is run again after a capped back-off, for as long
//! as it takes (`$HAC_STATE_DIR/retrying` says which step, how often and why), since
//! what it needs (a mirror, another host) can still come; only `hac_fail` stops the
//! host, writing `$HAC_STATE_DIR/failed` with a reason that needs a person. The
//! outcome is `$HAC_STATE_DIR/done` or that `failed`. Waiting is a poll
//! (`wait_until`), never a fixed sleep; flaky commands go through `retry`. Time is
//! read and slept through `hac_now` and `hac_sleep` ([`CLOCK_LIBRARY`]).
//!
//! `HAC_STATE_DIR` and `HAC_LOG_FILE` default to [`STATE_DIR`] and [`LOG_FILE`];
//! the environment may override them (the tests run the script in a temporary
//! directory that way).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::{SpecError, is_plain_name};

/// Where the script is installed on the host.
pub const SCRIPT_PATH: &str = "/usr/local/sbin/hac-bootstrap";
/// Default state directory: `steps/`, `done`, `failed`, `lock`.
pub const STATE_DIR: &str = "/var/lib/hac";
/// Default log file.
pub const LOG_FILE: &str = "/var/log/hac-bootstrap.log";

/// Step names become file names and parts of function names.
const MAX_STEP_NAME: usize = 64;

/// One step of the script: `body` is bash code (one entry per line) that runs
/// under `set -euo pipefail` with its output appended to the log. Values from the
/// user must reach the body through [`super::shell::quote`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub body: Vec<String>,
}

impl Step {
    pub fn new(name: impl Into<String>, body: impl Into<Vec<String>>) -> Self {
        Step {
            name: name.into(),
            body: body.into(),
        }
    }
}

/// The function name a step's body is wrapped in.
pub fn step_function(name: &str) -> String {
    format!("hac_step_{}", name.replace('-', "_"))
}

/// The complete bootstrap script running `steps` in order.
pub fn script(steps: &[Step]) -> Result<String, SpecError> {
    script_with_library(steps, "")
}

/// Like [`script`], with `library` (shell functions the steps call, hac's own text)
/// added after the built-in helpers, without its comment lines.
pub fn script_with_library(steps: &[Step], library: &str) -> Result<String, SpecError> {
    check_steps(steps)?;
    let mut out = String::new();
    out.push_str(&runtime(library));
    for step in steps {
        out.push('\n');
        out.push_str(&format!("{}() {{\n", step_function(&step.name)));
        // Bodies are not indented: a heredoc inside must keep its column.
        let mut wrote_code = false;
        for line in step.body.iter().flat_map(|line| line.split('\n')) {
            wrote_code |= !line.trim().is_empty() && !line.trim_start().starts_with('#');
            out.push_str(line);
            out.push('\n');
        }
        if !wrote_code {
            // A bash function needs at least one command.
            out.push_str(":\n");
        }
        out.push_str("}\n");
    }
    out.push_str("\nmain() {\n  hac_start\n");
    for step in steps {
        out.push_str(&format!(
            "  step {} {}\n",
            step.name,
            step_function(&step.name)
        ));
    }
    out.push_str("  hac_finish\n}\n\nmain \"$@\"\n");
    Ok(out)
}

fn check_steps(steps: &[Step]) -> Result<(), SpecError> {
    let mut seen = HashSet::new();
    for step in steps {
        let name = &step.name;
        let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !is_plain_name(name, &['-'])
            || !starts_well
            || name.chars().any(|c| c.is_ascii_uppercase())
        {
            return Err(SpecError::new(format!(
                "invalid bootstrap step name `{}`",
                name.escape_debug()
            ))
            .with_help("use lower-case letters, digits and `-`, starting with a letter or digit"));
        }
        if name.len() > MAX_STEP_NAME {
            return Err(SpecError::new(format!(
                "bootstrap step name `{name}` is longer than {MAX_STEP_NAME} characters"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(
                SpecError::new(format!("bootstrap step `{name}` appears twice"))
                    .with_help("give every step its own name; a finished step is recorded by name"),
            );
        }
        if step.body.iter().any(|line| line.contains('\0')) {
            return Err(SpecError::new(format!(
                "bootstrap step `{name}` contains a NUL byte"
            )));
        }
    }
    Ok(())
}

/// Libraries whose runtime was made, with it: every host of a build has the same
/// one, so its comments are taken out once per build rather than once per host.
static RUNTIMES: Mutex<Vec<(String, Arc<str>)>> = Mutex::new(Vec::new());

/// More distinct libraries are not kept (a build has one).
const KEPT_RUNTIMES: usize = 4;

/// The start of every script with `library`: the preamble, then the clock library,
/// the step runner and `library`, each without its comments.
fn runtime(library: &str) -> Arc<str> {
    if let Ok(runtimes) = RUNTIMES.lock()
        && let Some((_, made)) = runtimes.iter().find(|(kept, _)| kept == library)
    {
        return Arc::clone(made);
    }
    let mut out = String::from(PREAMBLE);
    push_without_comments(&mut out, CLOCK_LIBRARY);
    push_without_comments(&mut out, LIBRARY);
    push_without_comments(&mut out, library);
    let made: Arc<str> = out.into();
    if let Ok(mut runtimes) = RUNTIMES.lock()
        && runtimes.len() < KEPT_RUNTIMES
        && !runtimes.iter().any(|(kept, _)| kept == library)
    {
        runtimes.push((library.to_owned(), Arc::clone(&made)));
    }
    made
}

/// The library's comments document it for readers of this file; the hosts get it
/// without them, since every byte counts against the providers' user-data limits
/// (16 KiB raw on AWS, 32 KiB on Hetzner). The library is hac's own text, so no
/// line that starts with `#` is inside a string.
pub fn push_without_comments(out: &mut String, text: &str) {
    for line in text.lines() {
        let trimmed = line.trim_start();
        // shellcheck's directives stay: they are for the script, not for its readers.
        if !trimmed.starts_with('#') || trimmed.starts_with("# shellcheck ") {
            out.push_str(line);
            out.push('\n');
        }
    }
}

const PREAMBLE: &str = r#"#!/bin/bash
# hac-bootstrap: brings this host into the cluster. Generated by hac.
# Safe to run again: finished steps are recorded in $HAC_STATE_DIR/steps and
# skipped. Progress is logged to $HAC_LOG_FILE; the outcome is
# $HAC_STATE_DIR/done, or $HAC_STATE_DIR/failed naming the failing step.
# Steps, probes and retried commands are functions called through `step`,
# `wait_until` and `retry`, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -Eeuo pipefail
shopt -s inherit_errexit

HAC_STATE_DIR=${HAC_STATE_DIR:-/var/lib/hac}
HAC_LOG_FILE=${HAC_LOG_FILE:-/var/log/hac-bootstrap.log}
hac_current_step=""
hac_failed_command=""
hac_failed_line=""
hac_stopping=""
"#;

/// The clock every generated script reads and sleeps through (the boot lab's contract:
/// `HAC_CLOCK` names its clock; unset, what ships, it is `date` and `sleep`).
pub const CLOCK_LIBRARY: &str = r#"
# hac_now: the time in epoch seconds; hac_sleep SECONDS. Both go through the
# executable $HAC_CLOCK when it names one (the boot lab's clock, which lets a test
# move time forward); what ships leaves it unset: `date` and `sleep`.
hac_now() {
  if [[ -n ${HAC_CLOCK:-} && -x $HAC_CLOCK ]]; then
    "$HAC_CLOCK" now
  else
    date +%s
  fi
}

hac_sleep() {
  if [[ -n ${HAC_CLOCK:-} && -x $HAC_CLOCK ]]; then
    "$HAC_CLOCK" sleep "$1"
  else
    sleep "$1"
  fi
}

# hac_timestamp: hac_now as UTC RFC 3339.
hac_timestamp() {
  date -u -d "@$(hac_now)" +%Y-%m-%dT%H:%M:%SZ
}

"#;

const LIBRARY: &str = r#"
# log MESSAGE...: a timestamped line in the log and on the original stderr.
log() {
  local line
  line="$(hac_timestamp) $*"
  printf '%s\n' "$line" >>"$HAC_LOG_FILE"
  printf '%s\n' "$line" >&3
}

# hac_on_error STATUS LINE COMMAND: remembers the failing command, for `retrying`
# and `failed`, in the state directory (the step runs in a subshell). When a
# function call fails, bash reports the function's last command (its `return`),
# so the line of the call is read back from this script instead.
hac_on_error() {
  if [[ -n $hac_failed_command ]]; then
    return 0
  fi
  local status=$1 command=$3 call
  hac_failed_line=$2
  if [[ $command == return* ]] && call=$(sed -n "${2}p" "$0" 2>/dev/null) && [[ -n $call ]]; then
    command="${call#"${call%%[![:space:]]*}"} (returned $status)"
  fi
  hac_failed_command=${command//$'\n'/ }
  printf 'command=%s\nline=%s\n' "$hac_failed_command" "$hac_failed_line" >"$HAC_STATE_DIR/last-error" 2>/dev/null || true
}

hac_trap_errors() {
  trap 'hac_on_error "$?" "$LINENO" "$BASH_COMMAND"' ERR
}

# hac_fail REASON MESSAGE: this host needs a person. Writes $HAC_STATE_DIR/failed
# (reason, step, message, time) and stops the script; nothing retries it until the
# script is run again (by hand or at the next boot). REASON is one of the reasons
# docs/build.md lists under "When a boot goes wrong".
hac_fail() {
  {
    printf 'reason=%s\n' "$1"
    printf 'step=%s\n' "${hac_current_step:-(outside any step)}"
    printf 'message=%s\n' "${2//$'\n'/ }"
    printf 'time=%s\n' "$(hac_timestamp)"
  } >"$HAC_STATE_DIR/failed.tmp"
  mv -f "$HAC_STATE_DIR/failed.tmp" "$HAC_STATE_DIR/failed"
  log "FAILED ($1): $2"
  exit 3
}

# hac_needs_person: hac_fail was called (in this run).
hac_needs_person() {
  [[ -e $HAC_STATE_DIR/failed ]]
}

hac_on_exit() {
  local status=$?
  if ((status != 0 && status != 130 && status != 143)) && ! hac_needs_person && [[ -z $hac_stopping ]]; then
    {
      printf 'reason=script-error\n'
      printf 'step=%s\n' "${hac_current_step:-(outside any step)}"
      printf 'message=the script itself failed with status %s (command: %s, line %s)\n' "$status" "$hac_failed_command" "$hac_failed_line"
      printf 'time=%s\n' "$(hac_timestamp)"
    } >"$HAC_STATE_DIR/failed.tmp"
    mv -f "$HAC_STATE_DIR/failed.tmp" "$HAC_STATE_DIR/failed"
    log "FAILED: hac-bootstrap exited with status $status (command: $hac_failed_command); fix the cause and run $0 again"
  fi
}

# hac_bounded SECONDS COMMAND [ARG...]: runs COMMAND, killed after SECONDS unless
# it is a shell function (a function bounds its own commands).
hac_bounded() {
  local seconds=$1
  shift
  if [[ $(type -t "$1") == function ]]; then
    "$@"
  else
    timeout --kill-after=5 "$seconds" "$@"
  fi
}

hac_check_count() {
  if ! [[ $2 =~ ^[0-9]+$ ]]; then
    log "$1: expected a whole number, got '$2'"
    return 2
  fi
}

# wait_until DESCRIPTION TIMEOUT INTERVAL COMMAND [ARG...]: polls COMMAND until it
# succeeds. A number TIMEOUT bounds a wait on this host itself (a local service
# that does not come within it will not come): it fails after TIMEOUT seconds,
# polling every INTERVAL seconds. TIMEOUT `forever` is for what other hosts
# provide, which can still come: the pause starts at INTERVAL and doubles up to
# $HAC_MAX_POLL_SECONDS (60), and the log says every 5 minutes who is waiting for
# what. Elapsed time is hac_now's.
wait_until() {
  local description=$1 timeout=$2 interval=$3
  shift 3
  local forever=""
  if [[ $timeout == forever ]]; then
    forever=1
    timeout=0
  fi
  hac_check_count wait_until "$timeout"
  hac_check_count wait_until "$interval"
  local started attempts=0 status=0 remaining elapsed next_report
  started=$(hac_now)
  next_report=$((started + 300))
  if [[ -n $forever ]]; then
    log "waiting for $description (for as long as it takes, polling every ${interval}s at first)"
  else
    log "waiting for $description (at most ${timeout}s, polling every ${interval}s)"
  fi
  while true; do
    attempts=$((attempts + 1))
    if [[ -n $forever ]]; then
      remaining=120
    else
      remaining=$((started + timeout - $(hac_now)))
    fi
    if hac_bounded "$((remaining > 1 ? remaining : 1))" "$@"; then
      log "ready: $description after $(($(hac_now) - started))s ($attempts attempts)"
      return 0
    else
      status=$?
    fi
    if hac_needs_person; then
      return "$status"
    fi
    elapsed=$(($(hac_now) - started))
    if [[ -n $forever ]]; then
      if ((started + elapsed >= next_report)); then
        log "still waiting for $description: ${elapsed}s so far, $attempts attempts, last exit status $status; next poll in ${interval}s"
        next_report=$((started + elapsed + 300))
      fi
      hac_sleep "$interval"
      interval=$((interval * 2 > ${HAC_MAX_POLL_SECONDS:-60} ? ${HAC_MAX_POLL_SECONDS:-60} : interval * 2))
      continue
    fi
    if ((elapsed + interval > timeout)); then
      log "timed out after ${elapsed}s waiting for $description ($attempts attempts, last exit status $status)"
      return 1
    fi
    hac_sleep "$interval"
  done
}

# retry ATTEMPTS BACKOFF COMMAND [ARG...]: runs COMMAND until it succeeds, at
# most ATTEMPTS times, sleeping BACKOFF seconds after the first failure and
# doubling that (up to 300s) after each further one. COMMAND runs in a subshell
# with errexit on, so any failing line of a function fails the attempt. An
# attempt that called hac_fail is not repeated.
retry() {
  local attempts=$1 delay=$2
  shift 2
  hac_check_count retry "$attempts"
  hac_check_count retry "$delay"
  local attempt=1 status
  while true; do
    trap - ERR
    set +e
    (
      set -e
      "$@"
    )
    status=$?
    set -e
    hac_trap_errors
    if ((status == 0)); then
      return 0
    fi
    if hac_needs_person; then
      return "$status"
    fi
    if ((attempt >= attempts)); then
      log "giving up on $* after $attempt attempts (last exit status $status)"
      return "$status"
    fi
    log "attempt $attempt of $attempts of $* failed with status $status; next in ${delay}s"
    hac_sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 300 ? 300 : delay * 2))
  done
}

# step NAME FUNCTION: runs FUNCTION (in a subshell, errexit on, output in the
# log) unless NAME is already recorded as done. A failure that did not call
# hac_fail is taken as passing (a mirror, a peer, a lock): the step is written to
# $HAC_STATE_DIR/retrying and run again after a pause that starts at 30s and
# doubles up to 10 minutes, for as long as it takes ($HAC_MAX_STEP_ATTEMPTS, unset
# in what ships, stops after that many attempts: for tests).
step() {
  local name=$1 function=$2 started attempt=1 status delay=30 command line
  local marker="$HAC_STATE_DIR/steps/$name"
  if [[ -e $marker ]]; then
    log "step $name: already done, skipped"
    return 0
  fi
  hac_current_step=$name
  started=$(hac_now)
  log "step $name: started"
  while true; do
    hac_failed_command=""
    hac_failed_line=""
    rm -f "$HAC_STATE_DIR/last-error"
    trap - ERR
    set +e
    (
      set -e
      hac_trap_errors
      "$function"
    ) >>"$HAC_LOG_FILE" 2>&1 </dev/null
    status=$?
    set -e
    hac_trap_errors
    if ((status == 0)); then
      break
    fi
    if ((status == 130 || status == 143)); then
      exit "$status"
    fi
    if hac_needs_person; then
      exit "$status"
    fi
    command="" line=""
    if [[ -e $HAC_STATE_DIR/last-error ]]; then
      command=$(sed -n 's/^command=//p' "$HAC_STATE_DIR/last-error")
      line=$(sed -n 's/^line=//p' "$HAC_STATE_DIR/last-error")
    fi
    {
      printf 'step=%s\n' "$name"
      printf 'attempt=%s\n' "$attempt"
      printf 'exit_code=%s\n' "$status"
      printf 'command=%s\n' "$command"
      printf 'line=%s\n' "$line"
      printf 'time=%s\n' "$(hac_timestamp)"
      printf 'next_in=%ss\n' "$delay"
    } >"$HAC_STATE_DIR/retrying.tmp"
    mv -f "$HAC_STATE_DIR/retrying.tmp" "$HAC_STATE_DIR/retrying"
    if [[ -n ${HAC_MAX_STEP_ATTEMPTS:-} ]] && ((attempt >= HAC_MAX_STEP_ATTEMPTS)); then
      hac_stopping=1
      log "step $name failed with status $status (command: $command); stopping after $attempt attempts as HAC_MAX_STEP_ATTEMPTS asks"
      exit "$status"
    fi
    log "step $name failed with status $status (command: $command, line $line); trying it again in ${delay}s (attempt $attempt)"
    hac_sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 600 ? 600 : delay * 2))
  done
  rm -f "$HAC_STATE_DIR/retrying"
  hac_timestamp >"$marker.tmp"
  mv -f "$marker.tmp" "$marker"
  sync "$marker" || true
  log "step $name: done in $(($(hac_now) - started))s"
  hac_current_step=""
}

hac_start() {
  exec 3>&2
  mkdir -p "$HAC_STATE_DIR/steps" "$(dirname "$HAC_LOG_FILE")"
  touch "$HAC_LOG_FILE"
  chmod 0600 "$HAC_LOG_FILE"
  # A second run (by hand, or at boot) waits for the first one to finish.
  exec 9>>"$HAC_STATE_DIR/lock"
  flock 9
  if [[ -e $HAC_STATE_DIR/done ]]; then
    log "already done at $(cat "$HAC_STATE_DIR/done"); nothing to do"
    exit 0
  fi
  # Running again is how a person says the cause of `failed` is fixed.
  rm -f "$HAC_STATE_DIR/failed"
  hac_trap_errors
  trap hac_on_exit EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  log "hac-bootstrap started (pid $$)"
}

hac_finish() {
  hac_timestamp >"$HAC_STATE_DIR/done.tmp"
  mv -f "$HAC_STATE_DIR/done.tmp" "$HAC_STATE_DIR/done"
  rm -f "$HAC_STATE_DIR/retrying" "$HAC_STATE_DIR/last-error"
  log "hac-bootstrap finished: every step is done"
}
"#;
