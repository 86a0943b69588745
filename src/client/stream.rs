//! A finished task's video as a stream of bytes, for a destination that is not a local file
//! (an object store): one GET, its answer judged as a download's is, its first bytes checked
//! to be an MP4 and its length to be the one announced.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;

use super::{Client, Error, Output};
use crate::net::redacted;

impl Client {
    /// Streams the video behind `output` (a finished task's) into `destination` as `name`:
    /// a multipart upload, constant memory, its size and SHA-256 counted on the way, and the
    /// object confirmed by the store before this returns. A failure leaves no object and no
    /// open upload (it is aborted). The object is replaced if it exists. (Compiled, not run
    /// here: it needs a bucket; tests/store.rs runs the same against a real S3 server.)
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use happyhorse::{sandbox::{Sandbox, SandboxConfig}, Client, ClientConfig, Prompt, Provider, VideoRequest};
    /// # let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    /// # let client = Client::new(ClientConfig::new(Provider::Apiframe).with_api_key("afk_example")
    /// #     .with_base_url(sandbox.base_url(Provider::Apiframe)))?;
    /// # let request = VideoRequest::text_to_video(Prompt::new("A horse on a beach")?);
    /// let finished = client.generate(&request).await?;
    /// let bucket = happyhorse::store::Destination::from_url("s3://videos/horses")?;
    /// let stored = client.upload_output(finished.output(), &bucket, "beach.mp4").await?;
    /// println!("{} ({} bytes, sha256 {})", stored.url, stored.bytes, stored.sha256);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "store")]
    pub async fn upload_output(
        &self,
        output: &Output,
        destination: &crate::store::Destination,
        name: &str,
    ) -> Result<crate::store::Stored, Error> {
        // The output answers first: an expired URL begins no upload.
        let body = self.output_stream(output).await?;
        destination.begin(name).await?.put(body).await
    }

    /// The video behind `output`, streamed: an error item ends it when the connection drops,
    /// when it does not start like an MP4 (`ftyp`), or when it ends short of its announced
    /// length.
    pub(crate) async fn output_stream(
        &self,
        output: &Output,
    ) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + 'static, Error> {
        let provider = self.provider();
        let answer = self
            .files
            .get(&output.url)
            .send()
            .await
            .map_err(|source| self.network(source))?;
        let expired = output.expires_at.is_some_and(|at| at <= chrono::Utc::now());
        match answer.status() {
            StatusCode::OK => {}
            StatusCode::GONE => {
                return Err(Error::OutputExpired {
                    expired_at: output.expires_at,
                })
            }
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND if expired => {
                return Err(Error::OutputExpired {
                    expired_at: output.expires_at,
                })
            }
            status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                return Err(Error::Unavailable {
                    provider,
                    status,
                    code: None,
                    message: "the output storage is busy".into(),
                    retry_after: crate::retry::retry_after(answer.headers()),
                })
            }
            status => {
                return Err(Error::UnexpectedResponse {
                    provider,
                    status: Some(status),
                    detail: format!(
                        "downloading {} failed; the URL may have expired: poll the task again for a fresh one",
                        redacted(&output.url)
                    ),
                })
            }
        }
        let announced = answer.content_length();
        let content_type = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let client = self.clone();
        let too_short = content_type.clone();
        let mut head: Vec<u8> = Vec::with_capacity(8);
        let body = answer.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(|source| client.network(source))?;
            if head.len() < 8 {
                head.extend(chunk.iter().take(8 - head.len()));
                if head.len() == 8 && head.get(4..8) != Some(b"ftyp".as_slice()) {
                    return Err(Error::NotVideo {
                        content_type: content_type.clone(),
                    });
                }
            }
            Ok(chunk)
        });
        // The end is checked once the body is over: a short body is not a video.
        let end = futures_util::stream::once(async move { Ok::<_, Error>(Bytes::new()) });
        let checked = body.chain(end).scan(0u64, move |seen, item| {
            let out = match item {
                Ok(chunk) if chunk.is_empty() && *seen < 8 => Some(Err(Error::NotVideo {
                    content_type: too_short.clone(),
                })),
                Ok(chunk) if chunk.is_empty() && announced.is_some_and(|n| *seen < n) => {
                    Some(Err(Error::Incomplete {
                        expected: announced.unwrap_or(0),
                        received: *seen,
                    }))
                }
                Ok(chunk) => {
                    *seen = seen.saturating_add(chunk.len() as u64);
                    Some(Ok(chunk))
                }
                Err(err) => Some(Err(err)),
            };
            std::future::ready(out)
        });
        Ok(checked)
    }
}
