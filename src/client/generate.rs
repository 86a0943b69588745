//! One call per video: submit, wait, download, with optional progress and cancellation.
//!
//! Progress is a callback rather than a `watch` channel or a `Stream`: a callback sees every
//! event in order (a `watch` keeps only the latest value, so a quick `queued → running →
//! succeeded` can skip states), costs nothing when not set, and needs no second task to drive
//! it next to the future. A caller who wants a channel sends into one from the callback.

use std::{
    future::{Future, IntoFuture},
    path::PathBuf,
    pin::Pin,
    time::Duration,
};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Client, Error, Finished, IdempotencyKey, Submission, SubmitOptions, TaskSnapshot};
use crate::{request::VideoRequest, Provider};

/// What a [`Generate`] call reports while it runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Progress<'e> {
    /// The provider accepted the task (or replayed an earlier one with the same key).
    Submitted(&'e Submission),
    /// The task's status or progress changed.
    Status(&'e TaskSnapshot),
    /// Bytes of the video arrived.
    Downloading {
        /// Bytes so far.
        received: u64,
        /// The full size, once announced.
        total: Option<u64>,
    },
}

type OnProgress<'a> = Box<dyn FnMut(Progress<'_>) + Send + 'a>;

/// Submit and wait, built by [`Client::generate`]: `.await` it for the [`Finished`] task, or
/// call [`Generate::save_to`] to download the video too.
#[must_use = "a generation does nothing until it is awaited"]
pub struct Generate<'a> {
    client: &'a Client,
    request: &'a VideoRequest,
    options: SubmitOptions,
    max_wait: Option<Duration>,
    schedule: Option<(Duration, f64, Duration)>,
    cancel: Option<CancellationToken>,
    on_progress: Option<OnProgress<'a>>,
}

impl std::fmt::Debug for Generate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generate")
            .field("provider", &self.client.provider())
            .field("request", self.request)
            .field("options", &self.options)
            .field("max_wait", &self.max_wait)
            .finish()
    }
}

/// Submit, wait and download, built by [`Generate::save_to`]; `.await` it for what was
/// [`Saved`].
#[must_use = "a generation does nothing until it is awaited"]
#[derive(Debug)]
pub struct GenerateTo<'a> {
    generate: Generate<'a>,
    path: PathBuf,
    overwrite: bool,
}

/// What [`GenerateTo`] saved.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The provider that made it.
    pub provider: Provider,
    /// The submit's answer (task id, Idempotency-Key, warnings).
    pub submission: Submission,
    /// The finished task.
    pub task: Finished,
    /// Where the video is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How many times the transfer resumed.
    pub resumes: u32,
}

impl<'a> Generate<'a> {
    /// Sets the `Idempotency-Key` policy (default: derived from the request, so a rerun
    /// replays the first task instead of paying twice).
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.options.idempotency_key = key;
        self
    }

    /// Gives up waiting after `max_wait` (default 10 minutes); the task goes on.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Sets the poll schedule of the wait, as [`Wait::schedule`](super::Wait::schedule) does.
    pub fn schedule(mut self, first: Duration, multiplier: f64, max: Duration) -> Self {
        self.schedule = Some((first, multiplier, max));
        self
    }

    /// Stops at once when `token` is cancelled, in whichever step the call is: the submit
    /// ([`Error::Cancelled`] without an id: a task may exist), the wait ([`Error::Cancelled`]
    /// with the id: the task goes on), or the download ([`Error::DownloadCancelled`]: the
    /// partial file is kept).
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Calls `on_progress` with each [`Progress`] event.
    pub fn on_progress(mut self, on_progress: impl FnMut(Progress<'_>) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(on_progress));
        self
    }

    /// Downloads the video to `path` once the task succeeds.
    pub fn save_to(self, path: impl Into<PathBuf>) -> GenerateTo<'a> {
        GenerateTo {
            generate: self,
            path: path.into(),
            overwrite: false,
        }
    }

    async fn submit_and_wait(&mut self) -> Result<(Submission, Finished), Error> {
        let client = self.client;
        let provider = client.provider();
        let submitting = client.submit_with(self.request, &self.options);
        let submitted = match &self.cancel {
            Some(token) => tokio::select! {
                biased;
                _ = token.cancelled() => return Err(Error::Cancelled { provider, id: None }),
                submitted = submitting => submitted?,
            },
            None => submitting.await?,
        };
        if let Some(on_progress) = self.on_progress.as_mut() {
            on_progress(Progress::Submitted(&submitted));
        }
        let mut wait = client.wait(&submitted);
        if let Some(max_wait) = self.max_wait {
            wait = wait.max_wait(max_wait);
        }
        if let Some((first, multiplier, max)) = self.schedule {
            wait = wait.schedule(first, multiplier, max);
        }
        if let Some(token) = &self.cancel {
            wait = wait.cancel_on(token.clone());
        }
        if let Some(on_progress) = self.on_progress.as_mut() {
            wait = wait.on_change(|snapshot| on_progress(Progress::Status(snapshot)));
        }
        let finished = wait.await?;
        Ok((submitted, finished))
    }
}

impl<'a> IntoFuture for Generate<'a> {
    type Output = Result<Finished, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(mut self) -> Self::IntoFuture {
        let span = tracing::debug_span!("generate", provider = %self.client.provider());
        Box::pin(
            async move { self.submit_and_wait().await.map(|(_, finished)| finished) }
                .instrument(span),
        )
    }
}

impl GenerateTo<'_> {
    /// Replace an existing file at the path (default: refuse, before anything is submitted).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    async fn run(self) -> Result<Saved, Error> {
        let GenerateTo {
            mut generate,
            path,
            overwrite,
        } = self;
        // Refuse a target that cannot take the video before paying for one; the partial file
        // it opens is the one the download writes (and is removed if nothing comes of it).
        let prepared = super::download::prepare_target(&path, overwrite)?;
        let (submission, task) = generate.submit_and_wait().await?;
        let client = generate.client;
        let mut download = client.download(task.output(), &path).prepared(prepared);
        if let Some(token) = &generate.cancel {
            download = download.cancel_on(token.clone());
        }
        if let Some(on_progress) = generate.on_progress.as_mut() {
            download = download.on_progress(|received, total| {
                on_progress(Progress::Downloading { received, total })
            });
        }
        let saved = download.await?;
        Ok(Saved {
            provider: client.provider(),
            submission,
            task,
            path: saved.path,
            bytes: saved.bytes,
            resumes: saved.resumes,
        })
    }
}

impl<'a> IntoFuture for GenerateTo<'a> {
    type Output = Result<Saved, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::debug_span!(
            "generate",
            provider = %self.generate.client.provider(),
            path = %self.path.display()
        );
        Box::pin(self.run().instrument(span))
    }
}

impl Client {
    /// One video in one call: `.await` submits `request` and waits for it (resolving to the
    /// [`Finished`] task); `.save_to(path).await` downloads it too (resolving to what was
    /// [`Saved`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use happyhorse::{sandbox::{Sandbox, SandboxConfig}, Client, ClientConfig, Prompt, Provider, VideoRequest};
    /// # let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    /// # let client = Client::new(ClientConfig::new(Provider::Apiframe).with_api_key("afk_example")
    /// #     .with_base_url(sandbox.base_url(Provider::Apiframe)))?;
    /// # let dir = tempfile::tempdir()?;
    /// use happyhorse::client::Progress;
    ///
    /// let request = VideoRequest::text_to_video(Prompt::new("A horse on a beach")?);
    /// let saved = client
    ///     .generate(&request)
    ///     .on_progress(|event| {
    ///         if let Progress::Status(task) = event {
    ///             eprintln!("{}: {}", task.id, task.status);
    ///         }
    ///     })
    ///     .save_to(dir.path().join("horse.mp4"))
    ///     .await?;
    /// println!("{} bytes from {} task {}", saved.bytes, saved.provider, saved.task.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate<'a>(&'a self, request: &'a VideoRequest) -> Generate<'a> {
        Generate {
            client: self,
            request,
            options: SubmitOptions::default(),
            max_wait: None,
            schedule: None,
            cancel: None,
            on_progress: None,
        }
    }
}
