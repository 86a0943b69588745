//! Sandbox fault injection and downloads over real HTTP on loopback: faults asked for per
//! request with `X-Sandbox-Fault` or drawn at configured rates, through the generated clients
//! where the documents declare the answer.
#![cfg(feature = "sandbox")]

mod common;

use std::time::{Duration, Instant};

use common::{forgetful_sandbox, http, http_with, seed_example, send_json};
use happyhorse::{
    generated::{apiframe, hiapi, reapi},
    sandbox::{FaultRates, Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use progenitor_client::Error;
use serde_json::{json, Value};

fn hiapi_client(sandbox: &Sandbox, fault: &str) -> hiapi::Client {
    hiapi::Client::new_with_client(
        &sandbox.base_url(Provider::HiApi),
        http_with(&[
            ("authorization", "Bearer sk-test"),
            ("x-sandbox-fault", fault),
        ]),
    )
}

fn hiapi_body() -> hiapi::types::CreateTaskRequest {
    serde_json::from_value(seed_example(Provider::HiApi, "t2v-minimal.json")).unwrap()
}

#[tokio::test]
async fn refusal_faults_answer_with_each_providers_status_body_and_retry_after() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for (fault, status, code) in [
        ("rate_limit", 429, "RATE_LIMITED"),
        ("unavailable", 503, "SERVICE_UNAVAILABLE"),
        ("moderation_unavailable", 503, "nsfw_moderation_unavailable"),
    ] {
        let err = hiapi_client(&sandbox, fault)
            .create_task()
            .body(hiapi_body())
            .send()
            .await
            .unwrap_err();
        let Error::ErrorResponse(answer) = err else {
            panic!("{fault}: want a documented error response, got {err:?}");
        };
        assert_eq!(answer.status().as_u16(), status, "{fault}");
        assert_eq!(answer.headers()["retry-after"], "1", "{fault}");
        assert_eq!(answer.error_code.as_ref().map(|c| c.0.as_str()), Some(code));
    }
    // Polls are refused as well as submits.
    let err = hiapi_client(&sandbox, "rate_limit")
        .get_task()
        .id("tk-any")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));

    let reapi = reapi::Client::new_with_client(
        &sandbox.base_url(Provider::Reapi),
        http_with(&[
            ("authorization", "Bearer rk_test"),
            ("x-sandbox-fault", "rate_limit"),
        ]),
    );
    let body: reapi::types::GenerationRequest =
        serde_json::from_value(seed_example(Provider::Reapi, "t2v-curl.json")).unwrap();
    let Error::ErrorResponse(answer) = reapi
        .create_generation()
        .body(body)
        .send()
        .await
        .unwrap_err()
    else {
        panic!("want reapi's documented 429 body");
    };
    assert_eq!(answer.status().as_u16(), 429);
    assert_eq!(answer.error.code, Some(50001));

    let apiframe = apiframe::Client::new_with_client(
        &sandbox.base_url(Provider::Apiframe),
        http_with(&[
            ("x-api-key", "afk_test"),
            ("x-sandbox-fault", "unavailable"),
        ]),
    );
    let body: apiframe::types::GenerateVideoRequest =
        serde_json::from_value(seed_example(Provider::Apiframe, "quick-start.json")).unwrap();
    let err = apiframe
        .generate_video()
        .body(body)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));

    let server_error = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "server_error"),
    ])
    .post(format!("{}/tasks", sandbox.base_url(Provider::HiApi)))
    .json(&seed_example(Provider::HiApi, "t2v-minimal.json"))
    .send()
    .await
    .unwrap();
    assert_eq!(server_error.status(), 500);
}

#[tokio::test]
async fn unknown_faults_are_refused_with_the_list_of_known_ones() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let answer = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "rate-limit"),
    ])
    .get(format!("{}/tasks/tk-x", sandbox.base_url(Provider::HiApi)))
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), 400);
    let message = answer.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("unknown fault \"rate-limit\""),
        "{message}"
    );
    assert!(message.contains("rate_limit"), "{message}");
}

#[tokio::test]
async fn a_reset_submit_still_creates_the_task_so_an_idempotent_retry_replays_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let url = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let body = seed_example(Provider::HiApi, "t2v-minimal.json");
    let reset = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", "reset"),
    ]);
    let lost = async {
        let answer = reset
            .post(&url)
            .header("idempotency-key", "reset-1")
            .json(&body)
            .send()
            .await?;
        answer.bytes().await
    }
    .await;
    assert!(lost.is_err(), "the answer should be lost, got {lost:?}");

    let retry = http("authorization", "Bearer sk-test")
        .post(&url)
        .header("idempotency-key", "reset-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replay"], "true");
    let listed: Value = send_json(http("authorization", "Bearer sk-test").get(&url)).await;
    assert_eq!(listed["data"]["total"], 1, "one task, not two");

    // A reset poll fails on the network too.
    let poll = hiapi_client(&sandbox, "reset")
        .get_task()
        .id("tk-any")
        .send()
        .await;
    assert!(poll.is_err());
}

#[tokio::test]
async fn slow_answers_wait_before_answering() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let started = Instant::now();
    let task = hiapi_client(&sandbox, "slow=300")
        .create_task()
        .body(hiapi_body())
        .send()
        .await
        .unwrap();
    assert_eq!(task.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn failed_tasks_carry_each_providers_error() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = hiapi_client(&sandbox, "fail=TASK_TIMEOUT:took too long");
    let id = hiapi
        .create_task()
        .body(hiapi_body())
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap()
        .task_id;
    let task = hiapi
        .get_task()
        .id(id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap();
    assert_eq!(task.status.0, "fail");
    assert!(task.output.is_none());
    let error = task.error.unwrap();
    assert_eq!(
        (error.code, error.message),
        (Some(json!("TASK_TIMEOUT")), Some("took too long".into()))
    );

    let reapi = reapi::Client::new_with_client(
        &sandbox.base_url(Provider::Reapi),
        http_with(&[
            ("authorization", "Bearer rk_test"),
            ("x-sandbox-fault", "fail"),
        ]),
    );
    let body: reapi::types::GenerationRequest =
        serde_json::from_value(seed_example(Provider::Reapi, "t2v-curl.json")).unwrap();
    let task = reapi
        .create_generation()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.status.0, "failed");
    assert_eq!(task.error.unwrap().code, Some(60001));

    let apiframe = apiframe::Client::new_with_client(
        &sandbox.base_url(Provider::Apiframe),
        http_with(&[
            ("x-api-key", "afk_test"),
            ("x-sandbox-fault", "fail=NSFW:moderation hit"),
        ]),
    );
    let body: apiframe::types::GenerateVideoRequest =
        serde_json::from_value(seed_example(Provider::Apiframe, "quick-start.json")).unwrap();
    let id = apiframe
        .generate_video()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_id;
    let job = apiframe.get_job().id(id).send().await.unwrap().into_inner();
    assert_eq!(job.status.0, "FAILED");
    assert_eq!(job.error.as_deref(), Some("NSFW: moderation hit"));
    assert!(job.result.is_none());
}

#[tokio::test]
async fn fault_rates_apply_without_any_header() {
    let always = FaultRates::none()
        .with_spec("rate_limit=1")
        .unwrap()
        .with_spec("fail=0")
        .unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default().with_faults(always))
        .await
        .unwrap();
    let plain = hiapi::Client::new_with_client(
        &sandbox.base_url(Provider::HiApi),
        http("authorization", "Bearer sk-test"),
    );
    for _ in 0..5 {
        let err = plain
            .create_task()
            .body(hiapi_body())
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    }

    let failing = FaultRates::none().with_spec("fail=1").unwrap();
    let sandbox = Sandbox::start(SandboxConfig::default().with_faults(failing))
        .await
        .unwrap();
    let plain = hiapi::Client::new_with_client(
        &sandbox.base_url(Provider::HiApi),
        http("authorization", "Bearer sk-test"),
    );
    for _ in 0..3 {
        let id = plain
            .create_task()
            .body(hiapi_body())
            .send()
            .await
            .unwrap()
            .into_inner()
            .data
            .unwrap()
            .task_id;
        let task = plain.get_task().id(id).send().await.unwrap().into_inner();
        assert_eq!(task.data.unwrap().status.0, "fail");
    }
}

/// The output URL of a fresh HiAPI task.
async fn output_url(sandbox: &Sandbox) -> String {
    let client = hiapi_client(sandbox, "");
    let id = client
        .create_task()
        .body(hiapi_body())
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .unwrap()
        .task_id;
    let task = client.get_task().id(id).send().await.unwrap().into_inner();
    task.data.unwrap().output.unwrap()[0].url.clone()
}

#[tokio::test]
async fn a_truncated_download_resumes_with_range() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let url = output_url(&sandbox).await;
    let mut answer = http("x-sandbox-fault", "truncate")
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.content_length(), Some(SAMPLE_MP4.len() as u64));
    assert_eq!(answer.headers()["accept-ranges"], "bytes");
    let mut got = Vec::new();
    let ended = loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(err) => break Err(err),
        }
    };
    assert!(ended.is_err(), "a truncated body must end in an error");
    assert!(got.len() < SAMPLE_MP4.len());

    let rest = common::plain_http()
        .get(&url)
        .header("range", format!("bytes={}-", got.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(
        rest.headers()["content-range"],
        format!(
            "bytes {}-{}/{}",
            got.len(),
            SAMPLE_MP4.len() - 1,
            SAMPLE_MP4.len()
        )
        .as_str()
    );
    got.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(got, SAMPLE_MP4);

    let past = common::plain_http()
        .get(&url)
        .header("range", format!("bytes={}-", SAMPLE_MP4.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
}

/// The top-level MP4 boxes of `file`: (type, size).
fn boxes(file: &[u8]) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned();
        let size = if size == 1 {
            u64::from_be_bytes(file[at + 8..at + 16].try_into().unwrap())
        } else {
            size
        };
        out.push((kind, size));
        at += size as usize;
    }
    assert_eq!(at, file.len(), "the boxes tile the file exactly");
    out
}

#[tokio::test]
async fn padded_outputs_end_in_a_free_box_of_the_requested_size() {
    let size = 3 * 1024 * 1024 + 17;
    let sandbox = Sandbox::start(SandboxConfig::default().with_pad_to(size))
        .await
        .unwrap();
    let url = output_url(&sandbox).await;
    let answer = reqwest::get(&url).await.unwrap();
    assert_eq!(answer.content_length(), Some(size));
    let file = answer.bytes().await.unwrap();
    assert_eq!(file.len() as u64, size);
    assert_eq!(&file[..SAMPLE_MP4.len()], SAMPLE_MP4);
    let found = boxes(&file);
    let names: Vec<&str> = found.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(names.first(), Some(&"ftyp"));
    assert!(
        names.contains(&"moov") && names.contains(&"mdat"),
        "{names:?}"
    );
    assert_eq!(
        found.last(),
        Some(&("free".to_owned(), size - SAMPLE_MP4.len() as u64))
    );

    // A range inside the padding reads zeros.
    let tail = common::plain_http()
        .get(&url)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &[0u8; 10]);
}

/// Status and error message of a HiAPI poll carrying `X-Sandbox-Fault: fault`.
async fn poll_with_fault(sandbox: &Sandbox, fault: &str) -> (u16, String) {
    let answer = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("x-sandbox-fault", fault),
    ])
    .get(format!("{}/tasks/tk-x", sandbox.base_url(Provider::HiApi)))
    .send()
    .await
    .unwrap_or_else(|err| panic!("{fault}: the sandbox must answer: {err}"));
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn fault_counts_and_waits_at_their_limits_are_counted_or_refused_clearly() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    // The largest count is a count: the fault applies (and the counter does not wrap).
    let largest = format!("rate_limit*{}", u64::MAX);
    for _ in 0..3 {
        assert_eq!(poll_with_fault(&sandbox, &largest).await.0, 429);
    }
    // Zero: never.
    assert_eq!(poll_with_fault(&sandbox, "rate_limit*0").await.0, 404);
    for fault in [
        "rate_limit*18446744073709551616",
        "rate_limit*99999999999999999999999",
        "rate_limit*-1",
        "rate_limit*",
        "rate_limit*1.5",
    ] {
        let (status, message) = poll_with_fault(&sandbox, fault).await;
        assert_eq!(status, 400, "{fault}: {message}");
        assert!(
            message.contains("want NAME*N with N a whole number from 0 to 18446744073709551615"),
            "{fault}: {message}"
        );
    }
    for fault in ["slow=18446744073709551615", "slow=600001", "slow=-1"] {
        let (status, message) = poll_with_fault(&sandbox, fault).await;
        assert_eq!(status, 400, "{fault}: {message}");
        assert!(message.contains("from 0 to 600000"), "{fault}: {message}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn fault_counters_are_forgotten_with_the_tasks() {
    let sandbox = forgetful_sandbox(Duration::from_millis(200)).await;
    assert_eq!(poll_with_fault(&sandbox, "rate_limit*1").await.0, 429);
    assert_eq!(poll_with_fault(&sandbox, "rate_limit*1").await.0, 404);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Idle longer than the sandbox remembers: the count starts again.
    assert_eq!(poll_with_fault(&sandbox, "rate_limit*1").await.0, 429);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_slow_answer_ends_when_the_sandbox_shuts_down() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let url = format!("{}/tasks/tk-x", sandbox.base_url(Provider::HiApi));
    let slow = tokio::spawn(async move {
        http_with(&[
            ("authorization", "Bearer sk-test"),
            ("x-sandbox-fault", "slow=600000"),
        ])
        .get(url)
        .send()
        .await
        .map(|answer| answer.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), sandbox.shutdown())
        .await
        .expect("shutdown does not wait for a ten-minute slow fault");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The held request gets its answer (a 404 for the unknown task) rather than hanging.
    let status = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("the slow request ends")
        .unwrap();
    assert_eq!(status.ok(), Some(404));
}

#[tokio::test]
async fn a_download_in_progress_is_cut_when_the_sandbox_shuts_down() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_pad_to(1 << 30))
        .await
        .unwrap();
    let url = output_url(&sandbox).await;
    // A client that reads the first bytes of a gigabyte and then waits.
    let mut answer = reqwest::get(&url).await.unwrap();
    assert!(answer.chunk().await.unwrap().is_some());
    tokio::time::timeout(Duration::from_secs(10), sandbox.shutdown())
        .await
        .expect("shutdown does not wait for a download to finish");
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match answer.chunk().await {
                Ok(Some(_)) => {}
                other => break other.map(|_| ()),
            }
        }
    })
    .await
    .expect("the download ends");
    assert!(rest.is_err(), "a cut download ends in an error");
}
