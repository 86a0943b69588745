//! Downloading an output: streamed to a `.part` file beside the target (constant memory),
//! resumed with `Range` after an interruption (in this call or a later one), checked against
//! the announced size and content type, then renamed into place atomically.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use reqwest::{header, StatusCode};
use tokio::io::AsyncWriteExt;

use super::{Client, Error, Output};

/// How to download.
#[derive(Clone, Debug)]
pub struct DownloadOptions {
    /// Replace an existing file at the target.
    pub overwrite: bool,
    /// Requests per download, counting resumes (at least 1).
    pub max_attempts: u32,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            overwrite: false,
            max_attempts: 6,
        }
    }
}

impl DownloadOptions {
    /// Sets [`DownloadOptions::overwrite`].
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }
}

/// A finished download.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Downloaded {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How many times the transfer picked up where it had stopped.
    pub resumes: u32,
}

/// The partial file for `path`: `.NAME.part` in the same directory, so the final rename stays
/// on one file system.
fn part_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.part"))
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
            head.is_none_or(|head| head.len() < 8 || &head[4..8] == b"ftyp")
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
    /// Downloads `output` to `path`, calling `on_progress(bytes_so_far, total)` as bytes
    /// arrive.
    ///
    /// Refuses to replace an existing file unless [`DownloadOptions::overwrite`] is set, and
    /// an output past its expiry before sending anything. Interrupted transfers resume with
    /// `Range`, here and in a later call (the `.part` file stays until the download completes).
    pub async fn download(
        &self,
        output: &Output,
        path: &Path,
        options: &DownloadOptions,
        mut on_progress: impl FnMut(u64, Option<u64>),
    ) -> Result<Downloaded, Error> {
        if !options.overwrite && path.exists() {
            return Err(Error::FileExists {
                path: path.to_owned(),
            });
        }
        let expired_at = output.expires_at.filter(|at| *at <= chrono::Utc::now());
        if output.expired || expired_at.is_some() {
            return Err(Error::OutputExpired { expired_at });
        }
        let part = part_path(path);
        // One trip to the blocking pool to open the partial file and learn its length.
        let opening = part.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&opening)?;
            let len = file.metadata()?.len();
            Ok::<_, std::io::Error>((file, len))
        })
        .await
        .map_err(|err| std::io::Error::other(err.to_string()))
        .and_then(|opened| opened)
        .map_err(io(&part))?;
        let (file, mut have) = opened;
        let mut file = tokio::fs::File::from_std(file);
        let mut total: Option<u64> = None;
        let mut resumes = 0;
        let mut last_error: Option<Error> = None;
        for attempt in 0..options.max_attempts.max(1) {
            if attempt > 0 {
                let pause = self.config.retry.delay(
                    attempt - 1,
                    last_error.as_ref().and_then(Error::retry_after),
                );
                tokio::time::sleep(pause.min(Duration::from_secs(10))).await;
            }
            if total == Some(have) {
                break;
            }
            let mut request = self.files.get(&output.url);
            if have > 0 {
                request = request.header(header::RANGE, format!("bytes={have}-"));
            }
            let mut answer = match request.send().await {
                Ok(answer) => answer,
                Err(source) => {
                    last_error = Some(self.network(source));
                    continue;
                }
            };
            let status = answer.status();
            let starts_at = match status {
                StatusCode::OK => 0,
                StatusCode::PARTIAL_CONTENT => match content_range(answer.headers()) {
                    Some((start, size)) => {
                        total = size.or(total);
                        start
                    }
                    None => 0,
                },
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    let size = answer
                        .headers()
                        .get(header::CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().strip_prefix("bytes */"))
                        .and_then(|n| n.trim().parse::<u64>().ok());
                    if size == Some(have) {
                        // A previous run got every byte but stopped before the rename.
                        total = size;
                        break;
                    }
                    // The partial file is not a prefix of this output: start over.
                    file.set_len(0).await.map_err(io(&part))?;
                    have = 0;
                    total = None;
                    continue;
                }
                StatusCode::GONE => return Err(Error::OutputExpired { expired_at: output.expires_at }),
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                    if output.expires_at.is_some_and(|at| at <= chrono::Utc::now()) =>
                {
                    return Err(Error::OutputExpired { expired_at: output.expires_at })
                }
                status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                    last_error = Some(Error::Unavailable {
                        provider: self.provider(),
                        status,
                        code: None,
                        message: "the output storage is busy".into(),
                        retry_after: super::retry::retry_after(answer.headers()),
                    });
                    continue;
                }
                status => {
                    return Err(Error::UnexpectedResponse {
                        provider: self.provider(),
                        status: Some(status),
                        detail: format!(
                            "downloading {} failed; the URL may have expired: poll the task again for a fresh one",
                            output.url
                        ),
                    })
                }
            };
            if starts_at != have {
                // The server sent the whole file (or another range): start over from it.
                file.set_len(0).await.map_err(io(&part))?;
                have = 0;
                if starts_at != 0 {
                    continue;
                }
            }
            if status == StatusCode::OK {
                total = answer.content_length();
            }
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
            if attempt > 0 && have > 0 {
                resumes += 1;
            }
            let mut writer = tokio::io::BufWriter::with_capacity(64 * 1024, &mut file);
            let mut checked_head = have > 0;
            let outcome = loop {
                match answer.chunk().await {
                    Ok(Some(chunk)) => {
                        if !checked_head {
                            checked_head = true;
                            if !acceptable(content_type.as_deref(), Some(&chunk)) {
                                return Err(Error::NotVideo {
                                    content_type: content_type.unwrap_or_default(),
                                });
                            }
                        }
                        writer.write_all(&chunk).await.map_err(io(&part))?;
                        have += chunk.len() as u64;
                        on_progress(have, total);
                    }
                    Ok(None) => break Ok(()),
                    Err(source) => break Err(self.network(source)),
                }
            };
            writer.flush().await.map_err(io(&part))?;
            match outcome {
                Ok(()) if total.is_none_or(|total| total == have) => {
                    total = Some(have);
                    break;
                }
                Ok(()) => {
                    // The body ended short of its Content-Length without an error: resume.
                    last_error = None;
                }
                Err(err) => last_error = Some(err),
            }
        }
        let expected = total.unwrap_or(have);
        if total != Some(have) {
            return Err(match last_error {
                Some(err @ (Error::Unavailable { .. } | Error::Network { .. })) if have == 0 => err,
                _ => Error::Incomplete {
                    expected,
                    received: have,
                },
            });
        }
        if !options.overwrite && path.exists() {
            return Err(Error::FileExists {
                path: path.to_owned(),
            });
        }
        // One trip to the blocking pool: make the bytes durable, then move them into place.
        let file = file.into_std().await;
        let (from, to) = (part.clone(), path.to_owned());
        tokio::task::spawn_blocking(move || {
            file.sync_all().map_err(|e| (from.clone(), e))?;
            drop(file);
            std::fs::rename(&from, &to).map_err(|e| (to.clone(), e))
        })
        .await
        .map_err(|err| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::other(err.to_string()),
        })?
        .map_err(|(path, source)| Error::Io { path, source })?;
        Ok(Downloaded {
            path: path.to_owned(),
            bytes: have,
            resumes,
        })
    }

    /// Polls task `id` and downloads its first output.
    pub async fn download_task(
        &self,
        id: &str,
        path: &Path,
        options: &DownloadOptions,
        on_progress: impl FnMut(u64, Option<u64>),
    ) -> Result<Downloaded, Error> {
        let snapshot = self.status(id).await?;
        let Some(output) = snapshot.outputs.first() else {
            return Err(Error::NoOutput {
                id: id.to_owned(),
                status: snapshot.status,
            });
        };
        self.download(output, path, options, on_progress).await
    }

    fn network(&self, source: reqwest::Error) -> Error {
        Error::Network {
            provider: self.provider(),
            source,
            may_have_created_task: false,
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
    }

    #[test]
    fn content_range_parses() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, "bytes 100-199/1000".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, Some(1000))));
        headers.insert(header::CONTENT_RANGE, "bytes 100-199/*".parse().unwrap());
        assert_eq!(content_range(&headers), Some((100, None)));
    }

    #[test]
    fn partial_files_sit_beside_the_target() {
        assert_eq!(
            part_path(Path::new("/tmp/out/video.mp4")),
            PathBuf::from("/tmp/out/.video.mp4.part")
        );
    }
}
