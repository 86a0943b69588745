//! The generated transport: its snapshots, and what its types accept and refuse.
//!
//! The snapshot tests compare the code `build.rs` generated in this build with
//! `tests/snapshots/<provider>.rs`. After editing `openapi/*.yaml`, refresh them with
//! `EXPECTORATE=overwrite cargo test --test generated_code` and review `git diff tests/snapshots`.

mod common;

use common::{seed_example, seed_examples, with};
use happyhorse::{
    generated::{apiframe, hiapi, reapi},
    Provider,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};

#[test]
fn hiapi_generated_code_matches_its_snapshot() {
    expectorate::assert_contents(
        "tests/snapshots/hiapi.rs",
        include_str!(concat!(env!("OUT_DIR"), "/hiapi.rs")),
    );
}

#[test]
fn reapi_generated_code_matches_its_snapshot() {
    expectorate::assert_contents(
        "tests/snapshots/reapi.rs",
        include_str!(concat!(env!("OUT_DIR"), "/reapi.rs")),
    );
}

#[test]
fn apiframe_generated_code_matches_its_snapshot() {
    expectorate::assert_contents(
        "tests/snapshots/apiframe.rs",
        include_str!(concat!(env!("OUT_DIR"), "/apiframe.rs")),
    );
}

fn round_trip<T: DeserializeOwned + Serialize>(body: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn round_trip_for(provider: Provider, body: &Value) -> Result<Value, String> {
    match provider {
        Provider::HiApi => round_trip::<hiapi::types::CreateTaskRequest>(body),
        Provider::Reapi => round_trip::<reapi::types::GenerationRequest>(body),
        Provider::Apiframe => round_trip::<apiframe::types::GenerateVideoRequest>(body),
    }
}

#[test]
fn every_seed_example_round_trips_through_the_generated_types_unchanged() {
    for (provider, name, body) in seed_examples() {
        let back =
            round_trip_for(provider, &body).unwrap_or_else(|e| panic!("{provider}/{name}: {e}"));
        assert_eq!(back, body, "{provider}/{name}");
    }
}

#[test]
fn reapi_bodies_land_in_the_mode_their_media_field_selects() {
    let parse = |name: &str| -> reapi::types::GenerationRequest {
        serde_json::from_value(seed_example(Provider::Reapi, name)).unwrap()
    };
    assert!(matches!(
        parse("t2v-curl.json"),
        reapi::types::GenerationRequest::TextToVideoRequest(_)
    ));
    assert!(matches!(
        parse("i2v-modes.json"),
        reapi::types::GenerationRequest::ImageToVideoRequest(_)
    ));
    assert!(matches!(
        parse("r2v-modes.json"),
        reapi::types::GenerationRequest::ReferenceToVideoRequest(_)
    ));
}

#[test]
fn the_generated_types_refuse_what_their_shapes_forbid() {
    // Shapes the generated types enforce on their own: unknown fields, wrong types, closed
    // enums, exactly-one lists and URL patterns. (Numeric bounds and 1..9 lists are the
    // validation layer's job: progenitor does not enforce them.)
    let t2v = seed_example(Provider::HiApi, "t2v-minimal.json");
    let i2v = seed_example(Provider::HiApi, "i2v-push-in.json");
    let r2v = seed_example(Provider::HiApi, "r2v-minimal.json");
    let hiapi_rejects = [
        with(t2v.clone(), "/input/seed", json!(1)),
        with(t2v.clone(), "/input/audio", json!(true)),
        with(t2v.clone(), "/input/duration", json!(5.5)),
        with(t2v.clone(), "/input/prompt", json!("")),
        with(t2v.clone(), "/input/resolution", json!("4k")),
        with(t2v.clone(), "/model", json!("happyhorse-1.1")),
        with(i2v.clone(), "/input/aspect_ratio", json!("16:9")),
        with(
            i2v.clone(),
            "/input/image_urls",
            json!(["https://a.example/1.jpg", "https://a.example/2.jpg"]),
        ),
        with(
            r2v.clone(),
            "/input/reference_image",
            json!("https://a.example/1.jpg"),
        ),
        with(
            r2v.clone(),
            "/input/reference_image/0",
            json!("http://a.example/1.jpg"),
        ),
        with(r2v.clone(), "/input/negative_prompt", json!("blurry")),
    ];
    for body in hiapi_rejects {
        assert!(
            round_trip::<hiapi::types::CreateTaskRequest>(&body).is_err(),
            "accepted {body}"
        );
    }

    let both = with(
        seed_example(Provider::Reapi, "r2v-modes.json"),
        "/image_urls",
        json!(["https://a.example/1.jpg"]),
    );
    assert!(round_trip::<reapi::types::GenerationRequest>(&both).is_err());

    let apiframe_rejects = [
        with(
            seed_example(Provider::Apiframe, "quick-start.json"),
            "/happyhorse11Params/aspect_ratio",
            json!("21:9"),
        ),
        with(
            seed_example(Provider::Apiframe, "quick-start.json"),
            "/webhook_url",
            json!("https://x.example/hook"),
        ),
    ];
    for body in apiframe_rejects {
        assert!(round_trip::<apiframe::types::GenerateVideoRequest>(&body).is_err());
    }
}

#[test]
fn hiapi_response_examples_from_the_seed_pages_parse() {
    // T2V page, create response.
    let created: hiapi::types::CreateTaskResponse = serde_json::from_value(
        json!({"code":200,"data":{"taskId":"tk-hiapi-01KW3..."},"message":"success"}),
    )
    .unwrap();
    assert_eq!(created.code, 200);
    assert_eq!(created.data.unwrap().task_id, "tk-hiapi-01KW3...");

    // R2V page, create response with a status.
    let created: hiapi::types::CreateTaskResponse = serde_json::from_value(
        json!({"code": 200, "data": {"taskId": "task_xxx", "status": "queued"}}),
    )
    .unwrap();
    assert_eq!(created.data.unwrap().status.unwrap().0, "queued");

    // T2V page: HTTP 200 with a non-200 code and no data.
    let denied: hiapi::types::CreateTaskResponse =
        serde_json::from_value(json!({"code": 401, "message": "permission_denied", "data": null}))
            .unwrap();
    assert_eq!((denied.code, denied.data), (401, None));

    // T2V page, a successful task (the page elides the other fields).
    let task: hiapi::types::TaskResponse = serde_json::from_value(json!({
        "code": 200,
        "data": {
            "taskId": "tk-hiapi-01KW3",
            "status": "success",
            "model": "happyhorse-1.1/text-to-video",
            "output": [{"type":"video","url":"https://temp.hiapi.ai/x/y-0.mp4","expireAt":1783130616}],
            "created": 1782525816, "completed": 1782526000, "error": null, "route": null,
            "storage": "temp"
        }
    }))
    .unwrap();
    let task = task.data.unwrap();
    assert_eq!(task.output.unwrap()[0].expire_at, Some(1_783_130_616));

    // An unseen status does not break parsing (the status is an open string).
    let running: hiapi::types::TaskResponse = serde_json::from_value(
        json!({"code": 200, "data": {"taskId": "t", "status": "rendering-soon", "completed": 0}}),
    )
    .unwrap();
    assert_eq!(running.data.unwrap().status.0, "rendering-soon");
}

#[test]
fn reapi_and_apiframe_response_examples_parse() {
    // reapi page, Output.
    let task: reapi::types::Task = serde_json::from_value(json!({
        "id": "task_…",
        "model": "happyhorse-1-1",
        "status": "completed",
        "output": { "video_urls": ["https://cdn.reapi.ai/media/tasks/…/0.mp4"] },
        "error": null
    }))
    .unwrap();
    assert_eq!(task.output.unwrap().video_urls.len(), 1);

    // Apiframe page, submission response.
    let accepted: apiframe::types::JobAccepted = serde_json::from_value(
        json!({"jobId": "b2c3d4e5-f6a7-8901-bcde-f23456789012", "status": "QUEUED"}),
    )
    .unwrap();
    assert_eq!(accepted.status.0, "QUEUED");

    // Apiframe OpenAPI, a job with every nullable field null.
    let job: apiframe::types::Job = serde_json::from_value(json!({
        "id": "b2c3d4e5-f6a7-8901-bcde-f23456789012", "status": "PROCESSING",
        "model": "happyhorse-1.1", "progress": null, "error": null, "creditCost": null,
        "webhookStatus": null, "createdAt": "2026-11-21T10:00:00Z", "completedAt": null
    }))
    .unwrap();
    assert_eq!(job.progress, None);

    // The three documented error bodies all parse as the merged ApiError.
    for body in [
        json!({"error": "Unauthorized"}),
        json!({"error": "Validation failed", "details": {"prompt": ["Required"]}}),
        json!({"error": "Insufficient credits", "creditsRequired": 310, "creditsAvailable": 12}),
    ] {
        let err: apiframe::types::ApiError = serde_json::from_value(body).unwrap();
        assert!(!err.error.is_empty());
    }
}
