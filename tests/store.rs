//! Outputs into object storage, against a real S3-compatible server (s3s-fs) that checks every
//! request's signature: a stream stored in parts and confirmed, a failed stream leaving neither
//! an object nor an upload, a crashed run's upload aborted, a wrong secret refused unseen; and
//! against moto's server, which lists open uploads and keeps versions: uploads a crash left
//! unrecorded found and aborted, an object a crash completed unrecorded kept, not sent again.
#![cfg(feature = "store")]

mod common;

use bytes::Bytes;
use futures_util::stream;
use happyhorse::{store::Destination, Error};
use sha2::{Digest, Sha256};

use common::s3::{MotoServer, S3Server, BUCKET, SECRET_KEY};

/// `len` bytes of a repeating pattern, in chunks of 64 KiB.
fn chunks(len: usize) -> (Vec<Result<Bytes, Error>>, String) {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let sha = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let chunks = data
        .chunks(64 << 10)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    (chunks, sha)
}

fn sha256_file(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `happyhorse ARGS` in `dir`, its providers pointed at `sandbox` and its store at `server`.
#[cfg(all(feature = "cli", feature = "sandbox"))]
fn happyhorse(
    args: &[&str],
    dir: &std::path::Path,
    sandbox: &happyhorse::sandbox::Sandbox,
    server: &str,
) -> std::process::Command {
    let env = common::sandbox_env(sandbox);
    let mut command = common::process::command(args, &common::process::pairs(&env));
    command
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", server)
        .env("AWS_ACCESS_KEY_ID", common::s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env_remove("HAPPYHORSE_STAGE");
    command
}

#[tokio::test]
async fn a_stream_is_stored_in_parts_and_confirmed() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let url = format!("s3://{BUCKET}/batch-1");
    let destination = Destination::from_url_with(&url, &server.options(SECRET_KEY)).unwrap();
    // Three full parts of 6 MiB and a short last one.
    let len = (20 << 20) + 123;
    let (body, sha) = chunks(len);
    let upload = destination.begin("a.mp4").await.unwrap();
    assert!(!upload.id().is_empty());
    assert_eq!(server.open_uploads().len(), 1, "begun, not yet visible");
    assert_eq!(destination.stat("a.mp4").await.unwrap(), None);
    let stored = upload.put(stream::iter(body)).await.unwrap();
    assert_eq!(stored.url, format!("s3://{BUCKET}/batch-1/a.mp4"));
    assert_eq!(stored.bytes, len as u64);
    assert_eq!(stored.sha256, sha);
    // A multipart object's ETag ends in its number of parts.
    let e_tag = stored.e_tag.clone().unwrap();
    assert!(e_tag.trim_matches('"').ends_with("-4"), "{e_tag}");
    let info = destination.stat("a.mp4").await.unwrap().unwrap();
    assert_eq!(info.bytes, len as u64);
    // What the server wrote is what was sent.
    let file = server.root().join(BUCKET).join("batch-1/a.mp4");
    assert_eq!(sha256_file(&file), sha);
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
}

#[tokio::test]
async fn a_failed_stream_leaves_neither_an_object_nor_an_upload() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let destination =
        Destination::from_url_with(&format!("s3://{BUCKET}/x"), &server.options(SECRET_KEY))
            .unwrap();
    // Ten MiB (one part sent), then the provider's connection drops.
    let (mut body, _) = chunks(10 << 20);
    body.push(Err(Error::Io {
        path: "cut.mp4".into(),
        source: std::io::Error::other("the download was cut"),
    }));
    let upload = destination.begin("cut.mp4").await.unwrap();
    let err = upload.put(stream::iter(body)).await.unwrap_err();
    assert!(err.to_string().contains("the download was cut"), "{err}");
    assert_eq!(destination.stat("cut.mp4").await.unwrap(), None);
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
}

#[tokio::test]
async fn an_upload_a_crashed_run_left_is_aborted_by_its_id() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let destination =
        Destination::from_url_with(&format!("s3://{BUCKET}/y"), &server.options(SECRET_KEY))
            .unwrap();
    // Begun and never completed: the run that began it was killed.
    let id = destination.begin("v.mp4").await.unwrap().id().to_owned();
    assert_eq!(server.open_uploads().len(), 1);
    destination.abort("v.mp4", &id).await.unwrap();
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
    assert_eq!(destination.stat("v.mp4").await.unwrap(), None);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_never_shown() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let wrong = "not-the-secret-at-all";
    let destination =
        Destination::from_url_with(&format!("s3://{BUCKET}/z"), &server.options(wrong)).unwrap();
    let err = destination.begin("v.mp4").await.unwrap_err();
    let shown = format!("{err} {err:?} {destination:?}");
    assert!(matches!(err, Error::Storage { .. }), "{shown}");
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
    assert!(
        !shown.contains(wrong) && !shown.contains(SECRET_KEY),
        "{shown}"
    );
    assert!(server.open_uploads().is_empty());
}

#[test]
fn urls_that_name_no_store_are_refused_with_what_to_write() {
    for url in ["videos/", "ftp://host/x", "s3:/nobucket"] {
        let err = Destination::from_url(url).unwrap_err();
        assert!(err.to_string().contains("s3://"), "{url}: {err}");
    }
}

/// `happyhorse generate` with local images: checked, staged once under their SHA-256 and sent
/// as presigned URLs, which the sandbox (as a provider) fetches from the store, signature and
/// all; a local image that breaks a limit is refused before anything is staged or sent.
#[cfg(all(feature = "cli", feature = "sandbox"))]
#[test]
fn generate_stages_local_images_and_the_provider_fetches_them() {
    use happyhorse::sandbox::{Sandbox, SandboxConfig};
    let Some(server) = S3Server::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("horse.png");
    std::fs::write(&good, Sandbox::sample_png(640, 480)).unwrap();
    let small = dir.path().join("small.png");
    std::fs::write(&small, Sandbox::sample_png(640, 200)).unwrap();
    let run = |args: &[&str]| {
        happyhorse(args, dir.path(), &sandbox, &server.endpoint)
            .output()
            .unwrap()
    };
    let stage = format!("s3://{BUCKET}/inputs");
    // Without --stage, the flag is named.
    let out = run(&[
        "generate",
        "-p",
        "hiapi",
        "--ref",
        "./horse.png",
        "[Image 1] gallops",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--stage"), "{stderr}");
    // Too small a reference: refused, nothing staged, nothing sent.
    let out = run(&[
        "generate",
        "-p",
        "hiapi",
        "--stage",
        &stage,
        "--ref",
        "./small.png",
        "[Image 1] gallops",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("at least 400 px"), "{stderr}");
    assert!(!server.root().join(BUCKET).join("inputs").exists());
    // A request the provider cannot take as asked (Apiframe documents no default length):
    // refused before the image is staged.
    let out = run(&[
        "generate",
        "-p",
        "apiframe",
        "--stage",
        &stage,
        "--image",
        "./horse.png",
        "it gallops",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--duration"), "{stderr}");
    assert!(!server.root().join(BUCKET).join("inputs").exists());
    assert_eq!(sandbox.stats().submits.total(), 0);
    // Twice the same image as two references: staged once, fetched by the sandbox, a video.
    let out = run(&[
        "generate",
        "-p",
        "hiapi",
        "--stage",
        &stage,
        "--ref",
        "./horse.png",
        "--ref",
        "horse.png",
        "[Image 1] meets [Image 2]",
        "-o",
        "video.mp4",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("X-Amz-Signature"),
        "a presigned query shown: {stderr}"
    );
    let staged: Vec<_> = std::fs::read_dir(server.root().join(BUCKET).join("inputs"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    let sha = sha256_file(&good);
    assert_eq!(staged, [format!("{sha}.png")]);
    assert!(dir.path().join("video.mp4").is_file());
    assert_eq!(sandbox.stats().tasks_created.total(), 1);
    runtime.block_on(sandbox.shutdown());
}

/// `happyhorse batch --out s3://...`: every video streamed into the bucket, confirmed, and
/// recorded in the ledger with its object's URL; results.jsonl beside the videos; no upload
/// left open.
#[cfg(all(feature = "cli", feature = "sandbox"))]
#[test]
fn batch_saves_its_videos_into_the_bucket() {
    use happyhorse::{
        ledger::{JobState, Ledger, SqliteLedger},
        sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    };
    let Some(server) = S3Server::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..3)
        .map(|i| {
            let provider = ["hiapi", "apiframe", "reapi"][i];
            serde_json::json!({"id": format!("v{i}"), "prompt": "a horse", "duration": 3, "provider": provider}).to_string()
        })
        .collect();
    std::fs::write(dir.path().join("jobs.jsonl"), lines.join("\n")).unwrap();
    let run = |args: &[&str]| {
        happyhorse(args, dir.path(), &sandbox, &server.endpoint)
            .output()
            .unwrap()
    };
    let out = format!("s3://{BUCKET}/run-1");
    let refused = run(&["batch", "jobs.jsonl", "--out", &out]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--ledger"), "{stderr}");
    let done = run(&["batch", "jobs.jsonl", "--out", &out, "--ledger", "hh.db"]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let prefix = server.root().join(BUCKET).join("run-1");
    let sample = common::sha256_hex(SAMPLE_MP4);
    for i in 0..3 {
        assert_eq!(
            sha256_file(&prefix.join(format!("v{i}.mp4"))),
            sample,
            "v{i}"
        );
    }
    let results = std::fs::read_to_string(prefix.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 3, "{results}");
    assert!(results.contains(&format!("\"{out}/v0.mp4\"")), "{results}");
    assert!(
        dir.path().join("results.jsonl").is_file(),
        "beside the ledger too"
    );
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
    let jobs = runtime.block_on(async {
        SqliteLedger::open(dir.path().join("hh.db"))
            .await
            .unwrap()
            .jobs()
            .await
            .unwrap()
    });
    for job in &jobs {
        assert_eq!(job.state, JobState::Downloaded, "{job:?}");
        assert_eq!(job.sha256.as_deref(), Some(sample.as_str()));
        let file = job.file.as_ref().unwrap().to_string_lossy().into_owned();
        assert_eq!(file, format!("{out}/{}.mp4", job.id));
    }

    // The console plays them from the bucket: byte ranges, streamed through it.
    let addr = common::process::free_addr();
    let mut console = happyhorse(
        &["console", "--ledger", "hh.db", "--addr", &addr],
        dir.path(),
        &sandbox,
        &server.endpoint,
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    common::process::wait_listening(&addr, "the console");
    runtime.block_on(async {
        happyhorse::install_crypto_provider();
        let http = reqwest::Client::new();
        let part = http
            .get(format!("http://{addr}/media/v1"))
            .header("Range", "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206);
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes 100-199/{}", SAMPLE_MP4.len()).as_str()
        );
        assert_eq!(part.bytes().await.unwrap().as_ref(), &SAMPLE_MP4[100..200]);
        let whole = http
            .get(format!("http://{addr}/media/v2"))
            .send()
            .await
            .unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.bytes().await.unwrap().as_ref(), SAMPLE_MP4);
    });
    let _ = console.kill();
    let _ = console.wait();
    runtime.block_on(sandbox.shutdown());
}

/// A batch SIGKILLed while videos are being uploaded, then run again: one task per job, one
/// object per job, every object what the ledger recorded, and no upload left open.
#[cfg(all(feature = "cli", feature = "sandbox"))]
#[test]
fn a_batch_killed_mid_upload_leaves_no_upload_behind_when_rerun() {
    use happyhorse::{
        ledger::{JobState, Ledger, SqliteLedger},
        sandbox::{Sandbox, SandboxConfig},
    };
    let Some(server) = S3Server::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pad = 64u64 << 20;
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(0.2)
                .with_pad_to(pad),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..4)
        .map(|i| serde_json::json!({"id": format!("k{i}"), "prompt": format!("a horse {i}"), "duration": 3}).to_string())
        .collect();
    std::fs::write(dir.path().join("jobs.jsonl"), lines.join("\n")).unwrap();
    let out = format!("s3://{BUCKET}/killed");
    let command = || {
        let args = [
            "batch",
            "jobs.jsonl",
            "--ledger",
            "hh.db",
            "--out",
            out.as_str(),
        ];
        let mut command = happyhorse(&args, dir.path(), &sandbox, &server.endpoint);
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut child = command().spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Killed once a part has been uploaded: mid-upload. (Between the store creating an upload
    // and the ledger recording its id there is a window of one round trip that a kill can hit;
    // that upload holds no part, and only listing the store's uploads could find it.)
    let parts = || {
        server
            .open_uploads()
            .iter()
            .any(|name| name.starts_with(".upload_id-"))
    };
    while !parts() {
        assert!(std::time::Instant::now() < deadline, "no upload began");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the batch ended before an upload began"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !server.open_uploads().is_empty(),
        "the kill left an upload open"
    );
    let rerun = command().output().unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
    assert_eq!(sandbox.stats().tasks_created.total(), 4);
    let prefix = server.root().join(BUCKET).join("killed");
    let mut objects: Vec<String> = std::fs::read_dir(&prefix)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".mp4"))
        .collect();
    objects.sort();
    assert_eq!(objects, ["k0.mp4", "k1.mp4", "k2.mp4", "k3.mp4"]);
    let jobs = runtime.block_on(async {
        SqliteLedger::open(dir.path().join("hh.db"))
            .await
            .unwrap()
            .jobs()
            .await
            .unwrap()
    });
    for job in &jobs {
        assert_eq!(job.state, JobState::Downloaded, "{job:?}");
        let object = prefix.join(format!("{}.mp4", job.id));
        assert_eq!(std::fs::metadata(&object).unwrap().len(), pad);
        assert_eq!(
            job.sha256.clone().unwrap(),
            sha256_file(&object),
            "{}",
            job.id
        );
    }
    runtime.block_on(sandbox.shutdown());
}

#[tokio::test]
async fn uploads_begun_and_never_recorded_are_found_and_aborted() {
    let Some(moto) = MotoServer::start(false) else {
        return;
    };
    let destination =
        Destination::from_url_with(&format!("s3://{BUCKET}/crashed"), &moto.options()).unwrap();
    // Two tries at v.mp4 killed between the store naming the upload and the ledger recording
    // it (their ids are dropped), and another object's upload, which is not theirs to abort.
    destination.begin("v.mp4").await.unwrap();
    destination.begin("v.mp4").await.unwrap();
    destination.begin("v.mp4.part").await.unwrap();
    assert_eq!(moto.open_uploads().len(), 3);
    assert_eq!(destination.abort_open("v.mp4").await.unwrap(), Some(2));
    assert_eq!(moto.open_uploads(), ["crashed/v.mp4.part"]);
    assert_eq!(destination.abort_open("v.mp4").await.unwrap(), Some(0));

    // A store that does not list uploads (s3s-fs answers 501) is said so, not an error.
    let Some(server) = S3Server::start() else {
        return;
    };
    let unlisting =
        Destination::from_url_with(&format!("s3://{BUCKET}/x"), &server.options(SECRET_KEY))
            .unwrap();
    unlisting.begin("v.mp4").await.unwrap();
    assert_eq!(unlisting.abort_open("v.mp4").await.unwrap(), None);
}

/// A batch into a versioned bucket records each object's ETag and version; a job whose
/// upload completed just before a crash (its parts' size and SHA-256 recorded, the ledger not
/// yet told `downloaded`) is saved by the rerun from what the store holds: no second version.
#[cfg(all(feature = "cli", feature = "sandbox"))]
#[test]
fn an_object_a_crash_completed_is_kept_and_not_sent_again() {
    use happyhorse::{
        ledger::{JobState, Ledger, SqliteLedger},
        sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    };
    let Some(moto) = MotoServer::start(true) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..2)
        .map(|i| {
            serde_json::json!({"id": format!("c{i}"), "prompt": "a horse", "duration": 3})
                .to_string()
        })
        .collect();
    std::fs::write(dir.path().join("jobs.jsonl"), lines.join("\n")).unwrap();
    let out = format!("s3://{BUCKET}/kept");
    let run = || {
        let args = ["batch", "jobs.jsonl", "--out", &out, "--ledger", "hh.db"];
        let done = happyhorse(&args, dir.path(), &sandbox, &moto.endpoint)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    };
    run();
    let ledger_path = dir.path().join("hh.db");
    let jobs = || {
        runtime.block_on(async {
            SqliteLedger::open(&ledger_path)
                .await
                .unwrap()
                .jobs()
                .await
                .unwrap()
        })
    };
    let first = jobs();
    let sample = common::sha256_hex(SAMPLE_MP4);
    for job in &first {
        assert_eq!(job.state, JobState::Downloaded, "{job:?}");
        assert!(job.e_tag.is_some(), "{job:?}");
        assert!(job.object_version.is_some(), "a versioned bucket: {job:?}");
    }
    let results = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    assert!(results.contains("\"object_version\""), "{results}");
    assert_eq!(moto.versions("kept/c0.mp4"), 1);

    // What a crash after the store completed c0's upload, before the ledger heard of it,
    // leaves: the job `succeeded`, its step state holding the sent size and SHA-256.
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", ledger_path.display()))
            .await
            .unwrap();
        let step = serde_json::json!({"upload": "gone-after-completion", "sent": {"bytes": SAMPLE_MP4.len(), "sha256": sample}});
        sqlx::query("UPDATE jobs SET state = 'succeeded', file = NULL, bytes = NULL, sha256 = NULL, e_tag = NULL, object_version = NULL, step_state = ?, next_at = 0 WHERE id = 'c0'")
            .bind(step.to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    run();
    let again = jobs();
    let c0 =
        |jobs: &[happyhorse::ledger::Job]| jobs.iter().find(|j| j.id == "c0").cloned().unwrap();
    let (before, after) = (c0(&first), c0(&again));
    assert_eq!(after.state, JobState::Downloaded, "{after:?}");
    assert_eq!(after.sha256.as_deref(), Some(sample.as_str()));
    assert_eq!(
        after.object_version, before.object_version,
        "the object the crashed try completed, not a new one"
    );
    assert_eq!(moto.versions("kept/c0.mp4"), 1, "not uploaded again");
    assert!(moto.open_uploads().is_empty(), "{:?}", moto.open_uploads());
    assert_eq!(sandbox.stats().tasks_created.total(), 2);
    runtime.block_on(sandbox.shutdown());
}

/// `generate`, `wait` and `download` with `-o s3://...`: the video streamed into the bucket
/// and confirmed; an object already there refused before anything is paid for (unless
/// --force); a prefix ending in `/` takes the default name.
#[cfg(all(feature = "cli", feature = "sandbox"))]
#[test]
fn generate_wait_and_download_write_into_the_bucket() {
    use happyhorse::sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4};
    let Some(server) = S3Server::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        happyhorse(args, dir.path(), &sandbox, &server.endpoint)
            .output()
            .unwrap()
    };
    let bucket = server.root().join(BUCKET);
    let sample = common::sha256_hex(SAMPLE_MP4);
    let object = format!("s3://{BUCKET}/gen/horse.mp4");
    let args = [
        "generate",
        "-p",
        "apiframe",
        "--duration",
        "3",
        "a horse",
        "--json",
        "-o",
        &object,
    ];
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(said["path"], object.as_str(), "{said}");
    assert_eq!(said["sha256"], sample.as_str(), "{said}");
    assert!(said["e_tag"].is_string(), "{said}");
    assert_eq!(sha256_file(&bucket.join("gen/horse.mp4")), sample);
    let task = said["id"].as_str().unwrap().to_owned();

    // There already: refused before a second task is paid for; --force replaces it.
    let out = run(&[
        "generate",
        "-p",
        "apiframe",
        "--duration",
        "3",
        "a horse",
        "-o",
        &object,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(sandbox.stats().tasks_created.total(), 1);

    let out = run(&[
        "download",
        &task,
        "-p",
        "apiframe",
        "--out",
        &format!("s3://{BUCKET}/dl/"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let default_name = format!("happyhorse-{task}.mp4");
    assert_eq!(sha256_file(&bucket.join("dl").join(&default_name)), sample);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("s3://{BUCKET}/dl/{default_name}")
    );

    let out = run(&[
        "wait",
        &task,
        "-p",
        "apiframe",
        "-o",
        &format!("s3://{BUCKET}/w/v.mp4"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sha256_file(&bucket.join("w/v.mp4")), sample);
    assert!(
        server.open_uploads().is_empty(),
        "{:?}",
        server.open_uploads()
    );
    assert_eq!(sandbox.stats().tasks_created.total(), 1);
    runtime.block_on(sandbox.shutdown());
}
