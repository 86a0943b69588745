//! Subcommands of the `happyhorse` binary.

mod batch;
mod console;
mod contract;
mod generate;
mod jobs;
mod out;
mod preflight;
mod probe;
#[cfg(feature = "sandbox")]
mod sandbox;
mod serve;
mod session;
mod stage;
mod task;
mod units;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// HappyHorse 1.1 video generation on HiAPI, reapi and Apiframe.
#[derive(Debug, Parser)]
#[command(name = "happyhorse", version, about)]
pub struct Cli {
    /// Log what happens underneath to stderr: -v each task change, retry and resume, -vv
    /// every HTTP call. RUST_LOG (e.g. `happyhorse=debug`) overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a video and save it: submit, wait (with a spinner), download (with a bar).
    ///
    /// Reads the key from HIAPI_API_KEY, REAPI_API_KEY or APIFRAME_API_KEY (and an optional
    /// *_BASE_URL); --sandbox needs neither. Exits 0 with the file's path on stdout, 1 when the
    /// task or a call fails, 2 when the request or configuration cannot work, 130 on Ctrl-C
    /// (the task goes on; resume with `wait ID` and `download ID`).
    Generate(generate::Args),
    /// Turn a file of requests into MP4s, resumably: a durable ledger, rate-aware, budget-capped.
    ///
    /// Every line is checked before anything is sent, and the cost printed. The ledger
    /// (DIR/happyhorse.db) records each job's task before anything else happens, so a batch
    /// stopped at any moment (Ctrl-C, a crash, a reboot) resumes when the same command runs
    /// again, without paying twice. Writes DIR/results.jsonl and prints its path. Exits 0 when
    /// every job is downloaded, 1 when some are not (failed, expired, uncertain, left for a
    /// rerun), 2 when the file, the budget or the configuration cannot work, 130 on Ctrl-C.
    Batch(batch::Args),
    /// Summarise a batch's ledger: jobs per state, what was committed, what needs attention;
    /// with --id, one job's timeline (its request, and every transition, poll and callback).
    Jobs(jobs::JobsArgs),
    /// Show a task's status and outputs.
    Status(task::StatusArgs),
    /// Wait for a task to end (resuming an interrupted `generate`).
    Wait(task::WaitArgs),
    /// Download a finished task's video.
    Download(task::DownloadArgs),
    /// Check a provider-native request body against the documented rules, offline.
    ///
    /// Exits 0 and prints `ok` when the body is valid (warnings go to stderr), 1 with one
    /// `PATH: MESSAGE` line per error when it is not, and 2 when the input cannot be read or is
    /// not JSON.
    Validate(validate::Args),
    /// Receive HiAPI callbacks and Apiframe webhooks into a batch's ledger, until Ctrl-C.
    ///
    /// Serves POST /hiapi and /apiframe; run batches with --callback-url pointing here and
    /// the same --ledger. Each delivery's signature is checked on its raw body (HiAPI with
    /// HIAPI_WEBHOOK_SECRET, Apiframe with APIFRAME_API_KEY); a task's end is recorded before
    /// the 2xx, and duplicates change nothing. Exits 2 when nothing can be verified or the
    /// ledger cannot be opened.
    Serve(serve::Args),
    /// Open a read-only web console over a batch's ledger: the run's overview (live), its jobs
    /// by state, provider, error and prompt, a job's request and history with what to do
    /// next, and a gallery of its videos. Loopback only unless --allow-remote (which then
    /// needs HAPPYHORSE_CONSOLE_TOKEN).
    Console(console::Args),
    /// Compare versions of the OpenAPI documents: what an edit does to callers.
    Contract(contract::Args),
    /// Check a live provider for drift from its document, sending only refusable requests.
    ///
    /// Sends the endpoint (key and base URL from the environment) bodies derived from the
    /// document's request schema that it must refuse before any task exists: unknown fields,
    /// out-of-range durations, too many references, wrong types, missing fields; and one with
    /// no key, one with a made-up key. Never a valid body. Reports, case by case, where the
    /// status or wording differs from the document. Exits 0 when every answer is as
    /// documented, 1 on drift, 2 when the probe cannot run (no key, a bad base URL, the network).
    Probe(probe::Args),
    /// Serve a local emulator of HiAPI, reapi and Apiframe on loopback, until Ctrl-C.
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::Args),
}

/// Sends the library's `tracing` events to stderr: as `RUST_LOG` says when it is set, else at
/// the level `-v` asks for (nothing below warnings without it).
fn init_logging(verbose: u8) {
    use tracing_subscriber::{filter::Targets, fmt, prelude::*};
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty());
    let filter = match from_env.as_deref().map(str::parse::<Targets>) {
        Some(Ok(filter)) => filter,
        Some(Err(err)) => {
            eprintln!(
                "warning: RUST_LOG is not a filter this binary understands ({err}); using -v"
            );
            verbose_filter(verbose)
        }
        None => verbose_filter(verbose),
    };
    let layer = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

fn verbose_filter(verbose: u8) -> tracing_subscriber::filter::Targets {
    use tracing::level_filters::LevelFilter;
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    tracing_subscriber::filter::Targets::new().with_target("happyhorse", level)
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    init_logging(cli.verbose);
    match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Jobs(args) => jobs::jobs(args),
        Command::Status(args) => task::status(args),
        Command::Wait(args) => task::wait(args),
        Command::Download(args) => task::download(args),
        Command::Validate(args) => validate::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Console(args) => console::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Contract(args) => contract::run(args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run(args),
    }
}
