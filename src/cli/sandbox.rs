//! `happyhorse sandbox`: serve the local emulator of the three providers until Ctrl-C.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use happyhorse::{
    sandbox::{FaultRates, Sandbox, SandboxConfig, FAULT_NAMES},
    Provider,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// Seconds from submit to a task's terminal status (0 finishes at once).
    #[arg(long, default_value_t = 10.0)]
    task_seconds: f64,
    /// Accept only this key (otherwise any key with the provider's prefix: sk-, rk_, afk_).
    #[arg(long, env = "HAPPYHORSE_SANDBOX_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Sign HiAPI callbacks with this secret (X-HiAPI-Timestamp, X-HiAPI-Signature).
    #[arg(long, env = "HIAPI_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Inject a fault at random, NAME=RATE with RATE from 0 to 1; repeatable. Names:
    /// rate_limit, unavailable, moderation_unavailable, server_error, reset, slow, truncate,
    /// envelope_error, fail, duplicate_callback, drop_callback. One request can also ask for
    /// faults with the header `X-Sandbox-Fault: NAME[*N][,NAME...]` (*N: only the first N
    /// requests carrying it).
    #[arg(long = "fault", value_name = "NAME=RATE")]
    faults: Vec<String>,
    /// Pad every output MP4 to this many bytes with a trailing `free` box (still playable).
    #[arg(long, value_name = "BYTES")]
    pad_to: Option<u64>,
    /// Seconds an output URL stays valid after its task completes.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    output_ttl: u64,
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let mut config = SandboxConfig::default()
        .with_task_seconds(args.task_seconds)
        .with_output_ttl(Duration::from_secs(args.output_ttl));
    if let Some(key) = args.api_key {
        config = config.with_api_key(key);
    }
    if let Some(secret) = args.webhook_secret {
        config = config.with_webhook_secret(secret);
    }
    if let Some(bytes) = args.pad_to {
        config = config.with_pad_to(bytes);
    }
    let mut rates = FaultRates::none();
    for spec in &args.faults {
        rates = match rates.with_spec(spec) {
            Ok(rates) => rates,
            Err(err) => {
                eprintln!("error: --fault {err}");
                return ExitCode::from(2);
            }
        };
    }
    config = config.with_faults(rates);
    let sandbox = match Sandbox::bind(args.addr, config).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!(
                "error: cannot listen on {}: {err}; pick another port with --addr 127.0.0.1:PORT",
                args.addr
            );
            return ExitCode::FAILURE;
        }
    };
    println!("happyhorse sandbox listening on {}", sandbox.addr());
    for provider in Provider::ALL {
        println!("  {:<8} {}", provider.name(), sandbox.base_url(provider));
    }
    println!(
        "Faults per request: header X-Sandbox-Fault: one of {}.",
        FAULT_NAMES.join(", ")
    );
    println!("Ctrl-C to stop.");
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {err}");
    }
    sandbox.shutdown().await;
    println!("stopped");
    ExitCode::SUCCESS
}
