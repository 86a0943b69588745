//! The `happyhorse` binary, run as a user runs it.

mod common;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use common::seed_examples_dir;
use serde_json::Value;

fn happyhorse(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // A command that fails before reading its input closes the pipe early; that is fine.
    let written = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    if let Err(err) = written {
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
    }
    child.wait_with_output().expect("the binary finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_prints_ok_for_every_seed_example_and_warnings_on_stderr() {
    for provider in ["hiapi", "reapi", "apiframe"] {
        for entry in std::fs::read_dir(seed_examples_dir().join(provider)).unwrap() {
            let path = entry.unwrap().path();
            let out = happyhorse(
                &["validate", "--provider", provider, path.to_str().unwrap()],
                "",
            );
            assert_eq!(out.status.code(), Some(0), "{}", path.display());
            assert_eq!(text(&out.stdout), "ok\n");
        }
    }
    let quick_start = seed_examples_dir().join("apiframe/quick-start.json");
    let out = happyhorse(
        &["validate", "-p", "apiframe", quick_start.to_str().unwrap()],
        "",
    );
    assert!(text(&out.stderr).starts_with("warning: happyhorse11Params.aspect_ratio: ignored"));
}

#[test]
fn validate_prints_one_path_and_message_per_error_and_exits_1() {
    let body = r#"{"model":"happyhorse-1.1/text-to-video",
                   "input":{"prompt":"x","duration":20,"seed":1}}"#;
    let out = happyhorse(&["validate", "--provider", "hiapi", "-"], body);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "input: additional properties 'seed' not allowed\ninput.duration: maximum: got 20, want 15\n"
    );
}

#[test]
fn validate_json_reports_validity_errors_and_warnings() {
    let body = r#"{"model":"happyhorse-1-1","image_urls":["https://a.example/f.jpg"],
                   "aspect_ratio":"9:16","duration":2}"#;
    let out = happyhorse(&["validate", "--provider", "reapi", "--json"], body);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["path"], "duration");
    assert_eq!(report["errors"][0]["message"], "minimum: got 2, want 3");
    assert!(report["warnings"].is_array());

    let ok = happyhorse(
        &["validate", "--provider", "reapi", "--json"],
        r#"{"model":"happyhorse-1-1","image_urls":["https://a.example/f.jpg"],"aspect_ratio":"9:16"}"#,
    );
    assert_eq!(ok.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["warnings"][0]["path"], "aspect_ratio");
}

#[test]
fn malformed_json_names_line_and_column_and_exits_2() {
    let out = happyhorse(
        &["validate", "--provider", "reapi"],
        "{\"model\": \"x\",\n  \"input\": {,}}",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: standard input is not valid JSON: line 2, column 13: key must be a string\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unreadable_files_and_unknown_providers_are_clear_errors() {
    let out = happyhorse(
        &["validate", "--provider", "reapi", "/no/such/body.json"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: cannot read /no/such/body.json:"));

    let out = happyhorse(&["validate", "--provider", "openai", "-"], "{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("use one of hiapi, reapi, apiframe"));
}

/// A `happyhorse sandbox` child process, killed if a test fails before stopping it.
#[cfg(feature = "sandbox")]
struct SandboxProcess {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// Its HiAPI base URL, `http://127.0.0.1:PORT/v1`.
    base: String,
}

#[cfg(feature = "sandbox")]
impl SandboxProcess {
    /// `happyhorse sandbox` on an ephemeral loopback port with instant tasks (and `extra`
    /// arguments), its stderr piped, once it has printed its base URLs.
    fn start(extra: &[&str]) -> Self {
        Self::start_at("127.0.0.1:0", "127.0.0.1", extra)
    }

    /// [`SandboxProcess::start`] with `--addr addr`, expecting the sandbox to say it listens on
    /// `host`.
    fn start_at(addr: &str, host: &str, extra: &[&str]) -> Self {
        use std::io::{BufRead, BufReader};

        let mut child = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
            .args(["sandbox", "--addr", addr, "--task-seconds", "0"])
            .args(extra)
            .env_remove("RUST_LOG")
            .env_remove("HAPPYHORSE_SANDBOX_API_KEY")
            .env_remove("HIAPI_WEBHOOK_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let mut running = SandboxProcess {
            child,
            lines,
            base: String::new(),
        };
        let listening = running.next_line();
        assert!(
            listening.starts_with(&format!("happyhorse sandbox listening on {host}:")),
            "{listening}"
        );
        let hiapi = running.next_line();
        running.base = hiapi.split_whitespace().nth(1).expect("a URL").to_owned();
        let root = format!("http://{host}:");
        assert!(running.base.starts_with(&root) && running.base.ends_with("/v1"));
        assert!(running
            .next_line()
            .trim_start()
            .starts_with(&format!("reapi    {root}")));
        assert!(running
            .next_line()
            .trim_start()
            .starts_with(&format!("apiframe {root}")));
        running
    }

    /// The banner's lines after the base URLs, up to `Ctrl-C to stop.`.
    fn rest_of_banner(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.next_line();
            if line == "Ctrl-C to stop." {
                return lines;
            }
            lines.push(line);
        }
    }

    fn next_line(&mut self) -> String {
        self.lines.next().expect("a line").expect("UTF-8")
    }

    /// Stops the sandbox with Ctrl-C (SIGINT) and returns what it printed on stdout after its
    /// base URLs, and on stderr.
    fn stop(mut self) -> (Vec<String>, String) {
        use std::io::Read;

        let killed = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        assert!(self.child.wait().expect("the sandbox exits").success());
        let rest: Vec<String> = self.lines.by_ref().map(|l| l.unwrap()).collect();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr is piped")
            .read_to_string(&mut stderr)
            .expect("UTF-8 on stderr");
        (rest, stderr)
    }
}

#[cfg(feature = "sandbox")]
impl Drop for SandboxProcess {
    fn drop(&mut self) {
        // Already exited after `stop`; otherwise a failed test must not leave it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A HiAPI submit (`POST {hiapi_base}/tasks`) of the seed's curl example with the bearer `key`.
#[cfg(feature = "sandbox")]
fn submit_seed_curl(
    http: &reqwest::Client,
    hiapi_base: &str,
    key: &str,
) -> reqwest::RequestBuilder {
    http.post(format!("{hiapi_base}/tasks"))
        .bearer_auth(key)
        .json(&common::seed_example(
            happyhorse::Provider::HiApi,
            "t2v-curl.json",
        ))
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_prints_its_base_urls_serves_the_seed_curl_flow_and_stops_on_ctrl_c() {
    let sandbox = SandboxProcess::start(&[]);
    let base = sandbox.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let created: Value = runtime.block_on(async {
        common::send_json(submit_seed_curl(&common::plain_http(), &base, "sk-demo")).await
    });
    assert_eq!(created["code"], 200);

    let (rest, stderr) = sandbox.stop();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"));
    // Without -v, a request served is not logged.
    assert!(!stderr.contains("served"), "{stderr}");
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_logs_each_request_with_v_and_a_wrong_base_url_always_without_queries_or_keys() {
    let sandbox = SandboxProcess::start(&["-v"]);
    let base = sandbox.base.clone();
    let root = base.trim_end_matches("/v1").to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let statuses = runtime.block_on(async {
        let http = common::plain_http();
        let listed = http
            .get(format!("{base}/tasks?page=1&X-Signature=s3cr3t-query"))
            .bearer_auth("sk-s3cr3t-key")
            .send()
            .await
            .unwrap();
        // HiAPI's base URL without its `/v1`.
        let lost = submit_seed_curl(&http, &root, "sk-s3cr3t-key")
            .send()
            .await
            .unwrap();
        (listed.status().as_u16(), lost.status().as_u16())
    });
    assert_eq!(statuses, (200, 404));

    let (_, stderr) = sandbox.stop();
    let line = |needle: &str| {
        stderr
            .lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stderr}"))
            .to_owned()
    };
    let served = line("path=/v1/tasks ");
    for part in [
        "INFO",
        "served",
        "method=GET",
        "status=200",
        "elapsed_ms=",
        "provider=hiapi",
    ] {
        assert!(served.contains(part), "{part:?} in {served}");
    }
    let lost = line("path=/tasks ");
    for part in [
        "WARN",
        "no route matched: did you mean /v1/tasks (hiapi)?",
        &format!("hiapi {base}"),
        "method=POST",
        "status=404",
        "provider=none",
    ] {
        assert!(lost.contains(part), "{part:?} in {lost}");
    }
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("authorization"), "{stderr}");

    // Without -v, the wrong base URL is still a warning.
    let sandbox = SandboxProcess::start(&[]);
    let root = sandbox.base.trim_end_matches("/v1").to_owned();
    let status = runtime.block_on(async {
        common::plain_http()
            .get(format!("{root}/tasks/tk-1"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 404);
    let (_, stderr) = sandbox.stop();
    assert!(
        stderr.contains("no route matched") && stderr.contains("path=/tasks/tk-1 "),
        "{stderr}"
    );
}

/// The `export NAME=VALUE NAME=VALUE` lines of a banner, as (name, value) pairs per line.
#[cfg(feature = "sandbox")]
fn export_lines(banner: &[String]) -> Vec<Vec<(String, String)>> {
    banner
        .iter()
        .filter_map(|line| line.trim_start().strip_prefix("export "))
        .map(|assignments| {
            assignments
                .split_whitespace()
                .map(|pair| {
                    let (name, value) = pair.split_once('=').expect("NAME=VALUE");
                    (name.to_owned(), value.to_owned())
                })
                .collect()
        })
        .collect()
}

/// Runs `happyhorse generate` for `provider` with the environment of one export line, and
/// checks that it saved the sample video.
#[cfg(feature = "sandbox")]
fn generate_with(env: &[(String, String)], provider: happyhorse::Provider) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pasted.mp4");
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command
        .args(["generate", "-p", provider.name(), "A horse in a field"])
        .args(["--duration", "3", "-o", path.to_str().unwrap()])
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("the binary runs");
    assert!(out.status.success(), "{provider}: {}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        happyhorse::sandbox::SAMPLE_MP4,
        "{provider}"
    );
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_banner_prints_export_lines_that_work_when_pasted() {
    use happyhorse::Provider;

    let mut sandbox = SandboxProcess::start(&[]);
    let root = sandbox.base.trim_end_matches("/v1").to_owned();
    let banner = sandbox.rest_of_banner();
    let exports = export_lines(&banner);
    assert_eq!(exports.len(), 3, "{banner:#?}");
    for (provider, env) in Provider::ALL.into_iter().zip(&exports) {
        let base = match provider {
            Provider::HiApi => format!("{root}/v1"),
            Provider::Reapi => format!("{root}/api/v1"),
            Provider::Apiframe => root.clone(),
        };
        assert_eq!(
            env,
            &[
                (provider.base_url_env().to_owned(), base),
                (
                    provider.api_key_env().to_owned(),
                    format!("{}sandbox", provider.key_prefix())
                ),
            ],
            "{banner:#?}"
        );
        generate_with(env, provider);
    }
    sandbox.stop();

    // A pinned key is the one the lines carry (and the only one the sandbox takes).
    let mut sandbox = SandboxProcess::start(&["--api-key", "sk-pinned"]);
    let banner = sandbox.rest_of_banner();
    assert!(
        banner
            .iter()
            .any(|l| l.contains("the key given with --api-key")),
        "{banner:#?}"
    );
    let exports = export_lines(&banner);
    for (provider, env) in Provider::ALL.into_iter().zip(&exports) {
        assert_eq!(
            env[1],
            (provider.api_key_env().to_owned(), "sk-pinned".to_owned())
        );
    }
    generate_with(&exports[0], Provider::HiApi);
    sandbox.stop();
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_refuses_bad_flags_with_messages_that_say_what_it_takes() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--pad-to", "200XB"],
            "KB, MB, GB (powers of 1000) or KiB, MiB, GiB",
        ),
        (&["--pad-to", "1.5"], "a fraction needs a unit"),
        (&["--pad-to=-1"], "KiB, MiB, GiB"),
        (
            &["--pad-to", "9223372036854775808"],
            "largest Content-Length",
        ),
        (&["--fault", "rate_limit=1.5"], "a number from 0 to 1"),
        (&["--fault", "rate_limit=NaN"], "a number from 0 to 1"),
        (&["--fault", "rate_limit=-0.1"], "a number from 0 to 1"),
        (&["--fault", "rate-limit=0.1"], "known faults: rate_limit"),
        (&["--task-seconds", "inf"], "from 0 to 31536000"),
        (&["--task-seconds", "NaN"], "from 0 to 31536000"),
        (&["--task-seconds=-1"], "from 0 to 31536000"),
        (&["--output-ttl", "18446744073709551615"], "100 years"),
        (&["--addr", "localhost:99999"], "from 0 to 65535"),
        (&["--addr", "0.0.0.0:0"], "--allow-remote"),
    ];
    for (args, wanted) in cases {
        // On an ephemeral port (unless the case is about --addr), so that a flag wrongly
        // accepted cannot take a port others use; killed if it serves instead of refusing.
        let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
        command.arg("sandbox");
        if !args.contains(&"--addr") {
            command.args(["--addr", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(*args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().expect("waitable").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{args:?}: still running, want a refusal");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("the output");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(wanted),
            "{args:?}: want {wanted:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing served");
    }
    let out = happyhorse(&["sandbox", "--help"], "");
    let help = text(&out.stdout);
    for part in [
        "The default is loopback because the sandbox accepts any key",
        "--allow-remote",
        "KiB, MiB, GiB (powers of 1024)",
        "a probability from 0 to 1",
    ] {
        assert!(help.contains(part), "{part:?} in {help}");
    }
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_listens_on_a_host_name_or_remotely_when_allowed_and_pads_with_units() {
    let sandbox = SandboxProcess::start_at("localhost:0", "127.0.0.1", &["--pad-to", "2MB"]);
    let base = sandbox.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let size = runtime.block_on(async {
        let http = common::plain_http();
        let created: Value = common::send_json(submit_seed_curl(&http, &base, "sk-demo")).await;
        let id = created["data"]["taskId"].as_str().unwrap();
        let task: Value = common::send_json(
            http.get(format!("{base}/tasks/{id}"))
                .bearer_auth("sk-demo"),
        )
        .await;
        let url = task["data"]["output"][0]["url"].as_str().unwrap();
        http.get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len()
    });
    assert_eq!(size, 2_000_000);
    sandbox.stop();

    // Every interface, when allowed: the lines to paste reach it through loopback.
    let mut sandbox = SandboxProcess::start_at("0.0.0.0:0", "0.0.0.0", &["--allow-remote"]);
    let exports = export_lines(&sandbox.rest_of_banner());
    let hiapi_base = &exports[0][0].1;
    assert!(
        hiapi_base.starts_with("http://127.0.0.1:") && hiapi_base.ends_with("/v1"),
        "{hiapi_base}"
    );
    generate_with(&exports[0], happyhorse::Provider::HiApi);
    sandbox.stop();
}

/// Opened to other machines (`--allow-remote`, here on loopback: the flag only permits a
/// non-loopback address), the sandbox keeps each key's tasks to that key, as the providers keep
/// them to an account: `sk-OTHERUSER` neither polls nor lists `sk-local`'s task, and its output
/// URL is signed, so the task id alone downloads nothing.
#[cfg(feature = "sandbox")]
#[test]
fn a_remote_sandbox_keeps_each_keys_tasks_and_outputs_to_that_key() {
    let sandbox = SandboxProcess::start(&["--allow-remote"]);
    let base = sandbox.base.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = common::plain_http();
        let created: Value = common::send_json(submit_seed_curl(&http, &base, "sk-local")).await;
        let id = created["data"]["taskId"].as_str().unwrap();
        let poll = |key: &str| {
            http.get(format!("{base}/tasks/{id}"))
                .bearer_auth(key)
                .send()
        };
        let task: Value = poll("sk-local").await.unwrap().json().await.unwrap();
        let url = task["data"]["output"][0]["url"].as_str().unwrap();
        let theirs = poll("sk-OTHERUSER").await.unwrap();
        assert_eq!(theirs.status(), 404);
        let theirs: Value = theirs.json().await.unwrap();
        assert_eq!(theirs["error_code"], "NOT_FOUND", "{theirs}");
        assert!(!theirs.to_string().contains("/files/"), "{theirs}");
        let listed = |key: &'static str| {
            common::send_json(http.get(format!("{base}/tasks")).bearer_auth(key))
        };
        assert_eq!(listed("sk-local").await["data"]["total"], 1);
        let others: Value = listed("sk-OTHERUSER").await;
        assert_eq!(others["data"]["total"], 0, "{others}");
        // The file: with its signed URL, and not by the task id alone.
        let (path, _) = url.split_once('?').expect("a signed URL");
        assert!(path.ends_with(&format!("/files/{id}/0.mp4")), "{url}");
        assert_eq!(http.get(url).send().await.unwrap().status(), 200);
        assert_eq!(http.get(path).send().await.unwrap().status(), 403);
    });
    sandbox.stop();
}

/// `sandbox --document` judges bodies by an edited document, here a reapi that takes 16-second
/// clips; `probe` run against it catches the drift. A document that is not one stops the
/// sandbox before it listens.
#[cfg(all(feature = "sandbox", feature = "conformance"))]
#[test]
fn the_probe_catches_a_sandbox_started_on_a_drifted_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = happyhorse::contract::openapi(happyhorse::Provider::Reapi).clone();
    document["components"]["schemas"]["Duration"]["maximum"] = 16.into();
    let path = dir.path().join("reapi.yaml");
    std::fs::write(&path, serde_norway::to_string(&document).unwrap()).unwrap();
    let argument = format!("reapi={}", path.display());
    let sandbox = SandboxProcess::start(&["--document", &argument]);
    let root = sandbox.base.trim_end_matches("/v1").to_owned();
    let probe = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(["probe", "--provider", "reapi"])
        .env("REAPI_API_KEY", "rk_test")
        .env("REAPI_BASE_URL", format!("{root}/api/v1"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(probe.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DRIFT above_maximum /duration = 16 → 200"),
        "{stdout}"
    );
    drop(sandbox);

    std::fs::write(&path, "openapi: [not, a, version]\n").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--document", &argument])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not an OpenAPI document"), "{stderr}");
}
