//! Sandbox callbacks and webhooks over real HTTP on loopback: a local receiver gets each
//! provider's deliveries, signed as the provider signs them, redelivered after a failure.
#![cfg(feature = "sandbox")]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use common::{apiframe_job_url, http, http_with, seed_example, send_json, with};
use happyhorse::{
    generated::{apiframe, hiapi},
    sandbox::{Sandbox, SandboxConfig},
    webhook, Provider,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One POST the receiver got.
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }
}

/// A callback receiver on loopback that answers 500 to its first `fail_first` deliveries and
/// 200 after. Returns its URL and the deliveries as they arrive.
async fn receiver(fail_first: usize) -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                move |State((tx, seen)): State<(
                    mpsc::UnboundedSender<Delivery>,
                    Arc<AtomicUsize>,
                )>,
                      headers: HeaderMap,
                      body: Bytes| async move {
                    let _ = tx.send(Delivery { headers, body });
                    if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state((tx, seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("a delivery within 15 s")
        .expect("the receiver is running")
}

fn quick_retries() -> SandboxConfig {
    SandboxConfig::default().with_callback_retries(5, Duration::from_millis(20))
}

async fn submit(client: &reqwest::Client, url: String, body: &Value) -> Value {
    let answer = client.post(url).json(body).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

/// Submits the Apiframe quick-start job with its webhook at `hook`; returns the accepted
/// answer.
async fn submit_apiframe_with_webhook(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    hook: &str,
) -> Value {
    let mut job = seed_example(Provider::Apiframe, "quick-start.json");
    job["webhookUrl"] = json!(hook);
    submit(
        client,
        format!(
            "{}/v2/videos/generate",
            sandbox.base_url(Provider::Apiframe)
        ),
        &job,
    )
    .await
}

/// Polls the Apiframe job that `accepted` names, up to `polls` times 20 ms apart, until its
/// webhook is no longer pending, and returns the last `webhookStatus`.
async fn settled_webhook_status(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    accepted: &Value,
    polls: usize,
) -> Value {
    let url = apiframe_job_url(&sandbox.base_url(Provider::Apiframe), accepted);
    let mut status = Value::Null;
    for _ in 0..polls {
        let job = send_json(client.get(&url)).await;
        status = job["webhookStatus"].clone();
        if status != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    status
}

#[tokio::test]
async fn hiapi_callbacks_are_signed_and_redelivered_after_a_non_2xx_answer() {
    let sandbox = Sandbox::start(quick_retries().with_webhook_secret("whsec_test"))
        .await
        .unwrap();
    let (hook, mut deliveries) = receiver(1).await;
    let body = with(
        seed_example(Provider::HiApi, "t2v-minimal.json"),
        "/callback",
        json!({"url": hook, "when": "final"}),
    );
    let created = submit(
        &http("authorization", "Bearer sk-test"),
        format!("{}/tasks", sandbox.base_url(Provider::HiApi)),
        &body,
    )
    .await;
    let id = created["data"]["taskId"].clone();

    let (first, second) = (next(&mut deliveries).await, next(&mut deliveries).await);
    assert_eq!(
        first.body, second.body,
        "a redelivery carries the same body"
    );
    for delivery in [&first, &second] {
        let now = happyhorse_now();
        let checked = webhook::verify_hiapi(
            b"whsec_test",
            delivery.header(webhook::HIAPI_TIMESTAMP_HEADER),
            delivery.header(webhook::HIAPI_SIGNATURE_HEADER),
            &delivery.body,
            now,
        );
        assert_eq!(checked, Ok(()));
        assert_eq!(
            webhook::verify_hiapi(
                b"another secret",
                delivery.header(webhook::HIAPI_TIMESTAMP_HEADER),
                delivery.header(webhook::HIAPI_SIGNATURE_HEADER),
                &delivery.body,
                now,
            ),
            Err(webhook::SignatureError::Mismatch)
        );
    }
    // The body is the task object, as the generated type reads it.
    let task: hiapi::types::Task = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(
        (json!(task.task_id), task.status.0.as_str()),
        (id, "success")
    );
    assert!(task.output.unwrap()[0].url.starts_with("http://127.0.0.1:"));
}

fn happyhorse_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn hiapi_callbacks_go_unsigned_without_a_secret() {
    let sandbox = Sandbox::start(quick_retries()).await.unwrap();
    let (hook, mut deliveries) = receiver(0).await;
    submit_with_callback(&sandbox, &hook).await;
    let delivery = next(&mut deliveries).await;
    assert_eq!(delivery.header(webhook::HIAPI_SIGNATURE_HEADER), None);
    assert_eq!(delivery.json()["status"], "success");
}

#[tokio::test]
async fn apiframe_webhooks_report_progress_then_completion_signed_with_the_key_hash() {
    let sandbox = Sandbox::start(quick_retries().with_task_seconds(0.8))
        .await
        .unwrap();
    let (hook, mut deliveries) = receiver(0).await;
    let mut body = seed_example(Provider::Apiframe, "quick-start.json");
    body["webhookUrl"] = json!(hook);
    body["webhookEvents"] = json!(["progress", "completed"]);
    let client = http("x-api-key", "afk_hooktest");
    let accepted = submit(
        &client,
        format!(
            "{}/v2/videos/generate",
            sandbox.base_url(Provider::Apiframe)
        ),
        &body,
    )
    .await;

    let mut statuses = Vec::new();
    loop {
        let delivery = next(&mut deliveries).await;
        assert_eq!(
            webhook::verify_apiframe(
                "afk_hooktest",
                delivery.header(webhook::APIFRAME_SIGNATURE_HEADER),
                &delivery.body
            ),
            Ok(())
        );
        let job: apiframe::types::Job = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(json!(job.id), accepted["jobId"]);
        statuses.push((job.status.0.clone(), job.progress));
        if job.status.0 == "COMPLETED" {
            break;
        }
    }
    let progress: Vec<i64> = statuses[..statuses.len() - 1]
        .iter()
        .map(|(status, progress)| {
            assert_eq!(status, "PROCESSING");
            progress.expect("a progress event carries progress")
        })
        .collect();
    assert_eq!(progress.len(), 3, "{statuses:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(statuses.last().unwrap().1, Some(100));

    let job: Value = send_json(client.get(apiframe_job_url(
        &sandbox.base_url(Provider::Apiframe),
        &accepted,
    )))
    .await;
    assert_eq!(job["webhookStatus"], "delivered");
}

#[tokio::test]
async fn callback_urls_must_be_https_except_to_loopback() {
    let sandbox = Sandbox::start(quick_retries()).await.unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let tasks = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let t2v = seed_example(Provider::HiApi, "t2v-minimal.json");
    let refused = hiapi
        .post(&tasks)
        .json(&with(
            t2v.clone(),
            "/callback",
            json!({"url": "http://example.com/hook"}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let answer: Value = refused.json().await.unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("url: \"http://example.com/hook\" does not match pattern"),
        "{answer}"
    );
    for url in ["http://127.0.0.1:9/hook", "https://example.com/hook"] {
        let accepted = hiapi
            .post(&tasks)
            .json(&with(t2v.clone(), "/callback", json!({ "url": url })))
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 200, "{url}");
    }

    let apiframe = http("x-api-key", "afk_test");
    let generate = format!(
        "{}/v2/videos/generate",
        sandbox.base_url(Provider::Apiframe)
    );
    let mut job = seed_example(Provider::Apiframe, "quick-start.json");
    job["webhookUrl"] = json!("http://10.0.0.1/hook");
    let refused = apiframe.post(&generate).json(&job).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let answer: Value = refused.json().await.unwrap();
    assert!(answer["details"]["webhookUrl"].is_array(), "{answer}");

    // Accepted, as Apiframe would accept it, but the sandbox never leaves the machine: the
    // delivery is recorded as failed.
    job["webhookUrl"] = json!("https://example.com/hook");
    let accepted = submit(&apiframe, generate, &job).await;
    assert_eq!(
        settled_webhook_status(&apiframe, &sandbox, &accepted, 200).await,
        "failed"
    );
}

#[tokio::test]
async fn callback_faults_duplicate_drop_and_fail_deliveries() {
    let sandbox = Sandbox::start(quick_retries()).await.unwrap();
    let tasks = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let (hook, mut deliveries) = receiver(0).await;
    let body = with(
        seed_example(Provider::HiApi, "t2v-minimal.json"),
        "/callback",
        json!({ "url": hook }),
    );

    let duplicated = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "duplicate_callback"),
    ]);
    submit(&duplicated, tasks.clone(), &body).await;
    let (first, second) = (next(&mut deliveries).await, next(&mut deliveries).await);
    assert_eq!(first.body, second.body);

    // A failed task is delivered too, with its error.
    let failing = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "fail=TASK_TIMEOUT:took too long"),
    ]);
    submit(&failing, tasks.clone(), &body).await;
    let failed = next(&mut deliveries).await.json();
    assert_eq!(failed["status"], "fail");
    assert_eq!(
        failed["error"],
        json!({"code": "TASK_TIMEOUT", "message": "took too long"})
    );

    // A dropped webhook never arrives; Apiframe records it as failed.
    let apiframe = http_with(&[
        ("x-api-key", "afk_test"),
        ("x-sandbox-fault", "drop_callback"),
    ]);
    let accepted = submit_apiframe_with_webhook(&apiframe, &sandbox, &hook).await;
    // Polled with a client that asks for no fault.
    let poll = http("x-api-key", "afk_test");
    assert_eq!(
        settled_webhook_status(&poll, &sandbox, &accepted, 200).await,
        "failed"
    );
    assert!(deliveries.try_recv().is_err(), "a dropped webhook arrived");
}

#[tokio::test]
async fn a_receiver_that_never_accepts_gets_every_attempt_then_the_webhook_counts_as_failed() {
    let attempts = 3;
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_callback_retries(attempts, Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let (hook, mut deliveries) = receiver(usize::MAX).await;
    let apiframe = http("x-api-key", "afk_test");
    let accepted = submit_apiframe_with_webhook(&apiframe, &sandbox, &hook).await;
    // The receiver records each delivery before it answers, so once the sandbox has given up
    // every attempt is in the channel.
    assert_eq!(
        settled_webhook_status(&apiframe, &sandbox, &accepted, 500).await,
        "failed"
    );
    let mut bodies = Vec::new();
    while let Ok(delivery) = deliveries.try_recv() {
        bodies.push(delivery.body);
    }
    assert_eq!(bodies.len(), attempts as usize, "one delivery per attempt");
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same event each time"
    );
    // And none after the last attempt.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        deliveries.try_recv().is_err(),
        "a delivery after the last attempt"
    );
}

/// Submits a HiAPI task whose callback goes to `hook`.
async fn submit_with_callback(sandbox: &Sandbox, hook: &str) {
    let body = with(
        seed_example(Provider::HiApi, "t2v-minimal.json"),
        "/callback",
        json!({"url": hook}),
    );
    submit(
        &http("authorization", "Bearer sk-test"),
        format!("{}/tasks", sandbox.base_url(Provider::HiApi)),
        &body,
    )
    .await;
}

#[tokio::test]
async fn no_callback_is_delivered_after_shutdown_returns() {
    // A delivery still waiting for its task to end.
    let sandbox = Sandbox::start(quick_retries().with_task_seconds(0.5))
        .await
        .unwrap();
    let (hook, mut deliveries) = receiver(0).await;
    submit_with_callback(&sandbox, &hook).await;
    sandbox.shutdown().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        deliveries.try_recv().is_err(),
        "a callback arrived after shutdown returned"
    );

    // A delivery between retries: the receiver refuses every attempt, the retries keep coming
    // (the third within 80 ms of the second) until the sandbox shuts down.
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_callback_retries(50, Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let (hook, mut deliveries) = receiver(usize::MAX).await;
    submit_with_callback(&sandbox, &hook).await;
    next(&mut deliveries).await;
    next(&mut deliveries).await;
    sandbox.shutdown().await;
    let after = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = 0;
    while deliveries.try_recv().is_ok() {
        late += 1;
    }
    assert_eq!(
        late, 0,
        "{late} attempts after shutdown returned at {after:?}"
    );
}

#[tokio::test]
async fn dropping_the_sandbox_stops_its_callbacks() {
    let sandbox = Sandbox::start(quick_retries().with_task_seconds(0.5))
        .await
        .unwrap();
    let (hook, mut deliveries) = receiver(0).await;
    submit_with_callback(&sandbox, &hook).await;
    drop(sandbox);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        deliveries.try_recv().is_err(),
        "a callback arrived after the sandbox was dropped"
    );
}
