//! `happyhorse serve` as a process, over real HTTP on loopback, writing to a ledger this test
//! prepared and reads: what each answer is (200 applied or duplicate, 400, 401, 404, 503), what
//! the ledger holds after it (recorded once, every delivery counted, nothing changed by a
//! refused one), and what the logs never show (secrets, keys, signatures, signed URLs).
//!
//! Every scenario runs on SQLite (a file in a temporary directory) and, with the `postgres`
//! feature, on a fresh database of a throwaway PostgreSQL cluster (see `common::pg`; skipped
//! without PostgreSQL's programs unless `HAPPYHORSE_REQUIRE_POSTGRES=1`).
#![cfg(feature = "cli")]

mod common;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::process::{command, Exit, Running};

use chrono::{DateTime, Utc};
use happyhorse::{
    ledger::{self, Job, JobState, Ledger, NewJob, Transition},
    webhook, Provider,
};
use serde_json::{json, Value};

/// HiAPI's callback signing secret the receiver is given.
const SECRET: &str = "whsec_receiver_test_8Qm2Zr";
/// A secret the receiver does not know: what a forger signs with.
const OTHER_SECRET: &str = "whsec_forger_4Kd9Lp";
/// The Apiframe API key the receiver verifies webhooks with.
const API_KEY: &str = "af_receiver_test_key_7Hn3Vx";
/// An Apiframe key the receiver does not know.
const OTHER_KEY: &str = "af_forger_key_2Wq8Tc";
/// The query of every output URL: a signed URL's credential, never to be logged.
const URL_QUERY: &str = "X-Amz-Signature=topsecret";
/// How long anything may take before the test gives up (never an assertion of speed).
const PATIENCE: Duration = Duration::from_secs(120);

const HIAPI_OK: &str = "tk-receiver-ok";
const HIAPI_MANY: &str = "tk-receiver-many";
const HIAPI_FAIL: &str = "tk-receiver-fail";
const HIAPI_UNTOUCHED: &str = "tk-receiver-untouched";
const APIFRAME_JOB: &str = "0b6f5c9e-3d1a-4f2b-8c7d-9e0a1b2c3d4e";
const APIFRAME_FAILED: &str = "7c1e2d3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

// ---------------------------------------------------------------------------------------------
// The ledger, prepared and read through the library.

/// Jobs `(job id, provider, task id)` recorded, claimed by a worker and driven to `submitted`
/// with those task ids, as a batch with `--callback-url` leaves them.
async fn prepare(location: &str, plan: &[(&str, Provider, &str)]) -> Box<dyn Ledger> {
    let ledger = ledger::open(location).await.expect("the ledger opens");
    let jobs: Vec<NewJob> = plan
        .iter()
        .enumerate()
        .map(|(i, (id, provider, _))| NewJob {
            id: (*id).to_owned(),
            line: Some(i as u64 + 1),
            provider: *provider,
            body: json!({"model": "happyhorse-1.1", "prompt": format!("a horse, take {i}")}),
            idempotency_key: Some(format!("hh-{id}")),
            resolution: "720p".into(),
            video_seconds: 5,
            credits: (*provider == Provider::Apiframe).then_some(120),
            output_name: format!("{id}.mp4"),
        })
        .collect();
    let enqueued = ledger.enqueue(&jobs).await.expect("enqueue");
    assert_eq!(enqueued.inserted, plan.len() as u64);
    let claimed = ledger
        .claim("worker-1", Duration::from_secs(3600), plan.len() as u32)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), plan.len());
    for job in claimed {
        let lease = job.lease.clone().expect("a claimed job has a lease");
        let (_, provider, task) = plan
            .iter()
            .find(|(id, _, _)| *id == job.id)
            .expect("a planned job");
        ledger
            .apply(
                &lease,
                Transition::submitting(Some(format!("https://hooks.example/{provider}?token=cb"))),
            )
            .await
            .expect("submitting");
        let status = match provider {
            Provider::Apiframe => "QUEUED",
            _ => "queued",
        };
        let submitted = ledger
            .apply(
                &lease,
                Transition::Submitted {
                    task_id: (*task).to_owned(),
                    status: status.into(),
                },
            )
            .await
            .expect("submitted");
        assert_eq!(submitted.state, JobState::Submitted);
        assert_eq!(submitted.task_id.as_deref(), Some(*task));
        assert_eq!((submitted.deliveries, submitted.heard_at), (0, None));
    }
    ledger
}

async fn jobs(ledger: &dyn Ledger) -> BTreeMap<String, Job> {
    ledger
        .jobs()
        .await
        .expect("the ledger reads")
        .into_iter()
        .map(|job| (job.id.clone(), job))
        .collect()
}

async fn job(ledger: &dyn Ledger, id: &str) -> Job {
    jobs(ledger).await.remove(id).expect("the job is recorded")
}

/// `job` but for its delivery count: what a duplicate may change.
fn but_deliveries(job: &Job) -> Job {
    let mut job = job.clone();
    job.deliveries = 0;
    job
}

// ---------------------------------------------------------------------------------------------
// The binary.

async fn serve(location: &str, env: &[(&str, &str)]) -> (Running, String) {
    common::process::serve(location, env, PATIENCE)
}

// ---------------------------------------------------------------------------------------------
// Deliveries.

/// One answer: the status, the JSON body, and the raw text.
#[derive(Debug)]
struct Answer {
    status: u16,
    json: Value,
    text: String,
}

impl Answer {
    fn outcome(&self) -> &str {
        self.json["outcome"].as_str().unwrap_or("")
    }
}

/// Posts deliveries to one receiver, remembering every signature it sends (for the log check).
#[derive(Clone)]
struct Sender {
    client: reqwest::Client,
    base: String,
    signatures: Arc<Mutex<Vec<String>>>,
}

impl Sender {
    fn new(base: &str) -> Sender {
        Sender {
            client: common::plain_http(),
            base: base.to_owned(),
            signatures: Arc::default(),
        }
    }

    /// Posts one delivery; panics if the answer shows a secret.
    async fn post(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
        let answer = self.post_unchecked(path, headers, body).await;
        for secret in [SECRET, OTHER_SECRET, API_KEY, OTHER_KEY, "topsecret"] {
            assert!(
                !answer.text.contains(secret),
                "the answer shows {secret}: {}",
                answer.text
            );
        }
        answer
    }

    async fn post_unchecked(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .timeout(PATIENCE)
            .body(body.to_vec());
        for (name, value) in headers {
            if value.len() >= 32 {
                self.signatures.lock().unwrap().push(value.clone());
            }
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("the receiver answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("an answer body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("a JSON answer ({e}), got {status} {text:?}"));
        Answer { status, json, text }
    }

    /// A HiAPI callback signed with `secret` at `timestamp`.
    async fn hiapi_signed(&self, secret: &str, timestamp: u64, body: &[u8]) -> Answer {
        self.post("/hiapi", &hiapi_headers(secret, timestamp, body), body)
            .await
    }

    /// A HiAPI callback signed as HiAPI signs it, now.
    async fn hiapi(&self, body: &[u8]) -> Answer {
        self.hiapi_signed(SECRET, now(), body).await
    }

    /// An Apiframe webhook signed with `api_key`.
    async fn apiframe_signed(&self, api_key: &str, body: &[u8]) -> Answer {
        let signature = webhook::apiframe_signature(api_key, body);
        self.post(
            "/apiframe",
            &[(webhook::APIFRAME_SIGNATURE_HEADER, signature)],
            body,
        )
        .await
    }

    fn signatures(&self) -> Vec<String> {
        self.signatures.lock().unwrap().clone()
    }
}

/// The headers HiAPI signs `body` with, with `secret` at `timestamp`.
fn hiapi_headers(secret: &str, timestamp: u64, body: &[u8]) -> [(&'static str, String); 2] {
    [
        (webhook::HIAPI_TIMESTAMP_HEADER, timestamp.to_string()),
        (
            webhook::HIAPI_SIGNATURE_HEADER,
            webhook::hiapi_signature(secret.as_bytes(), timestamp, body),
        ),
    ]
}

fn output_url(task: &str) -> String {
    format!("https://temp.hiapi.ai/outputs/{task}-0.mp4?{URL_QUERY}")
}

const EXPIRE_AT: i64 = 1_900_000_000;

/// A HiAPI task object (the `Task` schema of openapi/hiapi.yaml) that succeeded.
fn hiapi_success(task: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "taskId": task,
        "model": "happyhorse-1.1/text-to-video",
        "status": "success",
        "created": 1_750_000_000,
        "completed": 1_750_000_180,
        "route": null,
        "output": [{"type": "video", "url": output_url(task), "expireAt": EXPIRE_AT}],
        "error": null,
    }))
    .unwrap()
}

/// A HiAPI task object that failed, with the provider's code and message.
fn hiapi_failure(task: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "taskId": task,
        "model": "happyhorse-1.1/text-to-video",
        "status": "fail",
        "created": 1_750_000_000,
        "completed": 1_750_000_090,
        "output": null,
        "error": {"code": "CONTENT_MODERATION", "message": message},
    }))
    .unwrap()
}

/// An Apiframe job object (the `Job` schema of openapi/apiframe.yaml).
fn apiframe_job(
    id: &str,
    status: &str,
    progress: Option<u8>,
    done: bool,
    error: Option<&str>,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "status": status,
        "model": "happyhorse-1.1",
        "progress": progress,
        "error": error,
        "creditCost": if done { json!(120) } else { Value::Null },
        "webhookStatus": "pending",
        "createdAt": "2025-06-01T12:00:00Z",
        "completedAt": if done || error.is_some() { json!("2025-06-01T12:03:00Z") } else { Value::Null },
        "expired": false,
        "result": if done { json!({"urls": [output_url(id)]}) } else { Value::Null },
        "input": {"prompt": "a horse on a beach"},
    }))
    .unwrap()
}

fn assert_answer(answer: &Answer, status: u16, outcome: &str, what: &str) {
    assert_eq!(
        (answer.status, answer.outcome()),
        (status, outcome),
        "{what}: {}",
        answer.text
    );
    if status != 200 {
        assert!(
            answer.json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: a refusal says why: {}",
            answer.text
        );
    }
}

/// The final `deliveries: ...` line serve prints when stopped, as numbers: recorded,
/// duplicates, unknown, refused, not recorded.
fn final_counts(stderr: &str) -> [u64; 5] {
    let line = stderr
        .lines()
        .find(|line| line.starts_with("deliveries: "))
        .unwrap_or_else(|| panic!("no final counts in:\n{stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|word| !word.is_empty())
        .map(|n| n.parse().unwrap())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|n| panic!("five counts in {line:?}: {n:?}"))
}

/// What the logs may never show.
fn assert_nothing_secret(stderr: &str, signatures: &[String]) {
    let key_hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(API_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    for secret in [
        SECRET,
        OTHER_SECRET,
        API_KEY,
        OTHER_KEY,
        key_hash.as_str(),
        URL_QUERY,
        "topsecret",
        "X-Amz-Signature",
        "token=cb",
    ] {
        assert!(
            !stderr.contains(secret),
            "the log shows {secret:?}:\n{stderr}"
        );
    }
    assert!(!signatures.is_empty());
    for signature in signatures {
        let hex = signature.trim_start_matches("sha256=");
        assert!(
            !stderr.contains(hex),
            "the log shows a signature ({hex}):\n{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios, each taking a ledger location.

/// HiAPI callbacks and Apiframe webhooks into a receiver configured for both.
async fn deliveries(location: &str) {
    let ledger = prepare(
        location,
        &[
            ("h-ok", Provider::HiApi, HIAPI_OK),
            ("h-many", Provider::HiApi, HIAPI_MANY),
            ("h-fail", Provider::HiApi, HIAPI_FAIL),
            ("h-untouched", Provider::HiApi, HIAPI_UNTOUCHED),
            ("a-job", Provider::Apiframe, APIFRAME_JOB),
            ("a-failed", Provider::Apiframe, APIFRAME_FAILED),
        ],
    )
    .await;
    let ledger = &*ledger;
    let (running, base) = serve(
        location,
        &[
            ("HIAPI_WEBHOOK_SECRET", SECRET),
            (Provider::Apiframe.api_key_env(), API_KEY),
        ],
    )
    .await;
    let send = Sender::new(&base);
    let mut refused = 0;

    // 1. A valid signed success is recorded: the job succeeded with its output, heard, once.
    let body = hiapi_success(HIAPI_OK);
    let sent_at = now();
    let first = send.hiapi_signed(SECRET, sent_at, &body).await;
    assert_answer(&first, 200, "applied", "a signed success");
    let ok = job(ledger, "h-ok").await;
    assert_eq!(ok.state, JobState::Succeeded, "{ok:?}");
    let output = ok.output.clone().expect("the output is recorded");
    assert_eq!(output.url, output_url(HIAPI_OK));
    assert_eq!(output.expires_at, DateTime::from_timestamp(EXPIRE_AT, 0));
    assert!(!output.expired);
    assert_eq!(ok.status.as_deref(), Some("success"));
    assert!(ok.heard_at.is_some(), "{ok:?}");
    assert_eq!(ok.deliveries, 1);
    assert_eq!(ok.error, None);
    // The worker keeps its lease: it saves the video.
    assert_eq!(
        ok.lease.as_ref().map(|l| l.owner.as_str()),
        Some("worker-1")
    );

    // 2. The same delivery again, re-signed later: a duplicate, counted, changing nothing else.
    let again = send
        .hiapi_signed(SECRET, now().max(sent_at + 1), &body)
        .await;
    assert_answer(&again, 200, "duplicate", "a redelivery");
    let after = job(ledger, "h-ok").await;
    assert_eq!(after.deliveries, 2);
    assert_eq!(but_deliveries(&after), but_deliveries(&ok));
    // A later failure for the same task does not undo its end.
    let late = send
        .hiapi(&hiapi_failure(HIAPI_OK, "a late, contradicting failure"))
        .await;
    assert_answer(&late, 200, "duplicate", "a failure after the success");
    let after = job(ledger, "h-ok").await;
    assert_eq!(after.deliveries, 3);
    assert_eq!(but_deliveries(&after), but_deliveries(&ok));

    // 3. 16 copies of one delivery at once: one applied, 15 duplicates, all counted.
    let body = hiapi_success(HIAPI_MANY);
    let (timestamp, copies) = (now(), 16);
    let barrier = Arc::new(tokio::sync::Barrier::new(copies));
    let mut tasks = Vec::new();
    for _ in 0..copies {
        let (send, body, barrier) = (send.clone(), body.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            send.hiapi_signed(SECRET, timestamp, &body).await
        }));
    }
    let mut outcomes = BTreeMap::<String, usize>::new();
    for task in tasks {
        let answer = task.await.expect("a delivery task");
        assert_eq!(answer.status, 200, "a concurrent copy: {}", answer.text);
        *outcomes.entry(answer.outcome().to_owned()).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([("applied".into(), 1), ("duplicate".into(), copies - 1)]),
    );
    let many = job(ledger, "h-many").await;
    assert_eq!(many.state, JobState::Succeeded, "{many:?}");
    assert_eq!(
        many.output.as_ref().map(|o| o.url.as_str()),
        Some(output_url(HIAPI_MANY).as_str())
    );
    assert!(many.heard_at.is_some());
    assert_eq!(many.deliveries, copies as u64);

    // 4. Refused deliveries (forged, stale, unsigned, malformed) change nothing at all.
    let before = jobs(ledger).await;
    let body = hiapi_success(HIAPI_UNTOUCHED);
    let forged = send.hiapi_signed(OTHER_SECRET, now(), &body).await;
    assert_answer(&forged, 401, "refused", "signed with another secret");
    let stale = send.hiapi_signed(SECRET, now() - 301, &body).await;
    assert_answer(&stale, 401, "refused", "signed 301 s ago");
    let future = send.hiapi_signed(SECRET, now() + 400, &body).await;
    assert_answer(&future, 401, "refused", "signed 400 s ahead");
    let unsigned = send.post("/hiapi", &[], &body).await;
    assert_answer(&unsigned, 401, "refused", "unsigned");
    let ts = now();
    let no_signature = send
        .post(
            "/hiapi",
            &[(webhook::HIAPI_TIMESTAMP_HEADER, ts.to_string())],
            &body,
        )
        .await;
    assert_answer(
        &no_signature,
        401,
        "refused",
        "a timestamp without a signature",
    );
    // The right MAC over a tampered body (another task id): a mismatch.
    let signature = webhook::hiapi_signature(SECRET.as_bytes(), ts, &body);
    let tampered = hiapi_success(HIAPI_FAIL);
    let altered = send
        .post(
            "/hiapi",
            &[
                (webhook::HIAPI_TIMESTAMP_HEADER, ts.to_string()),
                (webhook::HIAPI_SIGNATURE_HEADER, signature.clone()),
            ],
            &tampered,
        )
        .await;
    assert_answer(&altered, 401, "refused", "a body altered after signing");
    let bad_timestamp = send
        .post(
            "/hiapi",
            &[
                (webhook::HIAPI_TIMESTAMP_HEADER, "abc".into()),
                (webhook::HIAPI_SIGNATURE_HEADER, signature.clone()),
            ],
            &body,
        )
        .await;
    assert_answer(&bad_timestamp, 400, "refused", "timestamp abc");
    for bad in [
        &signature[..63],
        "not-a-signature",
        &format!("sha256={signature}"),
    ] {
        let answer = send
            .post(
                "/hiapi",
                &[
                    (webhook::HIAPI_TIMESTAMP_HEADER, ts.to_string()),
                    (webhook::HIAPI_SIGNATURE_HEADER, bad.to_owned()),
                ],
                &body,
            )
            .await;
        assert_answer(&answer, 400, "refused", &format!("signature {bad:?}"));
    }
    refused += 10;
    for body in [
        b"this is not JSON".to_vec(),
        b"{\"taskId\": \"tk-receiver-untouched\", \"status\": \"succ".to_vec(),
        b"[1, 2, 3]".to_vec(),
        br#"{"hello": "world"}"#.to_vec(),
        br#"{"taskId": "tk-receiver-untouched"}"#.to_vec(),
        br#"{"taskId": "tk-receiver-untouched", "status": 7}"#.to_vec(),
        br#"{"taskId": 12, "status": "success"}"#.to_vec(),
        br#"{"taskId": "tk-receiver-untouched", "status": "success", "output": [{"type": "video"}]}"#.to_vec(),
    ] {
        let answer = send.hiapi(&body).await;
        let shown = String::from_utf8_lossy(&body).into_owned();
        assert_answer(&answer, 400, "refused", &format!("body {shown}"));
        refused += 1;
    }
    assert_eq!(
        jobs(ledger).await,
        before,
        "a refused delivery changed the ledger"
    );
    let untouched = &before["h-untouched"];
    assert_eq!(
        (untouched.state, untouched.deliveries, untouched.heard_at),
        (JobState::Submitted, 0, None)
    );

    // 5. A failure is recorded with the provider's words.
    let message = "the prompt was flagged by moderation";
    let failed = send.hiapi(&hiapi_failure(HIAPI_FAIL, message)).await;
    assert_answer(&failed, 200, "applied", "a signed failure");
    let fail = job(ledger, "h-fail").await;
    assert_eq!(fail.state, JobState::Failed, "{fail:?}");
    let error = fail.error.clone().unwrap_or_default();
    assert!(error.contains(message), "{error}");
    assert!(error.contains("CONTENT_MODERATION"), "{error}");
    assert_eq!(fail.output, None);
    assert!(fail.heard_at.is_some());
    assert_eq!(fail.deliveries, 1);

    // 6. A task no job has: 404 (the provider retries), and nothing changes.
    let before = jobs(ledger).await;
    let unknown = send.hiapi(&hiapi_success("tk-nobody-has-this")).await;
    assert_answer(&unknown, 404, "unknown", "an unknown task");
    assert_eq!(jobs(ledger).await, before);

    // 7. Apiframe: progress forward only, then the end; forged and malformed refused.
    let running_at = |p| apiframe_job(APIFRAME_JOB, "PROCESSING", Some(p), false, None);
    let before = jobs(ledger).await;
    let forged = send.apiframe_signed(OTHER_KEY, &running_at(40)).await;
    assert_answer(
        &forged,
        401,
        "refused",
        "an Apiframe webhook signed with another key",
    );
    let unsigned = send.post("/apiframe", &[], &running_at(40)).await;
    assert_answer(&unsigned, 401, "refused", "an unsigned Apiframe webhook");
    let bare = webhook::apiframe_signature(API_KEY, &running_at(40));
    let bare = bare.trim_start_matches("sha256=").to_owned();
    let malformed = send
        .post(
            "/apiframe",
            &[(webhook::APIFRAME_SIGNATURE_HEADER, bare)],
            &running_at(40),
        )
        .await;
    assert_answer(
        &malformed,
        400,
        "refused",
        "an Apiframe signature without sha256=",
    );
    // A HiAPI task is not an Apiframe job, even signed with the right key.
    let not_a_job = send
        .apiframe_signed(API_KEY, &hiapi_success(HIAPI_UNTOUCHED))
        .await;
    assert_answer(&not_a_job, 400, "refused", "a HiAPI task sent to /apiframe");
    refused += 4;
    assert_eq!(jobs(ledger).await, before);

    let progress = send.apiframe_signed(API_KEY, &running_at(40)).await;
    assert_answer(&progress, 200, "applied", "progress 40");
    let at_40 = job(ledger, "a-job").await;
    assert_eq!(
        (at_40.state, at_40.progress, at_40.deliveries),
        (JobState::Submitted, Some(40), 1)
    );
    assert_eq!(at_40.status.as_deref(), Some("PROCESSING"));
    assert_eq!(at_40.heard_at, None, "progress is not the task's end");
    let older = send.apiframe_signed(API_KEY, &running_at(20)).await;
    assert_answer(&older, 200, "duplicate", "progress 20 after 40");
    let still = job(ledger, "a-job").await;
    assert_eq!((still.progress, still.deliveries), (Some(40), 2));
    assert_eq!(but_deliveries(&still), but_deliveries(&at_40));
    let completed = apiframe_job(APIFRAME_JOB, "COMPLETED", Some(100), true, None);
    let done = send.apiframe_signed(API_KEY, &completed).await;
    assert_answer(&done, 200, "applied", "COMPLETED");
    let finished = job(ledger, "a-job").await;
    assert_eq!(finished.state, JobState::Succeeded, "{finished:?}");
    let output = finished.output.clone().expect("the output is recorded");
    assert_eq!(output.url, output_url(APIFRAME_JOB));
    let completed_at: DateTime<Utc> = "2025-06-01T12:03:00Z".parse().unwrap();
    assert_eq!(
        output.expires_at,
        Some(completed_at + chrono::TimeDelta::hours(24))
    );
    assert!(finished.heard_at.is_some());
    assert_eq!(finished.deliveries, 3);
    let again = send.apiframe_signed(API_KEY, &completed).await;
    assert_answer(&again, 200, "duplicate", "COMPLETED again");
    assert_eq!(job(ledger, "a-job").await.deliveries, 4);
    let failure = apiframe_job(
        APIFRAME_FAILED,
        "FAILED",
        None,
        false,
        Some("blocked: unsafe content"),
    );
    let failed = send.apiframe_signed(API_KEY, &failure).await;
    assert_answer(&failed, 200, "applied", "FAILED");
    let af_failed = job(ledger, "a-failed").await;
    assert_eq!(af_failed.state, JobState::Failed);
    assert!(
        af_failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("blocked: unsafe content")),
        "{af_failed:?}"
    );
    let unknown_job = apiframe_job(
        "11111111-2222-4333-8444-555555555555",
        "COMPLETED",
        Some(100),
        true,
        None,
    );
    let unknown = send.apiframe_signed(API_KEY, &unknown_job).await;
    assert_answer(&unknown, 404, "unknown", "an unknown Apiframe job");

    // 9. Stopped as Ctrl-C stops it: its own counts agree, and its log (at -v, which logs
    // every delivery) shows no secret, key, signature or signed URL.
    let Exit { code, stderr, .. } = running.interrupt(PATIENCE);
    assert_eq!(code, Some(0), "{stderr}");
    // Recorded: h-ok, one of h-many, h-fail, progress 40, COMPLETED, FAILED.
    // Duplicates: h-ok again, its late failure, 15 of h-many, progress 20, COMPLETED again.
    assert_eq!(final_counts(&stderr), [6, 19, 2, refused, 0], "{stderr}");
    assert!(stderr.contains("delivery"), "-v logs deliveries:\n{stderr}");
    assert!(stderr.contains(HIAPI_OK), "-v names the task:\n{stderr}");
    assert_nothing_secret(&stderr, &send.signatures());
}

/// Receivers configured for one provider, or none.
async fn configuration(location: &str) {
    let ledger = prepare(
        location,
        &[
            ("h-only", Provider::HiApi, HIAPI_OK),
            ("a-only", Provider::Apiframe, APIFRAME_JOB),
        ],
    )
    .await;
    let ledger = &*ledger;

    // 8. HiAPI only: Apiframe webhooks are not taken (503), HiAPI callbacks are.
    let (running, base) = serve(location, &[("HIAPI_WEBHOOK_SECRET", SECRET)]).await;
    let send = Sender::new(&base);
    let completed = apiframe_job(APIFRAME_JOB, "COMPLETED", Some(100), true, None);
    let answer = send.apiframe_signed(API_KEY, &completed).await;
    assert_answer(
        &answer,
        503,
        "not_configured",
        "/apiframe without an API key",
    );
    let answer = send.hiapi(&hiapi_success(HIAPI_OK)).await;
    assert_answer(&answer, 200, "applied", "/hiapi with its secret");
    let Exit { code, stderr, .. } = running.interrupt(PATIENCE);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(final_counts(&stderr), [1, 0, 0, 0, 1], "{stderr}");
    assert_nothing_secret(&stderr, &send.signatures());
    let jobs_now = jobs(ledger).await;
    assert_eq!(jobs_now["a-only"].state, JobState::Submitted);
    assert_eq!(jobs_now["a-only"].deliveries, 0);

    // Apiframe only: HiAPI callbacks are not taken (503), Apiframe webhooks are.
    let (running, base) = serve(location, &[(Provider::Apiframe.api_key_env(), API_KEY)]).await;
    let send = Sender::new(&base);
    let answer = send.hiapi(&hiapi_success(HIAPI_OK)).await;
    assert_answer(&answer, 503, "not_configured", "/hiapi without a secret");
    let answer = send.apiframe_signed(API_KEY, &completed).await;
    assert_answer(&answer, 200, "applied", "/apiframe with its key");
    let Exit { code, stderr, .. } = running.interrupt(PATIENCE);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(final_counts(&stderr), [1, 0, 0, 0, 1], "{stderr}");
    assert_nothing_secret(&stderr, &send.signatures());
    let jobs_now = jobs(ledger).await;
    assert_eq!(jobs_now["h-only"].deliveries, 1, "the 503 was not counted");
    assert_eq!(jobs_now["a-only"].state, JobState::Succeeded);

    // Neither (or only blank values): nothing can be verified, so it does not start.
    for env in [
        &[][..],
        &[
            ("HIAPI_WEBHOOK_SECRET", "  "),
            (Provider::Apiframe.api_key_env(), ""),
        ][..],
    ] {
        let running = Running::spawn(command(
            &["-v", "serve", "--addr", "127.0.0.1:0", "--ledger", location],
            env,
        ));
        let Exit { code, stderr, .. } = running.exit(PATIENCE);
        assert_eq!(code, Some(2), "{env:?}: {stderr}");
        let hint = stderr
            .lines()
            .find(|line| line.starts_with("hint:"))
            .unwrap_or_else(|| panic!("{env:?}: no hint in {stderr}"));
        assert!(hint.contains("HIAPI_WEBHOOK_SECRET"), "{hint}");
        assert!(hint.contains(Provider::Apiframe.api_key_env()), "{hint}");
        assert!(!stderr.contains("receiving on"), "{stderr}");
    }
}

/// Bodies HiAPI signed that are not task objects because the signed output URL sits where the
/// schema wants something else (a list of URLs instead of `TaskOutput` objects, a bare URL
/// instead of the list): refused with a 400, and the URL shown neither in the answer nor in
/// the log (the receiver's promise: no header, no body, no output URL in the logs).
async fn signed_urls_in_refused_bodies(location: &str) {
    let ledger = prepare(location, &[("h-shape", Provider::HiApi, HIAPI_OK)]).await;
    let before = jobs(&*ledger).await;
    let (running, base) = serve(location, &[("HIAPI_WEBHOOK_SECRET", SECRET)]).await;
    let send = Sender::new(&base);
    let url = output_url(HIAPI_OK);
    let mut answers = Vec::new();
    for output in [json!([url]), json!(url)] {
        let body =
            serde_json::to_vec(&json!({"taskId": HIAPI_OK, "status": "success", "output": output}))
                .unwrap();
        let headers = hiapi_headers(SECRET, now(), &body);
        let answer = send.post_unchecked("/hiapi", &headers, &body).await;
        assert_answer(&answer, 400, "refused", "a signed body of another shape");
        answers.push(answer.text);
    }
    assert_eq!(jobs(&*ledger).await, before);
    let Exit { code, stderr, .. } = running.interrupt(PATIENCE);
    assert_eq!(code, Some(0), "{stderr}");
    let shown: Vec<&str> = answers
        .iter()
        .map(String::as_str)
        .chain(stderr.lines())
        .filter(|text| text.contains(URL_QUERY))
        .collect();
    assert!(
        shown.is_empty(),
        "the signed output URL is shown in answers or logs:\n{}",
        shown.join("\n")
    );
    assert_nothing_secret(&stderr, &send.signatures());
}

// ---------------------------------------------------------------------------------------------
// The tests: SQLite always, PostgreSQL with the `postgres` feature.

fn sqlite_location(dir: &tempfile::TempDir) -> String {
    dir.path()
        .join("ledger")
        .join("happyhorse.db")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_are_verified_recorded_once_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    deliveries(&sqlite_location(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_receivers_take_only_what_they_can_verify() {
    let dir = tempfile::tempdir().unwrap();
    configuration(&sqlite_location(&dir)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_are_verified_recorded_once_and_counted() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    deliveries(&cluster.database("receiver_deliveries").await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_receivers_take_only_what_they_can_verify() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    configuration(&cluster.database("receiver_configuration").await).await;
}

// serde's messages quote a mistyped value (here the signed output URL); the receiver's 400
// answer and its log must not repeat it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_signed_url_in_a_refused_body_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    signed_urls_in_refused_bodies(&sqlite_location(&dir)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_signed_url_in_a_refused_body_is_never_shown() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    signed_urls_in_refused_bodies(&cluster.database("receiver_shapes").await).await;
}
