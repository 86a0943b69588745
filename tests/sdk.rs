//! The SDK's one-call path, its builders and their cancellation, task handles that carry their
//! provider, and stored submissions resumed later: against the sandbox over real HTTP on
//! loopback. (What the logs show is in `tests/logs.rs`, a process of its own.)
#![cfg(feature = "sandbox")]

use std::time::Duration;

use happyhorse::{
    client::{Finished, Progress, RetryPolicy, Submission, TaskHandle, TaskSnapshot},
    sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    Client, ClientConfig, Error, Prompt, Provider, VideoRequest,
};
use tokio_util::sync::CancellationToken;

fn client_with(
    sandbox: &Sandbox,
    provider: Provider,
    config: impl FnOnce(ClientConfig) -> ClientConfig,
) -> Client {
    let retry =
        RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let base = ClientConfig::new(provider)
        .with_api_key(format!("{}secret-key-123", provider.key_prefix()))
        .with_base_url(sandbox.base_url(provider))
        .with_retry(RetryPolicy {
            max_retry_after: Duration::from_millis(20),
            ..retry
        });
    Client::new(config(base)).expect("a client for the sandbox")
}

fn client(sandbox: &Sandbox, provider: Provider) -> Client {
    client_with(sandbox, provider, |config| config)
}

fn request(prompt: &str) -> VideoRequest {
    VideoRequest::text_to_video(Prompt::new(prompt).unwrap())
}

#[tokio::test]
async fn one_call_submits_waits_and_saves_reporting_each_step() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.3))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for provider in Provider::ALL {
        let client = client(&sandbox, provider);
        let path = dir.path().join(format!("{provider}.mp4"));
        let mut events = Vec::new();
        let saved = client
            .generate(&request("A golden retriever running on a beach"))
            .schedule(Duration::from_millis(20), 1.5, Duration::from_millis(100))
            .on_progress(|event| {
                events.push(match event {
                    Progress::Submitted(_) => "submitted".to_owned(),
                    Progress::Status(task) => format!("status {:?}", task.state),
                    Progress::Downloading { .. } => "downloading".to_owned(),
                    _ => "other".to_owned(),
                })
            })
            .save_to(&path)
            .await
            .unwrap();
        assert_eq!(saved.provider, provider);
        assert_eq!(saved.path, path);
        assert_eq!(saved.bytes, SAMPLE_MP4.len() as u64);
        assert_eq!(saved.task.id(), saved.submission.id);
        assert_eq!(std::fs::read(&path).unwrap(), SAMPLE_MP4);
        assert_eq!(
            events.first().map(String::as_str),
            Some("submitted"),
            "{events:?}"
        );
        assert!(
            events.contains(&"status Succeeded".to_owned()),
            "{events:?}"
        );
        assert_eq!(
            events.last().map(String::as_str),
            Some("downloading"),
            "{events:?}"
        );
        // The same call without `save_to` stops at the finished task.
        let finished = client.generate(&request("Another take")).await.unwrap();
        assert_eq!(finished.provider(), provider);
        // A signed URL: the file name ends its path, the signature is in its query.
        let url = reqwest::Url::parse(&finished.output().url).unwrap();
        assert!(url.path().ends_with(".mp4"), "{}", url.path());
    }
}

#[tokio::test]
async fn one_call_refuses_a_target_it_cannot_write_before_paying() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox, Provider::HiApi);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken.mp4");
    std::fs::write(&path, b"keep").unwrap();
    let mut submitted = false;
    let err = client
        .generate(&request("A dog"))
        .on_progress(|event| submitted |= matches!(event, Progress::Submitted(_)))
        .save_to(&path)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FileExists { .. }), "{err:?}");
    assert!(
        !submitted,
        "nothing may be submitted for a target that exists"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");

    // A missing directory, or a directory where the file should go: refused, nothing sent.
    for target in [dir.path().join("missing/clip.mp4"), dir.path().to_owned()] {
        let err = client
            .generate(&request("A dog"))
            .on_progress(|event| submitted |= matches!(event, Progress::Submitted(_)))
            .save_to(&target)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnusableTarget { .. }), "{err:?}");
        assert!(!submitted, "{}", target.display());
    }
    // The checks leave nothing behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test]
async fn one_call_cancels_in_the_submit_and_in_the_wait() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(3600.0))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::Apiframe);

    // Cancelled before the submit answered: no id, a task may exist.
    let token = CancellationToken::new();
    token.cancel();
    let err = client
        .generate(&request("Never sent"))
        .cancel_on(token)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { id: None, .. }), "{err:?}");

    // Cancelled while waiting: the id, and the task goes on at the provider.
    let token = CancellationToken::new();
    let cancel = token.clone();
    let mut id = None;
    let err = client
        .generate(&request("Cancelled while waiting"))
        .cancel_on(token)
        .on_progress(|event| {
            if let Progress::Submitted(submission) = event {
                id = Some(submission.id.clone());
                cancel.cancel();
            }
        })
        .await
        .unwrap_err();
    let Error::Cancelled {
        id: Some(cancelled),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(Some(cancelled), id.as_ref());
    let task = client
        .status(TaskHandle::new(Provider::Apiframe, cancelled.clone()))
        .await
        .unwrap();
    assert!(!task.state.is_terminal(), "the task goes on: {task:?}");
}

#[tokio::test(start_paused = true)]
async fn a_wait_deadline_runs_on_tokios_clock_so_tests_need_not_sleep() {
    // The task takes an hour of real time; the wait's ten-minute deadline passes on the paused
    // clock, which jumps ahead whenever the test has nothing else to do.
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(3600.0))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::HiApi);
    let submitted = client.submit(&request("A slow one")).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut polls = 0;
    let err = client
        .wait(&submitted)
        .max_wait(Duration::from_secs(600))
        .on_change(|_| polls += 1)
        .await
        .unwrap_err();
    let Error::DeadlineExceeded { waited, status, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(*waited >= Duration::from_secs(600), "{waited:?}");
    assert!(started.elapsed() >= Duration::from_secs(600));
    assert!(!status.is_empty());
    assert!(polls >= 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_stops_at_once_even_between_long_polls() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(3600.0))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::Reapi);
    let submitted = client.submit(&request("Cancel me")).await.unwrap();
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(95)).await;
        cancel.cancel();
    });
    let started = tokio::time::Instant::now();
    let err = client
        .wait(&submitted)
        .schedule(Duration::from_secs(60), 2.0, Duration::from_secs(300))
        .cancel_on(token)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { id: Some(id), .. } if *id == submitted.id),
        "{err:?}"
    );
    // Cancelled at 95 s, inside the pause that began at 60 s: not at the next poll (180 s).
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(95) && waited < Duration::from_secs(100),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_partial_file_and_the_next_one_resumes() {
    let size = 32 * 1024 * 1024;
    let sandbox = Sandbox::start(SandboxConfig::default().with_pad_to(size))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::HiApi);
    let finished = client.generate(&request("A big one")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mp4");
    let token = CancellationToken::new();
    let cancel = token.clone();
    let err = client
        .download(finished.output(), &path)
        .cancel_on(token)
        .on_progress(|received, _| {
            if received >= 1024 * 1024 {
                cancel.cancel();
            }
        })
        .await
        .unwrap_err();
    let Error::DownloadCancelled {
        partial,
        received,
        path: target,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(target, &path);
    assert!(*received >= 1024 * 1024 && *received < size, "{received}");
    assert_eq!(std::fs::metadata(partial).unwrap().len(), *received);
    assert!(!path.exists());

    let saved = client.download(finished.output(), &path).await.unwrap();
    assert_eq!(saved.bytes, size);
    assert_eq!(saved.resumes, 1, "picked up from the partial file");
    let file = std::fs::read(&path).unwrap();
    assert_eq!(file.len() as u64, size);
    assert_eq!(&file[..SAMPLE_MP4.len()], SAMPLE_MP4);
    assert!(!partial.exists());
}

#[tokio::test]
async fn a_task_handle_is_refused_by_another_providers_client_without_a_call() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = client(&sandbox, Provider::HiApi);
    let apiframe = client(&sandbox, Provider::Apiframe);
    let submitted = hiapi.submit(&request("A HiAPI task")).await.unwrap();
    let err = apiframe.wait(&submitted).await.unwrap_err();
    assert!(
        matches!(&err, Error::WrongProvider { task, client: Provider::Apiframe } if task.provider == Provider::HiApi),
        "{err:?}"
    );
    assert!(err.to_string().contains("hiapi"), "{err}");
    let err = apiframe.status(&submitted.handle()).await.unwrap_err();
    assert!(matches!(err, Error::WrongProvider { .. }), "{err:?}");
    let err = apiframe
        .download_task(submitted.handle(), "never.mp4")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongProvider { .. }), "{err:?}");
}

#[tokio::test]
async fn a_stored_submission_and_snapshot_resume_in_another_client() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.2))
        .await
        .unwrap();
    let stored = {
        let client = client(&sandbox, Provider::Reapi);
        let submitted = client.submit(&request("Stored for later")).await.unwrap();
        serde_json::to_string(&submitted).unwrap()
    };
    // Another process, another client: the stored submission is all it needs.
    let submission: Submission = serde_json::from_str(&stored).unwrap();
    assert_eq!(submission.provider, Provider::Reapi);
    let client = client(&sandbox, Provider::Reapi);
    let finished = client
        .wait(&submission)
        .schedule(Duration::from_millis(20), 1.5, Duration::from_millis(50))
        .await
        .unwrap();
    let snapshot: TaskSnapshot =
        serde_json::from_str(&serde_json::to_string(finished.snapshot()).unwrap()).unwrap();
    assert_eq!(&snapshot, finished.snapshot());
    let again: Finished = serde_json::from_str(&serde_json::to_string(&finished).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = client
        .download(again.output(), dir.path().join("later.mp4"))
        .await
        .unwrap();
    assert_eq!(saved.bytes, SAMPLE_MP4.len() as u64);
}

#[tokio::test]
async fn extreme_wait_settings_neither_panic_nor_overflow() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.0))
        .await
        .unwrap();
    let client = client(&sandbox, Provider::HiApi);
    for (max_wait, multiplier) in [
        (Duration::MAX, f64::NAN),
        (Duration::from_secs(u64::MAX), -3.0),
        (Duration::ZERO, f64::INFINITY),
    ] {
        let submitted = client.submit(&request("Extreme settings")).await.unwrap();
        // The task is done at the first poll: these settings are only arithmetic.
        let finished = client
            .wait(&submitted)
            .max_wait(max_wait)
            .schedule(Duration::MAX, multiplier, Duration::MAX)
            .await
            .unwrap();
        assert_eq!(finished.id(), submitted.id);
    }
}
