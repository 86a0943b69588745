//! `happyhorse console`: a read-only web console over a batch's ledger: the run's overview
//! (live), its jobs filtered and searched, a job's request and history with what to do next,
//! and a gallery of its videos playing in the page. Every asset is in the binary; nothing is
//! fetched from elsewhere.
//!
//! Safe by default: it listens on loopback only; `--allow-remote` binds elsewhere and then
//! needs a token (`HAPPYHORSE_CONSOLE_TOKEN`), taken as a bearer token or through a login form
//! (a cookie). No API key, webhook secret or signed URL reaches a page: request bodies show
//! URLs without their queries, videos are served by the console itself.

mod api;
mod media;
mod security;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::{atomic::AtomicU64, Arc},
};

use axum::{routing::get, Router};
use happyhorse::ledger::{self, Ledger};

use super::session::{self, UNUSABLE};

/// Where the console listens by default (beside the sandbox's 8787 and serve's 8789).
const DEFAULT_ADDR: &str = "127.0.0.1:8788";

/// The variable that holds the token `--allow-remote` needs.
pub(crate) const TOKEN_ENV: &str = "HAPPYHORSE_CONSOLE_TOKEN";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The batch's ledger: a SQLite file, or postgres://... (opened read-only).
    #[arg(long, value_name = "PATH_OR_URL", env = "HAPPYHORSE_LEDGER")]
    ledger: String,
    /// Where the batch saved its videos, for ledgers that recorded them by relative path (the
    /// default: the ledger's directory). Objects (s3://...) are read with the environment's
    /// credentials.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where to listen. Loopback only, unless --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Listen on an address other than loopback; every request then needs the token in
    /// HAPPYHORSE_CONSOLE_TOKEN (as `Authorization: Bearer ...`, or through the login page).
    #[arg(long)]
    allow_remote: bool,
}

/// What every request handler shares.
pub(crate) struct Console {
    pub ledger: Arc<dyn Ledger>,
    /// Where relative video paths are looked up.
    pub out_dir: PathBuf,
    /// The ledger as pages may show it (a path, or a URL without its password).
    pub ledger_shown: String,
    /// The token every request needs, when one is set.
    pub token: Option<security::Token>,
    /// Requests served, for `/metrics`.
    pub requests: AtomicU64,
    /// Ledger reads made (each a method of [`Ledger`]: one to four statements), for
    /// `/metrics`: the console's load on the ledger.
    pub reads: AtomicU64,
    /// The last overview, with the history's newest event number it was made at and when:
    /// every client shares it, so the console's load on the ledger does not grow with them.
    pub overview: tokio::sync::Mutex<Option<api::Cached>>,
    /// The ledger's jobs per state in Prometheus' text, as every process gives them.
    pub metrics: happyhorse::metrics::Metrics,
}

impl Console {
    /// Counts `n` ledger reads.
    pub(crate) fn read(&self, n: u64) {
        self.reads
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The console's routes over `console`.
pub(crate) fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(api::index))
        .route("/app.js", get(api::script))
        .route("/app.css", get(api::style))
        .route("/api/overview", get(api::overview))
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{id}", get(api::job))
        .route("/api/stream", get(api::stream))
        .route("/media/{id}", get(media::video))
        .route("/metrics", get(api::metrics))
        .route("/login", get(security::login_page).post(security::login))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            security::guard,
        ))
        .with_state(console)
}

pub fn run(args: Args) -> ExitCode {
    session::block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let token = match security::Token::from_env() {
        Ok(token) => token,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(UNUSABLE);
        }
    };
    if !args.addr.ip().is_loopback() {
        if !args.allow_remote {
            eprintln!("error: --addr {} is not a loopback address; the console shows every job's prompt and video", args.addr);
            eprintln!("  next: keep it on 127.0.0.1 (reach it through an SSH tunnel), or pass --allow-remote with {TOKEN_ENV} set");
            return ExitCode::from(UNUSABLE);
        }
        if token.is_none() {
            eprintln!(
                "error: --allow-remote needs a token: anyone who reaches {} would see every job",
                args.addr
            );
            eprintln!("  next: export {TOKEN_ENV}=$(openssl rand -hex 32), then give it to the people who may look");
            return ExitCode::from(UNUSABLE);
        }
    }
    let ledger: Arc<dyn Ledger> = match ledger::open_watching(&args.ledger).await {
        Ok(ledger) => Arc::from(ledger),
        Err(err) => {
            eprintln!("error: {err}");
            eprintln!(
                "  next: pass the --ledger a batch wrote (a .db file, or its postgres:// URL)"
            );
            return ExitCode::from(UNUSABLE);
        }
    };
    let out_dir = args.out.clone().unwrap_or_else(|| {
        std::path::Path::new(&args.ledger)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default()
    });
    let console = Arc::new(Console {
        metrics: happyhorse::metrics::Metrics::new().with_ledger(ledger.clone()),
        ledger,
        out_dir,
        ledger_shown: ledger::shown(&args.ledger),
        token,
        requests: AtomicU64::new(0),
        reads: AtomicU64::new(0),
        overview: tokio::sync::Mutex::new(None),
    });
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.addr);
            eprintln!("  next: pick another --addr (another console or program holds this one?)");
            return ExitCode::from(session::FAILED);
        }
    };
    let bound = listener.local_addr().map_or(args.addr, |a| a);
    eprintln!(
        "console for {} on http://{bound}/ (Ctrl-C to stop)",
        console.ledger_shown
    );
    let app = router(console);
    let stopped = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match stopped {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: the console stopped: {err}");
            ExitCode::from(session::FAILED)
        }
    }
}
