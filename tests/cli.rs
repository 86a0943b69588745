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

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_prints_its_base_urls_serves_the_seed_curl_flow_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};

    let mut child = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--task-seconds", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let mut next = || lines.next().expect("a line").expect("UTF-8");
    assert!(next().starts_with("happyhorse sandbox listening on 127.0.0.1:"));
    let hiapi = next();
    let base = hiapi.split_whitespace().nth(1).expect("a URL").to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"));
    assert!(next()
        .trim_start()
        .starts_with("reapi    http://127.0.0.1:"));
    assert!(next()
        .trim_start()
        .starts_with("apiframe http://127.0.0.1:"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = common::seed_example(happyhorse::Provider::HiApi, "t2v-curl.json");
    let created: Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/tasks"))
            .bearer_auth("sk-demo")
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(created["code"], 200);

    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert!(child.wait().expect("the sandbox exits").success());
    let rest: Vec<String> = std::iter::from_fn(|| lines.next())
        .map(|l| l.unwrap())
        .collect();
    assert_eq!(rest.last().map(String::as_str), Some("stopped"));
}
