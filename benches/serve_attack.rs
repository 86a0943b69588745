//! `happyhorse serve` (the release binary, default limits, a SQLite ledger) under the attack of
//! the issue that asked for its limits, against a baseline without it:
//!
//! - **baseline**: valid signed HiAPI deliveries, one every 50 ms, each on a new connection,
//!   for 10 s;
//! - **attack**: the same deliveries for 30 s while 1,000 slow-loris clients send one header
//!   byte every 10 s, 200 clients announce a 2 MB body, send 1 MiB of it and stall, and 200
//!   clients announce a 64 KiB body (within the limit), send 63 KiB of it and stall. Every
//!   attacker reconnects as soon as it is cut off (the 2 MB ones after 1 s).
//!
//! Measured: each delivery's answer time (connect to the whole answer) and status, the
//! connections the receiver holds (its open descriptors, sampled every 100 ms, less those it
//! had idle), the attackers' view (connections open, cut off, answered), and the receiver's
//! peak RSS (VmHWM) after each phase.
//!
//! `cargo bench --features postgres --bench serve_attack`. `ATTACK_SLOW` (1000),
//! `ATTACK_BIG` (200), `ATTACK_BODIES` (200), `ATTACK_SECONDS` (30), `BASELINE_SECONDS` (10).

#[allow(dead_code)]
#[path = "../tests/common/process.rs"]
mod process;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use happyhorse::{
    ledger::{self, NewJob, Transition},
    webhook, Provider,
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{sleep, timeout},
};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_bench_attack";
/// How long a delivery's answer may take before it counts as not answered.
const NO_ANSWER: Duration = Duration::from_secs(5);
/// Deliveries start this often.
const EVERY: Duration = Duration::from_millis(50);

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn task_id(i: usize) -> String {
    format!("tk-attack-{i:05}")
}

fn main() {
    let slow: usize = env("ATTACK_SLOW", 1000);
    let big: usize = env("ATTACK_BIG", 200);
    let bodies: usize = env("ATTACK_BODIES", 200);
    let attack_for = Duration::from_secs(env("ATTACK_SECONDS", 30));
    let baseline_for = Duration::from_secs(env("BASELINE_SECONDS", 10));
    let files = happyhorse::receiver::raise_open_files_limit().unwrap_or(0);
    let wanted = (slow + big + bodies) as u64 + 512;
    if files < wanted {
        println!("note: this process may open {files} files; the attack wants about {wanted}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let location = dir
        .path()
        .join("happyhorse.db")
        .to_str()
        .expect("UTF-8")
        .to_owned();
    let jobs = (baseline_for + attack_for).as_millis() as usize / EVERY.as_millis() as usize + 100;
    runtime.block_on(seed(&location, jobs));

    let running = process::Running::spawn(process::command(
        &["serve", "--addr", "127.0.0.1:0", "--ledger", &location],
        &[("HIAPI_WEBHOOK_SECRET", SECRET)],
    ));
    let started = Instant::now();
    let addr: SocketAddr = loop {
        let text = running.stderr();
        if let Some(at) = text.find("receiving on http://") {
            let rest = &text[at + "receiving on http://".len()..];
            break rest
                .split_whitespace()
                .next()
                .and_then(|a| a.parse().ok())
                .expect("an address");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    let pid = running.child.id();
    let limits = running
        .stderr()
        .lines()
        .find(|l| l.starts_with("limits:"))
        .unwrap_or("")
        .to_owned();
    println!("serve (release, default limits): {limits}");
    let idle_fds = open_fds(pid);
    let next = Arc::new(AtomicU64::new(0));

    let baseline = runtime.block_on(phase(addr, pid, idle_fds, &next, baseline_for, None));
    let baseline_rss = peak_rss_kib(pid);
    let attack = runtime.block_on(phase(
        addr,
        pid,
        idle_fds,
        &next,
        attack_for,
        Some((slow, big, bodies)),
    ));
    let attack_rss = peak_rss_kib(pid);
    let exit = running.interrupt(Duration::from_secs(60));
    let counts = exit
        .stderr
        .lines()
        .find(|l| l.starts_with("connections:"))
        .unwrap_or("")
        .to_owned();

    println!(
        "\n{:<10} {:>10} {:>5} {:>5} {:>8} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "phase",
        "deliveries",
        "200",
        "other",
        "no answer",
        "median",
        "p99",
        "max",
        "held (peak)",
        "peak RSS"
    );
    for (name, phase, rss) in [
        ("baseline", &baseline, baseline_rss),
        ("attack", &attack, attack_rss),
    ] {
        println!(
            "{:<10} {:>10} {:>5} {:>5} {:>8} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>12} {:>9.1}MiB",
            name,
            phase.latencies.len() + phase.unanswered,
            phase.ok,
            phase.other,
            phase.unanswered,
            quantile(&phase.latencies, 0.5) * 1e3,
            quantile(&phase.latencies, 0.99) * 1e3,
            quantile(&phase.latencies, 1.0) * 1e3,
            phase.held_peak,
            rss as f64 / 1024.0
        );
    }
    if let Some(view) = &attack.attackers {
        println!(
            "\nattackers: {slow} slow-loris, {big} 2 MB bodies, {bodies} 64 KiB bodies; receiver held {:.0} connections on average (peak {}) beyond {idle_fds} idle descriptors",
            attack.held_mean, attack.held_peak
        );
        println!(
            "slow-loris: {} connections opened, {} cut by the receiver, {} answered 503; 2 MB bodies: {} answered 413 (of {} sent); 64 KiB bodies: {} answered 408, {} 503",
            view.slow_opened.load(Ordering::Relaxed),
            view.slow_cut.load(Ordering::Relaxed),
            view.slow_503.load(Ordering::Relaxed),
            view.big_413.load(Ordering::Relaxed),
            view.big_sent.load(Ordering::Relaxed),
            view.bodies_408.load(Ordering::Relaxed),
            view.bodies_503.load(Ordering::Relaxed),
        );
        let within_1s = attack.latencies.iter().filter(|&&l| l <= 1.0).count();
        println!(
            "deliveries under attack answered within 1 s: {within_1s} of {}",
            attack.latencies.len() + attack.unanswered
        );
    }
    println!("receiver's own counts: {counts}");
}

/// One HiAPI job per delivery, submitted with its task id.
async fn seed(location: &str, jobs: usize) {
    let ledger = ledger::open(location).await.expect("the ledger opens");
    let new: Vec<NewJob> = (0..jobs)
        .map(|i| NewJob {
            id: format!("job-{i:05}"),
            line: Some(i as u64 + 1),
            provider: Provider::HiApi,
            body: json!({"model": "happyhorse-1.1", "prompt": "a horse"}),
            idempotency_key: Some(format!("hh-{i}")),
            resolution: "720p".into(),
            video_seconds: 5,
            credits: None,
            output_name: format!("job-{i:05}.mp4"),
        })
        .collect();
    ledger.enqueue(&new).await.expect("enqueue");
    let claimed = ledger
        .claim("bench", Duration::from_secs(3600), jobs as u32)
        .await
        .expect("claim");
    for job in claimed {
        let lease = job.lease.clone().expect("a lease");
        let i: usize = job.id["job-".len()..].parse().expect("a number");
        ledger
            .apply(
                &lease,
                Transition::submitting(Some("https://hooks.example/hiapi".into())),
            )
            .await
            .expect("submitting");
        ledger
            .apply(
                &lease,
                Transition::Submitted {
                    task_id: task_id(i),
                    status: "queued".into(),
                },
            )
            .await
            .expect("submitted");
    }
}

/// What one phase measured.
struct Phase {
    latencies: Vec<f64>,
    ok: usize,
    other: usize,
    unanswered: usize,
    held_peak: usize,
    held_mean: f64,
    attackers: Option<Arc<View>>,
}

/// The attackers' counts.
#[derive(Default)]
struct View {
    slow_opened: AtomicU64,
    slow_cut: AtomicU64,
    slow_503: AtomicU64,
    big_sent: AtomicU64,
    big_413: AtomicU64,
    bodies_408: AtomicU64,
    bodies_503: AtomicU64,
}

async fn phase(
    addr: SocketAddr,
    pid: u32,
    idle_fds: usize,
    next: &AtomicU64,
    length: Duration,
    attack: Option<(usize, usize, usize)>,
) -> Phase {
    let stop = CancellationToken::new();
    let view = Arc::new(View::default());
    let mut attackers = Vec::new();
    if let Some((slow, big, bodies)) = attack {
        for _ in 0..slow {
            attackers.push(tokio::spawn(slow_loris(
                addr,
                stop.clone(),
                Arc::clone(&view),
            )));
        }
        for _ in 0..big {
            attackers.push(tokio::spawn(big_body(
                addr,
                stop.clone(),
                Arc::clone(&view),
            )));
        }
        for _ in 0..bodies {
            attackers.push(tokio::spawn(held_body(
                addr,
                stop.clone(),
                Arc::clone(&view),
            )));
        }
        // Let them connect before the first delivery.
        sleep(Duration::from_secs(2)).await;
    }
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let (stop, samples) = (stop.clone(), Arc::clone(&samples));
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let held = open_fds(pid).saturating_sub(idle_fds);
                samples.lock().expect("samples").push(held);
                sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (mut latencies, mut ok, mut other, mut unanswered) = (Vec::new(), 0, 0, 0);
    let started = Instant::now();
    while started.elapsed() < length {
        let at = Instant::now();
        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
        match deliver(addr, &task_id(i)).await {
            Some(status) => {
                latencies.push(at.elapsed().as_secs_f64());
                if status == 200 {
                    ok += 1;
                } else {
                    other += 1;
                }
            }
            None => unanswered += 1,
        }
        if let Some(rest) = EVERY.checked_sub(at.elapsed()) {
            sleep(rest).await;
        }
    }
    stop.cancel();
    let _ = sampler.await;
    for attacker in attackers {
        let _ = attacker.await;
    }
    let samples = samples.lock().expect("samples").clone();
    latencies.sort_by(f64::total_cmp);
    Phase {
        latencies,
        ok,
        other,
        unanswered,
        held_peak: samples.iter().copied().max().unwrap_or(0),
        held_mean: samples.iter().sum::<usize>() as f64 / samples.len().max(1) as f64,
        attackers: attack.map(|_| view),
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// A signed HiAPI success callback for `task` on a new connection; its status, or `None`
/// without a whole answer within [`NO_ANSWER`].
async fn deliver(addr: SocketAddr, task: &str) -> Option<u16> {
    let body = serde_json::to_vec(&json!({
        "taskId": task,
        "model": "happyhorse-1.1/text-to-video",
        "status": "success",
        "created": 1_750_000_000,
        "completed": 1_750_000_180,
        "output": [{"type": "video", "url": format!("https://temp.hiapi.ai/outputs/{task}.mp4"), "expireAt": 1_900_000_000}],
        "error": null,
    }))
    .ok()?;
    let timestamp = now();
    let signature = webhook::hiapi_signature(SECRET.as_bytes(), timestamp, &body);
    let mut request = format!(
        "POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n{}: {timestamp}\r\n{}: {signature}\r\n\r\n",
        body.len(),
        webhook::HIAPI_TIMESTAMP_HEADER,
        webhook::HIAPI_SIGNATURE_HEADER,
    )
    .into_bytes();
    request.extend_from_slice(&body);
    timeout(NO_ANSWER, async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(&request).await.ok()?;
        let mut answer = Vec::new();
        // `Connection: close`: the answer ends with the connection.
        stream.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer);
        let (head, _) = text.split_once("\r\n\r\n")?;
        head.split_whitespace().nth(1)?.parse().ok()
    })
    .await
    .ok()
    .flatten()
}

/// Reads what the receiver sends until it closes the connection or `stop`; the status of its
/// answer, if any.
async fn until_closed(stream: &mut TcpStream, stop: &CancellationToken) -> Option<u16> {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        tokio::select! {
            () = stop.cancelled() => return None,
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n.min(1024)]),
            },
        }
    }
    let text = String::from_utf8_lossy(&seen);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Opens a connection and sends one byte of a request head every 10 s, for ever; reconnects
/// when cut off.
async fn slow_loris(addr: SocketAddr, stop: CancellationToken, view: Arc<View>) {
    let head = b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nX-Slow: ";
    while !stop.is_cancelled() {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        view.slow_opened.fetch_add(1, Ordering::Relaxed);
        let mut sent = 0;
        let mut chunk = [0u8; 1024];
        let mut seen = Vec::new();
        let cut = loop {
            let byte = head.get(sent).copied().unwrap_or(b'a');
            sent += 1;
            if stream.write_all(&[byte]).await.is_err() {
                break true;
            }
            tokio::select! {
                () = stop.cancelled() => break false,
                read = stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => break true,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                },
                () = sleep(Duration::from_secs(10)) => {}
            }
        };
        if cut {
            view.slow_cut.fetch_add(1, Ordering::Relaxed);
            if seen.starts_with(b"HTTP/1.1 503") {
                view.slow_503.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Announces a 2 MB body, sends 1 MiB of it and stalls; reconnects 1 s after being cut off.
async fn big_body(addr: SocketAddr, stop: CancellationToken, view: Arc<View>) {
    let head = b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n";
    let body = vec![b'x'; 1 << 20];
    while !stop.is_cancelled() {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        view.big_sent.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(head).await.is_ok() {
            let _ = timeout(Duration::from_secs(10), stream.write_all(&body)).await;
        }
        if until_closed(&mut stream, &stop).await == Some(413) {
            view.big_413.fetch_add(1, Ordering::Relaxed);
        }
        drop(stream);
        tokio::select! {
            () = stop.cancelled() => {}
            () = sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Announces a 64 KiB body (within the limit), sends 63 KiB of it and stalls; reconnects when
/// cut off.
async fn held_body(addr: SocketAddr, stop: CancellationToken, view: Arc<View>) {
    let head = b"POST /hiapi HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n";
    let body = vec![b'x'; 63 * 1024];
    while !stop.is_cancelled() {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        if stream.write_all(head).await.is_ok() {
            let _ = stream.write_all(&body).await;
        }
        match until_closed(&mut stream, &stop).await {
            Some(408) => view.bodies_408.fetch_add(1, Ordering::Relaxed),
            Some(503) => view.bodies_503.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// VmHWM of `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
