//! Planning a jobs file of a million lines: time and peak memory, streamed against held.
//!
//! `cargo bench --bench plan_million` (env: `PLAN_LINES`, default 1,000,000).
//!
//! Each case runs in a child process of its own (this binary again, or the `happyhorse`
//! binary), so its peak resident memory (`ru_maxrss` from `wait4`) is its own:
//!
//! - `cli refused`: `happyhorse batch FILE --out DIR --max-video-seconds 1`, the finding's
//!   case: every line read and checked, the plan counted, and refused by the budget.
//! - `held refused` / `streamed refused`: the same plan from the library, the jobs held in
//!   memory (`parse_jobs` on the whole text, then `Batch::plan` on the slice: what the command
//!   did before) against read a line at a time (`JobsReader`, then `Batch::plan_each` reading
//!   the file again in chunks).
//! - `held recorded` / `streamed recorded`: the same without a cap, so every job is recorded
//!   in a SQLite ledger.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use happyhorse::{
    batch::{parse_jobs, Batch, BatchOptions, Budget, JobsReadError, JobsReader},
    ledger::SqliteLedger,
    Error, Provider,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2..]);
        return;
    }
    let lines: usize = std::env::var("PLAN_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("jobs.jsonl");
    write_jobs(&file, lines);
    let size = std::fs::metadata(&file).expect("jobs file").len();
    println!("plan_million: {lines} lines, {:.1} MB", size as f64 / 1e6);
    let me = std::env::current_exe().expect("this bench");
    let cases: Vec<(&str, Command)> = vec![
        ("cli refused", {
            let mut c = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
            c.arg("batch")
                .arg(&file)
                .arg("--out")
                .arg(dir.path().join("cli"))
                .args(["--max-video-seconds", "1"]);
            c
        }),
        (
            "held refused",
            child_command(&me, "held", true, &file, dir.path()),
        ),
        (
            "streamed refused",
            child_command(&me, "streamed", true, &file, dir.path()),
        ),
        (
            "held recorded",
            child_command(&me, "held", false, &file, dir.path()),
        ),
        (
            "streamed recorded",
            child_command(&me, "streamed", false, &file, dir.path()),
        ),
    ];
    let mut results = Vec::new();
    for (name, mut command) in cases {
        let (seconds, peak_kib, code) = measure(&mut command);
        println!(
            "{name:>18}: {seconds:6.2} s, peak RSS {:7.1} MiB, exit {code}",
            peak_kib as f64 / 1024.0
        );
        results.push((name, seconds, peak_kib));
    }
    let find = |name: &str| results.iter().find(|r| r.0 == name).copied();
    for what in ["refused", "recorded"] {
        if let (Some(held), Some(streamed)) = (
            find(&format!("held {what}")),
            find(&format!("streamed {what}")),
        ) {
            println!(
                "{what}: streamed / held: time {:.2}x, peak RSS {:.3}x",
                streamed.1 / held.1,
                streamed.2 as f64 / held.2 as f64
            );
        }
    }
}

fn child_command(me: &Path, how: &str, capped: bool, file: &Path, dir: &Path) -> Command {
    let out = dir.join(format!("{how}-{}", if capped { "capped" } else { "all" }));
    let mut command = Command::new(me);
    command
        .arg("child")
        .arg(how)
        .arg(if capped { "capped" } else { "all" })
        .arg(file)
        .arg(out);
    command
}

/// Runs `command` to its end: wall seconds, peak resident KiB, exit code.
fn measure(command: &mut Command) -> (f64, i64, i32) {
    let started = Instant::now();
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the case starts");
    let pid = i32::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let seconds = started.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    std::mem::forget(child);
    (seconds, usage.ru_maxrss, code)
}

fn write_jobs(path: &Path, lines: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("jobs file"));
    for i in 0..lines {
        writeln!(out, r#"{{"prompt": "a horse, take {i}"}}"#).expect("write");
    }
    out.flush().expect("flush");
}

/// One case, in this process: `held|streamed capped|all FILE OUT`.
fn child(args: &[String]) {
    let (how, capped, file, out) = match args {
        [how, capped, file, out] => (
            how.as_str(),
            capped == "capped",
            PathBuf::from(file),
            PathBuf::from(out),
        ),
        _ => panic!("child HOW CAPPED FILE OUT"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async {
        let ledger = SqliteLedger::open(out.join("happyhorse.db")).await?;
        let options = BatchOptions {
            budget: Budget {
                max_video_seconds: capped.then_some(1),
                max_credits: None,
            },
            ..BatchOptions::default()
        };
        let batch = Batch::new(ledger, &out).with_options(options);
        match how {
            "held" => {
                let text = std::fs::read_to_string(&file).expect("read");
                let jobs = parse_jobs(&text, Provider::HiApi).expect("valid");
                batch.plan(&jobs).await
            }
            _ => {
                // The whole file checked first, as the command does; nothing kept.
                let mut valid = 0usize;
                for item in JobsReader::new(open(&file), Provider::HiApi) {
                    match item {
                        Ok(_) => valid += 1,
                        Err(JobsReadError::Line(problems)) => panic!("{problems:?}"),
                        Err(err) => panic!("{err}"),
                    }
                }
                assert!(valid > 0);
                batch
                    .plan_each(|| {
                        JobsReader::new(open(&file), Provider::HiApi).map(|item| {
                            item.map_err(|e| Error::Config {
                                message: e.to_string(),
                            })
                        })
                    })
                    .await
            }
        }
    });
    match (capped, result) {
        (true, Err(Error::OverBudget { .. })) | (false, Ok(_)) => {}
        (_, other) => panic!("unexpected: {other:?}"),
    }
}

fn open(path: &Path) -> impl BufRead {
    BufReader::new(std::fs::File::open(path).expect("jobs file"))
}
