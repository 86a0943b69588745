//! `happyhorse sandbox`: serve the local emulator of the three providers until Ctrl-C.

use std::{net::SocketAddr, process::ExitCode};

use happyhorse::{
    sandbox::{Config, Sandbox},
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
    let mut config = Config::default().with_task_seconds(args.task_seconds);
    if let Some(key) = args.api_key {
        config = config.with_api_key(key);
    }
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
    println!("Ctrl-C to stop.");
    if let Err(err) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {err}");
    }
    sandbox.shutdown().await;
    println!("stopped");
    ExitCode::SUCCESS
}
