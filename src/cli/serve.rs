//! `happyhorse serve`: the webhook receiver ([`happyhorse::receiver`]) on an address, writing
//! to a batch's ledger.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use happyhorse::{
    ledger::{self, Ledger},
    receiver::{Receiver, HIAPI_SECRET_ENV},
    Provider,
};

use super::session::{self, FAILED, UNUSABLE};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen. Providers call back over HTTPS: put a TLS-terminating proxy in front,
    /// or keep it on loopback for a sandbox.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// The ledger the batch workers use: a SQLite file on this machine, or postgres://...
    #[arg(long, value_name = "PATH_OR_URL", env = "HAPPYHORSE_LEDGER")]
    ledger: String,
    /// Take HiAPI callbacks without a signature (for an account whose signing is off; anyone
    /// who reaches the receiver could then report a task's end). Without it, HiAPI callbacks
    /// need HIAPI_WEBHOOK_SECRET.
    #[arg(long)]
    hiapi_unsigned: bool,
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
            eprintln!("hint: pass --ledger the ledger your batch workers use (a SQLite file, or postgres://USER@HOST/DB)");
            return ExitCode::from(UNUSABLE);
        }
    };
    let mut receiver = Receiver::new(ledger).with_env();
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
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {}: {err}", args.addr);
            return ExitCode::from(UNUSABLE);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.addr);
    let receiver = Arc::new(receiver);
    let paths: Vec<String> = providers.iter().map(|p| format!("/{p}")).collect();
    eprintln!(
        "receiving on http://{addr} ({}) into {shown}; Ctrl-C to stop",
        paths.join(", ")
    );
    if unsigned {
        eprintln!("warning: HiAPI callbacks are taken unsigned (--hiapi-unsigned)");
    }
    let app = receiver.clone().router_shared();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    let stats = receiver.stats();
    eprintln!(
        "deliveries: {} recorded, {} duplicates, {} for unknown tasks, {} refused, {} not recorded",
        stats.applied, stats.duplicates, stats.unknown, stats.refused, stats.failed
    );
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: the receiver stopped: {err}");
            ExitCode::from(FAILED)
        }
    }
}
