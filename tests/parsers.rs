//! The client's parsers of outside data, end to end: a loopback server answers whatever the
//! case says (status line, headers and body as raw bytes), and the public client reads it.
//! What the unit-level properties in `src/fuzz.rs` cannot reach from outside a private module
//! is covered here: the `Content-Range` of a resumed download (and the `bytes */N` of a 416),
//! the content-type check, `Retry-After` as the transport reads it, a HiAPI envelope's `code`
//! turned into a status, and the generated transport's handling of answers of any shape.
//!
//! The property everywhere: no panic and no hang, an answer or a clear error; an error never
//! shows the API key; a finished download holds exactly the bytes of the file, never a splice.
//!
//! Case counts: 256 per property (`PROPTEST_CASES` overrides), about a second each in a debug
//! build.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use happyhorse::{
    client::{Output, RetryPolicy, TaskHandle, TaskState},
    Client, ClientConfig, Error, Provider,
};
use proptest::{
    collection::vec,
    option,
    prelude::*,
    sample::select,
    test_runner::{TestCaseError, TestRunner},
};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    runtime::Runtime,
};

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // Failures are reported with their input; no regression file for this binary.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// What a request looked like, to the server.
#[derive(Clone, Debug)]
struct Seen {
    /// Its number within the case, from 0.
    number: usize,
    /// The start of its `Range: bytes=N-`, if it had one.
    range_from: Option<u64>,
}

type Responder = Box<dyn FnMut(&Seen) -> Vec<u8> + Send>;

/// A loopback HTTP/1.1 server that answers each request (one per connection) with the raw
/// bytes the current case's responder returns.
struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<(usize, Responder)>>,
}

impl Server {
    fn start(runtime: &Runtime) -> Server {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a local address");
        let state: Arc<Mutex<(usize, Responder)>> =
            Arc::new(Mutex::new((0, Box::new(|_: &Seen| Vec::new()))));
        let serving = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 2048];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                        if head.len() > 1 << 16 {
                            return;
                        }
                    }
                    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let range_from = text.lines().find_map(|line| {
                        line.strip_prefix("range:")?
                            .trim()
                            .strip_prefix("bytes=")?
                            .trim_end_matches('-')
                            .parse()
                            .ok()
                    });
                    let answer = {
                        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                        let seen = Seen {
                            number: state.0,
                            range_from,
                        };
                        state.0 += 1;
                        (state.1)(&seen)
                    };
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server { addr, state }
    }

    /// Answers the next requests with `responder`, numbering them from 0.
    fn answer(&self, responder: Responder) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (0, responder);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A raw HTTP/1.1 answer. `headers` are written as given; `Content-Length` is the body's
/// unless `length` says otherwise.
fn raw_answer(
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    length: Option<u64>,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    let length = length.unwrap_or(body.len() as u64);
    out.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
    out.extend_from_slice(body);
    out
}

/// A header value of any bytes except the line breaks that would end the header.
fn header_bytes() -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 0..40)
        .prop_map(|mut bytes| {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
            bytes
        })
        .boxed()
}

fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..200).prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("".to_owned()),
        Just("*".to_owned()),
        Just(" 40 ".to_owned()),
        Just("4O".to_owned()),
        Just("+40".to_owned()),
    ]
    .boxed()
}

/// `Retry-After` values: seconds, dates, garbage.
fn retry_after() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        number_text().prop_map(String::into_bytes),
        Just(b"Sat, 21 Nov 2026 10:00:30 GMT".to_vec()),
        Just(b"Thu, 01 Jan 1970 00:00:00 GMT".to_vec()),
        Just(b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec()),
        Just(b"Sunday, 06-Nov-94 08:49:37 GMT".to_vec()),
        Just(b"Sun Nov  6 08:49:37 1994".to_vec()),
        header_bytes(),
    ]
    .boxed()
}

/// Counts outcomes by kind: `ok`, or the error variant's name.
fn tally<T>(outcomes: &RefCell<BTreeMap<String, usize>>, result: &Result<T, Error>) {
    let kind = match result {
        Ok(_) => "ok".to_owned(),
        Err(err) => {
            let shown = format!("{err:?}");
            shown
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    };
    *outcomes.borrow_mut().entry(kind).or_default() += 1;
}

/// The cases reached each of `kinds` (when the run is long enough to expect it).
fn expect_variety(outcomes: &RefCell<BTreeMap<String, usize>>, kinds: &[&str]) {
    let outcomes = outcomes.borrow();
    eprintln!("outcomes: {outcomes:?}");
    if outcomes.values().sum::<usize>() >= 200 {
        for kind in kinds {
            assert!(
                outcomes.contains_key(*kind),
                "no case ended {kind}: {outcomes:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Polls: any answer to GET task
// ---------------------------------------------------------------------------------------------

const KEYS: [&str; 3] = [
    "sk-fuzz-SECRETKEY0001",
    "rk_fuzz_SECRETKEY0002",
    "afk_fuzz_SECRETKEY0003",
];
const JOB_ID: &str = "b2c3d4e5-f6a7-8901-bcde-f23456789012";

fn real_bodies(provider: Provider) -> Vec<Value> {
    match provider {
        Provider::HiApi => vec![
            json!({"code": 200, "message": "success", "data": {
                "taskId": "tk-1", "status": "success", "completed": 1_700_000_180,
                "output": [{"type": "video", "url": "https://temp.hiapi.ai/x/0.mp4?sig=s", "expireAt": 1_700_604_980}]}}),
            json!({"code": 200, "data": {"taskId": "tk-1", "status": "fail",
                "error": {"code": 1, "message": "moderation"}}}),
            json!({"code": 429, "error_code": "RATE_LIMITED", "message": "slow down"}),
            json!({"code": 200}),
            json!({"error_code": "INVALID_REQUEST", "message": "duration: maximum: got 20, want 15"}),
        ],
        Provider::Reapi => vec![
            json!({"id": "task_1", "status": "completed",
                "output": {"video_urls": ["https://cdn.reapi.ai/0.mp4"]}}),
            json!({"id": "task_1", "status": "failed", "error": {"code": 20002, "message": "bad"}}),
            json!({"error": {"code": 50001, "message": "rate limited"}}),
        ],
        Provider::Apiframe => vec![
            json!({"id": JOB_ID, "model": "happyhorse-1.1", "status": "COMPLETED", "progress": 100,
                "createdAt": "2026-01-01T00:00:00Z", "completedAt": "+262142-12-31T23:59:59Z",
                "creditCost": 192, "error": null, "webhookStatus": null,
                "result": {"urls": ["https://cdn.apiframe.ai/v.mp4"]}}),
            json!({"id": JOB_ID, "model": "m", "status": "PROCESSING", "progress": 250,
                "createdAt": "2026-01-01T00:00:00Z", "completedAt": null, "creditCost": null,
                "error": null, "webhookStatus": null}),
            json!({"error": "Validation failed", "details": {"prompt": ["required"]}}),
            json!({"error": "Insufficient credits", "creditsRequired": 155, "creditsAvailable": 12}),
        ],
    }
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(vec![
            i64::MIN,
            -1,
            0,
            100,
            101,
            200,
            256,
            404,
            429,
            503,
            999,
            1000,
            i64::MAX
        ])
        .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        select(vec![
            "success",
            "fail",
            "COMPLETED",
            "CANCELLED",
            "+262143-01-01T00:00:00Z",
            JOB_ID,
            ""
        ])
        .prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
    ]
    .boxed()
}

/// A body: a real one with a few members replaced (at the top or one level down), any
/// bytes, or text.
fn body(provider: Provider) -> BoxedStrategy<Vec<u8>> {
    let keys = select(vec![
        "code",
        "data",
        "message",
        "error_code",
        "taskId",
        "status",
        "output",
        "error",
        "id",
        "progress",
        "completedAt",
        "createdAt",
        "result",
        "details",
        "video_urls",
        "creditCost",
    ]);
    let edited = (
        select(real_bodies(provider)),
        vec((keys.clone(), option::of(keys), leaf()), 0..4),
    )
        .prop_map(|(mut body, edits)| {
            for (key, inner, value) in edits {
                match (inner, body.get_mut(key)) {
                    (Some(inner), Some(Value::Object(map))) => {
                        map.insert(inner.to_owned(), value);
                    }
                    _ => {
                        if let Value::Object(map) = &mut body {
                            map.insert(key.to_owned(), value);
                        }
                    }
                }
            }
            body.to_string().into_bytes()
        });
    prop_oneof![
        6 => edited,
        1 => vec(any::<u8>(), 0..200),
        1 => any::<String>().prop_map(String::into_bytes),
    ]
    .boxed()
}

/// One answer to a poll.
#[derive(Clone, Debug)]
struct PollAnswer {
    status: u16,
    content_type: Option<Vec<u8>>,
    retry_after: Option<Vec<u8>>,
    body: Vec<u8>,
    /// A `Content-Length` that is not the body's (the connection then ends early or late).
    length: Option<u64>,
}

fn poll_answer(provider: Provider) -> BoxedStrategy<PollAnswer> {
    let status = prop_oneof![
        4 => Just(200u16),
        4 => select(vec![201u16, 202, 204, 301, 304, 400, 401, 402, 403, 404, 408, 409, 410, 422, 425, 429, 500, 502, 503, 504]),
        1 => 200u16..=599,
        1 => 600u16..=999,
    ];
    let content_type = option::weighted(
        0.9,
        prop_oneof![
            4 => Just(b"application/json".to_vec()),
            1 => Just(b"application/json; charset=utf-8".to_vec()),
            1 => Just(b"text/html".to_vec()),
            1 => header_bytes(),
        ],
    );
    (
        status,
        content_type,
        option::of(retry_after()),
        body(provider),
        option::weighted(0.05, 0u64..400),
    )
        .prop_map(
            |(status, content_type, retry_after, body, length)| PollAnswer {
                status,
                content_type,
                retry_after,
                body,
                length,
            },
        )
        .boxed()
}

fn check_poll(
    provider: Provider,
    answer: &PollAnswer,
    result: &Result<happyhorse::client::TaskSnapshot, Error>,
) -> Result<(), TestCaseError> {
    let key = KEYS[provider as usize];
    match result {
        Ok(snapshot) => {
            prop_assert!(
                (200..300).contains(&answer.status),
                "a snapshot from a {} answer",
                answer.status
            );
            prop_assert_eq!(snapshot.provider, provider);
            prop_assert_eq!(
                snapshot.state,
                TaskState::from_status(provider, &snapshot.status)
            );
            prop_assert!(snapshot.progress.is_none_or(|p| p <= 100));
            let shown = format!("{snapshot:?}");
            prop_assert!(!shown.contains(key));
        }
        Err(err) => {
            let text = err.to_string();
            prop_assert!(!text.is_empty());
            prop_assert!(!text.contains(key), "the key in {}", text);
            let shown = format!("{err:?}");
            prop_assert!(!shown.contains(key), "the key in {}", shown);
            // An HTTP 429 with delay-seconds carries them (a HiAPI envelope's `code: 429`
            // under HTTP 200 does not read the header).
            if let (Error::RateLimited { retry_after, .. }, Some(value), 429) =
                (err, &answer.retry_after, answer.status)
            {
                if let Some(seconds) = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    prop_assert_eq!(*retry_after, Some(Duration::from_secs(seconds)));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn polls_read_any_answer_into_a_snapshot_or_a_clear_error() {
    let runtime = runtime();
    let server = Server::start(&runtime);
    let clients: Vec<Client> = Provider::ALL
        .iter()
        .map(|&provider| {
            let mut retry = RetryPolicy::none();
            retry.max_retry_after = Duration::ZERO;
            Client::new(
                ClientConfig::new(provider)
                    .with_api_key(KEYS[provider as usize])
                    .with_base_url(server.url())
                    .with_timeout(Duration::from_secs(5))
                    .with_retry(retry),
            )
            .expect("a client")
        })
        .collect();
    let strategy = select(Provider::ALL.to_vec())
        .prop_flat_map(|provider| (Just(provider), poll_answer(provider)));
    let outcomes = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(config(256));
    let outcome = runner.run(&strategy, |(provider, answer)| {
        let raw = {
            let mut headers = Vec::new();
            if let Some(value) = &answer.content_type {
                headers.push(("Content-Type".to_owned(), value.clone()));
            }
            if let Some(value) = &answer.retry_after {
                headers.push(("Retry-After".to_owned(), value.clone()));
            }
            raw_answer(answer.status, &headers, &answer.body, answer.length)
        };
        server.answer(Box::new(move |_| raw.clone()));
        let client = &clients[provider as usize];
        let id = if provider == Provider::Apiframe {
            JOB_ID
        } else {
            "tk-1"
        };
        let result = runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(20),
                client.status(TaskHandle::new(provider, id)),
            )
            .await
        });
        let Ok(result) = result else {
            return Err(TestCaseError::fail("the poll hung"));
        };
        tally(&outcomes, &result);
        check_poll(provider, &answer, &result)
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    expect_variety(&outcomes, &["ok", "UnexpectedResponse", "Unavailable"]);
}

// ---------------------------------------------------------------------------------------------
// Downloads: any answer to a resumed GET
// ---------------------------------------------------------------------------------------------

/// The file being downloaded: 100 bytes that start like an MP4.
fn file() -> Vec<u8> {
    let mut bytes = b"\0\0\0\x20ftypisom".to_vec();
    bytes.extend((0..88u8).map(|i| i.wrapping_mul(7)));
    bytes
}

/// Bytes the first answer delivers before the connection drops.
const FIRST: usize = 40;

/// How the server answers the requests after the first.
#[derive(Clone, Debug)]
struct Resume {
    status: u16,
    content_range: Option<ContentRange>,
    content_type: Option<Vec<u8>>,
    retry_after: Option<Vec<u8>>,
    /// The body of a 206: the file from the requested byte (true), or from byte 0 (false).
    from_requested: bool,
    /// Only the first this many answers after the first are fuzzed; the rest are a plain 200
    /// with the whole file.
    fuzzed: usize,
}

#[derive(Clone, Debug)]
enum ContentRange {
    /// `bytes START-END/TOTAL` with each part a number or not.
    Span(String, String, String),
    /// `bytes */TOTAL`, the form of a 416.
    Unsatisfied(String),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl ContentRange {
    fn render(&self) -> Vec<u8> {
        match self {
            ContentRange::Span(start, end, total) => {
                format!("bytes {start}-{end}/{total}").into_bytes()
            }
            ContentRange::Unsatisfied(total) => format!("bytes */{total}").into_bytes(),
            ContentRange::Raw(bytes) => bytes.clone(),
        }
    }
}

fn resume() -> BoxedStrategy<Resume> {
    let near = |n: u64| prop_oneof![Just(n.to_string()), number_text()];
    let content_range = prop_oneof![
        4 => (near(FIRST as u64), near(99), near(100))
            .prop_map(|(s, e, t)| ContentRange::Span(s, e, t)),
        2 => near(FIRST as u64).prop_map(ContentRange::Unsatisfied),
        1 => header_bytes().prop_map(ContentRange::Raw),
    ];
    let content_type = option::weighted(
        0.8,
        prop_oneof![
            4 => Just(b"video/mp4".to_vec()),
            1 => Just(b"application/octet-stream".to_vec()),
            1 => Just(b"text/html; charset=utf-8".to_vec()),
            1 => header_bytes(),
        ],
    );
    (
        prop_oneof![
            4 => Just(206u16),
            2 => Just(416u16),
            1 => Just(200u16),
            1 => select(vec![403u16, 404, 410, 429, 500, 503]),
        ],
        option::weighted(0.9, content_range),
        content_type,
        option::weighted(0.2, retry_after()),
        any::<bool>(),
        0usize..4,
    )
        .prop_map(
            |(status, content_range, content_type, retry_after, from_requested, fuzzed)| Resume {
                status,
                content_range,
                content_type,
                retry_after,
                from_requested,
                fuzzed,
            },
        )
        .boxed()
}

#[test]
fn resumed_downloads_read_any_answer_and_never_splice() {
    let runtime = runtime();
    let server = Server::start(&runtime);
    let mut retry =
        RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(1));
    retry.max_retry_after = Duration::ZERO;
    let client = Client::new(
        ClientConfig::new(Provider::HiApi)
            .with_api_key(KEYS[0])
            .with_base_url(server.url())
            .with_timeout(Duration::from_secs(5))
            .with_retry(retry),
    )
    .expect("a client");
    let file = file();
    let outcomes = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(config(256));
    let outcome = runner.run(&resume(), |resume| {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("video.mp4");
        let served = file.clone();
        let plan = resume.clone();
        server.answer(Box::new(move |seen: &Seen| {
            let whole = |body: &[u8], length: Option<u64>| {
                raw_answer(
                    200,
                    &[("Content-Type".to_owned(), b"video/mp4".to_vec())],
                    body,
                    length,
                )
            };
            if seen.number == 0 {
                // The first transfer breaks off after FIRST bytes of the announced 100.
                return whole(&served[..FIRST], Some(served.len() as u64));
            }
            if seen.number > plan.fuzzed {
                return whole(&served, None);
            }
            let from = if plan.from_requested {
                seen.range_from.unwrap_or(0).min(served.len() as u64) as usize
            } else {
                0
            };
            let mut headers = Vec::new();
            if let Some(range) = &plan.content_range {
                headers.push(("Content-Range".to_owned(), range.render()));
            }
            if let Some(value) = &plan.content_type {
                headers.push(("Content-Type".to_owned(), value.clone()));
            }
            if let Some(value) = &plan.retry_after {
                headers.push(("Retry-After".to_owned(), value.clone()));
            }
            let body: &[u8] = match plan.status {
                // A 200 is the whole file, by definition; a 206 from where asked, or (a
                // server that ignores the range) from the start.
                200 => &served,
                206 => &served[from..],
                _ => b"no",
            };
            raw_answer(plan.status, &headers, body, None)
        }));
        let output = Output {
            url: format!("{}/files/video.mp4?sig=SECRETSIG", server.url()),
            expires_at: None,
            expired: false,
        };
        let result = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), client.download(&output, &path)).await
        });
        let Ok(result) = result else {
            return Err(TestCaseError::fail("the download hung"));
        };
        tally(&outcomes, &result);
        match result {
            Ok(done) => {
                let written =
                    std::fs::read(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(done.bytes, written.len() as u64);
                // Whatever the answers said, the file is the file: no splice, no gap.
                prop_assert!(
                    written == file,
                    "{} bytes written, not the file",
                    written.len()
                );
            }
            Err(err) => {
                let text = err.to_string();
                prop_assert!(!text.is_empty());
                prop_assert!(!text.contains("SECRETSIG"), "the signed query in {}", text);
                prop_assert!(!text.contains(KEYS[0]));
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    expect_variety(&outcomes, &["ok", "UnexpectedResponse"]);
}
