//! `happyhorse generate`, `status`, `wait` and `download`, run as a user runs them: against the
//! in-process `--sandbox`, and against a sandbox reached through the `*_BASE_URL` variables.
#![cfg(feature = "sandbox")]

mod common;

use std::process::{Command, Output};

use happyhorse::{
    sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use serde_json::Value;

/// Runs the binary with no provider keys or base URLs from the outer environment.
fn happyhorse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command.args(args);
    for provider in Provider::ALL {
        command.env_remove(provider.api_key_env());
        command.env_remove(provider.base_url_env());
    }
    command.env_remove("HAPPYHORSE_PROVIDER");
    command.envs(env.iter().copied());
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn generate_with_the_sandbox_writes_a_playable_mp4_without_any_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = dir.join("dog.mp4");
    let out = happyhorse(
        &[
            "generate",
            "--sandbox",
            "A golden retriever running on a beach",
            "-o",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Not a terminal: only the path on stdout, no progress drawing.
    assert_eq!(text(&out.stdout).trim(), path.to_str().unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), SAMPLE_MP4);

    // The file is not replaced without --force, and nothing is submitted.
    let again = happyhorse(
        &[
            "generate",
            "--sandbox",
            "Another",
            "-o",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn an_output_path_that_cannot_be_written_is_refused_before_the_submit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/clip.mp4");
    for target in [missing.to_str().unwrap(), dir.path().to_str().unwrap()] {
        let out = happyhorse(&["generate", "--sandbox", "A dog", "-o", target], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("cannot write the video"), "{stderr}");
        assert!(!stderr.contains("submitted"), "{stderr}");
        assert!(!stderr.contains(".part"), "{stderr}");
    }
}

#[test]
fn without_a_key_the_error_names_the_variable_and_the_sandbox() {
    for (provider, variable) in [
        ("hiapi", "HIAPI_API_KEY"),
        ("reapi", "REAPI_API_KEY"),
        ("apiframe", "APIFRAME_API_KEY"),
    ] {
        let out = happyhorse(
            &["generate", "-p", provider, "--duration", "5", "A dog"],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{provider}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(variable) && stderr.contains("--sandbox"),
            "{stderr}"
        );
    }
}

#[test]
fn dry_run_prints_the_wire_body_and_apiframes_cost_and_sends_nothing() {
    let out = happyhorse(
        &[
            "generate",
            "-p",
            "apiframe",
            "--dry-run",
            "--json",
            "--duration",
            "8",
            "--resolution",
            "720p",
            "A dog",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["body"]["model"], "happyhorse-1.1");
    assert_eq!(answer["body"]["happyhorse11Params"]["duration"], 8);
    assert_eq!(answer["cost_credits"], 24 * 8);
    assert_eq!(answer["sent"], false);

    let out = happyhorse(&["generate", "--dry-run", "--duration", "10", "A dog"], &[]);
    assert!(out.status.success());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["model"], "happyhorse-1.1/text-to-video");
    assert!(
        text(&out.stderr).contains("documents no price"),
        "{}",
        text(&out.stderr)
    );

    // A request the provider cannot serve is refused before anything is sent.
    let out = happyhorse(
        &[
            "generate",
            "-p",
            "apiframe",
            "--dry-run",
            "--aspect-ratio",
            "21:9",
            "A dog",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("21:9"));
}

#[test]
fn status_wait_and_download_resume_a_task_by_id() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(1.0),
        ))
        .unwrap();
    let base = sandbox.base_url(Provider::Apiframe);
    let env = [
        ("APIFRAME_API_KEY", "afk_cli"),
        ("APIFRAME_BASE_URL", base.as_str()),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = dir.join("first.mp4");
    let out = happyhorse(
        &[
            "generate",
            "-p",
            "apiframe",
            "--json",
            "--duration",
            "3",
            "A dog",
            "-o",
            first.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(generated["credit_cost"], 31 * 3);
    let id = generated["id"].as_str().unwrap().to_owned();

    let out = happyhorse(&["status", &id, "-p", "apiframe", "--json"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["task"]["state"], "succeeded");
    assert_eq!(status["task"]["status"], "COMPLETED");

    let out = happyhorse(&["wait", &id, "-p", "apiframe"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("COMPLETED"));
    // The offer that follows works verbatim, and `wait -o` downloads by itself.
    assert!(
        text(&out.stderr).contains(&format!("happyhorse download {id} --provider apiframe")),
        "{}",
        text(&out.stderr)
    );
    let third = dir.join("third.mp4");
    let out = happyhorse(
        &["wait", &id, "-p", "apiframe", "-o", third.to_str().unwrap()],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&third).unwrap(), SAMPLE_MP4);
    assert!(text(&out.stderr).contains("saved"), "{}", text(&out.stderr));

    let second = dir.join("second.mp4");
    let out = happyhorse(
        &[
            "download",
            &id,
            "-p",
            "apiframe",
            "-o",
            second.to_str().unwrap(),
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&second).unwrap(), SAMPLE_MP4);

    let out = happyhorse(
        &["status", "tk-nope", "-p", "hiapi"],
        &[
            ("HIAPI_API_KEY", "sk-cli"),
            ("HIAPI_BASE_URL", sandbox.base_url(Provider::HiApi).as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no task"),
        "{}",
        text(&out.stderr)
    );
    drop(sandbox);
}

#[test]
fn a_wait_past_its_deadline_says_how_to_resume() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(120.0),
        ))
        .unwrap();
    let base = sandbox.base_url(Provider::HiApi);
    let env = [
        ("HIAPI_API_KEY", "sk-cli"),
        ("HIAPI_BASE_URL", base.as_str()),
    ];
    let out = happyhorse(&["generate", "A slow dog", "--max-wait", "1"], &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("may still finish"), "{stderr}");
    assert!(stderr.contains("happyhorse wait tk-sandbox-"), "{stderr}");
}

#[test]
fn ctrl_c_stops_the_wait_not_the_task_and_says_how_to_resume() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(120.0),
        ))
        .unwrap();
    let base = sandbox.base_url(Provider::HiApi);
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    // The key `common::hiapi_task_total` lists with: a key sees only its own tasks.
    command
        .args(["generate", "A patient dog"])
        .env("HIAPI_API_KEY", "sk-test")
        .env("HIAPI_BASE_URL", &base)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    // Wait until the task exists, then interrupt the wait.
    let listed = || -> u64 { runtime.block_on(common::hiapi_task_total(&base)) };
    let mut tries = 0;
    while listed() == 0 {
        tries += 1;
        assert!(tries < 300, "the task was never submitted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The binary catches Ctrl-C from before its submit, so the task existing is enough.
    interrupt(&child);
    let (status, stderr) = exit_and_stderr(&mut child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("happyhorse wait tk-sandbox-"), "{stderr}");
    assert_eq!(listed(), 1, "the task is still there");
}

/// Waits for a child to exit: its status and everything it wrote to stderr.
fn exit_and_stderr(child: &mut std::process::Child) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let status = child.wait().expect("the binary exits");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr)
            .expect("stderr is readable");
    }
    (status, stderr)
}

/// Sends SIGINT to a running child.
fn interrupt(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

#[test]
fn ctrl_c_during_a_download_keeps_the_partial_file_and_the_printed_command_resumes_it() {
    use std::io::Read;

    let size: u64 = 512 * 1024 * 1024;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(0.0)
                .with_pad_to(size),
        ))
        .unwrap();
    let base = sandbox.base_url(Provider::HiApi);
    let env = [
        ("HIAPI_API_KEY", "sk-cli"),
        ("HIAPI_BASE_URL", base.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mp4");
    let part = dir.path().join(".big.mp4.part");
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command
        .args(["generate", "A long dog", "-o", path.to_str().unwrap()])
        .envs(env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    // Interrupt as soon as the first bytes are on disk.
    let mut tries = 0;
    while std::fs::metadata(&part).map_or(0, |m| m.len()) == 0 {
        tries += 1;
        assert!(tries < 10_000, "the download never started");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    interrupt(&child);
    let (status, stderr) = exit_and_stderr(&mut child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!path.exists(), "{stderr}");
    let kept = std::fs::metadata(&part)
        .expect("the partial file is kept")
        .len();
    assert!(kept > 0 && kept < size, "{kept}");

    // The hint's command, run verbatim, finishes the file from where it stopped.
    let command = stderr
        .split('`')
        .find(|piece| piece.starts_with("happyhorse download "))
        .unwrap_or_else(|| panic!("no download command in: {stderr}"))
        .to_owned();
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    assert!(words.contains(&"--provider"), "{command}");
    let out = happyhorse(&words, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    assert!(!part.exists());
    let mut head = vec![0u8; SAMPLE_MP4.len()];
    std::fs::File::open(&path)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(head, SAMPLE_MP4);
    assert!(text(&out.stderr).contains("saved"), "{}", text(&out.stderr));
    drop(sandbox);
}

#[test]
fn rust_log_and_verbose_show_the_calls_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logged.mp4");
    let out = happyhorse(
        &[
            "generate",
            "--sandbox",
            "A dog",
            "-o",
            path.to_str().unwrap(),
        ],
        &[("RUST_LOG", "happyhorse=debug")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("http call") && stderr.contains("operation=\"submit\""),
        "{stderr}"
    );
    assert!(stderr.contains("operation=\"download\""), "{stderr}");
    assert!(!stderr.contains("sk-sandbox"), "the key leaked: {stderr}");

    let quiet = dir.path().join("quiet.mp4");
    let out = happyhorse(
        &[
            "generate",
            "--sandbox",
            "A dog",
            "-o",
            quiet.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        !text(&out.stderr).contains("http call"),
        "{}",
        text(&out.stderr)
    );
    let verbose = dir.path().join("verbose.mp4");
    let out = happyhorse(
        &[
            "-vv",
            "generate",
            "--sandbox",
            "A dog",
            "-o",
            verbose.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        text(&out.stderr).contains("http call"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn newcomer_mistakes_get_errors_that_say_what_to_do() {
    // An unquoted prompt.
    let out = happyhorse(&["generate", "--sandbox", "A", "dog", "running"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("quote it") && stderr.contains("\"A dog running\""),
        "{stderr}"
    );
    // A local file where the providers need a URL.
    let out = happyhorse(&["generate", "--sandbox", "--image", "./horse.png"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("local file") && stderr.contains("public"),
        "{stderr}"
    );
    // An empty prompt, said once.
    let out = happyhorse(&["generate", "--sandbox", " "], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("prompt: prompt:"), "{stderr}");
    assert!(stderr.contains("must not be empty"), "{stderr}");
}

#[test]
fn a_wrong_base_url_a_foreign_key_and_a_dead_host_are_named() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    // The base URL without its /v1.
    let root = sandbox
        .base_url(Provider::HiApi)
        .trim_end_matches("/v1")
        .to_owned();
    let env = [
        ("HIAPI_API_KEY", "sk-cli"),
        ("HIAPI_BASE_URL", root.as_str()),
    ];
    for args in [
        &["status", "tk-1", "-p", "hiapi"][..],
        &["generate", "A dog", "-p", "hiapi"][..],
    ] {
        let out = happyhorse(args, &env);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("404") || stderr.contains("empty answer"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&root) && stderr.contains("HIAPI_BASE_URL"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("no task \"\""), "{stderr}");
    }
    // Another provider's key.
    let base = sandbox.base_url(Provider::HiApi);
    let out = happyhorse(
        &["status", "tk-1", "-p", "hiapi"],
        &[
            ("HIAPI_API_KEY", "afk_wrong"),
            ("HIAPI_BASE_URL", base.as_str()),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("sk-"),
        "{stderr}"
    );
    // Nothing listening: the cause, not only "error sending request".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let out = happyhorse(
        &["status", "tk-1", "-p", "hiapi"],
        &[
            ("HIAPI_API_KEY", "sk-cli"),
            ("HIAPI_BASE_URL", dead.as_str()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr).to_lowercase();
    assert!(
        stderr.contains("connect") && stderr.contains("refused"),
        "{stderr}"
    );
    drop(sandbox);
}

#[test]
fn the_readmes_first_command_run_twice_writes_two_videos_and_says_what_it_does() {
    // As a newcomer runs it: no -o, in a directory of their own, twice.
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
            .args([
                "generate",
                "--sandbox",
                "A golden retriever running on a beach",
            ])
            // The longest wait there is must not overflow the deadline arithmetic.
            .args(["--max-wait", "18446744073709551615"])
            .current_dir(dir.path())
            .env_remove("HAPPYHORSE_PROVIDER")
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        // Off a terminal, each status change is a line of its own.
        assert!(
            stderr.contains(": queued") && stderr.contains(": success"),
            "{stderr}"
        );
        assert!(
            stderr.contains("saved ") && stderr.contains(" KiB"),
            "{stderr}"
        );
    }
    let videos: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(videos.len(), 2, "{videos:?}");
    assert!(videos
        .iter()
        .all(|name| name.starts_with("happyhorse-") && name.ends_with(".mp4")));
}

#[test]
fn with_the_in_process_sandbox_no_resume_command_is_offered() {
    // The emulator's tasks end with the process: a `wait ID` would find nothing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.mp4");
    let out = happyhorse(
        &[
            "generate",
            "--sandbox",
            "A dog",
            "--max-wait",
            "1",
            "-o",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("end with this process"), "{stderr}");
    assert!(!stderr.contains("happyhorse wait"), "{stderr}");
}
