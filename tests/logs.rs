//! What the client's `tracing` events show: every HTTP call, every retry decision with its
//! reason and delay, every download resume, and never the key. A test binary of its own: a
//! subscriber set for one test thread does not see callsites that parallel tests in the same
//! process registered first without one.
#![cfg(feature = "sandbox")]

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use happyhorse::{
    client::RetryPolicy,
    sandbox::{Sandbox, SandboxConfig},
    Client, ClientConfig, Prompt, Provider, VideoRequest,
};

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn debug_logs_show_each_call_retry_and_resume_and_never_the_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.2))
        .await
        .unwrap();
    let retry =
        RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let client = Client::new(
        ClientConfig::new(Provider::HiApi)
            .with_api_key("sk-secret-key-123")
            .with_base_url(sandbox.base_url(Provider::HiApi))
            .with_retry(RetryPolicy {
                max_retry_after: Duration::from_millis(20),
                ..retry
            })
            .with_header("X-Sandbox-Fault", "rate_limit*2,truncate"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = client
        .generate(&VideoRequest::text_to_video(
            Prompt::new("Through 429s").unwrap(),
        ))
        .save_to(dir.path().join("logged.mp4"))
        .await
        .unwrap();
    assert_eq!(saved.resumes, 1);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let ours: Vec<&str> = logs.lines().filter(|l| l.contains("happyhorse")).collect();
    let has = |parts: &[&str]| {
        ours.iter()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    };
    // Each 429 is a logged call and a logged retry decision with its reason and delay.
    assert_eq!(has(&["http call", "status=429"]), 2, "{logs}");
    assert_eq!(has(&["retrying", "429", "delay_ms="]), 2, "{logs}");
    assert!(
        has(&["http call", "operation=\"submit\"", "status=200"]) == 1,
        "{logs}"
    );
    assert!(has(&["http call", "operation=\"poll\""]) >= 1, "{logs}");
    // The cut transfer: a retry decision with its cause, then the resume from the byte it
    // stopped at.
    assert_eq!(
        has(&["retrying", "operation=\"download\"", "reason="]),
        1,
        "{logs}"
    );
    assert_eq!(has(&["resuming download", "from_byte="]), 1, "{logs}");
    assert!(
        !logs.contains("secret-key-123"),
        "the key leaked into the logs:\n{logs}"
    );
}
