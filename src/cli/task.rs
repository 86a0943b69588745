//! `happyhorse status ID`, `happyhorse wait ID`, `happyhorse download ID`: one task, by id.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use happyhorse::client::{Error, TaskSnapshot};
use serde_json::json;

use super::session::{self, Common, Session};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The task (job) id.
    id: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// The task (job) id.
    id: String,
    #[command(flatten)]
    common: Common,
    /// Give up after this many seconds (the task goes on).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    max_wait: u64,
}

#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// The task (job) id.
    id: String,
    #[command(flatten)]
    common: Common,
    /// Where to write the video (default happyhorse-<task id>.mp4).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

fn print(snapshot: &TaskSnapshot, json: bool) {
    if json {
        println!("{}", json!({"ok": true, "task": snapshot}));
        return;
    }
    let progress = snapshot
        .progress
        .map(|p| format!(" ({p}%)"))
        .unwrap_or_default();
    println!("{} {}{progress}", snapshot.id, snapshot.status);
    for output in &snapshot.outputs {
        let expiry = output
            .expires_at
            .map(|at| format!(" (expires {at})"))
            .unwrap_or_default();
        println!("  output: {}{expiry}", output.url);
    }
    if let Some(error) = &snapshot.error {
        let code = error
            .code
            .as_deref()
            .map(|c| format!("{c}: "))
            .unwrap_or_default();
        println!("  error: {code}{}", error.message);
    }
}

fn block_on(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match session::runtime() {
        Ok(runtime) => runtime.block_on(work),
        Err(code) => code,
    }
}

pub fn status(args: StatusArgs) -> ExitCode {
    block_on(async move {
        let json = args.common.json;
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json),
        };
        match session.client.status(&args.id).await {
            Ok(snapshot) => {
                print(&snapshot, json);
                ExitCode::SUCCESS
            }
            Err(err) => session::fail(&err, json),
        }
    })
}

pub fn wait(args: WaitArgs) -> ExitCode {
    block_on(async move {
        let json = args.common.json;
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json),
        };
        match session
            .wait(&args.id, Duration::from_secs(args.max_wait))
            .await
        {
            Ok(snapshot) => {
                print(&snapshot, json);
                ExitCode::SUCCESS
            }
            Err(err) => session::fail(&err, json),
        }
    })
}

pub fn download(args: DownloadArgs) -> ExitCode {
    block_on(async move {
        let json = args.common.json;
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json),
        };
        let snapshot = match session.client.status(&args.id).await {
            Ok(snapshot) => snapshot,
            Err(err) => return session::fail(&err, json),
        };
        let Some(output) = snapshot.outputs.first() else {
            let err = Error::NoOutput {
                id: snapshot.id.clone(),
                status: snapshot.status.clone(),
            };
            return session::fail(&err, json);
        };
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| session::default_path(&snapshot.id));
        match session.download(output, &path, args.force).await {
            Ok(saved) => {
                if json {
                    println!(
                        "{}",
                        json!({"ok": true, "id": snapshot.id, "path": saved.path, "bytes": saved.bytes})
                    );
                } else {
                    println!("{}", saved.path.display());
                }
                ExitCode::SUCCESS
            }
            Err(err) => session::fail(&err, json),
        }
    })
}
