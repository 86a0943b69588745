//! `happyhorse serve`: the webhook receiver ([`happyhorse::receiver`]) on an address, writing
//! to a batch's ledger.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use happyhorse::{
    ledger::{self, Ledger},
    metrics::Metrics,
    receiver::{self, Receiver, ServeLimits, HIAPI_SECRET_ENV},
    Provider,
};

use super::session::{self, UNUSABLE};

/// Where `serve` listens by default: beside, not on, the sandbox's 8787.
const DEFAULT_ADDR: &str = "127.0.0.1:8789";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen. Providers call back over HTTPS: put a TLS-terminating proxy in front,
    /// or keep it on loopback for a sandbox.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// The ledger the batch workers use: a SQLite file on this machine, or postgres://...
    #[arg(long, value_name = "PATH_OR_URL", env = "HAPPYHORSE_LEDGER")]
    ledger: String,
    /// Take HiAPI callbacks without a signature (for an account whose signing is off; anyone
    /// who reaches the receiver could then report a task's end). Without it, HiAPI callbacks
    /// need HIAPI_WEBHOOK_SECRET.
    #[arg(long)]
    hiapi_unsigned: bool,
    /// Close a connection that has not sent a whole request head this long after it opened or
    /// after its last answer (slow clients, idle keep-alive). Default 10.
    #[arg(long, value_name = "SECONDS", env = "HAPPYHORSE_SERVE_HEADER_TIMEOUT", value_parser = parse_seconds)]
    header_timeout: Option<Duration>,
    /// Answer 408 and close when a request's body has not arrived whole this long after its
    /// head; cut a connection whose client has taken none of an answer for this long. Default 10.
    #[arg(long, value_name = "SECONDS", env = "HAPPYHORSE_SERVE_BODY_TIMEOUT", value_parser = parse_seconds)]
    body_timeout: Option<Duration>,
    /// Answer 413 to a body above this many bytes, before reading it (deliveries are a few
    /// KiB). Default 65536.
    #[arg(long, value_name = "BYTES", env = "HAPPYHORSE_SERVE_MAX_BODY", value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    max_body: Option<u32>,
    /// Connections open at once; beyond, 503 with Retry-After at once. Default 4096, or the
    /// open-file limit (raised to its hard limit at start) minus 128 if lower.
    #[arg(long, value_name = "N", env = "HAPPYHORSE_SERVE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// Requests in flight at once (head read, not yet answered); beyond, 503 with Retry-After.
    /// Default 256.
    #[arg(long, value_name = "N", env = "HAPPYHORSE_SERVE_MAX_REQUESTS", value_parser = clap::value_parser!(u32).range(1..))]
    max_requests: Option<u32>,
    /// Print a line of what was delivered every this many seconds (only when something was);
    /// 0 for none. Default 60.
    #[arg(long, value_name = "SECONDS", env = "HAPPYHORSE_SERVE_SUMMARY_EVERY", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    summary_every: u64,
}

/// `--header-timeout`, `--body-timeout`: seconds, from 0.1 to 3600 (decimals allowed).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let refused = || format!("want seconds from 0.1 to 3600 (e.g. 10 or 2.5), got {text:?}");
    let seconds: f64 = text.trim().parse().map_err(|_| refused())?;
    if !(0.1..=3600.0).contains(&seconds) {
        return Err(refused());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The limits the flags ask for, over the library's defaults (taken after the open-file limit
/// is raised, so that the connection cap can use it).
fn limits(args: &Args) -> ServeLimits {
    let mut limits = ServeLimits::default();
    if let Some(timeout) = args.header_timeout {
        limits = limits.with_header_timeout(timeout);
    }
    if let Some(timeout) = args.body_timeout {
        limits = limits.with_body_timeout(timeout);
    }
    if let Some(bytes) = args.max_body {
        limits = limits.with_max_body(bytes as usize);
    }
    if let Some(n) = args.max_connections {
        limits = limits.with_max_connections(n as usize);
    }
    if let Some(n) = args.max_requests {
        limits = limits.with_max_requests(n as usize);
    }
    limits
}

/// Connections the kernel may queue for `accept` (it caps the number at
/// `net.core.somaxconn`, 4096 on current Linux). Tokio's default, 1024, overflows when a
/// thousand slow clients cut off by the header timeout reconnect at once: a delivery's SYN is
/// then dropped and retried a second later.
const BACKLOG: u32 = 4096;

/// A listener on `addr` with [`BACKLOG`] (and `SO_REUSEADDR` on Unix, as
/// `TcpListener::bind` sets it).
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// `10 s`, `2.5 s`, `0.1 s`.
fn seconds(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let shown = ledger::shown(&args.ledger);
    let ledger: Arc<dyn Ledger> = match ledger::open(&args.ledger).await {
        Ok(ledger) => Arc::from(ledger),
        Err(err) => {
            eprintln!("error: {err}");
            let hint = session::advice(&err, &session::Context::default()).unwrap_or_else(|| {
                "pass --ledger the ledger your batch workers use (a SQLite file, or postgres://USER@HOST/DB)".into()
            });
            eprintln!("hint: {hint}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let metrics = Metrics::new().with_ledger(ledger.clone());
    let mut receiver = Receiver::new(ledger).with_env().with_metrics(metrics);
    let unsigned = args.hiapi_unsigned && !receiver.providers().contains(&Provider::HiApi);
    if unsigned {
        receiver = receiver.with_hiapi_unsigned();
    } else if args.hiapi_unsigned {
        eprintln!("note: {HIAPI_SECRET_ENV} is set, so HiAPI callbacks must be signed; --hiapi-unsigned has no effect");
    }
    let providers = receiver.providers();
    if providers.is_empty() {
        eprintln!("error: no provider's deliveries can be verified");
        eprintln!(
            "hint: set {HIAPI_SECRET_ENV} (HiAPI's callback signing secret) and/or {} (the key Apiframe signs webhooks with), or pass --hiapi-unsigned",
            Provider::Apiframe.api_key_env()
        );
        return ExitCode::from(UNUSABLE);
    }
    let open_files = receiver::raise_open_files_limit().ok();
    let limits = limits(&args);
    if let (Some(files), Some(_)) = (open_files, args.max_connections) {
        if limits.max_connections() as u64 + ServeLimits::RESERVED_FILES > files {
            eprintln!(
                "warning: --max-connections {} leaves fewer than {} of the {files} open files this process may have to the ledger and logs: accepting may stall when they run out",
                limits.max_connections(),
                ServeLimits::RESERVED_FILES
            );
        }
    }
    let listener = match listen(args.addr) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.addr);
            eprintln!(
                "hint: pass another address with --addr HOST:PORT (this one may be taken: `happyhorse sandbox` listens on 127.0.0.1:8787 by default, serve on {DEFAULT_ADDR})"
            );
            return ExitCode::from(UNUSABLE);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.addr);
    let receiver = Arc::new(receiver);
    let paths: Vec<String> = providers.iter().map(|p| format!("/{p}")).collect();
    eprintln!(
        "receiving on http://{addr} ({}) into {shown}; metrics at http://{addr}/metrics; Ctrl-C to stop",
        paths.join(", ")
    );
    let files = open_files.map_or(String::new(), |n| format!(" (open files: {n})"));
    eprintln!(
        "limits: at most {} connections{files} and {} requests in flight; request heads within {} (also the idle keep-alive timeout), bodies within {} and {} bytes",
        limits.max_connections(),
        limits.max_requests(),
        seconds(limits.header_timeout()),
        seconds(limits.body_timeout()),
        limits.max_body(),
    );
    if unsigned {
        eprintln!("warning: HiAPI callbacks are taken unsigned (--hiapi-unsigned)");
    }
    let summaries = (args.summary_every > 0).then(|| {
        tokio::spawn(summarise(
            Arc::clone(&receiver),
            Duration::from_secs(args.summary_every),
        ))
    });
    let served = Arc::clone(&receiver)
        .serve(listener, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    if let Some(summaries) = summaries {
        summaries.abort();
    }
    let stats = receiver.stats();
    eprintln!(
        "deliveries: {} recorded, {} duplicates, {} for unknown tasks, {} refused, {} not recorded",
        stats.applied, stats.duplicates, stats.unknown, stats.refused, stats.failed
    );
    eprintln!(
        "connections: {} served, {} refused at the cap (503), {} closed by the header timeout, {} cut for taking no answer; requests: {} refused in flight (503), {} bodies too large (413), {} too slow (408)",
        served.connections,
        served.refused_connections,
        served.header_timeouts,
        served.answers_not_taken,
        served.refused_requests,
        served.too_large,
        served.body_timeouts
    );
    ExitCode::SUCCESS
}

/// Every `every`, one line of the deliveries since the last one, when there were any: that
/// callbacks are arriving, and how they fare, without `-v`.
async fn summarise(receiver: Arc<Receiver>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut last = receiver.stats();
    loop {
        ticks.tick().await;
        let now = receiver.stats();
        let delta = |f: fn(&receiver::ReceiverStats) -> u64| f(&now).saturating_sub(f(&last));
        let (applied, duplicates, unknown, refused, failed) = (
            delta(|s| s.applied),
            delta(|s| s.duplicates),
            delta(|s| s.unknown),
            delta(|s| s.refused),
            delta(|s| s.failed),
        );
        let total = applied
            .saturating_add(duplicates)
            .saturating_add(unknown)
            .saturating_add(refused)
            .saturating_add(failed);
        if total > 0 {
            eprintln!(
                "last {}: {total} deliveries ({applied} recorded, {duplicates} duplicates, {unknown} for unknown tasks, {refused} refused, {failed} not recorded); {} recorded since start",
                seconds(every),
                now.applied
            );
        }
        last = now;
    }
}

/// `batch --metrics-addr`: `GET /metrics` on `addr` for as long as the process runs, with the
/// jobs per state of `ledger`; the metrics to give the batch. `Err`: the exit code, after
/// saying why the address cannot be listened on.
pub(crate) async fn metrics_endpoint(
    addr: SocketAddr,
    ledger: Arc<dyn Ledger>,
) -> Result<Metrics, ExitCode> {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {addr} for metrics: {err}");
            eprintln!("hint: pass another address with --metrics-addr HOST:PORT (port 0 picks a free one)");
            return Err(ExitCode::from(UNUSABLE));
        }
    };
    let shown = listener.local_addr().unwrap_or(addr);
    let metrics = Metrics::new().with_ledger(ledger);
    let scraped = metrics.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = scraped.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        happyhorse::metrics::CONTENT_TYPE,
                    )],
                    metrics.encode().await,
                )
            }
        }),
    );
    eprintln!("metrics at http://{shown}/metrics");
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!(error = %err, "the metrics endpoint stopped");
        }
    });
    Ok(metrics)
}
