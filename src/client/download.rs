//! Downloading an output: a builder; streamed to a `.part` file beside the target (constant
//! memory), resumed with `Range` after an interruption (in this call or a later one), checked
//! against the announced size and content type, cancellable at any chunk, then made durable
//! and renamed into place atomically.

use std::{
    future::{Future, IntoFuture},
    path::{Path, PathBuf},
    pin::Pin,
};

use reqwest::{header, StatusCode};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Client, Error, Finished, Output, TaskHandle};
use crate::{net::redacted, retry::Retry};

/// A finished download.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Downloaded {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How many requests picked up where an earlier transfer had stopped (in this call, or
    /// from the partial file an earlier call left).
    pub resumes: u32,
}

/// What to download.
#[derive(Clone, Debug)]
enum Source {
    Output(Output),
    Task(TaskHandle),
}

type OnProgress<'a> = Box<dyn FnMut(u64, Option<u64>) + Send + 'a>;

/// A download, built by [`Client::download`] or [`Client::download_task`]; `.await` it.
#[must_use = "a download does nothing until it is awaited"]
pub struct Download<'a> {
    client: &'a Client,
    source: Source,
    path: PathBuf,
    /// The target, checked and its partial file opened already (by `generate`).
    prepared: Option<Prepared>,
    overwrite: bool,
    max_attempts: u32,
    cancel: Option<CancellationToken>,
    on_progress: Option<OnProgress<'a>>,
}

impl std::fmt::Debug for Download<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("source", &self.source)
            .field("path", &self.path)
            .field("overwrite", &self.overwrite)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl<'a> Download<'a> {
    fn new(client: &'a Client, source: Source, path: PathBuf) -> Self {
        Download {
            client,
            source,
            path,
            prepared: None,
            overwrite: false,
            max_attempts: 6,
            cancel: None,
            on_progress: None,
        }
    }

    /// Replace an existing file at the target (default: refuse with [`Error::FileExists`]).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Requests per download, counting resumes (default 6; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Stops the transfer at the next chunk when `token` is cancelled, with
    /// [`Error::DownloadCancelled`]; what arrived stays in the partial file for the next
    /// download to the same path to resume from.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Calls `on_progress(bytes_so_far, total)` as bytes arrive.
    pub fn on_progress(mut self, on_progress: impl FnMut(u64, Option<u64>) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(on_progress));
        self
    }

    /// Downloads into a target that [`prepare_target`] checked and opened already.
    pub(crate) fn prepared(mut self, prepared: Prepared) -> Self {
        self.overwrite = prepared.overwrite;
        self.prepared = Some(prepared);
        self
    }

    async fn run(self) -> Result<Downloaded, Error> {
        let Download {
            client,
            source,
            path,
            prepared,
            overwrite,
            max_attempts,
            cancel,
            mut on_progress,
        } = self;
        let prepared = match prepared {
            Some(prepared) => prepared,
            None => prepare_target(&path, overwrite)?,
        };
        let output = match source {
            Source::Output(output) => output,
            Source::Task(task) => {
                let finished = Finished::try_from(client.status(&task).await?)?;
                finished.output().clone()
            }
        };
        let expired_at = output.expires_at.filter(|at| *at <= chrono::Utc::now());
        if output.expired || expired_at.is_some() {
            return Err(Error::OutputExpired { expired_at });
        }
        let mut transfer = Transfer::open(client, &output, prepared);
        if transfer.have > 0 {
            tracing::info!(
                url = %redacted(&output.url),
                partial = %transfer.part.display(),
                from_byte = transfer.have,
                "found a partial file from an earlier download; resuming"
            );
        }
        let policy = client
            .config()
            .retry()
            .clone()
            .with_max_retries(max_attempts.saturating_sub(1));
        let classify = |err: &Error| match err {
            Error::Incomplete { expected, received } => Some(
                Retry::because(
                    format!("body ended at {received} of {expected} bytes"),
                    None,
                )
                .kind("incomplete_body"),
            ),
            other => other.retry(),
        };
        let mut attempts = policy.attempts("download");
        let outcome = loop {
            match transfer
                .attempt(attempts.number(), cancel.as_ref(), &mut on_progress)
                .await
            {
                Ok(()) => break Ok(()),
                Err(err) => {
                    if !attempts.again(classify(&err)).await {
                        break Err(err);
                    }
                }
            }
        };
        match outcome {
            Ok(()) => {}
            Err(err @ (Error::Network { .. } | Error::Unavailable { .. })) if transfer.have > 0 => {
                tracing::debug!(error = %err, "download gave up");
                return Err(Error::Incomplete {
                    expected: transfer.total.unwrap_or(transfer.have),
                    received: transfer.have,
                });
            }
            Err(err) => return Err(err),
        }
        transfer.finish(&path, overwrite).await
    }
}

impl<'a> IntoFuture for Download<'a> {
    type Output = Result<Downloaded, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::debug_span!(
            "download",
            provider = %self.client.provider(),
            path = %self.path.display()
        );
        Box::pin(self.run().instrument(span))
    }
}

/// Received bytes are written to the partial file in pieces of about this size, each in one
/// trip to the blocking pool; an output smaller than this costs one trip in all (write, sync,
/// rename), whatever its chunking on the wire.
const WRITE_AT: usize = 256 * 1024;

/// One download's state across its attempts.
struct Transfer<'c> {
    client: &'c Client,
    url: String,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    part: PathBuf,
    /// The partial file, once opened.
    file: Option<std::fs::File>,
    /// Bytes in the partial file.
    on_disk: u64,
    /// Bytes received and not yet written.
    pending: Vec<u8>,
    /// Bytes received in all: `on_disk` + `pending.len()`.
    have: u64,
    /// The full size, once an answer announced it.
    total: Option<u64>,
    resumes: u32,
    /// Which output the bytes belong to: its URL without query or fragment (a signed URL's
    /// query changes when it is refreshed; the object does not).
    identity: String,
    /// The output's `ETag`, once an answer gave one: sent as `If-Range` when resuming, so a
    /// changed file comes whole instead of spliced.
    etag: Option<String>,
    /// Whether this partial file's record (`.NAME.part.json`) is up to date on disk.
    recorded: bool,
    /// Whether a record file exists at all (to remove once the download is in place).
    record_on_disk: bool,
    /// The partial file on disk belongs to no known output: empty it when it is opened.
    discard_on_open: bool,
}

/// What is recorded beside a partial file, so that only the same output resumes it.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct PartRecord {
    /// The output's URL without query or fragment.
    output: String,
    /// Its `ETag`, when the server gave one.
    etag: Option<String>,
    /// Its full size, when announced.
    size: Option<u64>,
}

/// The record beside a partial file: `.NAME.part.json`.
fn record_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    part.with_file_name(name)
}

/// A URL without its query string and fragment: what identifies the object behind it.
fn identity(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
    }
}

/// What one request's answer means for the transfer.
enum Start {
    /// Write the body from byte `0`/`have`.
    Body(reqwest::Response),
    /// Every byte is in the partial file already.
    Complete,
    /// The partial file is not a prefix of this output: emptied; ask again from byte 0.
    Restart,
}

impl<'c> Transfer<'c> {
    /// Starts from the prepared partial file: resumed only when its record says it holds the
    /// start of this very output.
    fn open(client: &'c Client, output: &Output, mut prepared: Prepared) -> Self {
        let identity = identity(&output.url);
        let mut on_disk = prepared.len;
        let mut record = None;
        if on_disk > 0 {
            record = prepared
                .record
                .as_deref()
                .and_then(|text| serde_json::from_slice::<PartRecord>(text).ok())
                .filter(|record| record.output == identity)
                .filter(|record| record.size.is_none_or(|size| size >= on_disk));
            if record.is_none() {
                tracing::info!(
                    partial = %prepared.part.display(),
                    bytes = on_disk,
                    "the partial file is not known to belong to this output; starting over"
                );
            }
        }
        let discard_on_open = on_disk > 0 && record.is_none();
        if discard_on_open {
            on_disk = 0;
        }
        let record_on_disk = prepared.record.is_some();
        // From here on the partial file is the transfer's to keep or remove.
        prepared.keep = true;
        Transfer {
            client,
            url: output.url.clone(),
            expires_at: output.expires_at,
            part: prepared.part.clone(),
            file: prepared.file.take(),
            on_disk,
            pending: Vec::new(),
            have: on_disk,
            total: record.as_ref().and_then(|r| r.size),
            resumes: 0,
            identity,
            etag: record.and_then(|r| r.etag),
            recorded: on_disk > 0,
            record_on_disk,
            discard_on_open,
        }
    }

    /// Runs `work` on the partial file (opened for appending, created if need be) in one trip
    /// to the blocking pool, after writing what is pending and, for a download that is not
    /// `finishing`, the record of which output the partial file holds.
    async fn with_file<T: Send + 'static>(
        &mut self,
        finishing: bool,
        work: impl FnOnce(&mut std::fs::File, &Path) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        use std::io::Write;
        let file = self.file.take();
        let pending = std::mem::take(&mut self.pending);
        let part = self.part.clone();
        let discard = std::mem::take(&mut self.discard_on_open);
        let record = (!finishing && !self.recorded).then(|| {
            serde_json::to_vec(&PartRecord {
                output: self.identity.clone(),
                etag: self.etag.clone(),
                size: self.total,
            })
            .unwrap_or_default()
        });
        let wrote_record = record.is_some();
        let done = tokio::task::spawn_blocking(move || {
            let mut file = match file {
                Some(file) => file,
                None => crate::files::open_append(&part)?.0,
            };
            if discard {
                file.set_len(0)?;
            }
            if let Some(record) = record {
                crate::files::write(&record_path(&part), &record)?;
            }
            file.write_all(&pending)?;
            let value = work(&mut file, &part)?;
            Ok::<_, std::io::Error>((file, pending, value))
        })
        .await
        .map_err(|err| std::io::Error::other(err.to_string()))
        .and_then(|done| done)
        .map_err(io(&self.part))?;
        let (file, mut pending, value) = done;
        self.on_disk = self.on_disk.saturating_add(pending.len() as u64);
        self.recorded |= wrote_record;
        self.record_on_disk |= wrote_record;
        pending.clear();
        self.pending = pending;
        self.file = Some(file);
        Ok(value)
    }

    /// Writes what is pending.
    async fn write_pending(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.with_file(false, |_, _| Ok(())).await
    }

    /// One request (two when the partial file turns out not to belong to this output).
    async fn attempt(
        &mut self,
        attempt: u32,
        cancel: Option<&CancellationToken>,
        on_progress: &mut Option<OnProgress<'_>>,
    ) -> Result<(), Error> {
        if self.total == Some(self.have) {
            return Ok(());
        }
        let mut answer = None;
        for _ in 0..2 {
            match self.request(attempt, cancel).await? {
                Start::Body(body) => {
                    answer = Some(body);
                    break;
                }
                Start::Complete => return Ok(()),
                Start::Restart => self.truncate().await?,
            }
        }
        let Some(mut answer) = answer else {
            return Err(Error::UnexpectedResponse {
                provider: self.client.provider(),
                status: None,
                detail: format!(
                    "the file server for {} did not honour a range request twice",
                    redacted(&self.url)
                ),
            });
        };
        let content_type = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !acceptable(content_type.as_deref(), None) {
            return Err(Error::NotVideo {
                content_type: content_type.unwrap_or_default(),
            });
        }
        let mut checked_head = self.have > 0;
        let outcome = loop {
            let chunk = match cancel {
                Some(token) => tokio::select! {
                    biased;
                    _ = token.cancelled() => break Err(None),
                    chunk = answer.chunk() => chunk,
                },
                None => answer.chunk().await,
            };
            match chunk {
                Ok(Some(chunk)) => {
                    if !checked_head {
                        checked_head = true;
                        if !acceptable(content_type.as_deref(), Some(&chunk)) {
                            return Err(Error::NotVideo {
                                content_type: content_type.unwrap_or_default(),
                            });
                        }
                    }
                    self.pending.extend_from_slice(&chunk);
                    self.have = self.have.saturating_add(chunk.len() as u64);
                    if self.pending.len() >= WRITE_AT {
                        self.write_pending().await?;
                    }
                    if let Some(on_progress) = on_progress.as_mut() {
                        on_progress(self.have, self.total);
                    }
                }
                Ok(None) => break Ok(()),
                Err(source) => break Err(Some(self.client.network(source))),
            }
        };
        if outcome.is_err() {
            // Keep what arrived for the next attempt or the next run.
            self.write_pending().await?;
        }
        match outcome {
            Ok(()) if self.total.is_none_or(|total| total == self.have) => {
                self.total = Some(self.have);
                Ok(())
            }
            // The body ended short of its Content-Length without an error: resume.
            Ok(()) => Err(Error::Incomplete {
                expected: self.total.unwrap_or(self.have),
                received: self.have,
            }),
            Err(None) => {
                tracing::info!(
                    received = self.have,
                    "download cancelled; partial file kept"
                );
                Err(Error::DownloadCancelled {
                    path: final_path(&self.part),
                    partial: self.part.clone(),
                    received: self.have,
                })
            }
            Err(Some(err)) => Err(err),
        }
    }

    /// Sends one GET (with `Range` when resuming) and reads its status.
    async fn request(
        &mut self,
        attempt: u32,
        cancel: Option<&CancellationToken>,
    ) -> Result<Start, Error> {
        let provider = self.client.provider();
        let mut request = self.client.files.get(&self.url);
        if self.have > 0 {
            request = request.header(header::RANGE, format!("bytes={}-", self.have));
            if let Some(etag) = self.etag.as_ref().filter(|etag| !etag.starts_with("W/")) {
                // A file that changed since comes whole (200), not as a spliced range. (Only a
                // strong validator may go in If-Range.)
                request = request.header(header::IF_RANGE, etag.as_str());
            }
            self.resumes = self.resumes.saturating_add(1);
            tracing::info!(
                url = %redacted(&self.url),
                from_byte = self.have,
                attempt,
                "resuming download"
            );
        }
        let started = tokio::time::Instant::now();
        let sent = match cancel {
            Some(token) => tokio::select! {
                biased;
                _ = token.cancelled() => None,
                sent = request.send() => Some(sent),
            },
            None => Some(request.send().await),
        };
        let Some(sent) = sent else {
            return Err(Error::DownloadCancelled {
                path: final_path(&self.part),
                partial: self.part.clone(),
                received: self.have,
            });
        };
        let answer = sent.map_err(|source| self.client.network(source));
        super::log_call(
            provider,
            "download",
            attempt,
            started,
            answer.as_ref().map(reqwest::Response::status),
        );
        let answer = answer?;
        let status = answer.status();
        let expired = || self.expires_at.is_some_and(|at| at <= chrono::Utc::now());
        let etag = answer
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status.is_success() && etag.is_some() && self.etag.is_some() && etag != self.etag {
            // Another file behind the same URL: what is on disk is not its start.
            tracing::info!(url = %redacted(&self.url), "the output changed since the partial file was written; starting over");
            self.truncate().await?;
            self.etag = etag;
            return Ok(Start::Restart);
        }
        match status {
            StatusCode::OK => {
                if self.have > 0 {
                    // The server sent the whole file: start over from it.
                    self.truncate().await?;
                }
                self.total = answer.content_length();
                self.etag = etag;
                Ok(Start::Body(answer))
            }
            StatusCode::PARTIAL_CONTENT => match content_range(answer.headers()) {
                // The range asked for, of a file of the size recorded (if one was).
                Some((start, size))
                    if start == self.have
                        && (self.total.is_none() || size.is_none() || size == self.total) =>
                {
                    self.total = size.or(self.total);
                    self.etag = etag.or(self.etag.take());
                    Ok(Start::Body(answer))
                }
                _ => Ok(Start::Restart),
            },
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let size = answer
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().strip_prefix("bytes */"))
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if size == Some(self.have) && self.total.is_none_or(|total| total == self.have) {
                    // A previous run got every byte of this output (its record says so) but
                    // stopped before the rename.
                    self.total = size;
                    Ok(Start::Complete)
                } else {
                    Ok(Start::Restart)
                }
            }
            StatusCode::GONE => Err(Error::OutputExpired {
                expired_at: self.expires_at,
            }),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND if expired() => {
                Err(Error::OutputExpired {
                    expired_at: self.expires_at,
                })
            }
            status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                Err(Error::Unavailable {
                    provider,
                    status,
                    code: None,
                    message: "the output storage is busy".into(),
                    retry_after: crate::retry::retry_after(answer.headers()),
                })
            }
            status => Err(Error::UnexpectedResponse {
                provider,
                status: Some(status),
                detail: format!(
                    "downloading {} failed; the URL may have expired: poll the task again for a fresh one",
                    redacted(&self.url)
                ),
            }),
        }
    }

    async fn truncate(&mut self) -> Result<(), Error> {
        self.pending.clear();
        if self.on_disk > 0 {
            self.with_file(false, |file, _| file.set_len(0)).await?;
            self.on_disk = 0;
        }
        self.have = 0;
        self.total = None;
        self.recorded = false;
        Ok(())
    }

    /// Writes what is pending, makes the bytes durable, then moves them into place: one trip
    /// to the blocking pool.
    async fn finish(mut self, path: &Path, overwrite: bool) -> Result<Downloaded, Error> {
        let to = path.to_owned();
        let record = self.record_on_disk;
        let renamed = self
            .with_file(true, move |file, part| {
                file.sync_all()?;
                if !overwrite && to.exists() {
                    return Ok(Err(Error::FileExists { path: to }));
                }
                if let Err(source) = std::fs::rename(part, &to) {
                    return Ok(Err(Error::Io { path: to, source }));
                }
                if record {
                    // The record of a partial file that is no more.
                    let _ = std::fs::remove_file(record_path(part));
                }
                Ok(Ok(()))
            })
            .await?;
        renamed?;
        Ok(Downloaded {
            path: path.to_owned(),
            bytes: self.have,
            resumes: self.resumes,
        })
    }
}

/// A download target checked before anything was requested (or paid for), with its partial
/// file open: the check that the directory takes new files is the opening of the very file the
/// download writes. Dropped unused, it removes the partial file if it created it.
#[derive(Debug)]
pub(crate) struct Prepared {
    part: PathBuf,
    file: Option<std::fs::File>,
    /// Bytes in the partial file (an earlier run's, to resume).
    len: u64,
    /// The partial file's record, when it had bytes and a record.
    record: Option<Vec<u8>>,
    /// This check created the partial file.
    created: bool,
    /// Handed to a transfer: not to be removed on drop.
    keep: bool,
    overwrite: bool,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if self.created && !self.keep {
            // One unlink of the empty file this check created (the generation failed first).
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// Checks that a video can be written to `path` (its directory exists and takes new files, it
/// is not a directory, and it does not exist unless `overwrite`), and opens the partial file
/// the download will write.
///
/// Done on the calling thread, not in tokio's blocking pool: it is one `stat` and one `open`
/// in the target's directory (what `Path::exists` costs), and a trip to the blocking pool
/// costs more than both (measured in `benches/lifecycle.rs`: about a tenth of the client's
/// per-task overhead). The writes, the `fsync` and the rename go to the blocking pool.
pub(crate) fn prepare_target(path: &Path, overwrite: bool) -> Result<Prepared, Error> {
    let target = path.to_owned();
    (move || -> Result<Prepared, Error> {
        let unusable = |reason: String| Error::UnusableTarget {
            path: target.clone(),
            reason,
        };
        if target.as_os_str().is_empty() || target.file_name().is_none() {
            return Err(unusable("it names no file".into()));
        }
        if crate::files::is_symlink(&target) {
            return Err(unusable(
                "it is a symbolic link; refusing to write through it".into(),
            ));
        }
        match std::fs::metadata(&target) {
            Ok(meta) if meta.is_dir() => return Err(unusable("it is a directory".into())),
            Ok(_) if !overwrite => {
                return Err(Error::FileExists {
                    path: target.clone(),
                })
            }
            _ => {}
        }
        let part = part_path(&target);
        let (file, created) = match crate::files::open_append(&part) {
            Ok(opened) => opened,
            Err(err) if crate::files::is_symlink(&part) => {
                return Err(unusable(crate::files::explain(&part, &err)))
            }
            Err(err) => {
                let dir = match target.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                    _ => PathBuf::from("."),
                };
                return Err(unusable(match std::fs::metadata(&dir) {
                    Ok(meta) if !meta.is_dir() => format!("{} is not a directory", dir.display()),
                    Ok(_) => format!("cannot create files in {}: {err}", dir.display()),
                    Err(err) => format!("directory {}: {err}", dir.display()),
                }));
            }
        };
        let len = if created {
            0
        } else {
            file.metadata()
                .map_err(|err| unusable(err.to_string()))?
                .len()
        };
        let record = (len > 0)
            .then(|| crate::files::read(&record_path(&part)).ok())
            .flatten();
        Ok(Prepared {
            part,
            file: Some(file),
            len,
            record,
            created,
            keep: false,
            overwrite,
        })
    })()
}

/// The partial file for `path`: `.NAME.part` in the same directory, so the final rename stays
/// on one file system.
pub(crate) fn part_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.part"))
}

/// The target a partial file stands for (inverse of [`part_path`]).
fn final_path(part: &Path) -> PathBuf {
    let name = part
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_prefix('.').unwrap_or(&name);
    let name = name.strip_suffix(".part").unwrap_or(name);
    part.with_file_name(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Whether a content type is acceptable for an MP4, given its first bytes when they are known.
fn acceptable(content_type: Option<&str>, head: Option<&[u8]>) -> bool {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(t) if t.starts_with("video/") => true,
        // Object stores often label files generically; then the bytes must look like MP4.
        None | Some("application/octet-stream" | "binary/octet-stream") => {
            head.is_none_or(|head| head.get(4..8).is_none_or(|kind| kind == b"ftyp"))
        }
        _ => false,
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn content_range(headers: &header::HeaderMap) -> Option<(u64, Option<u64>)> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let start = span.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

impl Client {
    /// Downloads `output` (a [`Finished::output`]) to `path`.
    ///
    /// Refuses to replace an existing file unless [`Download::overwrite`] is set, and an
    /// output past its expiry before sending anything. Interrupted transfers resume with
    /// `Range`, here and in a later call (the `.part` file beside the target stays until the
    /// download completes).
    pub fn download(&self, output: &Output, path: impl Into<PathBuf>) -> Download<'_> {
        Download::new(self, Source::Output(output.clone()), path.into())
    }

    /// Polls `task` and downloads its video to `path`: for a task whose [`Finished`] value
    /// was not kept.
    pub fn download_task(
        &self,
        task: impl Into<TaskHandle>,
        path: impl Into<PathBuf>,
    ) -> Download<'_> {
        Download::new(self, Source::Task(task.into()), path.into())
    }

    pub(crate) fn network(&self, source: reqwest::Error) -> Error {
        Error::Network {
            provider: self.provider(),
            source: source.without_url(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_checked_with_a_sniff_for_generic_ones() {
        assert!(acceptable(Some("video/mp4"), None));
        assert!(acceptable(Some("Video/MP4; codecs=avc1"), None));
        assert!(!acceptable(Some("text/html"), None));
        assert!(!acceptable(Some("application/json"), None));
        assert!(acceptable(
            Some("application/octet-stream"),
            Some(b"\0\0\0\x20ftypisom")
        ));
        assert!(!acceptable(
            Some("application/octet-stream"),
            Some(b"<?xml version")
        ));
        assert!(acceptable(None, Some(b"\0\0\0\x20ftypisom")));
        assert!(acceptable(None, Some(b"\0\0")));
    }

    #[test]
    fn content_range_parses() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, "bytes 100-199/1000".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, Some(1000))));
        headers.insert(header::CONTENT_RANGE, "bytes 100-199/*".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, None)));
        headers.insert(
            header::CONTENT_RANGE,
            "bytes 0-1/18446744073709551616".parse().unwrap(),
        );
        assert_eq!(content_range(&headers), Some((0, None)));
    }

    #[test]
    fn partial_files_sit_beside_the_target() {
        let part = part_path(Path::new("/tmp/out/video.mp4"));
        assert_eq!(part, PathBuf::from("/tmp/out/.video.mp4.part"));
        assert_eq!(final_path(&part), PathBuf::from("/tmp/out/video.mp4"));
    }
}
