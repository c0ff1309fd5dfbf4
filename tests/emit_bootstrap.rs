//! The bootstrap script: lint-clean, and run for real in a temporary state
//! directory: steps succeed, a failing step is retried after a back-off (and
//! recorded in `retrying`), only `hac_fail` writes `failed`, a re-run resumes, local
//! waits are bounded, waits on other hosts go on with a capped back-off, retries
//! retry, and time comes from `HAC_CLOCK` when it is set.

#[path = "emit_common.rs"]
mod emit_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use emit_common::{require, text};
use hac::emit::bootstrap::{Step, script, step_function};
use hac::emit::shell::quote;

/// A generated script installed in a temporary directory, with its state
/// directory and log next to it.
struct Sandbox {
    dir: tempfile::TempDir,
}

struct Run {
    status: i32,
    stderr: String,
}

impl Sandbox {
    fn new(steps: &[Step]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = script(steps).expect("valid steps");
        std::fs::write(dir.path().join("hac-bootstrap"), script).expect("write script");
        Sandbox { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Runs the script, stopping after the first failed attempt of a step.
    fn run(&self) -> Run {
        self.run_with(&[("HAC_MAX_STEP_ATTEMPTS", "1")])
    }

    fn run_with(&self, env: &[(&str, &str)]) -> Run {
        let output = Command::new(require("bash", "bash"))
            .arg(self.path("hac-bootstrap"))
            .env("HAC_STATE_DIR", self.path("state"))
            .env("HAC_LOG_FILE", self.path("log/hac-bootstrap.log"))
            .env("SANDBOX", self.dir.path())
            .envs(env.iter().copied())
            .output()
            .expect("run the script");
        Run {
            status: output.status.code().expect("exited, not killed"),
            stderr: text(&output.stderr),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("log/hac-bootstrap.log")).unwrap_or_default()
    }

    fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.path(relative)).ok()
    }

    fn exists(&self, relative: &str) -> bool {
        self.path(relative).exists()
    }

    /// A lab-style clock: `now` prints the time in `$SANDBOX/clock` (starting at
    /// `start`), `sleep N` adds N to it at once and notes N in `$SANDBOX/sleeps`.
    fn fake_clock(&self, start: u64) -> String {
        let clock = self.path("clock.sh");
        std::fs::write(self.path("clock"), start.to_string()).expect("clock");
        std::fs::write(
            &clock,
            "#!/bin/bash
file=\"$(dirname \"$0\")/clock\"
case $1 in
  now) cat \"$file\" ;;
  sleep) echo $(($(cat \"$file\") + $2)) >\"$file\"; echo \"$2\" >>\"$(dirname \"$0\")/sleeps\" ;;
  *) exit 2 ;;
esac
",
        )
        .expect("clock script");
        std::fs::set_permissions(&clock, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        clock.to_str().expect("utf-8 path").to_owned()
    }
}

fn step(name: &str, body: &[&str]) -> Step {
    Step::new(
        name,
        body.iter().map(|line| line.to_string()).collect::<Vec<_>>(),
    )
}

/// Appends the step's name to `$SANDBOX/ran`, so tests see which steps ran how often.
fn recording(name: &str, more: &[&str]) -> Step {
    let mut body = vec![format!("echo {name} >>\"$SANDBOX/ran\"")];
    body.extend(more.iter().map(|line| line.to_string()));
    Step::new(name, body)
}

fn shellcheck(script_text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("script");
    std::fs::write(&file, script_text).expect("write");
    let output = Command::new(require("shellcheck", "shellcheck"))
        .args(["--shell=bash", "--severity=style", "--format=gcc"])
        .arg(&file)
        .output()
        .expect("run shellcheck");
    (
        output.status.success(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

fn realistic_steps() -> Vec<Step> {
    let endpoint = "https://10.0.0.10:6443/readyz";
    vec![
        step(
            "swap-off",
            &["swapoff -a", "sed -i '/\\sswap\\s/d' /etc/fstab"],
        ),
        step(
            "wait-for-api",
            &[&format!(
                "wait_until \"the API server at {endpoint}\" 600 5 curl --silent --fail --max-time 5 --cacert /etc/kubernetes/pki/ca.crt {}",
                quote(endpoint).unwrap()
            )],
        ),
        step(
            "join",
            &[
                "join_once() {",
                "  kubeadm join --config /etc/hac/kubeadm-join.yaml || { kubeadm reset -f; return 1; }",
                "}",
                "retry 5 10 join_once",
            ],
        ),
        step(
            "user-command",
            &[&format!(
                "printf '%s\\n' {}",
                quote("it's $(not run) `either`").unwrap()
            )],
        ),
        step("empty", &[]),
        step("only-comments", &["# nothing to do here"]),
        step(
            "heredoc",
            &["cat >/dev/null <<'EOF'", "kept at column zero", "EOF"],
        ),
    ]
}

#[test]
fn the_script_passes_shellcheck_and_bash_n() {
    let script_text = script(&realistic_steps()).expect("valid steps");
    let (clean, findings) = shellcheck(&script_text);
    assert!(
        clean,
        "shellcheck findings:\n{findings}\n--- script ---\n{script_text}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("script");
    std::fs::write(&file, &script_text).expect("write");
    let output = Command::new(require("bash", "bash"))
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash -n");
    assert!(output.status.success(), "bash -n: {}", text(&output.stderr));
}

#[test]
fn shellcheck_would_notice_a_broken_script() {
    // The lint above can fail: an unquoted expansion in a step is reported.
    let (clean, findings) =
        shellcheck(&script(&[step("bad", &["rm -rf $SANDBOX/x"])]).expect("valid"));
    assert!(!clean && findings.contains("SC2086"), "{findings}");
}

#[test]
fn the_script_has_the_documented_shape() {
    let script_text = script(&realistic_steps()).expect("valid steps");
    assert!(script_text.starts_with("#!/bin/bash\n"));
    assert!(script_text.contains("\nset -Eeuo pipefail\n"));
    assert!(script_text.contains("HAC_STATE_DIR=${HAC_STATE_DIR:-/var/lib/hac}"));
    assert!(script_text.contains("HAC_LOG_FILE=${HAC_LOG_FILE:-/var/log/hac-bootstrap.log}"));
    assert!(script_text.contains("  step wait-for-api hac_step_wait_for_api\n"));
    assert!(
        script_text.contains("\nkept at column zero\nEOF\n"),
        "heredoc bodies are not indented"
    );
    assert!(
        !script_text.contains("sleep 60"),
        "no fixed sleeps as waits"
    );
    assert_eq!(step_function("wait-for-api"), "hac_step_wait_for_api");
}

#[test]
fn all_steps_run_in_order_and_done_is_written() {
    let sandbox = Sandbox::new(&[
        recording("first", &[]),
        recording("second", &["echo output of second"]),
    ]);
    let run = sandbox.run();
    assert_eq!(
        run.status,
        0,
        "stderr:\n{}\nlog:\n{}",
        run.stderr,
        sandbox.log()
    );
    assert_eq!(sandbox.read("ran").as_deref(), Some("first\nsecond\n"));
    assert!(sandbox.exists("state/done"));
    assert!(!sandbox.exists("state/failed"));
    assert!(sandbox.exists("state/steps/first") && sandbox.exists("state/steps/second"));
    let log = sandbox.log();
    assert!(
        log.contains("output of second"),
        "step output goes to the log:\n{log}"
    );
    for line in log.lines().filter(|line| line.contains("step ")) {
        let stamp = line.split(' ').next().unwrap_or("");
        assert!(
            stamp.len() == 20 && stamp.as_bytes()[10] == b'T' && stamp.ends_with('Z'),
            "log line without a UTC timestamp: {line}"
        );
    }
    assert!(
        log.contains("step first: started") && log.contains("step first: done in"),
        "{log}"
    );
    assert!(
        run.stderr.contains("hac-bootstrap finished"),
        "progress also on stderr: {}",
        run.stderr
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sandbox.path("log/hac-bootstrap.log"))
            .expect("log")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the log is private");
}

#[test]
fn a_failing_step_is_recorded_as_retrying_and_a_rerun_resumes_after_the_finished_steps() {
    let sandbox = Sandbox::new(&[
        recording("prepare", &[]),
        recording(
            "flaky",
            &["test -e \"$SANDBOX/fixed\" || exit 7", "echo fixed"],
        ),
        recording("after", &[]),
    ]);
    let first = sandbox.run();
    assert_eq!(
        first.status, 7,
        "stopped (HAC_MAX_STEP_ATTEMPTS=1) with the failing step's status"
    );
    let retrying = sandbox.read("state/retrying").expect("retrying is written");
    assert!(retrying.contains("step=flaky\n"), "{retrying}");
    assert!(retrying.contains("attempt=1\n"), "{retrying}");
    assert!(retrying.contains("exit_code=7\n"), "{retrying}");
    assert!(retrying.contains("time="), "{retrying}");
    assert!(
        !sandbox.exists("state/failed"),
        "a step that fails is not a host that needs a person"
    );
    assert!(!sandbox.exists("state/done"));
    assert!(sandbox.exists("state/steps/prepare"));
    assert!(!sandbox.exists("state/steps/flaky"));
    assert_eq!(
        sandbox.read("ran").as_deref(),
        Some("prepare\nflaky\n"),
        "`after` did not run"
    );
    assert!(
        sandbox.log().contains("step flaky failed with status 7"),
        "{}",
        sandbox.log()
    );

    std::fs::write(sandbox.path("fixed"), "").expect("fix the cause");
    let second = sandbox.run();
    assert_eq!(second.status, 0, "log:\n{}", sandbox.log());
    assert_eq!(
        sandbox.read("ran").as_deref(),
        Some("prepare\nflaky\nflaky\nafter\n"),
        "`prepare` was skipped, `flaky` and `after` ran"
    );
    assert!(
        sandbox
            .log()
            .contains("step prepare: already done, skipped")
    );
    assert!(!sandbox.exists("state/retrying"), "done clears `retrying`");
    assert!(sandbox.exists("state/done"));

    let third = sandbox.run();
    assert_eq!(third.status, 0);
    assert!(third.stderr.contains("nothing to do"), "{}", third.stderr);
    assert_eq!(
        sandbox.read("ran").as_deref(),
        Some("prepare\nflaky\nflaky\nafter\n")
    );
}

/// What ships (no HAC_MAX_STEP_ATTEMPTS): a failing step is run again after a
/// back-off that doubles up to 10 minutes, until it succeeds, in the same run.
#[test]
fn a_failing_step_is_retried_with_a_capped_back_off_until_it_succeeds() {
    let sandbox = Sandbox::new(&[recording(
        "flaky",
        &["[[ $(grep -c flaky \"$SANDBOX/ran\") -ge 7 ]] || exit 7"],
    )]);
    let clock = sandbox.fake_clock(1_000_000);
    let run = sandbox.run_with(&[("HAC_CLOCK", &clock)]);
    assert_eq!(run.status, 0, "log:\n{}", sandbox.log());
    assert_eq!(
        sandbox.read("sleeps").as_deref(),
        Some("30\n60\n120\n240\n480\n600\n"),
        "30 s, doubling, capped at 10 min"
    );
    assert!(sandbox.exists("state/done"));
    assert!(!sandbox.exists("state/retrying"));
    assert!(
        sandbox
            .log()
            .contains("trying it again in 600s (attempt 6)"),
        "{}",
        sandbox.log()
    );
}

/// `hac_fail` is the one way to `failed`: it names the reason and the message, stops
/// the script at once (a `retry` does not repeat the attempt that called it), and a
/// run by hand clears it.
#[test]
fn hac_fail_writes_failed_with_its_reason_and_stops_for_good() {
    let sandbox = Sandbox::new(&[
        recording(
            "check",
            &[
                "attempt() {",
                "  echo try >>\"$SANDBOX/tries\"",
                "  [[ -e \"$SANDBOX/fixed\" ]] || hac_fail os-mismatch 'this host runs the wrong OS'",
                "}",
                "retry 5 0 attempt",
            ],
        ),
        recording("after", &[]),
    ]);
    let run = sandbox.run_with(&[]);
    assert_eq!(run.status, 3, "log:\n{}", sandbox.log());
    assert_eq!(sandbox.read("tries").as_deref(), Some("try\n"));
    let failed = sandbox.read("state/failed").expect("failed");
    assert!(
        failed.starts_with(
            "reason=os-mismatch\nstep=check\nmessage=this host runs the wrong OS\ntime="
        ),
        "{failed}"
    );
    assert!(!sandbox.exists("state/retrying"));
    assert!(
        run.stderr
            .contains("FAILED (os-mismatch): this host runs the wrong OS"),
        "{}",
        run.stderr
    );
    std::fs::write(sandbox.path("fixed"), "").expect("fix");
    assert_eq!(sandbox.run_with(&[]).status, 0, "{}", sandbox.log());
    assert!(!sandbox.exists("state/failed"));
    assert!(sandbox.exists("state/done"));
}

#[test]
fn a_failing_command_in_the_middle_of_a_step_stops_the_step() {
    let sandbox = Sandbox::new(&[recording(
        "multi",
        &["false", "echo not reached >>\"$SANDBOX/ran\""],
    )]);
    let run = sandbox.run();
    assert_eq!(run.status, 1);
    assert_eq!(sandbox.read("ran").as_deref(), Some("multi\n"));
    let retrying = sandbox.read("state/retrying").expect("retrying");
    assert!(retrying.contains("command=false\n"), "{retrying}");
    assert!(retrying.contains("line="), "{retrying}");
}

/// A wait on another host never gives up: it polls with a back-off that doubles up
/// to a minute and says every 5 minutes what it still waits for; elapsed time is the
/// clock's (`HAC_CLOCK`), so a lab can let hours pass at once.
#[test]
fn a_wait_for_another_host_goes_on_with_a_capped_back_off_and_progress() {
    let sandbox = Sandbox::new(&[step(
        "wait",
        &[
            "late_host_up() { [[ $(cat \"$SANDBOX/clock\") -ge 1003600 ]]; }",
            "wait_until 'the late host' forever 5 late_host_up",
        ],
    )]);
    let clock = sandbox.fake_clock(1_000_000);
    let run = sandbox.run_with(&[("HAC_CLOCK", &clock)]);
    assert_eq!(run.status, 0, "log:\n{}", sandbox.log());
    let sleeps = sandbox.read("sleeps").unwrap_or_default();
    let sleeps: Vec<u64> = sleeps.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(&sleeps[..5], [5, 10, 20, 40, 60]);
    assert!(sleeps[5..].iter().all(|&s| s == 60), "{sleeps:?}");
    assert!(sleeps.iter().sum::<u64>() >= 3600);
    let log = sandbox.log();
    assert!(
        log.contains("waiting for the late host (for as long as it takes"),
        "{log}"
    );
    assert!(
        log.matches("still waiting for the late host").count() >= 11,
        "{log}"
    );
    assert!(log.contains("ready: the late host after 36"), "{log}");
    // The log's time stamps are the clock's: 1000000 s after the epoch is 1970-01-12.
    assert!(log.starts_with("1970-01-12T13:46:40Z "), "{log}");
}

#[test]
fn wait_until_succeeds_when_the_condition_comes_true() {
    let sandbox = Sandbox::new(&[step(
        "wait",
        &[
            "(sleep 1; touch \"$SANDBOX/ready\") &",
            "wait_until \"the ready file\" 20 1 test -e \"$SANDBOX/ready\"",
        ],
    )]);
    let run = sandbox.run();
    assert_eq!(run.status, 0, "log:\n{}", sandbox.log());
    let log = sandbox.log();
    assert!(
        log.contains("waiting for the ready file (at most 20s, polling every 1s)"),
        "{log}"
    );
    assert!(log.contains("ready: the ready file after"), "{log}");
}

#[test]
fn wait_until_times_out_with_a_clear_log_line() {
    let sandbox = Sandbox::new(&[step(
        "wait",
        &["wait_until \"the never file\" 2 1 test -e \"$SANDBOX/never\""],
    )]);
    let started = std::time::Instant::now();
    let run = sandbox.run();
    let elapsed = started.elapsed();
    assert_eq!(run.status, 1);
    let log = sandbox.log();
    assert!(
        log.contains("timed out after 2s waiting for the never file"),
        "{log}"
    );
    assert!(log.contains("last exit status 1"), "{log}");
    assert!(elapsed.as_secs() < 10, "the wait is bounded: {elapsed:?}");
    let failed = sandbox.read("state/retrying").expect("retrying");
    assert!(failed.contains("step=wait\n") && failed.contains("command=wait_until \"the never file\" 2 1 test -e \"$SANDBOX/never\" (returned 1)\n"), "{failed}");
    let script_text = std::fs::read_to_string(sandbox.path("hac-bootstrap")).expect("script");
    let call_line = script_text
        .lines()
        .position(|line| line.starts_with("wait_until \"the never file\""))
        .expect("the call")
        + 1;
    assert!(
        failed.contains(&format!("line={call_line}\n")),
        "line of the call {call_line}: {failed}"
    );
}

#[test]
fn wait_until_bounds_a_hanging_probe() {
    let sandbox = Sandbox::new(&[step(
        "wait",
        &["wait_until \"a hanging probe\" 2 1 sleep 600"],
    )]);
    let started = std::time::Instant::now();
    let run = sandbox.run();
    assert_eq!(run.status, 1);
    assert!(
        started.elapsed().as_secs() < 15,
        "the probe was not killed: {:?}",
        started.elapsed()
    );
    assert!(sandbox.log().contains("timed out"), "{}", sandbox.log());
}

#[test]
fn retry_retries_until_success() {
    let sandbox = Sandbox::new(&[step(
        "flaky",
        &[
            "attempt() {",
            "  echo try >>\"$SANDBOX/tries\"",
            "  [[ $(wc -l <\"$SANDBOX/tries\") -ge 3 ]]",
            "}",
            "retry 5 1 attempt",
        ],
    )]);
    let run = sandbox.run();
    assert_eq!(run.status, 0, "log:\n{}", sandbox.log());
    assert_eq!(sandbox.read("tries").as_deref(), Some("try\ntry\ntry\n"));
    let log = sandbox.log();
    assert!(
        log.contains("attempt 1 of 5 of attempt failed with status 1; next in 1s"),
        "{log}"
    );
    assert!(
        log.contains("attempt 2 of 5 of attempt failed with status 1; next in 2s"),
        "{log}"
    );
}

#[test]
fn retry_gives_up_with_the_last_status_and_fails_attempts_on_any_failing_line() {
    let sandbox = Sandbox::new(&[step(
        "hopeless",
        &[
            "attempt() {",
            "  echo try >>\"$SANDBOX/tries\"",
            "  false",
            "  echo survived-false >>\"$SANDBOX/tries\"",
            "}",
            "retry 2 0 attempt",
        ],
    )]);
    let run = sandbox.run();
    assert_eq!(run.status, 1);
    assert_eq!(
        sandbox.read("tries").as_deref(),
        Some("try\ntry\n"),
        "the line after `false` never ran inside an attempt"
    );
    assert!(
        sandbox
            .log()
            .contains("giving up on attempt after 2 attempts (last exit status 1)")
    );
    let failed = sandbox.read("state/retrying").expect("retrying");
    assert!(
        failed.contains("step=hopeless\n")
            && failed.contains("command=retry 2 0 attempt (returned 1)\n"),
        "{failed}"
    );
}

#[test]
fn quoted_hostile_values_reach_a_step_verbatim() {
    let hostile = "it's $(touch \"$SANDBOX/pwned\") `id` ; rm -rf / \n\"x\"";
    let sandbox = Sandbox::new(&[step(
        "echo",
        &[&format!(
            "printf '%s' {} >\"$SANDBOX/value\"",
            quote(hostile).unwrap()
        )],
    )]);
    assert_eq!(sandbox.run().status, 0, "{}", sandbox.log());
    assert_eq!(sandbox.read("value").as_deref(), Some(hostile));
    assert!(!sandbox.exists("pwned"));
}

#[test]
fn bad_step_lists_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["Upper"], "invalid bootstrap step name `Upper`"),
        (&["has space"], "invalid bootstrap step name `has space`"),
        (&["-leading"], "invalid bootstrap step name `-leading`"),
        (
            &["under_score"],
            "invalid bootstrap step name `under_score`",
        ),
        (&["../escape"], "invalid bootstrap step name `../escape`"),
        (&[""], "invalid bootstrap step name ``"),
        (&["same", "same"], "bootstrap step `same` appears twice"),
    ];
    for (names, expected) in cases {
        let steps: Vec<Step> = names.iter().map(|name| step(name, &[":"])).collect();
        let error = script(&steps).expect_err("refused");
        assert_eq!(error.message, *expected);
    }
    let long = "a".repeat(65);
    assert!(script(&[step(&long, &[])]).is_err());
    assert!(script(&[step("nul", &["echo \0"])]).is_err());
}

#[test]
fn the_state_directory_can_live_anywhere() {
    // The same script with the default paths would write under /var/lib/hac; the
    // tests rely on the environment override, so make sure nothing leaked there.
    let sandbox = Sandbox::new(&[recording("only", &[])]);
    assert_eq!(sandbox.run().status, 0);
    assert!(Path::new(&sandbox.path("state/steps/only")).exists());
}
