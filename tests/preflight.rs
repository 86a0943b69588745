//! Images checked before paying: the library's `Preflight` against real HTTP servers on
//! loopback (the sandbox's sample images, and a hand-rolled server for what a real host can
//! answer: redirects, no length, stalls, not an image), the sandbox failing tasks whose images
//! a provider would refuse, and `generate`/`batch` refusing to submit them.
#![cfg(all(feature = "sandbox", feature = "cli"))]

mod common;

use std::{
    io::{Read, Write},
    net::TcpListener,
    process::Output,
    time::Duration,
};

use happyhorse::{
    media::{Preflight, PreflightOptions},
    sandbox::{Sandbox, SandboxConfig},
    values::{HttpUrl, References},
    Error, Prompt, Provider, VideoRequest,
};
use serde_json::json;

/// A loopback server answering each connection with the next of `answers` (raw HTTP), then
/// closing; it ends after the last. An answer of `None` accepts and never answers (a stall).
fn serve(answers: Vec<Option<Vec<u8>>>) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut stalled = Vec::new();
        for answer in answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            match answer {
                Some(bytes) => {
                    let _ = stream.write_all(&bytes);
                }
                None => stalled.push(stream),
            }
        }
        // Held open until the test's time-out has fired, then dropped.
        std::thread::sleep(Duration::from_secs(3));
        drop(stalled);
    });
    (base, handle)
}

fn answer(status: &str, headers: &[(&str, String)], body: &[u8]) -> Option<Vec<u8>> {
    let mut text = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    Some(bytes)
}

fn r2v(urls: &[String]) -> serde_json::Value {
    json!({
        "model": "happyhorse-1.1/reference-to-video",
        "input": {"prompt": "[Image 1] gallops", "reference_image": urls},
    })
}

#[tokio::test]
async fn images_are_judged_by_their_bytes_against_the_modes_limits() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let preflight = Preflight::new(PreflightOptions::default()).unwrap();
    // HiAPI reference-to-video: at least 400 px on the shortest side.
    let fine = sandbox.sample_image_url(400, 900);
    let small = sandbox.sample_image_url(900, 399);
    let problems = preflight
        .check(Provider::HiApi, &r2v(&[fine.clone(), small.clone()]))
        .await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].position, 2);
    assert_eq!(problems[0].field, "/input/reference_image");
    assert!(!problems[0].advisory);
    assert!(
        problems[0].to_string().contains(
            "is 900x399 px: its shortest side must be at least 400 px for reference-to-video"
        ),
        "{}",
        problems[0]
    );
    // The same image is a fine first frame (300 px) on HiAPI, but too long a one on reapi
    // (1:2.5 at most).
    let i2v = json!({"model": "happyhorse-1.1/image-to-video", "input": {"image_urls": [small]}});
    assert!(preflight.check(Provider::HiApi, &i2v).await.is_empty());
    let wide = sandbox.sample_image_url(1000, 300);
    let reapi = json!({"model": "happyhorse-1.1", "image_urls": [wide]});
    let problems = preflight.check(Provider::Reapi, &reapi).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("1:2.5"), "{}", problems[0]);
    // Apiframe documents no limits: the same model's are warnings.
    let apiframe = json!({"model": "happyhorse-1.1", "prompt": "p", "happyhorse11Params": {"images": [sandbox.sample_image_url(200, 200)]}});
    let problems = preflight.check(Provider::Apiframe, &apiframe).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].advisory);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn what_a_host_can_answer_is_told_apart_and_no_query_is_shown() {
    let png = happyhorse::sandbox::Sandbox::sample_png(500, 500);
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00".to_vec();
    let (base, server) = serve(vec![
        // 1: a redirect, then the image with no length and no range (read to its end).
        answer("302 Found", &[("Location", "/real.png".into())], b""),
        answer("200 OK", &[], &png),
        // 2: not an image, whatever its type says.
        answer(
            "206 Partial Content",
            &[
                ("Content-Type", "image/png".into()),
                (
                    "Content-Range",
                    format!("bytes 0-{}/{}", gif.len() - 1, gif.len()),
                ),
            ],
            &gif,
        ),
        // 3: larger than 20 MB by its Content-Range.
        answer(
            "206 Partial Content",
            &[(
                "Content-Range",
                format!("bytes 0-{}/25000000", png.len() - 1),
            )],
            &png,
        ),
        // 4: gone.
        answer("404 Not Found", &[("Content-Length", "0".into())], b""),
        // 5: never answers.
        None,
    ]);
    let preflight =
        Preflight::new(PreflightOptions::default().with_timeout(Duration::from_secs(1))).unwrap();
    let signed = "?X-Amz-Signature=secret";
    let urls: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|n| format!("{base}/{n}.png{signed}"))
        .collect();
    let mut messages = Vec::new();
    for url in &urls {
        let problems = preflight
            .check(Provider::HiApi, &r2v(std::slice::from_ref(url)))
            .await;
        assert!(
            problems.iter().all(|p| !p.to_string().contains("secret")),
            "{problems:?}"
        );
        messages.push(
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    assert_eq!(messages[0], "", "a redirect to a fine image is fine");
    assert!(
        messages[1].contains("not a JPEG, PNG or WEBP"),
        "{}",
        messages[1]
    );
    assert!(messages[2].contains("25000000 bytes"), "{}", messages[2]);
    assert!(messages[3].contains("HTTP 404"), "{}", messages[3]);
    assert!(
        messages[4].contains("no answer within 1 s"),
        "{}",
        messages[4]
    );
    // Once per URL: asking again does not fetch again (the server has no answers left).
    let again = preflight.check(Provider::HiApi, &r2v(&urls[..1])).await;
    assert!(again.is_empty(), "{again:?}");
    server.join().unwrap();
}

#[tokio::test]
async fn the_sandbox_fails_a_task_whose_image_a_provider_would_refuse() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.2))
        .await
        .unwrap();
    let client = common::sandbox_client(&sandbox, Provider::HiApi);
    let dir = tempfile::tempdir().unwrap();
    let request = |url: String| {
        VideoRequest::reference_to_video(
            Prompt::new("[Image 1] gallops").unwrap(),
            References::new(vec![HttpUrl::new(url).unwrap()]).unwrap(),
        )
    };
    let fine = client
        .generate(&request(sandbox.sample_image_url(640, 480)))
        .save_to(dir.path().join("fine.mp4"))
        .await;
    assert!(fine.is_ok(), "{fine:?}");
    let small = client
        .generate(&request(sandbox.sample_image_url(640, 200)))
        .save_to(dir.path().join("small.mp4"))
        .await;
    match small {
        Err(Error::TaskFailed { code, message, .. }) => {
            assert_eq!(code.as_deref(), Some("INVALID_IMAGE"));
            assert!(message.contains("at least 400 px"), "{message}");
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    // A loopback port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gone = client
        .generate(&request(format!("http://{closed}/a.png")))
        .save_to(dir.path().join("gone.mp4"))
        .await;
    match gone {
        Err(Error::TaskFailed { code, .. }) => {
            assert_eq!(code.as_deref(), Some("IMAGE_FETCH_FAILED"))
        }
        other => panic!("expected a failed task, got {other:?}"),
    }
    sandbox.shutdown().await;
}

fn happyhorse(args: &[&str], env: &[(String, String)]) -> Output {
    common::process::command(args, &common::process::pairs(env))
        .output()
        .expect("the binary runs")
}

#[test]
fn generate_and_batch_refuse_bad_images_before_anything_is_sent() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(0.2),
        ))
        .unwrap();
    let env = common::sandbox_env(&sandbox);
    let small = sandbox.sample_image_url(300, 300);
    let out = happyhorse(
        &[
            "generate",
            "-p",
            "hiapi",
            "--ref",
            &small,
            "[Image 1] gallops",
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at least 400 px") && stderr.contains("nothing was submitted"),
        "{stderr}"
    );
    assert!(stderr.contains("--no-preflight"), "{stderr}");
    assert_eq!(
        runtime.block_on(async { sandbox.stats() }).submits.total(),
        0
    );

    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.jsonl");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let lines = [
        json!({"id": "fine", "duration": 3, "prompt": "[Image 1] trots", "references": [sandbox.sample_image_url(500, 500)]}),
        json!({"id": "small", "duration": 3, "prompt": "[Image 1] trots", "references": [small]}),
        json!({"id": "gone", "duration": 3, "prompt": "a horse", "image": format!("http://{closed}/a.png")}),
        json!({"id": "text", "duration": 3, "prompt": "a horse"}),
    ];
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    std::fs::write(&jobs, text.join("\n")).unwrap();
    let out_dir = dir.path().join("out");
    let args = [
        "batch",
        jobs.to_str().unwrap(),
        "-p",
        "hiapi",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = happyhorse(&args, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2: error:") && stderr.contains("at least 400 px"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3: error:") && stderr.contains("cannot be fetched"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("line 1:") && !stderr.contains("line 4:"),
        "{stderr}"
    );
    assert!(stderr.contains("2 image problems"), "{stderr}");
    assert_eq!(
        runtime.block_on(async { sandbox.stats() }).submits.total(),
        0
    );

    // Sent unchecked, the provider (here the sandbox) fails those two tasks instead.
    let mut unchecked = args.to_vec();
    unchecked.push("--no-preflight");
    let out = happyhorse(&unchecked, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        runtime
            .block_on(async { sandbox.stats() })
            .tasks_created
            .total(),
        4,
        "{stderr}"
    );
    let results = std::fs::read_to_string(out_dir.join("results.jsonl")).unwrap();
    for (id, code) in [("small", "INVALID_IMAGE"), ("gone", "IMAGE_FETCH_FAILED")] {
        let line = results
            .lines()
            .find(|l| l.contains(&format!("\"id\":\"{id}\"")))
            .unwrap_or_default();
        assert!(line.contains(code), "{id}: {line}\n{stderr}");
    }
    runtime.block_on(sandbox.shutdown());
}
