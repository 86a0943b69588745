//! Sandbox callbacks and webhooks over real HTTP on loopback: a local receiver gets each
//! provider's deliveries, signed as the provider signs them, redelivered after a failure; the
//! sandbox's delivery log ([`Sandbox::deliveries`], `--delivery-log`) agrees with what the
//! receiver counted.
#![cfg(feature = "sandbox")]

mod common;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use common::{apiframe_job_url, http, http_with, seed_example, send_json, with};
use happyhorse::{
    generated::{apiframe, hiapi},
    sandbox::{
        Delivery as Logged, DeliveryEvent, DeliveryOutcome, FaultRates, Sandbox, SandboxConfig,
    },
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
    // The log shows the three progress events, then the terminal one.
    let events: Vec<(DeliveryEvent, &str, u32)> = sandbox
        .deliveries()
        .iter()
        .map(|d| (d.event, d.task_status, d.attempt))
        .collect();
    assert_eq!(
        events,
        [
            (DeliveryEvent::Progress, "PROCESSING", 1),
            (DeliveryEvent::Progress, "PROCESSING", 1),
            (DeliveryEvent::Progress, "PROCESSING", 1),
            (DeliveryEvent::Terminal, "COMPLETED", 1),
        ]
    );
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

    // Duplicated to a receiver of its own: a third copy may follow the first two.
    let (duplicate_hook, mut duplicates) = receiver(0).await;
    let duplicated = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "duplicate_callback"),
    ]);
    let duplicate_body = with(body.clone(), "/callback", json!({ "url": duplicate_hook }));
    submit(&duplicated, tasks.clone(), &duplicate_body).await;
    let (first, second) = (next(&mut duplicates).await, next(&mut duplicates).await);
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

/// What a counting receiver saw of one task.
#[derive(Debug, Default)]
struct Counted {
    /// Deliveries received.
    received: usize,
    /// Deliveries being answered now.
    in_flight: usize,
    /// The most deliveries of this task answered at once.
    max_in_flight: usize,
}

type Counts = Arc<Mutex<HashMap<String, Counted>>>;

/// A receiver on loopback that holds each delivery for `hold` before it answers 200, counting
/// per task (Apiframe `id`, HiAPI `taskId`) the deliveries and how many were in flight at once.
async fn counting_receiver(hold: Duration) -> (String, Counts) {
    let counts = Counts::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                move |State(counts): State<Counts>, body: Bytes| async move {
                    let body: Value = serde_json::from_slice(&body).expect("a JSON delivery");
                    let id = body["id"]
                        .as_str()
                        .or(body["taskId"].as_str())
                        .expect("a task id")
                        .to_owned();
                    {
                        let mut counts = counts.lock().unwrap();
                        let seen = counts.entry(id.clone()).or_default();
                        seen.received += 1;
                        seen.in_flight += 1;
                        seen.max_in_flight = seen.max_in_flight.max(seen.in_flight);
                    }
                    tokio::time::sleep(hold).await;
                    // Out of flight before the answer leaves, so that a copy sent after this one's
                    // answer never counts as concurrent.
                    counts.lock().unwrap().get_mut(&id).unwrap().in_flight -= 1;
                    StatusCode::OK
                },
            ),
        )
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, counts)
}

/// Tasks of 2 simulated seconds that run 100 times as fast: 20 ms.
fn short_tasks() -> SandboxConfig {
    quick_retries()
        .with_task_seconds(2.0)
        .with_time_scale(100.0)
}

/// Submits `n` Apiframe jobs with the API key `key` (and `X-Sandbox-Fault: fault`, if any) and
/// their webhook at `hook`, then waits, up to 30 s each, until each one's webhook is `settled`
/// ("delivered" or "failed": every delivery and record for it is done). Returns the job ids.
async fn settled_jobs(
    sandbox: &Sandbox,
    (key, fault): (&str, Option<&str>),
    hook: &str,
    n: usize,
    settled: &str,
) -> Vec<String> {
    let mut headers = vec![("x-api-key", key)];
    headers.extend(fault.map(|fault| ("x-sandbox-fault", fault)));
    let client = http_with(&headers);
    let mut accepted = Vec::new();
    for _ in 0..n {
        accepted.push(submit_apiframe_with_webhook(&client, sandbox, hook).await);
    }
    // Polled with a client that asks for no fault.
    let poll = http("x-api-key", key);
    let mut ids = Vec::new();
    for job in &accepted {
        assert_eq!(
            settled_webhook_status(&poll, sandbox, job, 1500).await,
            settled,
            "{job}"
        );
        ids.push(job["jobId"].as_str().expect("a job id").to_owned());
    }
    ids
}

/// The log's records of task `id`.
fn records_of<'a>(log: &'a [Logged], id: &str) -> Vec<&'a Logged> {
    log.iter().filter(|d| d.task_id == id).collect()
}

#[tokio::test]
async fn duplicated_terminal_events_arrive_two_or_three_times_some_at_once_as_logged() {
    let faults = FaultRates::none().with("duplicate_callback", 1.0).unwrap();
    let sandbox = Sandbox::start(short_tasks().with_faults(faults))
        .await
        .unwrap();
    let (hook, counts) = counting_receiver(Duration::from_millis(300)).await;
    let ids = settled_jobs(&sandbox, ("afk_test", None), &hook, 20, "delivered").await;

    let log = sandbox.deliveries();
    let counts = counts.lock().unwrap();
    let mut shapes = HashMap::new();
    for id in &ids {
        let records = records_of(&log, id);
        let seen = counts.get(id.as_str()).expect("the receiver saw the task");
        // The log agrees with the receiver: one record per delivery received, all answered
        // 200 at the first attempt.
        assert_eq!(records.len(), seen.received, "{id}: {records:?} {seen:?}");
        for record in &records {
            assert_eq!(
                (
                    record.provider,
                    record.event,
                    record.task_status,
                    record.attempt,
                    record.outcome
                ),
                (
                    Provider::Apiframe,
                    DeliveryEvent::Terminal,
                    "COMPLETED",
                    1,
                    DeliveryOutcome::Status(200)
                ),
                "{id}"
            );
            assert!(record.outcome.is_delivered());
        }
        let mut copies: Vec<(u8, bool)> = records.iter().map(|d| (d.copy, d.concurrent)).collect();
        copies.sort_unstable();
        // Three copies: the first two at once, the third after. Two: at once or in turn.
        assert!(
            [
                vec![(1, true), (2, true), (3, false)],
                vec![(1, true), (2, true)],
                vec![(1, false), (2, false)],
            ]
            .contains(&copies),
            "{id}: {copies:?}"
        );
        // Copies sent in turn never overlap at the receiver, and never more than two do.
        if copies.iter().all(|(_, concurrent)| !concurrent) {
            assert_eq!(seen.max_in_flight, 1, "{id}: {copies:?}");
        }
        assert!(seen.max_in_flight <= 2, "{id}: {seen:?}");
        *shapes.entry(copies.len()).or_insert(0) += 1;
    }
    assert_eq!(
        counts.values().map(|seen| seen.received).sum::<usize>(),
        log.len(),
        "nothing else was delivered or logged"
    );
    // With 20 tasks, some have two copies at the same time at the receiver (each task's are
    // concurrent at odds of 3 in 4; the receiver holds each for 300 ms).
    assert!(
        counts.values().any(|seen| seen.max_in_flight >= 2),
        "no task had two copies in flight at once: {counts:?}"
    );
    assert_eq!(shapes.values().sum::<usize>(), ids.len(), "{shapes:?}");
}

#[tokio::test]
async fn dropped_terminal_events_never_arrive_and_are_logged_once_per_task() {
    let faults = FaultRates::none().with("drop_callback", 1.0).unwrap();
    let sandbox = Sandbox::start(short_tasks().with_faults(faults))
        .await
        .unwrap();
    let (hook, counts) = counting_receiver(Duration::ZERO).await;
    let ids = settled_jobs(&sandbox, ("afk_test", None), &hook, 5, "failed").await;

    assert!(
        counts.lock().unwrap().is_empty(),
        "a dropped webhook arrived"
    );
    let log = sandbox.deliveries();
    assert_eq!(log.len(), ids.len(), "{log:?}");
    for id in &ids {
        let records = records_of(&log, id);
        assert_eq!(records.len(), 1, "{id}: {records:?}");
        let dropped = records[0];
        assert_eq!(
            (
                dropped.event,
                dropped.task_status,
                dropped.copy,
                dropped.attempt,
                dropped.concurrent,
                dropped.duration,
                dropped.outcome
            ),
            (
                DeliveryEvent::Terminal,
                "COMPLETED",
                1,
                0,
                false,
                Duration::ZERO,
                DeliveryOutcome::Dropped
            )
        );
        assert!(!dropped.outcome.is_delivered());
    }
}

#[tokio::test]
async fn a_refused_attempt_then_an_accepted_one_are_logged_as_attempts_1_and_2() {
    let sandbox = Sandbox::start(short_tasks()).await.unwrap();
    let (hook, mut deliveries) = receiver(1).await;
    let before = SystemTime::now();
    let ids = settled_jobs(&sandbox, ("afk_test", None), &hook, 1, "delivered").await;
    assert!(next(&mut deliveries).await.json()["status"] == "COMPLETED");

    let log = sandbox.deliveries();
    let records = records_of(&log, &ids[0]);
    let attempts: Vec<(u8, u32, bool, DeliveryOutcome)> = records
        .iter()
        .map(|d| (d.copy, d.attempt, d.concurrent, d.outcome))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, 1, false, DeliveryOutcome::Status(500)),
            (1, 2, false, DeliveryOutcome::Status(200)),
        ]
    );
    assert!(records[1].started_at >= records[0].started_at);

    // The task finished (real time) before its terminal event was first sent, and no sooner
    // than its 20 ms after the submit (a second's leeway for the two ways of reading the wall
    // clock).
    let observed = sandbox.observations();
    assert_eq!(observed.len(), 1);
    let finished = observed[0].finished_at;
    assert!(
        finished <= records[0].started_at + Duration::from_millis(1),
        "{finished:?} {:?}",
        records[0].started_at
    );
    assert!(
        finished + Duration::from_secs(1) >= before + Duration::from_millis(20),
        "{finished:?} {before:?}"
    );
}

/// A delivery log file's line, checked against the record it should be.
fn assert_line_matches(line: &Value, record: &Logged) {
    let since_epoch = record.started_at.duration_since(UNIX_EPOCH).unwrap();
    let http_status = match record.outcome {
        DeliveryOutcome::Status(status) => json!(status),
        _ => Value::Null,
    };
    let outcome = match record.outcome {
        DeliveryOutcome::Status(_) => "status",
        DeliveryOutcome::TimedOut => "timed_out",
        DeliveryOutcome::NoAnswer => "no_answer",
        DeliveryOutcome::NotDeliverable => "not_deliverable",
        DeliveryOutcome::Dropped => "dropped",
        _ => panic!("an outcome this test does not know: {record:?}"),
    };
    assert_eq!(
        (
            &line["provider"],
            &line["task_id"],
            &line["event"],
            &line["task_status"],
            &line["copy"],
            &line["attempt"],
            &line["concurrent"],
            &line["outcome"],
            &line["http_status"],
            &line["started_unix_ms"],
        ),
        (
            &json!(record.provider.name()),
            &json!(record.task_id),
            &json!(record.event.name()),
            &json!(record.task_status),
            &json!(record.copy),
            &json!(record.attempt),
            &json!(record.concurrent),
            &json!(outcome),
            &http_status,
            &json!(since_epoch.as_millis() as u64),
        ),
        "{line}"
    );
    let started = chrono::DateTime::parse_from_rfc3339(line["started_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        line["started_at"].as_str().unwrap().ends_with('Z'),
        "{line}"
    );
    let started = SystemTime::from(started);
    let apart = record
        .started_at
        .duration_since(started)
        .unwrap_or_else(|err| err.duration());
    assert!(apart < Duration::from_micros(1), "{line} {record:?}");
    let duration_ms = line["duration_ms"].as_f64().unwrap();
    assert!(
        (duration_ms - record.duration.as_secs_f64() * 1000.0).abs() < 1e-6,
        "{line} {record:?}"
    );
}

#[tokio::test]
async fn the_delivery_log_file_has_a_json_line_per_record_and_never_the_urls_query() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.jsonl");
    let sandbox = Sandbox::start(short_tasks().with_delivery_log(&path))
        .await
        .unwrap();
    let (hook, _deliveries) = receiver(1).await;
    let secret_hook = format!("{hook}?token=secret");
    // The API key is not in the log either (Apiframe signs with its hash).
    let plain = ("afk_secret_key", None);
    // Refused once, then delivered: attempts 1 and 2.
    settled_jobs(&sandbox, plain, &secret_hook, 1, "delivered").await;
    // Not on loopback: not deliverable.
    let elsewhere = "https://example.com/hook?token=secret";
    settled_jobs(&sandbox, plain, elsewhere, 1, "failed").await;
    // Dropped by a fault.
    let dropping = ("afk_secret_key", Some("drop_callback"));
    settled_jobs(&sandbox, dropping, &secret_hook, 1, "failed").await;

    let log = sandbox.deliveries();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("secret"), "{text}");
    assert!(!text.contains("token"), "{text}");
    assert!(!text.contains("example.com"), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), log.len(), "{text}");
    for (line, record) in lines.iter().zip(&log) {
        assert_line_matches(line, record);
    }
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|line| line["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["status", "status", "not_deliverable", "dropped"],
        "{text}"
    );

    // Appended to, never truncated: a second sandbox adds its lines after the first's.
    sandbox.shutdown().await;
    let again = Sandbox::start(short_tasks().with_delivery_log(&path))
        .await
        .unwrap();
    settled_jobs(&again, dropping, &secret_hook, 1, "failed").await;
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.starts_with(&text), "{after}");
    assert_eq!(after.lines().count(), lines.len() + 1, "{after}");

    // A log that cannot be opened stops the sandbox from starting, and says which file.
    let err = Sandbox::start(SandboxConfig::default().with_delivery_log(dir.path()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("delivery log"), "{err}");
}

/// `happyhorse sandbox --delivery-log FILE`, run as a user runs it.
#[cfg(feature = "cli")]
#[tokio::test]
async fn the_cli_sandbox_appends_deliveries_to_its_delivery_log() {
    use std::{
        io::{BufRead, BufReader},
        process::{Command, Stdio},
    };

    /// Kills the sandbox if the test fails before it does.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cli-deliveries.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--task-seconds", "0"])
        .arg("--delivery-log")
        .arg(&path)
        .env_remove("RUST_LOG")
        .env_remove("HAPPYHORSE_SANDBOX_API_KEY")
        .env_remove("HIAPI_WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let banner: Vec<String> = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map(|line| line.unwrap())
            .take_while(|line| line != "Ctrl-C to stop.")
            .collect()
    })
    .await
    .unwrap();
    let addr = banner[0]
        .strip_prefix("happyhorse sandbox listening on ")
        .expect("the listening line");
    assert!(
        banner
            .iter()
            .any(|line| line.contains("one JSON line per attempt")),
        "{banner:?}"
    );

    let (hook, _deliveries) = receiver(0).await;
    let mut job = seed_example(Provider::Apiframe, "quick-start.json");
    job["webhookUrl"] = json!(format!("{hook}?token=secret"));
    let client = http("x-api-key", "afk_test");
    let base = format!("http://{addr}");
    let accepted = submit(&client, format!("{base}/v2/videos/generate"), &job).await;
    let url = apiframe_job_url(&base, &accepted);
    let mut status = Value::Null;
    for _ in 0..1500 {
        status = send_json(client.get(&url)).await["webhookStatus"].clone();
        if status != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "delivered");
    drop(running);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("secret"), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = &lines[0];
    assert_eq!(
        (
            &line["provider"],
            &line["task_id"],
            &line["event"],
            &line["task_status"],
            &line["copy"],
            &line["attempt"],
            &line["outcome"],
            &line["http_status"],
        ),
        (
            &json!("apiframe"),
            &accepted["jobId"],
            &json!("terminal"),
            &json!("COMPLETED"),
            &json!(1),
            &json!(1),
            &json!("status"),
            &json!(200),
        ),
        "{line}"
    );
}
