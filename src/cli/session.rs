//! What the lifecycle commands share: the provider and client set-up (with the in-process
//! sandbox), progress display, Ctrl-C, and how errors become messages with what to run next
//! and exit statuses.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use happyhorse::{
    client::{Downloaded, Finished, Output, TaskHandle, TaskSnapshot},
    Client, ClientConfig, Error, Provider,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::units;

/// Exit status for a failure at run time (task failed, network, provider error).
pub const FAILED: u8 = 1;
/// Exit status for a request or configuration that cannot work as given.
pub const UNUSABLE: u8 = 2;
/// Exit status after Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// Options every lifecycle command takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The provider: hiapi, reapi or apiframe.
    #[arg(long, short, env = "HAPPYHORSE_PROVIDER", default_value = "hiapi")]
    pub provider: Provider,
    /// Print one JSON object on stdout instead of text, with no progress display.
    #[arg(long)]
    pub json: bool,
}

/// A client, and the sandbox behind it when `--sandbox` started one.
pub struct Session {
    pub client: Client,
    pub json: bool,
    /// Cancelled on Ctrl-C, which is caught from the moment the session opens.
    pub interrupted: CancellationToken,
    #[cfg(feature = "sandbox")]
    _sandbox: Option<happyhorse::sandbox::Sandbox>,
}

impl Session {
    /// A client from the environment (`HIAPI_API_KEY`, `HIAPI_BASE_URL`, ...), or against a
    /// sandbox started in this process.
    pub async fn open(common: &Common, sandbox: bool) -> Result<Session, Error> {
        let provider = common.provider;
        if sandbox {
            return Self::sandboxed(common).await;
        }
        let config = ClientConfig::from_env(provider);
        if config.key_looks_foreign() {
            eprintln!(
                "warning: {} does not start with {}, as {provider}'s keys do: is it another provider's key?",
                provider.api_key_env(),
                provider.key_prefix()
            );
        }
        Ok(Session {
            client: Client::new(config)?,
            json: common.json,
            interrupted: on_ctrl_c(),
            #[cfg(feature = "sandbox")]
            _sandbox: None,
        })
    }

    #[cfg(feature = "sandbox")]
    async fn sandboxed(common: &Common) -> Result<Session, Error> {
        let sandbox = embedded_sandbox().await?;
        Ok(Session {
            client: sandbox_client(&sandbox, common.provider)?,
            json: common.json,
            interrupted: on_ctrl_c(),
            _sandbox: Some(sandbox),
        })
    }

    #[cfg(not(feature = "sandbox"))]
    async fn sandboxed(_: &Common) -> Result<Session, Error> {
        Err(no_sandbox())
    }

    /// Whether to draw progress: only on a terminal, and never with `--json`.
    fn draws(&self) -> bool {
        !self.json && std::io::stderr().is_terminal()
    }

    /// A spinner showing a task's status and the elapsed time (hidden off a terminal).
    pub fn spinner(&self, message: String) -> ProgressBar {
        let spinner = ProgressBar::with_draw_target(None, self.target());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner.set_message(message);
        spinner
    }

    /// A byte progress bar for `path` (hidden off a terminal).
    pub fn bar(&self, path: &Path) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(path.display().to_string());
        bar
    }

    /// The task's state, retried through transient errors; `None` after Ctrl-C, which also
    /// stops the retries of a status that keeps failing.
    pub async fn status(&self, task: &TaskHandle) -> Option<Result<TaskSnapshot, Error>> {
        tokio::select! {
            result = self.client.status(task) => Some(result),
            _ = self.interrupted.cancelled() => {
                eprintln!("interrupted");
                None
            }
        }
    }

    /// Waits for `task` with a spinner showing the status and the elapsed time; Ctrl-C stops
    /// the wait (not the task).
    pub async fn wait(&self, task: &TaskHandle, max_wait: Duration) -> Result<Finished, Error> {
        let spinner = self.spinner(format!("task {}: waiting", task.id));
        let json = self.json;
        let result = self
            .client
            .wait(task)
            .max_wait(max_wait)
            .cancel_on(self.interrupted.clone())
            .on_change(|snapshot| status_line(&spinner, snapshot, json))
            .await;
        spinner.finish_and_clear();
        result
    }

    /// Downloads `output` to `path` with a byte progress bar; Ctrl-C stops it at once and
    /// keeps the partial file.
    pub async fn download(
        &self,
        output: &Output,
        path: &Path,
        overwrite: bool,
    ) -> Result<Downloaded, Error> {
        let bar = self.bar(path);
        let result = self
            .client
            .download(output, path)
            .overwrite(overwrite)
            .cancel_on(self.interrupted.clone())
            .on_progress(|done, total| {
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(done);
            })
            .await;
        bar.finish_and_clear();
        result
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.draws() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }
}

/// Shows a status change: on the spinner on a terminal, as a line otherwise.
pub fn status_line(spinner: &ProgressBar, snapshot: &TaskSnapshot, json: bool) {
    let progress = snapshot
        .progress
        .map(|p| format!(" {p}%"))
        .unwrap_or_default();
    let line = format!("task {}: {}{progress}", snapshot.id, snapshot.status);
    if spinner.is_hidden() {
        if !json {
            eprintln!("{line}");
        }
    } else {
        spinner.set_message(line);
    }
}

/// A token cancelled by the first Ctrl-C (from now on, Ctrl-C no longer kills the process).
fn on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    // On Unix the handler is registered here, before anything is sent, not when the task
    // below first runs.
    #[cfg(unix)]
    let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    tokio::spawn(async move {
        #[cfg(unix)]
        let caught = match signal {
            Ok(mut signal) => signal.recv().await.is_some(),
            Err(_) => tokio::signal::ctrl_c().await.is_ok(),
        };
        #[cfg(not(unix))]
        let caught = tokio::signal::ctrl_c().await.is_ok();
        if caught {
            cancel.cancel();
        }
    });
    token
}

/// The default file name for a task's video.
pub fn default_path(id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("happyhorse-{safe}.mp4"))
}

/// What a failed command was doing, for the advice that follows its error.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub provider: Option<Provider>,
    /// The task, once known.
    pub task: Option<String>,
    /// The output file, once known.
    pub path: Option<PathBuf>,
    /// Whether the tasks live in this process's emulator.
    pub sandboxed: bool,
    /// Whether the task succeeded (so what failed is only the download).
    pub succeeded: bool,
    /// A batch's output directory (where its ledger is, by default).
    pub out_dir: Option<PathBuf>,
}

impl Context {
    /// A command about the existing task `id`.
    pub fn for_task(provider: Provider, id: &str) -> Self {
        Context {
            task: Some(id.to_owned()),
            ..Context::new(provider, false)
        }
    }

    pub fn new(provider: Provider, sandboxed: bool) -> Self {
        Context {
            provider: Some(provider),
            sandboxed,
            ..Context::default()
        }
    }

    fn download_command(&self, id: &str, provider: Provider) -> String {
        let output = self
            .path
            .as_ref()
            .map(|path| format!(" -o {}", shell_word(&path.display().to_string())))
            .unwrap_or_default();
        format!("happyhorse download {id} --provider {provider}{output}")
    }
}

/// `text` quoted for a POSIX shell when it needs it.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The emulator `--sandbox` starts in this process: its tasks take 3 s.
#[cfg(feature = "sandbox")]
pub async fn embedded_sandbox() -> Result<happyhorse::sandbox::Sandbox, Error> {
    use happyhorse::sandbox::{Sandbox, SandboxConfig};
    Sandbox::start(SandboxConfig::default().with_task_seconds(3.0))
        .await
        .map_err(|err| Error::Config {
            message: format!("cannot start the local sandbox: {err}"),
        })
}

/// A client for `provider` against `sandbox`, with a key of the provider's shape.
#[cfg(feature = "sandbox")]
pub fn sandbox_client(
    sandbox: &happyhorse::sandbox::Sandbox,
    provider: Provider,
) -> Result<Client, Error> {
    Client::new(
        ClientConfig::new(provider)
            .with_api_key(format!("{}sandbox", provider.key_prefix()))
            .with_base_url(sandbox.base_url(provider)),
    )
}

/// What `--sandbox` says in a build without the emulator.
#[cfg(not(feature = "sandbox"))]
pub fn no_sandbox() -> Error {
    Error::Config {
        message: "this build has no sandbox: rebuild with the `sandbox` feature (on by default)"
            .into(),
    }
}

/// What to run next after `err`, in the CLI's terms.
pub fn advice(err: &Error, context: &Context) -> Option<String> {
    const ENDS_WITH_PROCESS: &str =
        "the --sandbox emulator's tasks end with this process: run the command again";
    let provider = context.provider.unwrap_or(Provider::HiApi);
    let sandboxed = context.sandboxed;
    if let (true, Some(id), Some(_)) = (context.succeeded, &context.task, &context.path) {
        return Some(if sandboxed {
            ENDS_WITH_PROCESS.into()
        } else {
            format!(
                "task {id} succeeded (it is paid for); fetch its video with `{}`",
                context.download_command(id, provider)
            )
        });
    }
    match err {
        Error::MissingApiKey { provider } => Some(format!(
            "set {} (keys start with {}), or pass --sandbox to run against the local emulator",
            provider.api_key_env(),
            provider.key_prefix()
        )),
        Error::FileExists { .. } => {
            Some("pass --force to replace it, or choose another path with -o".into())
        }
        Error::DeadlineExceeded { id, provider, .. }
        | Error::Cancelled {
            id: Some(id),
            provider,
        } => Some(if sandboxed {
            ENDS_WITH_PROCESS.into()
        } else {
            let output = context
                .path
                .as_ref()
                .map(|path| format!(" -o {}", shell_word(&path.display().to_string())))
                .unwrap_or_default();
            format!("resume with `happyhorse wait {id} --provider {provider}{output}`")
        }),
        Error::Cancelled { id: None, provider } => Some(match (sandboxed, provider.facts().idempotency) {
            (true, _) => ENDS_WITH_PROCESS.into(),
            (false, true) => "run the same command again: the same request carries the same Idempotency-Key, so an existing task is replayed, not paid twice".into(),
            (false, false) => format!("{provider} has no idempotency key: check its task list before running the command again"),
        }),
        Error::DownloadCancelled { .. } | Error::Incomplete { .. } | Error::Network { .. }
            if context.path.is_some() && context.task.is_some() =>
        {
            let id = context.task.as_deref()?;
            Some(if sandboxed {
                ENDS_WITH_PROCESS.into()
            } else {
                format!(
                    "resume the download with `{}`",
                    context.download_command(id, provider)
                )
            })
        }
        // Nothing reached the provider (no answer, or no connection at all).
        Error::Network { .. } if !sandboxed => Some(format!(
            "check the network connection, and {} if it is set (the provider's address); `--sandbox` runs offline against the emulator",
            provider.base_url_env()
        )),
        Error::NoOutput { id, .. } if !sandboxed => Some(format!(
            "wait for it to succeed first: `happyhorse wait {id} --provider {provider}`"
        )),
        Error::SubmitUncertain {
            idempotency_key, ..
        } => Some(match (sandboxed, idempotency_key) {
            (true, _) => ENDS_WITH_PROCESS.into(),
            (false, Some(_)) => "run the same command again: it sends the same Idempotency-Key, so the provider returns the task if it exists instead of billing another".into(),
            (false, None) => format!("check {provider}'s task list before running the command again: it may bill a second task"),
        }),
        Error::NotFound { .. } => Some(format!(
            "check the id, and pass the --provider that created it (this used {provider})"
        )),
        Error::OverBudget { message } if message.contains("no documented price") => Some(
            "nothing was submitted or recorded; cap the batch with --max-video-seconds instead of --max-credits".into(),
        ),
        Error::OverBudget { message } => Some(format!(
            "nothing was submitted or recorded; rerun with a higher {} or with fewer lines",
            if message.contains("credits") { "--max-credits" } else { "--max-video-seconds" }
        )),
        Error::JobConflict { .. } => context.out_dir.as_ref().map(|out| {
            let out = shell_word(&out.display().to_string());
            format!("the ledger in {out} holds these ids from an earlier file; see them with `happyhorse jobs --out {out}`")
        }),
        Error::Config { message } if message.contains("no PostgreSQL ledger") => Some(
            "install a build with PostgreSQL: `cargo install --path . --features postgres` (or `cargo build --release --features postgres`)".into(),
        ),
        Error::Ledger { message, .. } if message.contains("is not a happyhorse ledger") => Some(
            "pass --ledger a new file, or the ledger of a batch".into(),
        ),
        Error::Ledger { .. } if context.out_dir.is_some() => Some(
            "the batch stopped claiming and submitting when the ledger could not record a step; every job stays as the ledger last recorded it. Fix the cause (free disk space, a database that refuses writes), then run the same command again to resume".into(),
        ),
        Error::Io { .. } | Error::UnusableTarget { .. } if context.out_dir.is_some() => Some(
            "free space (or fix the directory), then run the same command again: videos already saved are not downloaded again".into(),
        ),
        Error::LedgerBusy { .. } => Some(
            "two batches cannot share one SQLite ledger; wait for the other, or pass another --out"
                .into(),
        ),
        _ => None,
    }
}

/// Reports `err` (as JSON too with `--json`), with the advice for what to run next, and
/// picks the exit status.
pub fn fail(err: &Error, json: bool, context: &Context) -> ExitCode {
    let advice = advice(err, context);
    eprintln!("error: {err}");
    if let Some(advice) = &advice {
        eprintln!("hint: {advice}");
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": false, "error": err.to_string(), "hint": advice})
        );
    }
    ExitCode::from(match err {
        Error::Cancelled { .. } | Error::DownloadCancelled { .. } => INTERRUPTED,
        Error::MissingApiKey { .. }
        | Error::Config { .. }
        | Error::InvalidRequest { .. }
        | Error::Unsupported(_)
        | Error::WrongProvider { .. }
        | Error::UnusableTarget { .. }
        | Error::FileExists { .. }
        | Error::OverBudget { .. }
        | Error::JobConflict { .. }
        | Error::LedgerBusy { .. } => UNUSABLE,
        _ => FAILED,
    })
}

/// The line `generate` and `download` print when a file is saved.
pub fn saved_line(path: &Path, bytes: u64, id: &str) -> String {
    format!(
        "saved {} ({}) from task {id}",
        path.display(),
        units::bytes(bytes)
    )
}

/// Runs `work` on a runtime of its own (the command's), or says why none could be made.
pub fn block_on(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match runtime() {
        Ok(runtime) => runtime.block_on(work),
        Err(code) => code,
    }
}

/// A multi-thread runtime for one command, or the exit status for failing to make one.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|err| {
        eprintln!("error: cannot start the async runtime: {err}");
        ExitCode::from(FAILED)
    })
}
