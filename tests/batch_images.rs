//! A batch whose jobs file names local images: every image of every line (local files and
//! remote URLs alike) checked before anything is staged or submitted, each problem with its
//! line number; then each distinct file staged once into a real S3-compatible server
//! (s3s-fs), the providers (the sandbox, over loopback HTTP) fetching the presigned URLs; a
//! rerun after the batch finished submits, stages and reads nothing again.
#![cfg(all(feature = "store", feature = "cli", feature = "sandbox"))]

mod common;

use std::path::Path;

use happyhorse::{
    ledger::{JobState, Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
};

use common::s3::{S3Server, BUCKET, SECRET_KEY};

/// `happyhorse ARGS` in `dir`, its providers pointed at `sandbox` and its store at `server`.
fn happyhorse(
    args: &[&str],
    dir: &Path,
    sandbox: &Sandbox,
    server: &S3Server,
) -> std::process::Output {
    let env = common::sandbox_env(sandbox);
    let mut command = common::process::command(args, &common::process::pairs(&env));
    command
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", common::s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env_remove("HAPPYHORSE_STAGE");
    command.output().expect("happyhorse runs")
}

/// The objects under `prefix` in the bucket (s3s-fs keeps its own files under dot names).
fn objects(server: &S3Server, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(server.root().join(BUCKET).join(prefix)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// A runtime, a sandbox whose tasks take 0.2 s, and a directory to work in.
fn setting() -> (tokio::runtime::Runtime, Sandbox, tempfile::TempDir) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .expect("the sandbox starts");
    let dir = tempfile::tempdir().expect("a directory");
    (runtime, sandbox, dir)
}

/// `url` as S3 presigns it: signed `ago`, for `seconds` (the signature is not checked here).
fn presigned(url: &str, ago: chrono::TimeDelta, seconds: u32, signature: &str) -> String {
    let signed = (chrono::Utc::now() - ago).format("%Y%m%dT%H%M%SZ");
    format!("{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k&X-Amz-Date={signed}&X-Amz-Expires={seconds}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")
}

fn jobs_in(dir: &Path, ledger: &str) -> Vec<happyhorse::ledger::Job> {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        SqliteLedger::open(dir.join(ledger))
            .await
            .expect("the ledger opens")
            .jobs()
            .await
            .expect("its jobs")
    })
}

/// Lines: (1) a local reference, (2) two references, one shared with line 1, (3) a local first
/// frame shared with line 2, (4) a remote reference, (5) a `file://` reference without an id.
fn good_lines(dir: &Path, sandbox: &Sandbox) -> Vec<String> {
    let absolute = format!("file://{}", dir.join("images/horse.png").display());
    vec![
        serde_json::json!({"id": "a", "prompt": "[Image 1] gallops", "references": ["images/horse.png"], "duration": 3}),
        serde_json::json!({"id": "b", "prompt": "[Image 1] meets [Image 2]", "references": ["images/horse.png", "./images/field.png"], "duration": 3}),
        serde_json::json!({"id": "c", "prompt": "it moves", "image": "images/field.png", "duration": 3}),
        serde_json::json!({"id": "d", "prompt": "[Image 1] trots", "references": [sandbox.sample_image_url(640, 640)], "duration": 3}),
        serde_json::json!({"prompt": "[Image 1] rests", "references": [absolute], "duration": 3}),
    ]
    .into_iter()
    .map(|line| line.to_string())
    .collect()
}

#[test]
fn local_images_are_checked_by_line_then_staged_once_each_and_fetched() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let (runtime, sandbox, dir) = setting();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).expect("images/");
    std::fs::write(images.join("horse.png"), Sandbox::sample_png(640, 480)).expect("horse.png");
    std::fs::write(images.join("field.png"), Sandbox::sample_png(800, 600)).expect("field.png");
    std::fs::write(images.join("notes.png"), b"not an image at all, just text").expect("notes");
    std::fs::write(images.join("small.png"), Sandbox::sample_png(640, 200)).expect("small");
    let run = |args: &[&str]| happyhorse(args, dir.path(), &sandbox, &server);
    let stage = format!("s3://{BUCKET}/inputs");
    let out = format!("s3://{BUCKET}/videos");

    // Bad lines among good ones: every problem by line, nothing staged, nothing submitted.
    let mut bad = good_lines(dir.path(), &sandbox);
    bad.extend([
        serde_json::json!({"id": "f", "prompt": "[Image 1]", "references": ["images/notes.png"], "duration": 3}),
        serde_json::json!({"id": "g", "prompt": "[Image 1]", "references": ["images/small.png"], "duration": 3}),
        serde_json::json!({"id": "h", "prompt": "[Image 1]", "references": ["images/missing.png"], "duration": 3}),
        serde_json::json!({"id": "i", "prompt": "[Image 1]", "references": [sandbox.sample_image_url(200, 200)], "duration": 3}),
    ].map(|line| line.to_string()));
    std::fs::write(dir.path().join("bad.jsonl"), bad.join("\n")).expect("bad.jsonl");
    let refused = run(&[
        "batch",
        "bad.jsonl",
        "--stage",
        &stage,
        "--out",
        &out,
        "--ledger",
        "bad.db",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    for (line, says) in [
        (6, "is not"),
        (7, "at least 400 px"),
        (8, "cannot read"),
        (9, "at least 400 px"),
    ] {
        let found = stderr
            .lines()
            .find(|l| l.starts_with(&format!("bad.jsonl:line {line}: error: ")));
        let found = found.unwrap_or_else(|| panic!("no error for line {line}: {stderr}"));
        assert!(found.contains(says), "line {line}: {found}");
    }
    assert!(
        !stderr.contains("bad.jsonl:line 1:") && !stderr.contains("bad.jsonl:line 5:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing was staged or submitted"),
        "{stderr}"
    );
    assert_eq!(
        objects(&server, "inputs"),
        Vec::<String>::new(),
        "nothing staged"
    );
    assert_eq!(sandbox.stats().submits.total(), 0, "nothing submitted");
    assert!(jobs_in(dir.path(), "bad.db").is_empty(), "nothing recorded");

    // Without --stage, the local images are refused by line, naming the flag.
    std::fs::write(
        dir.path().join("jobs.jsonl"),
        good_lines(dir.path(), &sandbox).join("\n"),
    )
    .expect("jobs.jsonl");
    let refused = run(&["batch", "jobs.jsonl", "--out", &out, "--ledger", "hh.db"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("jobs.jsonl:line 1: error: references[0]:"),
        "{stderr}"
    );
    assert!(stderr.contains("--stage"), "{stderr}");
    assert_eq!(sandbox.stats().submits.total(), 0);

    // A dry run checks and plans, and stages nothing.
    let dry = run(&[
        "batch",
        "jobs.jsonl",
        "--stage",
        &stage,
        "--out",
        &out,
        "--ledger",
        "hh.db",
        "--dry-run",
    ]);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(dry.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 local images would be staged"),
        "{stderr}"
    );
    assert_eq!(objects(&server, "inputs"), Vec::<String>::new());
    assert_eq!(sandbox.stats().submits.total(), 0);

    // The run: two distinct files staged once each, five tasks that fetched them, five videos.
    let done = run(&[
        "batch",
        "jobs.jsonl",
        "--stage",
        &stage,
        "--out",
        &out,
        "--ledger",
        "hh.db",
    ]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        !stderr.contains("X-Amz-Signature") && !stderr.contains("X-Amz-Credential"),
        "a presigned query shown: {stderr}"
    );
    assert!(
        stderr.contains("images checked: 2 local files read, 1 URL fetched"),
        "{stderr}"
    );
    assert!(stderr.contains("2 uploaded, 0 already there"), "{stderr}");
    let horse = common::sha256_hex(&Sandbox::sample_png(640, 480));
    let field = common::sha256_hex(&Sandbox::sample_png(800, 600));
    let mut want = vec![format!("{horse}.png"), format!("{field}.png")];
    want.sort();
    assert_eq!(objects(&server, "inputs"), want);
    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.total(), 5);
    let jobs = jobs_in(dir.path(), "hh.db");
    assert_eq!(jobs.len(), 5);
    for job in &jobs {
        assert_eq!(job.state, JobState::Downloaded, "{job:?}");
    }
    // The ledger records what was staged: the object each body's presigned URL names.
    let body_of = |id: &str| {
        jobs.iter()
            .find(|j| j.id == id)
            .map(|j| j.body.to_string())
            .unwrap_or_default()
    };
    assert!(
        body_of("b").contains(&format!("/{BUCKET}/inputs/{horse}.png?")),
        "{}",
        body_of("b")
    );
    assert!(body_of("b").contains(&format!("/{BUCKET}/inputs/{field}.png?")));
    // A job printed with `{:?}` (a user's log line) names the objects, not their signatures.
    for job in &jobs {
        let debug = format!("{job:?}");
        assert!(
            !debug.contains("X-Amz-Signature") && !debug.contains("X-Amz-Credential"),
            "a presigned query in Debug: {debug}"
        );
    }
    let shown = format!("{:?}", jobs.iter().find(|j| j.id == "b").unwrap());
    assert!(
        shown.contains(&format!("/{BUCKET}/inputs/{horse}.png?…")),
        "{shown}"
    );
    assert!(!body_of("c").contains("local-image.invalid"));

    // A rerun finds the same jobs (the line without an id too), though every signing gives
    // a new URL; it submits nothing, and reads and stages nothing: the files may be gone.
    std::fs::remove_dir_all(&images).expect("the images removed");
    let again = run(&[
        "batch",
        "jobs.jsonl",
        "--stage",
        &stage,
        "--out",
        &out,
        "--ledger",
        "hh.db",
    ]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("jobs: 0 new, 5 already in the ledger"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("images checked"),
        "nothing read or fetched: {stderr}"
    );
    assert_eq!(sandbox.stats().submits.total(), stats.submits.total());
    assert_eq!(objects(&server, "inputs"), want);
    runtime.block_on(sandbox.shutdown());
}

/// A job recorded but never submitted whose staged image's presigned URL expired (its batch
/// stopped for longer than `--stage-ttl`): while the object is gone from the store, a rerun
/// refuses the line before any submit; once the store holds it (under its SHA-256), a rerun
/// signs it again, records the new body (the key was never sent), and the job is sent, the
/// provider fetches the image, and the video is saved.
#[test]
fn a_recorded_job_whose_staged_url_expired_is_signed_again_or_refused() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let (runtime, sandbox, dir) = setting();
    let png = Sandbox::sample_png(640, 480);
    std::fs::write(dir.path().join("horse.png"), &png).expect("png");
    let line = serde_json::json!({"id": "late", "prompt": "[Image 1] gallops", "references": ["horse.png"], "duration": 3});
    std::fs::write(dir.path().join("jobs.jsonl"), format!("{line}\n")).expect("jobs.jsonl");
    // As an earlier run recorded it: staged, signed for 60 s two days ago, queued.
    let name = format!("{}.png", common::sha256_hex(&png));
    let object = format!("{}/{BUCKET}/inputs/{name}", server.endpoint);
    let expired = format!(
        "{object}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k&X-Amz-Date={}&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        (chrono::Utc::now() - chrono::TimeDelta::days(2)).format("%Y%m%dT%H%M%SZ")
    );
    let job = happyhorse::batch::JobsReader::new(
        std::io::Cursor::new(format!("{line}\n")),
        happyhorse::Provider::HiApi,
    )
    .with_local_images(dir.path())
    .next()
    .expect("a job")
    .expect("a valid line")
    .with_images(|_| Some(expired.clone()))
    .expect("its image");
    runtime.block_on(async {
        let ledger = SqliteLedger::open(dir.path().join("hh.db"))
            .await
            .expect("the ledger");
        let enqueued = ledger.enqueue(&[job.to_new_job()]).await.expect("enqueued");
        assert_eq!(enqueued.inserted, 1);
    });
    let out = format!("s3://{BUCKET}/videos");
    let stage = format!("s3://{BUCKET}/inputs");
    let rerun = || {
        happyhorse(
            &[
                "batch",
                "jobs.jsonl",
                "--stage",
                &stage,
                "--out",
                &out,
                "--ledger",
                "hh.db",
            ],
            dir.path(),
            &sandbox,
            &server,
        )
    };

    // The object is not in the store (a lifecycle rule took it): refused by line.
    let refused = rerun();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    let found = stderr
        .lines()
        .find(|l| l.starts_with("jobs.jsonl:line 1: error: "))
        .unwrap_or_else(|| panic!("no error for line 1: {stderr}"));
    assert!(found.contains("expired at"), "{found}");
    assert!(
        found.contains(&format!(
            "cannot be signed again: {name} is no longer in {stage}"
        )),
        "{found}"
    );
    assert!(found.contains("new \"id\""), "{found}");
    assert!(!stderr.contains("X-Amz-Signature"), "{stderr}");
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert_eq!(objects(&server, "inputs"), Vec::<String>::new());

    // The store holds it again: signed again, recorded, sent, fetched, saved.
    runtime.block_on(async {
        let destination =
            happyhorse::store::Destination::from_url_with(&stage, &server.options(SECRET_KEY))
                .expect("the stage");
        destination
            .stage(
                png.clone().into(),
                "png",
                std::time::Duration::from_secs(60),
            )
            .await
            .expect("staged");
    });
    let done = rerun();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stderr.contains("signed again the staged images of 1 queued job:"),
        "{stderr}"
    );
    assert!(!stderr.contains("X-Amz-Signature"), "{stderr}");
    assert_eq!(sandbox.stats().tasks_created.total(), 1);
    let jobs = jobs_in(dir.path(), "hh.db");
    assert_eq!(jobs[0].state, JobState::Downloaded, "{:?}", jobs[0]);
    let sent = jobs[0].body["input"]["reference_image"][0]
        .as_str()
        .expect("the URL sent")
        .to_owned();
    assert!(
        sent.starts_with(&format!("{object}?")),
        "{}",
        jobs[0].redacted_body()
    );
    let lasts =
        happyhorse::presigned::expires_at(&sent).expect("a presigned URL") - chrono::Utc::now();
    assert!(
        lasts > chrono::TimeDelta::hours(23),
        "signed for --stage-ttl (a day): {lasts}"
    );
    let events = runtime.block_on(async {
        SqliteLedger::open(dir.path().join("hh.db"))
            .await
            .expect("the ledger")
            .events("late")
            .await
            .expect("its history")
    });
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let replaced = names.iter().position(|e| *e == "body replaced");
    let submitting = names.iter().position(|e| *e == "submitting");
    assert!(
        replaced.is_some() && replaced < submitting,
        "signed again before the first submit: {names:?}"
    );
    runtime.block_on(sandbox.shutdown());
}

/// A presigned image URL that will not last until the provider fetches it (a user's own, good
/// for 5 more minutes): the batch does not send the job, and says why; nothing is billed.
#[test]
fn a_presigned_image_url_about_to_expire_is_not_sent() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let (runtime, sandbox, dir) = setting();
    let url = presigned(
        &sandbox.sample_image_url(640, 640),
        chrono::TimeDelta::minutes(55),
        3600,
        "0badc0de",
    );
    let line = serde_json::json!({"id": "soon", "prompt": "[Image 1] trots", "references": [url], "duration": 3});
    std::fs::write(dir.path().join("jobs.jsonl"), format!("{line}\n")).expect("jobs.jsonl");
    let run = happyhorse(
        &[
            "batch",
            "jobs.jsonl",
            "--out",
            "out",
            "--ledger",
            "hh.db",
            "--no-preflight",
        ],
        dir.path(),
        &sandbox,
        &server,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let left = stderr
        .lines()
        .find(|l| l.starts_with("left for a later run: soon: not submitted: the image URL"))
        .unwrap_or_else(|| panic!("not left: {stderr}"));
    assert!(left.contains("less than 10 minutes from now"), "{left}");
    assert!(!stderr.contains("0badc0de"), "a signature shown: {stderr}");
    assert_eq!(sandbox.stats().submits.total(), 0, "nothing sent");
    let jobs = jobs_in(dir.path(), "hh.db");
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].attempts, 0);
    runtime.block_on(sandbox.shutdown());
}
