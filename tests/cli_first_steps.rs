//! The dead ends a new user meets first, as the binary answers them: two local servers that
//! would take the same port, and an address already taken.
#![cfg(feature = "cli")]

mod common;

use std::time::Duration;

use common::process::{command, Running};

const PATIENCE: Duration = Duration::from_secs(60);

/// The default of `--addr` in a command's help.
fn default_addr(subcommand: &str) -> String {
    let help = Running::spawn(command(&[subcommand, "--help"], &[])).exit(PATIENCE);
    assert_eq!(help.code, Some(0), "{}", help.stderr);
    let line = help
        .stdout
        .lines()
        .skip_while(|line| !line.contains("--addr"))
        .take(6)
        .find(|line| line.contains("[default: "))
        .unwrap_or_else(|| {
            panic!(
                "no default for --addr in {subcommand} --help:\n{}",
                help.stdout
            )
        })
        .to_owned();
    line.split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn serve_and_the_sandbox_do_not_default_to_the_same_address() {
    let serve = default_addr("serve");
    let sandbox = default_addr("sandbox");
    assert!(!serve.is_empty() && !sandbox.is_empty());
    assert_ne!(serve, sandbox, "both would listen on {serve}");
}

#[test]
fn serve_on_a_taken_address_says_so_and_names_addr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("happyhorse.db");
    let exit = Running::spawn(command(
        &[
            "serve",
            "--addr",
            &addr,
            "--ledger",
            ledger.to_str().unwrap(),
            "--hiapi-unsigned",
        ],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        exit.stderr
    );
    assert!(
        exit.stderr
            .contains("hint: pass another address with --addr"),
        "{}",
        exit.stderr
    );
}

/// One rule for `generate` and `batch`: a provider that documents no default length (Apiframe)
/// needs one, since the cost could not be known before paying. Refused before anything is sent.
#[test]
fn generate_and_batch_both_need_a_length_where_the_provider_documents_none() {
    let exit = Running::spawn(command(
        &["generate", "--sandbox", "-p", "apiframe", "a horse"],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("--duration: apiframe documents no default length"),
        "{}",
        exit.stderr
    );
    // Every problem at once: what Apiframe cannot serve, and the missing length.
    let exit = Running::spawn(command(
        &[
            "generate",
            "--sandbox",
            "-p",
            "apiframe",
            "--aspect-ratio",
            "21:9",
            "a horse",
        ],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr.contains("21:9") && exit.stderr.contains("--duration"),
        "{}",
        exit.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.jsonl");
    std::fs::write(
        &jobs,
        "{\"prompt\": \"a horse\", \"provider\": \"apiframe\"}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let exit = Running::spawn(command(
        &[
            "batch",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--sandbox",
        ],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr
            .contains("duration: apiframe documents no default length"),
        "{}",
        exit.stderr
    );
}

/// No connection at all (a closed loopback port standing in for no network): the error, and
/// what to check.
#[test]
fn generate_without_a_connection_says_what_to_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let dir = tempfile::tempdir().unwrap();
    let exit = Running::spawn(command(
        &[
            "generate",
            "a horse",
            "-o",
            dir.path().join("x.mp4").to_str().unwrap(),
        ],
        &[("HIAPI_API_KEY", "sk-test"), ("HIAPI_BASE_URL", &base)],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    assert!(
        exit.stderr.contains("error: network error"),
        "{}",
        exit.stderr
    );
    assert!(
        exit.stderr
            .contains("hint: check the network connection, and HIAPI_BASE_URL"),
        "{}",
        exit.stderr
    );
}

/// `batch --sandbox` stopped with Ctrl-C while its tasks run, then the same command again: the
/// in-process emulator's tasks ended with the first process, so the rerun submits those jobs
/// again (nothing was paid) and finishes them, as the interrupt's hint says it will.
#[test]
fn batch_sandbox_interrupted_then_rerun_finishes_every_job() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.jsonl");
    let lines: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "{{\"id\": \"j{i}\", \"prompt\": \"a horse, take {i}\", \"provider\": \"{}\", \"duration\": 3}}",
                ["hiapi", "reapi", "apiframe", "hiapi"][i]
            )
        })
        .collect();
    std::fs::write(&jobs, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let args = [
        "batch",
        jobs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--sandbox",
    ];
    let running = Running::spawn(command(&args, &[]));
    // Interrupted once every job is at the emulator and none is saved.
    let ledger = out.join("happyhorse.db");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        assert!(std::time::Instant::now() < deadline, "no submits");
        let submitted = ledger.exists()
            && common::runtime().block_on(async {
                let ledger = happyhorse::ledger::SqliteLedger::open(&ledger)
                    .await
                    .unwrap();
                let summary = happyhorse::ledger::Ledger::summary(&ledger).await.unwrap();
                summary.count(happyhorse::ledger::JobState::Submitted) == 4
            });
        if submitted {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = running.interrupt(PATIENCE);
    assert_eq!(stopped.code, Some(130), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("run the same command again"),
        "{}",
        stopped.stderr
    );
    let rerun = Running::spawn(command(&args, &[])).exit(PATIENCE);
    assert_eq!(rerun.code, Some(0), "{}", rerun.stderr);
    for i in 0..4 {
        let video = std::fs::read(out.join(format!("j{i}.mp4"))).unwrap();
        assert_eq!(video, happyhorse::sandbox::SAMPLE_MP4, "j{i}");
    }
}

/// Every problem of a batch line in one pass: what the provider cannot serve and the missing
/// length, not the first and then, after the fix, the second.
#[test]
fn a_batch_line_gets_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.jsonl");
    std::fs::write(
        &jobs,
        "{\"prompt\": \"a horse\", \"provider\": \"apiframe\", \"aspect_ratio\": \"21:9\"}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let exit = Running::spawn(command(
        &[
            "batch",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--sandbox",
        ],
        &[],
    ))
    .exit(PATIENCE);
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr.contains("Apiframe does not offer 21:9")
            && exit
                .stderr
                .contains("duration: apiframe documents no default length")
            && exit.stderr.contains("2 problems"),
        "{}",
        exit.stderr
    );
}
