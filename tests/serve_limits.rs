//! `happyhorse serve` facing slow and oversized clients, over raw TCP on loopback, with a SQLite
//! ledger in a temporary directory: a header trickled byte by byte is cut by the header
//! timeout, an idle keep-alive connection is closed, a stalled body is cut by the body timeout
//! (408), a body announced above the pre-authentication limit gets 413 without being sent, a
//! chunked one is cut at the limit, connections beyond the cap and requests beyond the
//! in-flight cap get 503 at once, a valid signed delivery is still answered while hundreds of
//! slow clients are connected (also under `ulimit -n 256`, where they outnumber the process's
//! file descriptors), 300 stalled bodies leave the process's peak memory small, and a burst of
//! 1,500 connections while the receiver is not accepting is queued by the kernel, not dropped.
//!
//! The timeouts and caps are set through `serve`'s environment variables
//! (`HAPPYHORSE_SERVE_*`), so that every test runs in seconds. Bounds on answers are generous
//! (an answer must come, within seconds): none is an assertion of speed.
#![cfg(feature = "cli")]

mod common;

use std::{
    net::SocketAddr,
    process::Command,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::process::{command, Running};
use happyhorse::{
    ledger::{self, JobState, NewJob, Transition},
    webhook, Provider,
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

/// HiAPI's callback signing secret the receiver is given.
const SECRET: &str = "whsec_serve_limits_5Tg8Kp";
/// The task of the one job in the ledger.
const TASK: &str = "tk-serve-limits";
/// How long starting and stopping may take before a test gives up.
const PATIENCE: Duration = Duration::from_secs(120);
/// How long an answer that must come may take (not a claim of speed).
const ANSWERED: Duration = Duration::from_secs(5);
/// The receiver's documented pre-authentication body limit.
const MAX_BODY: usize = 64 * 1024;

const HEADER_TIMEOUT: &str = "HAPPYHORSE_SERVE_HEADER_TIMEOUT";
const BODY_TIMEOUT: &str = "HAPPYHORSE_SERVE_BODY_TIMEOUT";
const MAX_CONNECTIONS: &str = "HAPPYHORSE_SERVE_MAX_CONNECTIONS";
const MAX_REQUESTS: &str = "HAPPYHORSE_SERVE_MAX_REQUESTS";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

// ---------------------------------------------------------------------------------------------
// The receiver as a process.

/// A running `serve`, its address and its ledger's directory (removed on drop, after the
/// process is killed).
struct Serve {
    running: Running,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// `serve` over a fresh ledger holding one submitted HiAPI job (task [`TASK`]), with
    /// `settings` in its environment, and, given `nofile`, under `ulimit -n nofile` (soft and
    /// hard).
    async fn start(settings: &[(&str, &str)], nofile: Option<u32>) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let location = dir
            .path()
            .join("happyhorse.db")
            .to_str()
            .expect("a UTF-8 path")
            .to_owned();
        prepare(&location).await;
        let mut env = vec![("HIAPI_WEBHOOK_SECRET", SECRET)];
        env.extend_from_slice(settings);
        let inner = command(
            &["serve", "--addr", "127.0.0.1:0", "--ledger", &location],
            &env,
        );
        let command = match nofile {
            Some(limit) => under_ulimit(&inner, limit),
            None => inner,
        };
        let running = Running::spawn(command);
        let started = Instant::now();
        let addr = loop {
            let text = running.stderr();
            if let Some(at) = text.find("receiving on http://") {
                let rest = &text[at + "receiving on http://".len()..];
                let addr = rest.split_whitespace().next().expect("an address");
                break addr.parse().expect("a socket address");
            }
            assert!(
                started.elapsed() < PATIENCE,
                "serve did not start within {PATIENCE:?}: {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Serve {
            running,
            addr,
            _dir: dir,
        }
    }

    /// Stops it as Ctrl-C would; its final `connections:` line.
    fn stop(self) -> String {
        let exit = self.running.interrupt(PATIENCE);
        assert_eq!(exit.code, Some(0), "{}", exit.stderr);
        exit.stderr
            .lines()
            .find(|line| line.starts_with("connections: "))
            .unwrap_or_else(|| panic!("no connections line in {}", exit.stderr))
            .to_owned()
    }

    /// VmHWM (peak resident set) of the process, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.running.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmHWM line")
    }
}

/// `inner` (the binary, its arguments and environment) run by `sh` after `ulimit -n limit`.
fn under_ulimit(inner: &Command, limit: u32) -> Command {
    let mut outer = Command::new("sh");
    outer
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$@\""))
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args());
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => outer.env(name, value),
            None => outer.env_remove(name),
        };
    }
    outer.stdin(std::process::Stdio::null());
    outer
}

/// One HiAPI job, claimed and submitted with task [`TASK`], as a batch with `--callback-url`
/// leaves it.
async fn prepare(location: &str) {
    let ledger = ledger::open(location).await.expect("the ledger opens");
    let job = NewJob {
        id: "h-limits".into(),
        line: Some(1),
        provider: Provider::HiApi,
        body: json!({"model": "happyhorse-1.1", "prompt": "a horse"}),
        idempotency_key: Some("hh-h-limits".into()),
        resolution: "720p".into(),
        video_seconds: 5,
        credits: None,
        output_name: "h-limits.mp4".into(),
    };
    ledger.enqueue(&[job]).await.expect("enqueue");
    let claimed = ledger
        .claim("worker-1", Duration::from_secs(3600), 1)
        .await
        .expect("claim");
    let lease = claimed[0].lease.clone().expect("a lease");
    ledger
        .apply(
            &lease,
            Transition::submitting(Some("https://hooks.example/hiapi".into())),
        )
        .await
        .expect("submitting");
    let submitted = ledger
        .apply(
            &lease,
            Transition::Submitted {
                task_id: TASK.into(),
                status: "queued".into(),
            },
        )
        .await
        .expect("submitted");
    assert_eq!(submitted.state, JobState::Submitted);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 on TCP.

/// A HiAPI success callback for [`TASK`], signed now, as raw request bytes.
fn signed_delivery() -> Vec<u8> {
    let body = serde_json::to_vec(&json!({
        "taskId": TASK,
        "model": "happyhorse-1.1/text-to-video",
        "status": "success",
        "created": 1_750_000_000,
        "completed": 1_750_000_180,
        "output": [{"type": "video", "url": format!("https://temp.hiapi.ai/outputs/{TASK}.mp4"), "expireAt": 1_900_000_000}],
        "error": null,
    }))
    .unwrap();
    let timestamp = now();
    let signature = webhook::hiapi_signature(SECRET.as_bytes(), timestamp, &body);
    let mut request = format!(
        "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{}: {timestamp}\r\n{}: {signature}\r\n\r\n",
        body.len(),
        webhook::HIAPI_TIMESTAMP_HEADER,
        webhook::HIAPI_SIGNATURE_HEADER,
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// One answer as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The status line and headers, lower-cased.
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim())
        })
    }
}

/// Reads one answer (head, and a body of its `Content-Length`), or `None` if the connection
/// closes first or nothing complete comes within `within`.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> Option<Answer> {
    let deadline = tokio::time::Instant::now() + within;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse().unwrap_or(0));
            if status == 100 {
                // An interim answer: what follows is the real one.
                bytes.drain(..end + 4);
                continue;
            }
            if bytes.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]).into_owned();
                return Some(Answer { status, head, body });
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n @ 1..)) => bytes.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Whether the server closes `stream` within `within` (reading and discarding what comes),
/// and when.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + within;
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// A signed delivery on a fresh connection, and its answer within [`ANSWERED`].
async fn deliver(addr: SocketAddr) -> Option<Answer> {
    let mut stream = timeout(ANSWERED, TcpStream::connect(addr))
        .await
        .ok()?
        .ok()?;
    stream.write_all(&signed_delivery()).await.ok()?;
    read_answer(&mut stream, ANSWERED).await
}

/// A delivery that must be answered 200 (applied the first time, a duplicate after).
async fn assert_delivered(addr: SocketAddr, what: &str) {
    let started = Instant::now();
    let answer = deliver(addr).await;
    let elapsed = started.elapsed();
    let answer =
        answer.unwrap_or_else(|| panic!("{what}: a signed delivery got no answer in {ANSWERED:?}"));
    assert_eq!(answer.status, 200, "{what}: {answer:?}");
    eprintln!("{what}: answered 200 in {elapsed:?}");
}

/// A connection that has sent the start of a request line and nothing more.
async fn slow_loris(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr).await;
    stream.write_all(b"POST /hi").await.expect("a first byte");
    stream
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_trickled_byte_by_byte_is_cut_by_the_header_timeout() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "1")], None).await;
    let mut stream = connect(serve.addr).await;
    let head = format!(
        "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nX-Padding: {}\r\n",
        "a".repeat(200)
    );
    let started = Instant::now();
    let mut closed = None;
    let mut chunk = [0u8; 1024];
    // One byte every 100 ms: 20 s of header, never finished.
    for byte in head.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            closed = Some(started.elapsed());
            break;
        }
        if let Ok(Ok(0) | Err(_)) =
            timeout(Duration::from_millis(100), stream.read(&mut chunk)).await
        {
            closed = Some(started.elapsed());
            break;
        }
        if started.elapsed() > ANSWERED * 2 {
            break;
        }
    }
    let closed =
        closed.expect("a trickled header is cut (header timeout 1 s); still open after 10 s");
    assert!(
        closed >= Duration::from_millis(800) && closed < ANSWERED,
        "closed after {closed:?} with a 1 s header timeout"
    );
    let counts = serve.stop();
    assert!(
        counts.contains(" 1 closed by the header timeout"),
        "{counts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "1")], None).await;
    let mut stream = connect(serve.addr).await;
    stream.write_all(&signed_delivery()).await.unwrap();
    let answer = read_answer(&mut stream, ANSWERED)
        .await
        .expect("the delivery is answered");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_ne!(
        answer.header("connection"),
        Some("close"),
        "the answer keeps the connection alive: {answer:?}"
    );
    // A second request on the same connection is served (keep-alive works) ...
    stream.write_all(&signed_delivery()).await.unwrap();
    let again = read_answer(&mut stream, ANSWERED)
        .await
        .expect("a second delivery on the kept-alive connection");
    assert_eq!(again.status, 200, "{again:?}");
    // ... and the connection, left idle, is closed.
    let closed = closed_within(&mut stream, ANSWERED)
        .await
        .expect("an idle keep-alive connection is closed (1 s); still open after 5 s");
    assert!(
        closed >= Duration::from_millis(800),
        "closed after {closed:?}"
    );
    let counts = serve.stop();
    assert!(
        counts.contains(" 1 closed by the header timeout"),
        "{counts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_by_the_body_timeout() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "30"), (BODY_TIMEOUT, "1")], None).await;
    let mut stream = connect(serve.addr).await;
    stream
        .write_all(b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: 1000\r\n\r\n{\"taskId\":")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut stream, ANSWERED)
        .await
        .expect("a stalled body is answered (body timeout 1 s); nothing after 5 s");
    let elapsed = started.elapsed();
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    assert!(
        elapsed >= Duration::from_millis(800),
        "answered after {elapsed:?}"
    );
    assert!(
        closed_within(&mut stream, ANSWERED).await.is_some(),
        "the connection is closed after the 408"
    );
    // The receiver still takes deliveries.
    assert_delivered(serve.addr, "after a body timeout").await;
    let counts = serve.stop();
    assert!(counts.contains(" 1 too slow (408)"), "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_above_the_limit_is_refused_with_413_before_it_is_read() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "30"), (BODY_TIMEOUT, "30")], None).await;
    // Announced above the limit: 413 at once, without a byte of the body sent; with
    // `Expect: 100-continue`, no 100 either.
    for (length, expect) in [
        (MAX_BODY + 1, false),
        (100 * 1024, false),
        (10_000_000, false),
        (100 * 1024, true),
    ] {
        let mut stream = connect(serve.addr).await;
        let expect = if expect {
            "Expect: 100-continue\r\n"
        } else {
            ""
        };
        let head = format!(
            "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\n{expect}Content-Length: {length}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let answered = timeout(ANSWERED, async {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut chunk).await {
                raw.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        assert!(
            answered.is_ok(),
            "Content-Length {length}{expect}: no answer and no close in {ANSWERED:?} (got {text:?})"
        );
        assert!(
            text.starts_with("HTTP/1.1 413"),
            "Content-Length {length} {expect}: {text:?}"
        );
        assert!(!text.contains("100 Continue"), "{text:?}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text:?}"
        );
    }
    // Chunked, with no length announced: cut at the limit.
    let mut stream = connect(serve.addr).await;
    stream
        .write_all(
            b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
    let chunk = vec![b'x'; 16 * 1024];
    let mut sent = 0;
    while sent < 4 * MAX_BODY {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let answer = read_answer(&mut stream, ANSWERED)
        .await
        .expect("a chunked body above the limit is answered");
    assert_eq!(answer.status, 413, "{answer:?}");
    // At the limit exactly, a body is read and judged (here: unsigned, 401).
    let mut stream = connect(serve.addr).await;
    let body = vec![b' '; MAX_BODY];
    let head = format!(
        "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: {MAX_BODY}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let answer = read_answer(&mut stream, ANSWERED)
        .await
        .expect("a body at the limit is answered");
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_delivered(serve.addr, "after the refusals").await;
    let counts = serve.stop();
    assert!(counts.contains(" 5 bodies too large (413)"), "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_503_at_once() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "30"), (MAX_CONNECTIONS, "20")], None).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(slow_loris(serve.addr).await);
    }
    // Let the receiver accept them all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for attempt in 0..3 {
        let started = Instant::now();
        let mut stream = connect(serve.addr).await;
        // The answer comes without a request (the receiver does not wait for one) ...
        let answer = read_answer(&mut stream, ANSWERED)
            .await
            .unwrap_or_else(|| panic!("attempt {attempt}: the 21st connection got no answer"));
        assert_eq!(answer.status, 503, "attempt {attempt}: {answer:?}");
        assert!(answer.header("retry-after").is_some(), "{answer:?}");
        assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
        assert!(answer.body.contains("busy"), "{answer:?}");
        assert!(
            closed_within(&mut stream, ANSWERED).await.is_some(),
            "closed after the 503"
        );
        eprintln!("503 beyond the cap in {:?}", started.elapsed());
    }
    // ... and a delivery beyond the cap is refused the same way.
    let answer = deliver(serve.addr).await.expect("an answer beyond the cap");
    assert_eq!(answer.status, 503, "{answer:?}");
    drop(held);
    // Once the slow clients are gone, deliveries are taken again.
    let started = Instant::now();
    loop {
        let answer = deliver(serve.addr).await.expect("an answer");
        if answer.status == 200 {
            break;
        }
        assert!(started.elapsed() < ANSWERED, "still refused: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_cap_get_503_at_once() {
    let serve = Serve::start(
        &[
            (HEADER_TIMEOUT, "30"),
            (BODY_TIMEOUT, "30"),
            (MAX_REQUESTS, "5"),
        ],
        None,
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(serve.addr).await;
        stream
            .write_all(
                b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: 100\r\n\r\n{",
            )
            .await
            .unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = deliver(serve.addr)
        .await
        .expect("a delivery beyond the in-flight cap is answered");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    drop(held);
    let started = Instant::now();
    loop {
        let answer = deliver(serve.addr).await.expect("an answer");
        if answer.status == 200 {
            break;
        }
        assert!(started.elapsed() < ANSWERED, "still refused: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_answered_while_300_slow_clients_are_connected() {
    let serve = Serve::start(&[], None).await;
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(slow_loris(serve.addr).await);
    }
    for _ in 0..100 {
        let mut stream = connect(serve.addr).await;
        stream
            .write_all(
                b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: 60000\r\n\r\n{",
            )
            .await
            .unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..5 {
        assert_delivered(serve.addr, &format!("delivery {i} beside 400 slow clients")).await;
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_beyond_the_open_file_limit_never_stall_the_receiver() {
    // 300 slow clients against a process allowed 256 open files: the cap (derived from the
    // limit) keeps descriptors for the ledger and for answering 503, and a delivery is answered
    // at once, 503 while the slots are held, 200 once the header timeout frees them.
    let serve = Serve::start(&[(HEADER_TIMEOUT, "2")], Some(256)).await;
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(slow_loris(serve.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let answer = deliver(serve.addr)
        .await
        .expect("a delivery is answered while slow clients hold every slot");
    assert!(answer.status == 503 || answer.status == 200, "{answer:?}");
    eprintln!("answered {} in {:?}", answer.status, started.elapsed());
    // The slow clients stay connected (from their side); the header timeout frees the slots.
    let started = Instant::now();
    loop {
        let answer = deliver(serve.addr).await.expect("a delivery is answered");
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503, "{answer:?}");
        assert!(
            started.elapsed() < ANSWERED * 2,
            "still refused after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    let stderr = serve.running.stderr();
    assert!(
        stderr.contains("at most 128 connections"),
        "the cap is derived from the open-file limit (256 - 128): {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_leave_peak_memory_small() {
    let serve = Serve::start(&[(HEADER_TIMEOUT, "30"), (BODY_TIMEOUT, "30")], None).await;
    assert_delivered(serve.addr, "before").await;
    let before = serve.peak_rss_kib();
    // 100 connections announce 2 MB and send 1 MiB of it; 100 send 1 MiB chunked; 100 send
    // 63 KiB of a 64 KiB body and stall (taken in, within the limit, until the body timeout).
    let mut tasks = Vec::new();
    for i in 0..300 {
        let addr = serve.addr;
        tasks.push(tokio::spawn(async move {
            let mut stream = connect(addr).await;
            let (head, body): (String, Vec<u8>) = match i % 3 {
                0 => (
                    "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: 2000000\r\n\r\n".into(),
                    vec![b'x'; 1 << 20],
                ),
                1 => (
                    "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
                    [format!("{:x}\r\n", 1 << 20).into_bytes(), vec![b'x'; 1 << 20]].concat(),
                ),
                _ => (
                    format!("POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Length: {MAX_BODY}\r\n\r\n"),
                    vec![b'x'; MAX_BODY - 1024],
                ),
            };
            let _ = stream.write_all(head.as_bytes()).await;
            // The receiver may stop reading (and close): a write that fails or stalls ends here.
            let _ = timeout(ANSWERED, stream.write_all(&body)).await;
            stream
        }));
    }
    let mut held = Vec::new();
    for task in tasks {
        held.push(task.await.expect("a client task"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_delivered(serve.addr, "beside 300 stalled bodies").await;
    let after = serve.peak_rss_kib();
    let grown = after.saturating_sub(before);
    eprintln!("peak RSS {before} KiB before, {after} KiB under 300 stalled bodies (+{grown} KiB)");
    assert!(
        grown < 64 * 1024,
        "peak RSS grew by {grown} KiB under 300 stalled bodies ({before} → {after} KiB)"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connections_is_queued_not_dropped() {
    // When a thousand slow clients cut off by the header timeout reconnect at once, the
    // kernel's accept queue takes them while the receiver catches up; one that overflows drops
    // SYNs, and a delivery among them waits for a retransmission (a second or more). Here the
    // receiver is stopped (SIGSTOP) while 1,500 connections are opened: all are queued.
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    let files = happyhorse::receiver::raise_open_files_limit().unwrap_or(0);
    if somaxconn < 2048 || files < 2048 {
        eprintln!("skipped: net.core.somaxconn {somaxconn} or open files {files} below 2048");
        return;
    }
    let serve = Serve::start(&[], None).await;
    let pid = serve.running.child.id().to_string();
    let signal = |name: &str| {
        let sent = Command::new("kill")
            .args([name, &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill {name}");
    };
    signal("-STOP");
    let mut connecting = Vec::new();
    for _ in 0..1500 {
        let addr = serve.addr;
        connecting.push(tokio::spawn(async move {
            timeout(Duration::from_millis(500), TcpStream::connect(addr))
                .await
                .ok()
                .and_then(Result::ok)
        }));
    }
    let mut held = Vec::new();
    for task in connecting {
        if let Some(stream) = task.await.expect("a connecting task") {
            held.push(stream);
        }
    }
    signal("-CONT");
    assert_eq!(
        held.len(),
        1500,
        "connections queued while the receiver was not accepting"
    );
    drop(held);
    assert_delivered(serve.addr, "after the burst").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answers_is_cut_off() {
    // Pipelined requests, none of whose answers is read: once the answers fill the socket
    // buffers, the receiver cannot write; after the body timeout it gives up the connection
    // (the client's next write fails) instead of holding it for ever.
    let serve = Serve::start(&[(HEADER_TIMEOUT, "30"), (BODY_TIMEOUT, "1")], None).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(serve.addr).await.unwrap();
    let (_never_read, mut write) = stream.into_split();
    let requests = b"GET /nowhere HTTP/1.1\r\nHost: hooks.example\r\n\r\n".repeat(1000);
    let started = Instant::now();
    let cut = loop {
        match timeout(Duration::from_secs(10), write.write_all(&requests)).await {
            Ok(Ok(())) if started.elapsed() < Duration::from_secs(60) => {}
            Ok(Ok(())) => break None,
            Ok(Err(_)) => break Some(started.elapsed()),
            // Stalled for 10 s: the receiver neither reads nor lets go.
            Err(_) => break None,
        }
    };
    let cut = cut.expect("a client that does not read its answers is cut off");
    eprintln!("cut off after {cut:?}");
    assert_delivered(serve.addr, "after a client that did not read").await;
    let counts = serve.stop();
    assert!(counts.contains(" 1 cut for taking no answer"), "{counts}");
}
