//! What the lifecycle commands share: the provider and client set-up (with the in-process
//! sandbox), progress display, Ctrl-C, and how errors become exit statuses.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use happyhorse::{
    client::{
        Client, Config, DownloadOptions, Downloaded, Error, Output, TaskSnapshot, WaitOptions,
    },
    Provider,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

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
        Ok(Session {
            client: Client::new(Config::from_env(provider))?,
            json: common.json,
            interrupted: on_ctrl_c(),
            #[cfg(feature = "sandbox")]
            _sandbox: None,
        })
    }

    #[cfg(feature = "sandbox")]
    async fn sandboxed(common: &Common) -> Result<Session, Error> {
        use happyhorse::sandbox::{Config as SandboxConfig, Sandbox};
        let provider = common.provider;
        let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(3.0))
            .await
            .map_err(|err| Error::Config {
                message: format!("cannot start the local sandbox: {err}"),
            })?;
        let key = format!("{}sandbox", provider.key_prefix());
        let config = Config::new(provider)
            .with_api_key(key)
            .with_base_url(sandbox.base_url(provider));
        Ok(Session {
            client: Client::new(config)?,
            json: common.json,
            interrupted: on_ctrl_c(),
            _sandbox: Some(sandbox),
        })
    }

    #[cfg(not(feature = "sandbox"))]
    async fn sandboxed(_: &Common) -> Result<Session, Error> {
        Err(Error::Config {
            message:
                "this build has no sandbox: rebuild with the `sandbox` feature (on by default)"
                    .into(),
        })
    }

    /// Whether to draw progress: only on a terminal, and never with `--json`.
    fn draws(&self) -> bool {
        !self.json && std::io::stdout().is_terminal()
    }

    /// Waits for `id` with a spinner showing the status and the elapsed time; Ctrl-C stops
    /// the wait (not the task).
    pub async fn wait(&self, id: &str, max_wait: Duration) -> Result<TaskSnapshot, Error> {
        let spinner = ProgressBar::with_draw_target(None, self.target());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner.set_message(format!("task {id}: submitted"));
        let options = WaitOptions::default()
            .max_wait(max_wait)
            .cancel_on(self.interrupted.clone());
        let result = self
            .client
            .wait(id, &options, |snapshot| {
                let progress = snapshot
                    .progress
                    .map(|p| format!(" {p}%"))
                    .unwrap_or_default();
                spinner.set_message(format!("task {id}: {}{progress}", snapshot.status));
            })
            .await;
        spinner.finish_and_clear();
        result
    }

    /// Downloads `output` to `path` with a byte progress bar.
    pub async fn download(
        &self,
        output: &Output,
        path: &Path,
        overwrite: bool,
    ) -> Result<Downloaded, Error> {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let options = DownloadOptions::default().overwrite(overwrite);
        let result = self
            .client
            .download(output, path, &options, |done, total| {
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

/// Reports `err` (as JSON too with `--json`) and picks the exit status.
pub fn fail(err: &Error, json: bool) -> ExitCode {
    eprintln!("error: {err}");
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": false, "error": err.to_string()})
        );
    }
    ExitCode::from(match err {
        Error::Cancelled { .. } => INTERRUPTED,
        Error::MissingApiKey { .. }
        | Error::Config { .. }
        | Error::InvalidRequest { .. }
        | Error::Unsupported(_)
        | Error::FileExists { .. } => UNUSABLE,
        _ => FAILED,
    })
}

/// A multi-thread runtime for one command, or the exit status for failing to make one.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|err| {
        eprintln!("error: cannot start the async runtime: {err}");
        ExitCode::from(FAILED)
    })
}
