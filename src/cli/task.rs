//! `happyhorse status ID`, `happyhorse wait ID`, `happyhorse download ID`: one task, by id.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use happyhorse::{
    client::{Finished, TaskHandle, TaskSnapshot},
    Error,
};
use serde_json::json;

use super::{
    out::{self, Target},
    session::{self, Common, Context, Session},
};

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
    /// Download the video here once the task succeeds: a file, or an object
    /// (s3://BUCKET/NAME.mp4, gs://, az://; credentials from the environment).
    #[arg(long, short, alias = "out")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long, requires = "output")]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// The task (job) id.
    id: String,
    #[command(flatten)]
    common: Common,
    /// Where to write the video (default happyhorse-<task id>.mp4): a file, or an object
    /// (s3://BUCKET/NAME.mp4, or s3://BUCKET/PREFIX/ for the default name; gs://, az://;
    /// credentials from the environment).
    #[arg(long, short, alias = "out")]
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

pub fn status(args: StatusArgs) -> ExitCode {
    session::block_on(async move {
        let json = args.common.json;
        let context = Context::for_task(args.common.provider, &args.id);
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json, &context),
        };
        let handle = TaskHandle::new(args.common.provider, args.id.clone());
        let Some(result) = session.status(&handle).await else {
            return ExitCode::from(session::INTERRUPTED);
        };
        match result {
            Ok(snapshot) => {
                print(&snapshot, json);
                ExitCode::SUCCESS
            }
            Err(err) => session::fail(&err, json, &context),
        }
    })
}

pub fn wait(args: WaitArgs) -> ExitCode {
    session::block_on(async move {
        let json = args.common.json;
        let mut context = Context {
            path: args.output.clone(),
            ..Context::for_task(args.common.provider, &args.id)
        };
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json, &context),
        };
        let handle = TaskHandle::new(args.common.provider, args.id.clone());
        let finished = match session
            .wait(&handle, Duration::from_secs(args.max_wait))
            .await
        {
            Ok(finished) => finished,
            Err(err) => return session::fail(&err, json, &context),
        };
        let Some(given) = &args.output else {
            print(finished.snapshot(), json);
            if !json {
                eprintln!(
                    "download it with `happyhorse download {} --provider {} -o FILE.mp4`, or wait with -o next time",
                    args.id, args.common.provider
                );
            }
            return ExitCode::SUCCESS;
        };
        context.succeeded = true;
        let target = match Target::of(Some(given), || session::default_path(&args.id)) {
            Ok(target) => target,
            Err(err) => return session::fail(&err, json, &context),
        };
        let status = finished.snapshot().status.clone();
        save(
            &session,
            &finished,
            &target,
            args.force,
            &args.id,
            json,
            &context,
            json!({"status": status}),
        )
        .await
    })
}

/// Saves `finished`'s video to `target` and says so; the exit status.
#[allow(clippy::too_many_arguments)]
async fn save(
    session: &Session,
    finished: &Finished,
    target: &Target,
    force: bool,
    id: &str,
    json: bool,
    context: &Context,
    fields: serde_json::Value,
) -> ExitCode {
    let path = match target {
        Target::File(path) => path,
        Target::Object { destination, name } => {
            if let Err(err) = target.check(force).await {
                return session::fail(&err, json, context);
            }
            return match out::upload(session, finished.output(), destination, name).await {
                Ok(stored) => {
                    out::print_stored(&stored, id, json, fields);
                    ExitCode::SUCCESS
                }
                Err(err) => session::fail(&err, json, context),
            };
        }
    };
    match session.download(finished.output(), path, force).await {
        Ok(saved) => {
            if json {
                let mut object = json!({"ok": true, "id": id, "path": saved.path, "bytes": saved.bytes, "resumes": saved.resumes});
                if let (Some(object), serde_json::Value::Object(more)) =
                    (object.as_object_mut(), fields)
                {
                    object.extend(more);
                }
                println!("{object}");
            } else {
                println!("{}", saved.path.display());
                eprintln!("{}", session::saved_line(&saved.path, saved.bytes, id));
            }
            ExitCode::SUCCESS
        }
        Err(err) => session::fail(&err, json, context),
    }
}

pub fn download(args: DownloadArgs) -> ExitCode {
    session::block_on(async move {
        let json = args.common.json;
        let mut context = Context::for_task(args.common.provider, &args.id);
        let session = match Session::open(&args.common, false).await {
            Ok(session) => session,
            Err(err) => return session::fail(&err, json, &context),
        };
        let handle = TaskHandle::new(args.common.provider, args.id.clone());
        let Some(snapshot) = session.status(&handle).await else {
            return ExitCode::from(session::INTERRUPTED);
        };
        let finished = match snapshot.and_then(|s| Finished::try_from(s).map_err(Error::from)) {
            Ok(finished) => finished,
            Err(err) => return session::fail(&err, json, &context),
        };
        let target = match Target::of(args.output.as_deref(), || session::default_path(&args.id)) {
            Ok(target) => target,
            Err(err) => return session::fail(&err, json, &context),
        };
        context.path = Some(target.shown());
        save(
            &session,
            &finished,
            &target,
            args.force,
            &args.id,
            json,
            &context,
            json!({}),
        )
        .await
    })
}
