//! The sandbox over real HTTP on loopback: the generated clients against it for each provider,
//! and raw requests, as the seed pages' curl examples send them, for the error bodies.
#![cfg(feature = "sandbox")]

mod common;

use std::time::Duration;

use common::{apiframe_job_url, forgetful_sandbox, http, http_with, seed_example, send_json, with};
use happyhorse::{
    generated::{apiframe, hiapi, reapi},
    sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use serde_json::{json, Value};

async fn download(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("the sandbox answers")
}

async fn assert_playable_mp4(url: &str) {
    let response = download(url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "video/mp4");
    assert_eq!(response.bytes().await.unwrap().as_ref(), SAMPLE_MP4);
}

#[tokio::test]
async fn hiapi_generated_client_submits_polls_and_downloads() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = hiapi::Client::new_with_client(
        &sandbox.base_url(Provider::HiApi),
        http("authorization", "Bearer sk-test"),
    );
    for name in ["t2v-minimal.json", "i2v-push-in.json", "r2v-python.json"] {
        let body: hiapi::types::CreateTaskRequest =
            serde_json::from_value(seed_example(Provider::HiApi, name)).unwrap();
        let created = client
            .create_task()
            .body(body)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(created.code, 200);
        let id = created.data.unwrap().task_id;
        let task = client
            .get_task()
            .id(id.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        let task = task.data.unwrap();
        assert_eq!(task.status.0, "success");
        let output = &task.output.unwrap()[0];
        assert!(output.expire_at.unwrap() > 0);
        assert_playable_mp4(&output.url).await;
    }
    let listed = client.list_tasks().send().await.unwrap().into_inner();
    assert_eq!(listed.data.unwrap().tasks.len(), 3);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn reapi_generated_client_submits_polls_and_downloads() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = reapi::Client::new_with_client(
        &sandbox.base_url(Provider::Reapi),
        http("authorization", "Bearer rk_live_test"),
    );
    for name in ["t2v-curl.json", "i2v-modes.json", "r2v-modes.json"] {
        let body: reapi::types::GenerationRequest =
            serde_json::from_value(seed_example(Provider::Reapi, name)).unwrap();
        let created = client
            .create_generation()
            .body(body)
            .send()
            .await
            .unwrap()
            .into_inner();
        let task = client
            .get_task()
            .id(created.id)
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(task.status.0, "completed");
        assert_playable_mp4(&task.output.unwrap().video_urls[0]).await;
    }
}

#[tokio::test]
async fn apiframe_generated_client_submits_polls_and_downloads() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = apiframe::Client::new_with_client(
        &sandbox.base_url(Provider::Apiframe),
        http("x-api-key", "afk_test"),
    );
    let body: apiframe::types::GenerateVideoRequest =
        serde_json::from_value(seed_example(Provider::Apiframe, "quick-start.json")).unwrap();
    let accepted = client.generate_video().body(body).send().await.unwrap();
    assert_eq!(accepted.status(), 202);
    let job = client
        .get_job()
        .id(accepted.into_inner().job_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.status.0, "COMPLETED");
    assert_eq!((job.progress, job.credit_cost), (Some(100), Some(31 * 5)));
    assert_eq!(job.expired, Some(false));
    let url = job.result.unwrap()["urls"][0].as_str().unwrap().to_owned();
    assert_playable_mp4(&url).await;
}

#[tokio::test]
async fn tasks_move_through_each_providers_statuses() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(1.6))
        .await
        .unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let created: Value = send_json(
        hiapi
            .post(format!("{}/tasks", sandbox.base_url(Provider::HiApi)))
            .json(&seed_example(Provider::HiApi, "t2v-minimal.json")),
    )
    .await;
    let url = format!(
        "{}/tasks/{}",
        sandbox.base_url(Provider::HiApi),
        created["data"]["taskId"].as_str().unwrap()
    );
    let mut seen = Vec::new();
    for _ in 0..100 {
        let task: Value = hiapi.get(&url).send().await.unwrap().json().await.unwrap();
        let status = task["data"]["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "success" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ["queued", "handling", "success"]);
}

#[tokio::test]
async fn missing_or_wrong_keys_get_each_providers_401_body() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_api_key("sk-pinned"))
        .await
        .unwrap();
    let plain = common::plain_http();
    let hiapi = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let body = seed_example(Provider::HiApi, "t2v-minimal.json");
    for client in [plain.clone(), http("authorization", "Bearer sk-other")] {
        let answer = client.post(&hiapi).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 401);
        let answer: Value = answer.json().await.unwrap();
        assert_eq!(answer["error_code"], "permission_denied");
    }
    let ok = http("authorization", "Bearer sk-pinned")
        .post(&hiapi)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let open = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let reapi = plain
        .post(format!(
            "{}/videos/generations",
            open.base_url(Provider::Reapi)
        ))
        .header("authorization", "Bearer sk-wrong-provider")
        .json(&seed_example(Provider::Reapi, "t2v-curl.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(reapi.status(), 401);
    assert_eq!(reapi.json::<Value>().await.unwrap()["error"]["code"], 10001);
    let apiframe = plain
        .post(format!(
            "{}/v2/videos/generate",
            open.base_url(Provider::Apiframe)
        ))
        .json(&seed_example(Provider::Apiframe, "quick-start.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(apiframe.status(), 401);
    assert!(apiframe.json::<Value>().await.unwrap()["error"].is_string());
}

async fn post(client: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let answer = client.post(url).json(body).send().await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn invalid_bodies_get_each_providers_documented_error() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let url = || format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let t2v = seed_example(Provider::HiApi, "t2v-minimal.json");
    for (body, message) in [
        (
            with(t2v.clone(), "/input/seed", json!(1)),
            "additional properties 'seed' not allowed",
        ),
        (
            with(t2v.clone(), "/input/duration", json!(20)),
            "duration: maximum: got 20, want 15",
        ),
        (
            with(t2v.clone(), "/input/duration", json!(0)),
            "duration: minimum: got 0, want 3",
        ),
    ] {
        let (status, answer) = post(&hiapi, url(), &body).await;
        assert_eq!(
            (status, &answer["error_code"]),
            (400, &json!("INVALID_REQUEST"))
        );
        assert_eq!(answer["message"], message);
    }
    let r2v = seed_example(Provider::HiApi, "r2v-minimal.json");
    let (_, answer) = post(
        &hiapi,
        url(),
        &with(
            r2v.clone(),
            "/input/reference_image",
            json!("https://a/1.jpg"),
        ),
    )
    .await;
    assert_eq!(answer["message"], "reference_image: got string, want array");
    let ten: Vec<String> = (0..10)
        .map(|i| format!("https://a.example/{i}.jpg"))
        .collect();
    let (_, answer) = post(
        &hiapi,
        url(),
        &with(r2v, "/input/reference_image", json!(ten)),
    )
    .await;
    assert_eq!(
        answer["message"],
        "reference_image: maxItems: got 10, want 9"
    );
    // An unknown model: HTTP 200 carrying a non-200 code, as the T2V page warns.
    let (status, answer) = post(&hiapi, url(), &with(t2v, "/model", json!("happyhorse-9"))).await;
    assert_eq!((status, &answer["code"]), (200, &json!(400)));

    let reapi = http("authorization", "Bearer rk_test");
    let both = with(
        seed_example(Provider::Reapi, "r2v-modes.json"),
        "/image_urls",
        json!(["https://a/f.jpg"]),
    );
    let (status, answer) = post(
        &reapi,
        format!("{}/videos/generations", sandbox.base_url(Provider::Reapi)),
        &both,
    )
    .await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!(20002)));

    let apiframe = http("x-api-key", "afk_test");
    let wide = with(
        seed_example(Provider::Apiframe, "quick-start.json"),
        "/happyhorse11Params/aspect_ratio",
        json!("21:9"),
    );
    let (status, answer) = post(
        &apiframe,
        format!(
            "{}/v2/videos/generate",
            sandbox.base_url(Provider::Apiframe)
        ),
        &wide,
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer["details"]["happyhorse11Params.aspect_ratio"][0]
        .as_str()
        .unwrap()
        .starts_with("value must be one of"));

    let not_json = apiframe
        .post(format!(
            "{}/v2/videos/generate",
            sandbox.base_url(Provider::Apiframe)
        ))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
}

#[tokio::test]
async fn unknown_ids_and_expired_outputs_are_refused() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_output_ttl(Duration::ZERO))
        .await
        .unwrap();
    let apiframe = http("x-api-key", "afk_test");
    let jobs = format!("{}/v2/jobs", sandbox.base_url(Provider::Apiframe));
    assert_eq!(
        apiframe
            .get(format!("{jobs}/not-a-uuid"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let unknown = "b2c3d4e5-f6a7-8901-bcde-f23456789012";
    assert_eq!(
        apiframe
            .get(format!("{jobs}/{unknown}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let hiapi = http("authorization", "Bearer sk-test");
    let missing = hiapi
        .get(format!(
            "{}/tasks/tk-nope",
            sandbox.base_url(Provider::HiApi)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let (_, accepted) = post(
        &apiframe,
        format!(
            "{}/v2/videos/generate",
            sandbox.base_url(Provider::Apiframe)
        ),
        &seed_example(Provider::Apiframe, "quick-start.json"),
    )
    .await;
    // Unix-second timestamps: after a full second the zero-TTL output has expired.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let job: Value =
        send_json(apiframe.get(format!("{jobs}/{}", accepted["jobId"].as_str().unwrap()))).await;
    assert_eq!(job["expired"], true);
    let gone = download(job["result"]["urls"][0].as_str().unwrap()).await;
    assert_eq!(gone.status(), 410);
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_other_bodies_and_answer_409_while_in_flight() {
    let sandbox =
        Sandbox::start(SandboxConfig::default().with_submit_delay(Duration::from_millis(400)))
            .await
            .unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let url = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let body = seed_example(Provider::HiApi, "t2v-minimal.json");
    let send = |key: &'static str, body: Value| {
        hiapi
            .post(url.clone())
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };

    // A second request while the first is still in flight: 409 with Retry-After.
    let (first, racing) = tokio::join!(send("batch-1", body.clone()), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        send("batch-1", body.clone()).await
    });
    let (first, racing) = (first.unwrap(), racing.unwrap());
    assert_eq!(racing.status(), 409);
    assert_eq!(racing.headers()["retry-after"], "1");
    assert_eq!(
        racing.json::<Value>().await.unwrap()["error_code"],
        "IDEMPOTENCY_KEY_PROCESSING"
    );
    assert!(first.headers().get("idempotent-replay").is_none());
    let first: Value = first.json().await.unwrap();

    // Replaying the same key and body returns the first task, marked as a replay.
    let replay = send("batch-1", body.clone()).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replay"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["data"]["taskId"], first["data"]["taskId"]);

    // The same key with another body is refused.
    let other = send("batch-1", with(body.clone(), "/input/duration", json!(8)))
        .await
        .unwrap();
    assert_eq!(other.status(), 422);
    assert_eq!(
        other.json::<Value>().await.unwrap()["error_code"],
        "IDEMPOTENCY_KEY_MISMATCH"
    );

    // Apiframe replays the original job too.
    let apiframe = http("x-api-key", "afk_test");
    let generate = format!(
        "{}/v2/videos/generate",
        sandbox.base_url(Provider::Apiframe)
    );
    let job = seed_example(Provider::Apiframe, "quick-start.json");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = apiframe
            .post(&generate)
            .header("idempotency-key", "af-1")
            .json(&job)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        ids.push(answer.json::<Value>().await.unwrap()["jobId"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let long_key = "k".repeat(256);
    let refused = apiframe
        .post(&generate)
        .header("idempotency-key", long_key)
        .json(&job)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

/// A HiAPI task's output URL on `sandbox`, once the task succeeded (instant tasks).
async fn hiapi_output_url(sandbox: &Sandbox, client: &reqwest::Client) -> String {
    let base = sandbox.base_url(Provider::HiApi);
    let (_, created) = post(
        client,
        format!("{base}/tasks"),
        &seed_example(Provider::HiApi, "t2v-minimal.json"),
    )
    .await;
    let id = created["data"]["taskId"].as_str().unwrap();
    let task: Value = send_json(client.get(format!("{base}/tasks/{id}"))).await;
    task["data"]["output"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Status, `Content-Range` and body of a GET with this `Range` header (any bytes).
async fn ranged(url: &str, range: &[u8]) -> (u16, Option<String>, Vec<u8>) {
    let shown = String::from_utf8_lossy(range);
    let answer = common::plain_http()
        .get(url)
        .header("range", range)
        .send()
        .await
        .unwrap_or_else(|err| panic!("Range {shown:?}: the sandbox must answer: {err}"));
    let status = answer.status().as_u16();
    let content_range = answer
        .headers()
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = answer
        .bytes()
        .await
        .unwrap_or_else(|err| panic!("Range {shown:?}: the whole body must arrive: {err}"));
    (status, content_range, body.to_vec())
}

#[tokio::test]
async fn extreme_and_garbage_range_headers_are_answered_not_panicked() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let url = hiapi_output_url(&sandbox, &hiapi).await;
    let len = SAMPLE_MP4.len();
    let whole = format!("bytes 0-{}/{len}", len - 1);
    let max = u64::MAX;
    let past = "18446744073709551616";
    for (range, status, content_range) in [
        (format!("bytes=0-{max}"), 206, Some(whole.clone())),
        (format!("bytes=-{max}"), 206, Some(whole.clone())),
        (format!("bytes=0-{past}"), 206, Some(whole.clone())),
        (format!("bytes={max}-"), 416, Some(format!("bytes */{len}"))),
        (
            format!("bytes={past}-"),
            416,
            Some(format!("bytes */{len}")),
        ),
        (
            format!("bytes={max}-{max}"),
            416,
            Some(format!("bytes */{len}")),
        ),
        ("bytes=-0".to_owned(), 416, Some(format!("bytes */{len}"))),
        (
            "bytes=0-0".to_owned(),
            206,
            Some(format!("bytes 0-0/{len}")),
        ),
    ] {
        let (got, got_range, body) = ranged(&url, range.as_bytes()).await;
        assert_eq!((got, got_range), (status, content_range), "{range}");
        if status == 206 {
            assert_eq!(body.as_slice(), &SAMPLE_MP4[..body.len()], "{range}");
        }
    }
    for garbage in [
        "bytes=",
        "bytes=-",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=a-b",
        "bytes=5-1",
        "bytes=0-1,5-6",
        "lines=0-1",
        "bytes=\u{e9}-1",
    ] {
        let (status, _, body) = ranged(&url, garbage.as_bytes()).await;
        assert_eq!((status, body.as_slice()), (200, SAMPLE_MP4), "{garbage:?}");
    }

    // A file padded past the largest size HTTP clients take is padded to that size: its
    // length announced, its last bytes served.
    let sandbox = Sandbox::start(SandboxConfig::default().with_pad_to(max))
        .await
        .unwrap();
    let max = SandboxConfig::MAX_PAD_TO;
    let url = hiapi_output_url(&sandbox, &hiapi).await;
    let (status, content_range, body) = ranged(&url, b"bytes=-10").await;
    assert_eq!(status, 206);
    assert_eq!(
        content_range.as_deref(),
        Some(format!("bytes {}-{}/{max}", max - 10, max - 1).as_str())
    );
    assert_eq!(body, [0u8; 10]);
    let (status, _, body) = ranged(&url, format!("bytes={}-", max - 1).as_bytes()).await;
    assert_eq!((status, body.as_slice()), (206, &[0u8][..]));
    // The whole file announces its length; the client hangs up after the first bytes.
    let mut answer = reqwest::get(&url).await.unwrap();
    assert_eq!(answer.content_length(), Some(max));
    assert!(answer.chunk().await.unwrap().is_some());
    drop(answer);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn hiapi_list_pages_at_any_extreme_and_refuses_what_its_document_does_not_allow() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let base = sandbox.base_url(Provider::HiApi);
    for _ in 0..3 {
        post(
            &hiapi,
            format!("{base}/tasks"),
            &seed_example(Provider::HiApi, "t2v-minimal.json"),
        )
        .await;
    }
    let list = |query: String| {
        let hiapi = hiapi.clone();
        let url = format!("{base}/tasks?{query}");
        async move {
            let answer = hiapi.get(url).send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let max = u64::MAX;
    let huge = "99999999999999999999999999";
    for (query, listed) in [
        (String::new(), 3),
        (format!("page={max}"), 0),
        (format!("page={huge}"), 0),
        (format!("page={max}&size=100"), 0),
        ("size=100".to_owned(), 3),
        ("size=1".to_owned(), 1),
        ("page=2&size=2".to_owned(), 1),
        ("page=1&page=2&size=2".to_owned(), 1),
    ] {
        let (status, body) = list(query.clone()).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["data"]["total"], 3, "{query}");
        assert_eq!(
            body["data"]["tasks"].as_array().map(Vec::len),
            Some(listed),
            "{query}"
        );
    }
    // Outside the documented bounds (page from 1, size 1 to 100), empty, or not a number.
    let out_of_bounds = [
        "page=0".to_owned(),
        "size=0".to_owned(),
        "size=101".to_owned(),
        format!("size={huge}"),
        format!("page={max}&size={max}"),
        "page=&size=".to_owned(),
    ];
    for query in ["page=-1", "size=-5", "page=1.5", "page=abc", "size=%FF"]
        .map(str::to_owned)
        .into_iter()
        .chain(out_of_bounds)
    {
        let query = query.as_str();
        let (status, body) = list(query.to_owned()).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error_code"], "INVALID_REQUEST", "{query}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("want a whole number"),
            "{query}: {body}"
        );
    }
    sandbox.shutdown().await;
}

/// Posts `body` with `number` as the duration at `pointer` and asserts that it is refused with
/// a 400.
async fn assert_duration_refused(
    client: &reqwest::Client,
    url: &str,
    body: Value,
    pointer: &str,
    number: &Value,
) {
    let body = with(body, pointer, number.clone());
    let (status, answer) = post(client, url.to_owned(), &body).await;
    assert_eq!(status, 400, "duration {number}: {answer}");
}

#[tokio::test]
async fn huge_or_negative_numbers_in_bodies_are_refused_not_panicked() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let numbers = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(-5),
        json!(1e300),
        json!(-1e300),
        json!(4.5),
    ];
    let apiframe = http("x-api-key", "afk_test");
    let generate = format!(
        "{}/v2/videos/generate",
        sandbox.base_url(Provider::Apiframe)
    );
    let hiapi = http("authorization", "Bearer sk-test");
    let tasks = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
    let reapi = http("authorization", "Bearer rk_test");
    let generations = format!("{}/videos/generations", sandbox.base_url(Provider::Reapi));
    for number in numbers {
        // Apiframe's credit cost is rate × duration: the duration never reaches it unchecked.
        let apiframe_body = seed_example(Provider::Apiframe, "quick-start.json");
        let duration = "/happyhorse11Params/duration";
        assert_duration_refused(&apiframe, &generate, apiframe_body, duration, &number).await;
        let hiapi_body = seed_example(Provider::HiApi, "t2v-minimal.json");
        assert_duration_refused(&hiapi, &tasks, hiapi_body, "/input/duration", &number).await;
        let reapi_body = seed_example(Provider::Reapi, "t2v-curl.json");
        assert_duration_refused(&reapi, &generations, reapi_body, "/duration", &number).await;
    }
    // The largest valid duration is priced.
    let body = with(
        seed_example(Provider::Apiframe, "quick-start.json"),
        "/happyhorse11Params/duration",
        json!(15),
    );
    let (status, accepted) = post(&apiframe, generate.clone(), &body).await;
    assert_eq!(status, 202, "{accepted}");
    let job: Value = send_json(apiframe.get(apiframe_job_url(
        &sandbox.base_url(Provider::Apiframe),
        &accepted,
    )))
    .await;
    assert!(job["creditCost"].as_u64().is_some_and(|c| c >= 15), "{job}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn forgotten_tasks_answer_404_and_their_idempotency_keys_are_new_again() {
    // Instant tasks, outputs expired at once, forgotten 300 ms later.
    let sandbox = forgetful_sandbox(Duration::from_millis(300)).await;
    let hiapi = http_with(&[
        ("authorization", "Bearer sk-test"),
        ("idempotency-key", "forget-me"),
    ]);
    let base = sandbox.base_url(Provider::HiApi);
    let body = seed_example(Provider::HiApi, "t2v-minimal.json");
    let (_, created) = post(&hiapi, format!("{base}/tasks"), &body).await;
    let id = created["data"]["taskId"].as_str().unwrap().to_owned();
    let poll = |id: String| {
        let hiapi = hiapi.clone();
        let url = format!("{base}/tasks/{id}");
        async move {
            let answer = hiapi.get(url).send().await.unwrap();
            (
                answer.status().as_u16(),
                answer.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, task) = poll(id.clone()).await;
    assert_eq!(status, 200);
    let url = task["data"]["output"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // Meanwhile the same key replays the task.
    let (_, replayed) = post(&hiapi, format!("{base}/tasks"), &body).await;
    assert_eq!(replayed["data"]["taskId"], id.as_str());

    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, gone) = poll(id.clone()).await;
    assert_eq!(status, 404, "{gone}");
    assert_eq!(gone["error_code"], "NOT_FOUND");
    assert_eq!(download(&url).await.status(), 404);
    let listed: Value = send_json(hiapi.get(format!("{base}/tasks"))).await;
    assert_eq!(listed["data"]["total"], 0, "{listed}");
    // The key is forgotten with its task: the same key and body make a new task.
    let (_, again) = post(&hiapi, format!("{base}/tasks"), &body).await;
    let new_id = again["data"]["taskId"].as_str().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(poll(new_id.to_owned()).await.0, 200);
    sandbox.shutdown().await;
}

/// `request` with `key` where `provider` takes it.
fn with_key(
    provider: Provider,
    key: &str,
    request: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    match provider {
        Provider::Apiframe => request.header("x-api-key", key),
        _ => request.bearer_auth(key),
    }
}

/// The submit URL of `provider` on `sandbox`.
fn submit_url(sandbox: &Sandbox, provider: Provider) -> String {
    let base = sandbox.base_url(provider);
    match provider {
        Provider::HiApi => format!("{base}/tasks"),
        Provider::Reapi => format!("{base}/videos/generations"),
        Provider::Apiframe => format!("{base}/v2/videos/generate"),
    }
}

/// The poll URL of task `id` of `provider` on `sandbox`.
fn poll_url(sandbox: &Sandbox, provider: Provider, id: &str) -> String {
    let base = sandbox.base_url(provider);
    match provider {
        Provider::HiApi | Provider::Reapi => format!("{base}/tasks/{id}"),
        Provider::Apiframe => format!("{base}/v2/jobs/{id}"),
    }
}

/// A seed body of `provider`.
fn seed(provider: Provider) -> Value {
    let name = match provider {
        Provider::HiApi => "t2v-minimal.json",
        Provider::Reapi => "t2v-curl.json",
        Provider::Apiframe => "quick-start.json",
    };
    seed_example(provider, name)
}

/// The task id in a submit's answer.
fn id_in(provider: Provider, accepted: &Value) -> String {
    let pointer = match provider {
        Provider::HiApi => "/data/taskId",
        Provider::Reapi => "/id",
        Provider::Apiframe => "/jobId",
    };
    accepted
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{provider}: no task id in {accepted}"))
        .to_owned()
}

/// The output URL in a poll's answer.
fn output_in(provider: Provider, task: &Value) -> String {
    let pointer = match provider {
        Provider::HiApi => "/data/output/0/url",
        Provider::Reapi => "/output/video_urls/0",
        Provider::Apiframe => "/result/urls/0",
    };
    task.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{provider}: no output URL in {task}"))
        .to_owned()
}

/// Submits `provider`'s seed body with `key` (and `idempotency`, if any): the status, the
/// task id (when accepted) and the answer.
async fn submit_as(
    sandbox: &Sandbox,
    provider: Provider,
    key: &str,
    idempotency: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, reqwest::header::HeaderMap) {
    let mut request = with_key(
        provider,
        key,
        common::plain_http().post(submit_url(sandbox, provider)),
    );
    if let Some(idempotency) = idempotency {
        request = request.header("idempotency-key", idempotency);
    }
    let answer = request.json(body).send().await.unwrap();
    let (status, headers) = (answer.status().as_u16(), answer.headers().clone());
    let body: Value = answer.json().await.unwrap();
    let id = (200..300).contains(&status).then(|| id_in(provider, &body));
    (status, id, headers)
}

/// Polls task `id` of `provider` with `key`: status and body.
async fn poll_as(sandbox: &Sandbox, provider: Provider, key: &str, id: &str) -> (u16, Value) {
    let answer = with_key(
        provider,
        key,
        common::plain_http().get(poll_url(sandbox, provider, id)),
    )
    .send()
    .await
    .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

/// Whether `id` has the shape the sandbox gives `provider`'s ids: HiAPI `tk-sandbox-` and a
/// ULID (as HiAPI's `tk-hiapi-01KW3…`), reapi `task_` (as reapi's `task_…`) and hex digits,
/// Apiframe a version-4 UUID (its document's `format: uuid`).
fn has_provider_shape(provider: Provider, id: &str) -> bool {
    match provider {
        Provider::HiApi => id.strip_prefix("tk-sandbox-").is_some_and(|ulid| {
            ulid.len() == 26
                && ulid
                    .bytes()
                    .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
        }),
        Provider::Reapi => id
            .strip_prefix("task_sandbox_")
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())),
        Provider::Apiframe => uuid::Uuid::parse_str(id)
            .is_ok_and(|uuid| uuid.get_version_num() == 4 && uuid.to_string() == id),
    }
}

/// A ledger that outlives its sandbox (`batch --sandbox` run again on the same `--out`) must
/// never be handed an id twice: ids differ between sandboxes, and across a restart on the same
/// address, where an old output URL must not download the new sandbox's task either.
#[tokio::test]
async fn task_ids_are_unique_across_sandboxes_and_restarts() {
    /// Three tasks of each provider on `sandbox`: their ids, and their output URLs.
    async fn three_of_each(sandbox: &Sandbox) -> (Vec<(Provider, String)>, Vec<String>) {
        let (mut ids, mut urls) = (Vec::new(), Vec::new());
        for provider in Provider::ALL {
            let key = key_of(provider, "a");
            for _ in 0..3 {
                let (_, id, _) = submit_as(sandbox, provider, &key, None, &seed(provider)).await;
                let id = id.expect("accepted");
                let (_, task) = poll_as(sandbox, provider, &key, &id).await;
                urls.push(output_in(provider, &task));
                ids.push((provider, id));
            }
        }
        (ids, urls)
    }
    let first = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let addr = first.addr();
    let (mut ids, old_urls) = three_of_each(&first).await;
    first.shutdown().await;
    // The same address again, and another sandbox beside it.
    let restarted = Sandbox::bind(addr, SandboxConfig::default()).await.unwrap();
    let beside = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for sandbox in [&restarted, &beside] {
        ids.extend(three_of_each(sandbox).await.0);
    }
    let mut seen = std::collections::HashSet::new();
    for (provider, id) in &ids {
        assert!(seen.insert(id), "{provider}: {id} handed out twice");
    }
    for (provider, id) in &ids {
        assert!(has_provider_shape(*provider, id), "{provider}: {id}");
    }
    // An output URL of the first sandbox downloads nothing from the one restarted in its place.
    for url in old_urls {
        let status = download(&url).await.status();
        assert_eq!(status, 403, "{url} served by the restarted sandbox");
    }
    restarted.shutdown().await;
    beside.shutdown().await;
}

/// A key of `provider`'s shape, `name` after its prefix.
fn key_of(provider: Provider, name: &str) -> String {
    format!("{}{name}", provider.key_prefix())
}

/// As the providers scope tasks by account: another key's poll is the provider's 404 for an
/// unknown task, HiAPI's list shows only the key's own tasks, and an `Idempotency-Key` is the
/// key's own (another key's first use of it creates a task of its own, whatever the body).
#[tokio::test]
async fn tasks_belong_to_the_key_that_created_them() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for provider in Provider::ALL {
        let (owner, other) = (key_of(provider, "local"), key_of(provider, "OTHERUSER"));
        let idempotent = provider != Provider::Reapi;
        let shared = idempotent.then_some("shared-key");
        let body = seed(provider);
        let (_, id, _) = submit_as(&sandbox, provider, &owner, shared, &body).await;
        let id = id.expect("accepted");
        let (status, task) = poll_as(&sandbox, provider, &owner, &id).await;
        assert_eq!(status, 200, "{provider}: {task}");
        // Another key: the same answer as for an id that never existed.
        let (status, refused) = poll_as(&sandbox, provider, &other, &id).await;
        assert_eq!(status, 404, "{provider}: another key sees {refused}");
        let unknown = match provider {
            Provider::HiApi => "tk-sandbox-01KDVDNA00W2FJ8Q0V3ZT6M4XB".to_owned(),
            Provider::Reapi => "task_sandbox_5f0c2b9e7a1d4e3f8b6a0c9d2e7f1a3b".to_owned(),
            Provider::Apiframe => "9b2f6c1e-4a7d-4e0b-8c3f-2d5a7e9b1c04".to_owned(),
        };
        let (status, never) = poll_as(&sandbox, provider, &other, &unknown).await;
        assert_eq!(status, 404);
        let without_id = |body: &Value, id: &str| body.to_string().replace(id, "ID");
        assert_eq!(
            without_id(&refused, &id),
            without_id(&never, &unknown),
            "{provider}"
        );
        if !idempotent {
            continue;
        }
        // Another key's first use of the same Idempotency-Key, even with another body, is a new
        // task, not a replay of the first key's, nor a 422 or a 409 that would reveal it.
        let changed = match provider {
            Provider::HiApi => with(body.clone(), "/input/prompt", json!("Another prompt")),
            _ => with(body.clone(), "/prompt", json!("Another prompt")),
        };
        let (status, theirs, headers) =
            submit_as(&sandbox, provider, &other, shared, &changed).await;
        assert!((200..300).contains(&status), "{provider}: {status}");
        assert!(headers.get("idempotent-replay").is_none(), "{provider}");
        let theirs = theirs.expect("accepted");
        assert_ne!(theirs, id, "{provider}: another key's replay");
        // Each key replays its own task.
        for (key, body, want) in [(&owner, &body, &id), (&other, &changed, &theirs)] {
            let (_, replayed, headers) = submit_as(&sandbox, provider, key, shared, body).await;
            assert_eq!(replayed.as_ref(), Some(want), "{provider}");
            if provider == Provider::HiApi {
                assert_eq!(headers["idempotent-replay"], "true");
            }
        }
    }
    // HiAPI's list: each key's own tasks.
    let listed = |key: String| {
        let url = format!("{}/tasks", sandbox.base_url(Provider::HiApi));
        async move {
            let listed: Value = send_json(common::plain_http().get(url).bearer_auth(key)).await;
            listed["data"]["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|task| task["taskId"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let (mine, theirs) = (
        listed("sk-local".into()).await,
        listed("sk-OTHERUSER".into()).await,
    );
    assert_eq!((mine.len(), theirs.len()), (1, 1), "{mine:?} {theirs:?}");
    assert_ne!(mine, theirs);
    assert!(listed("sk-nobody".into()).await.is_empty());
    sandbox.shutdown().await;
}

/// Output URLs are signed, as object stores sign theirs: a task id is not enough, and a
/// signature holds for its own task and expiry only (403 otherwise, documented in
/// `storage.yaml`); ranges, 416 and the whole file work with the signed URL, which is the
/// same on every poll.
#[tokio::test]
async fn output_urls_are_signed_and_a_task_id_is_not_enough() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let hiapi = http("authorization", "Bearer sk-test");
    let url = hiapi_output_url(&sandbox, &hiapi).await;
    let other = hiapi_output_url(&sandbox, &hiapi).await;
    let (path, query) = url.split_once('?').expect("a signed query");
    let (other_path, other_query) = other.split_once('?').expect("a signed query");
    assert!(
        query.starts_with("expires=") && query.contains("&signature="),
        "{url}"
    );
    assert_playable_mp4(&url).await;
    assert_eq!(ranged(&url, b"bytes=0-9").await.0, 206);
    assert_eq!(
        ranged(&url, format!("bytes={}-", SAMPLE_MP4.len()).as_bytes())
            .await
            .0,
        416
    );
    // The same URL on every poll.
    let base = sandbox.base_url(Provider::HiApi);
    let id = path.rsplit('/').nth(1).unwrap();
    let polled: Value = send_json(hiapi.get(format!("{base}/tasks/{id}"))).await;
    assert_eq!(polled["data"]["output"][0]["url"], url.as_str());

    let signature = query.rsplit_once("signature=").unwrap().1;
    let expires: u64 = query
        .strip_prefix("expires=")
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .parse()
        .unwrap();
    let flipped: String = signature
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' {
                    '1'
                } else {
                    '0'
                }
            } else {
                c
            }
        })
        .collect();
    for refused in [
        path.to_owned(),
        format!("{path}?signature={signature}"),
        format!("{path}?expires={expires}"),
        format!("{path}?expires={expires}&signature={flipped}"),
        format!("{path}?expires={}&signature={signature}", expires + 1),
        format!("{path}?{other_query}"),
        format!("{other_path}?{query}"),
        format!("{path}?expires={expires}&signature="),
        format!("{path}?expires=-1&signature={signature}"),
        format!("{path}?%zz"),
        format!("http://{}/files/no-such-task/0.mp4", sandbox.addr()),
    ] {
        let answer = download(&refused).await;
        assert_eq!(answer.status(), 403, "{refused}");
        assert!(answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
    }
    sandbox.shutdown().await;
}
