//! Outputs into object storage: a video streamed from the provider into `s3://` (AWS and any
//! S3-compatible store: R2, MinIO, ...), `gs://` or `az://`, as a multipart upload in parts of
//! [`PART_BYTES`] (constant memory: one part at a time, never the whole file, no local copy),
//! its size and SHA-256 counted on the way and the object confirmed by the store before it is
//! reported stored.
//!
//! Credentials come from each cloud's standard environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` for an S3-compatible store;
//! `GOOGLE_SERVICE_ACCOUNT`...; `AZURE_STORAGE_ACCOUNT_NAME`...), never from an argument, and
//! are never shown. An upload is begun ([`Destination::begin`]), which names it (its
//! [`Upload::id`], to record before the first byte goes, so that a crash leaves nothing behind
//! that the next run cannot abort with [`Destination::abort`]), then fed ([`Upload::put`]).

mod http;
mod uploads;

use std::{fmt, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use object_store::{
    multipart::MultipartStore, path::Path, signer::Signer, ObjectStore, ObjectStoreExt,
    ObjectStoreScheme, PutPayload,
};
use sha2::{Digest, Sha256};

use crate::Error;

/// The size of each part of an upload but the last (S3's smallest allowed is 5 MiB).
pub const PART_BYTES: usize = 6 << 20;

/// A store that takes multipart uploads part by part and signs URLs.
trait Backend: ObjectStore + MultipartStore + Signer {}
impl<T: ObjectStore + MultipartStore + Signer> Backend for T {}

/// Where outputs go: a bucket (or container) and a prefix in it.
#[derive(Clone)]
pub struct Destination {
    store: Arc<dyn Backend>,
    /// S3's listing of open uploads (`None`: a store this version does not list).
    lister: Option<Arc<uploads::Lister>>,
    /// Set once the store answered that it does not list uploads.
    unlisted: Arc<std::sync::atomic::AtomicBool>,
    prefix: Path,
    /// `s3://bucket/prefix`, as given (it holds no credential).
    shown: String,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

fn storage(what: String) -> impl FnOnce(object_store::Error) -> Error {
    move |err| Error::Storage {
        message: format!("{what}: {err}"),
        source: Some(Box::new(err)),
    }
}

impl Destination {
    /// The destination `url` names (`s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix`), with credentials and settings from the environment.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        Self::from_url_with(url, &[])
    }

    /// [`Destination::from_url`] with settings that take precedence over the environment's,
    /// named as `object_store` names them (`aws_endpoint`, `aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_region`, `google_service_account`,
    /// `azure_storage_account_name`, ...).
    pub fn from_url_with(url: &str, options: &[(&str, &str)]) -> Result<Self, Error> {
        let parsed = reqwest::Url::parse(url).map_err(|err| Error::Config {
            message: format!("'{url}' is not an object-store URL ({err}); write s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"),
        })?;
        let (scheme, prefix) =
            ObjectStoreScheme::parse(&parsed).map_err(|err| Error::Config {
                message: format!("'{url}' is not an object-store URL ({err}); write s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"),
            })?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::shared_config().map_err(|message| {
                Error::Config {
                    message: format!("cannot set up TLS: {message}"),
                }
            })?)
            .build()
            .map_err(|err| Error::Config {
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        let connector = http::Connector(http.clone());
        let built = |what: &str| storage(format!("cannot use {what} '{url}'"));
        let unknown = |key: &str| Error::Config {
            message: format!("'{key}' is not a setting of the store '{url}' names"),
        };
        let mut lister = None;
        let store: Arc<dyn Backend> = match scheme {
            ObjectStoreScheme::AmazonS3 => {
                let builder = options.iter().try_fold(
                    object_store::aws::AmazonS3Builder::from_env().with_url(url),
                    |b, (k, v)| Ok::<_, Error>(b.with_config(k.parse().map_err(|_| unknown(k))?, *v)),
                )?;
                let region =
                    builder.get_config_value(&object_store::aws::AmazonS3ConfigKey::Region);
                let s3 = Arc::new(
                    builder
                        .with_http_connector(connector)
                        .build()
                        .map_err(built("the S3 bucket"))?,
                );
                lister = Some(Arc::new(uploads::Lister::new(s3.clone(), region, http)));
                s3
            }
            ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                options
                    .iter()
                    .try_fold(object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url), |b, (k, v)| {
                        Ok::<_, Error>(b.with_config(k.parse().map_err(|_| unknown(k))?, *v))
                    })?
                    .with_http_connector(connector)
                    .build()
                    .map_err(built("the GCS bucket"))?,
            ),
            ObjectStoreScheme::MicrosoftAzure => Arc::new(
                options
                    .iter()
                    .try_fold(object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url), |b, (k, v)| {
                        Ok::<_, Error>(b.with_config(k.parse().map_err(|_| unknown(k))?, *v))
                    })?
                    .with_http_connector(connector)
                    .build()
                    .map_err(built("the Azure container"))?,
            ),
            _ => {
                return Err(Error::Config {
                    message: format!("'{url}' is not an object store this version writes to; write s3://, gs:// or az:// (a file:// URL or a path is a local directory)"),
                })
            }
        };
        Ok(Destination {
            store,
            lister,
            unlisted: Arc::default(),
            prefix,
            shown: url.trim_end_matches('/').to_owned(),
        })
    }

    /// The key of `name` under the prefix.
    fn key(&self, name: &str) -> Result<Path, Error> {
        let bad = || Error::Config {
            message: format!("'{name}' is not a usable object name (one path segment, no '/')"),
        };
        if name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        let part = object_store::path::PathPart::parse(name).map_err(|_| bad())?;
        Ok(self.prefix.clone().join(part))
    }

    /// `s3://bucket/prefix/name`: how errors and reports name the object.
    pub fn shown(&self, name: &str) -> String {
        format!("{}/{name}", self.shown)
    }

    /// What the store holds as `name`, if anything: its size and ETag.
    pub async fn stat(&self, name: &str) -> Result<Option<ObjectInfo>, Error> {
        let key = self.key(name)?;
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                bytes: meta.size,
                e_tag: meta.e_tag,
                version: meta.version,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(storage(format!("cannot look at {}", self.shown(name)))(err)),
        }
    }

    /// Begins a multipart upload of `name`; nothing is visible under it until
    /// [`Upload::put`] completes.
    pub async fn begin(&self, name: &str) -> Result<Upload, Error> {
        let key = self.key(name)?;
        let id = self
            .store
            .create_multipart(&key)
            .await
            .map_err(storage(format!(
                "cannot begin an upload of {}",
                self.shown(name)
            )))?;
        Ok(Upload {
            destination: self.clone(),
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// Aborts the upload `id` of `name` (one a crashed run began): its parts are deleted.
    /// An upload the store no longer knows (completed or aborted already) is not an error:
    /// S3 answers it 404 (`NoSuchUpload`), some S3-compatible stores 403, which is logged as a
    /// warning (were the upload still open, a bucket lifecycle rule would clear it).
    pub async fn abort(&self, name: &str, id: &str) -> Result<(), Error> {
        let key = self.key(name)?;
        match self.store.abort_multipart(&key, &id.to_owned()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(object_store::Error::PermissionDenied { .. }) => {
                tracing::warn!(
                    object = %self.shown(name),
                    upload = id,
                    "the store refused to abort an earlier upload (403): taken as completed or aborted already"
                );
                Ok(())
            }
            Err(err) => Err(storage(format!(
                "cannot abort the upload of {}",
                self.shown(name)
            ))(err)),
        }
    }
}

impl Destination {
    /// Aborts every upload of `name` the store holds open, listed (S3's
    /// ListMultipartUploads): those a crashed run began and could not record, as well as
    /// those it did. Returns how many were aborted; `None` when the store cannot list them
    /// (gs://, az://, or an S3-compatible server that answers 501), which is then not asked
    /// again: an upload begun and never recorded is left to the bucket's lifecycle rule.
    pub async fn abort_open(&self, name: &str) -> Result<Option<usize>, Error> {
        use std::sync::atomic::Ordering;
        let Some(lister) = self.lister.as_ref() else {
            return Ok(None);
        };
        if self.unlisted.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let key = self.key(name)?;
        let Some(ids) = lister.open(&key, &self.shown(name)).await? else {
            if !self.unlisted.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    store = %self.shown,
                    "the store does not list open uploads (501): an upload a crashed run began before recording it is left to the bucket's lifecycle rule"
                );
            }
            return Ok(None);
        };
        for id in &ids {
            self.abort(name, id).await?;
        }
        Ok(Some(ids.len()))
    }

    /// The bytes `range` of the object `name`, streamed (what a player asks for to seek).
    pub async fn read_range(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
    ) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + 'static, Error> {
        let key = self.key(name)?;
        let shown = self.shown(name);
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(range)),
            ..Default::default()
        };
        let got = self
            .store
            .get_opts(&key, options)
            .await
            .map_err(storage(format!("cannot read {shown}")))?;
        Ok(got
            .into_stream()
            .map(move |chunk| chunk.map_err(|err| storage(format!("cannot read {shown}"))(err))))
    }

    /// Size and SHA-256 of what the store holds as `name`, read back in full (`None`: nothing
    /// is there): how a run tells that an upload a crashed run completed holds the bytes it
    /// recorded, without sending them again.
    pub async fn sha256_of(&self, name: &str) -> Result<Option<(u64, String)>, Error> {
        let key = self.key(name)?;
        let got = match self.store.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(storage(format!("cannot read {}", self.shown(name)))(err)),
        };
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        let mut bytes: u64 = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(storage(format!("cannot read {}", self.shown(name))))?;
            hasher.update(&chunk);
            bytes = bytes.saturating_add(chunk.len() as u64);
        }
        Ok(Some((bytes, hex(&hasher.finalize()))))
    }
}

impl Destination {
    /// Puts `bytes` as `name` in one request (a small file: `results.jsonl`), replacing what
    /// was there; returns the object's URL.
    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<String, Error> {
        let key = self.key(name)?;
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(storage(format!("cannot write {}", self.shown(name))))?;
        Ok(self.shown(name))
    }

    /// Stages `bytes`, a local input image, content-addressed (`SHA256.EXT`, so an image many
    /// jobs use is uploaded once: an object already there with its size is not sent again),
    /// and returns a presigned GET URL valid for `ttl`, which a provider can fetch.
    pub async fn stage(
        &self,
        bytes: Bytes,
        extension: &str,
        ttl: Duration,
    ) -> Result<Staged, Error> {
        let sha256 = hex(&Sha256::digest(&bytes));
        let name = staged_name(&sha256, extension);
        let key = self.key(&name)?;
        let size = bytes.len() as u64;
        let present = self
            .stat(&name)
            .await?
            .is_some_and(|info| info.bytes == size);
        if !present {
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(storage(format!("cannot stage {}", self.shown(&name))))?;
        }
        let url = self.signed(&name, ttl).await?;
        Ok(Staged {
            object: self.shown(&name),
            url,
            sha256,
            bytes: size,
            uploaded: !present,
        })
    }
}

impl Destination {
    /// A new presigned GET URL for `name`, valid for `ttl`, if the store holds it (`None`
    /// if not): an image staged earlier, signed again before its URL expires.
    pub async fn presign(&self, name: &str, ttl: Duration) -> Result<Option<String>, Error> {
        if self.stat(name).await?.is_none() {
            return Ok(None);
        }
        self.signed(name, ttl).await.map(Some)
    }

    /// A presigned GET URL for `name`, valid for `ttl`.
    async fn signed(&self, name: &str, ttl: Duration) -> Result<String, Error> {
        let key = self.key(name)?;
        let url = self
            .store
            .signed_url(object_store::signer::Method::GET, &key, ttl)
            .await
            .map_err(storage(format!(
                "cannot sign a URL for {}",
                self.shown(name)
            )))?;
        Ok(url.to_string())
    }
}

/// The name an image staged by [`Destination::stage`] gets: its SHA-256 (hex) and extension.
pub fn staged_name(sha256: &str, extension: &str) -> String {
    format!("{sha256}.{extension}")
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A local image staged for a provider to fetch.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Staged {
    /// `s3://bucket/prefix/SHA256.EXT`.
    pub object: String,
    /// The presigned GET URL to send (a credential until it expires: never logged).
    pub url: String,
    /// SHA-256 of the image, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether it was uploaded now (`false`: the store held it already).
    pub uploaded: bool,
}

impl fmt::Debug for Staged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staged")
            .field("object", &self.object)
            .field("url", &crate::net::redacted(&self.url))
            .field("sha256", &self.sha256)
            .field("bytes", &self.bytes)
            .field("uploaded", &self.uploaded)
            .finish()
    }
}

/// Parts at most in flight at once: the next part is read while these go (memory: this many
/// parts and the one being filled).
const PARTS_AT_ONCE: usize = 2;

/// The part uploads of one upload in flight, in order.
#[derive(Default)]
struct Sending {
    in_flight: std::collections::VecDeque<
        tokio::task::JoinHandle<Result<object_store::multipart::PartId, Error>>,
    >,
    done: Vec<object_store::multipart::PartId>,
}

impl Sending {
    /// How many parts were handed over so far.
    fn sent(&self) -> usize {
        self.done.len() + self.in_flight.len()
    }

    /// Hands a part over, first waiting for the oldest when [`PARTS_AT_ONCE`] are in flight.
    async fn push(
        &mut self,
        part: tokio::task::JoinHandle<Result<object_store::multipart::PartId, Error>>,
    ) -> Result<(), Error> {
        self.in_flight.push_back(part);
        if self.in_flight.len() >= PARTS_AT_ONCE {
            self.next().await?;
        }
        Ok(())
    }

    async fn next(&mut self) -> Result<(), Error> {
        let Some(oldest) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let id = oldest.await.map_err(|join| Error::Storage {
            message: format!("a part upload stopped: {join}"),
            source: None,
        })??;
        self.done.push(id);
        Ok(())
    }

    /// Every part's id, in order, once all are sent.
    async fn finish(mut self) -> Result<Vec<object_store::multipart::PartId>, Error> {
        while !self.in_flight.is_empty() {
            self.next().await?;
        }
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for Sending {
    /// A failed upload stops its parts still going (the upload is then aborted).
    fn drop(&mut self) {
        for part in &self.in_flight {
            part.abort();
        }
    }
}

/// What a store holds under a name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its ETag, as the store gives it.
    pub e_tag: Option<String>,
    /// Its version, where the bucket keeps versions.
    pub version: Option<String>,
}

/// An object stored and confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stored {
    /// `s3://bucket/prefix/name`.
    pub url: String,
    /// Its size in bytes, as counted on the way and confirmed by the store.
    pub bytes: u64,
    /// SHA-256 of what was sent, hex.
    pub sha256: String,
    /// The ETag the store gave the object.
    pub e_tag: Option<String>,
    /// The version the store gave it, where the bucket keeps versions.
    pub version: Option<String>,
}

/// A multipart upload begun and not yet completed.
#[derive(Debug)]
pub struct Upload {
    destination: Destination,
    name: String,
    key: Path,
    id: String,
}

impl Upload {
    /// The store's id of this upload: record it before [`Upload::put`], to abort it after a
    /// crash.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Streams `body` into the object, part by part, and completes it; the object is then
    /// confirmed by the store (its size must be what was sent). On any failure the upload is
    /// aborted (its parts deleted) and the error returned; if the abort fails too, both are
    /// said. [`Upload::send`] then [`Sent::complete`], for a caller that records what was
    /// sent before the object appears.
    pub async fn put<S>(self, body: S) -> Result<Stored, Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Send,
    {
        self.send(body).await?.complete().await
    }

    /// Streams `body` into the upload's parts (its size and SHA-256 counted on the way),
    /// without completing it: nothing is visible under its name yet. On failure the upload is
    /// aborted, as by [`Upload::put`].
    pub async fn send<S>(self, body: S) -> Result<Sent, Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Send,
    {
        let shown = self.destination.shown(&self.name);
        match self.send_parts(body, &shown).await {
            Ok((parts, bytes, sha256)) => Ok(Sent {
                upload: self,
                parts,
                bytes,
                sha256,
            }),
            Err(err) => Err(self.aborted_after(err).await),
        }
    }

    /// `err`, after aborting the upload (and saying so when that fails too).
    async fn aborted_after(&self, err: Error) -> Error {
        match self.destination.abort(&self.name, &self.id).await {
            Ok(()) => err,
            Err(abort) => Error::Storage {
                message: format!("{err}; and the upload could not be aborted ({abort}): delete its parts (upload id {}) or set a lifecycle rule that does", self.id),
                source: Some(Box::new(err)),
            },
        }
    }
}

/// An upload whose parts are all sent, not yet completed.
#[derive(Debug)]
pub struct Sent {
    upload: Upload,
    parts: Vec<object_store::multipart::PartId>,
    bytes: u64,
    sha256: String,
}

impl Sent {
    /// The bytes sent.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// SHA-256 of the bytes sent, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Completes the upload, then confirms the object with the store (its size must be what
    /// was sent). A failed completion is aborted.
    pub async fn complete(self) -> Result<Stored, Error> {
        let Sent {
            upload,
            parts,
            bytes,
            sha256,
        } = self;
        let shown = upload.destination.shown(&upload.name);
        let store = &upload.destination.store;
        let put = match store
            .complete_multipart(&upload.key, &upload.id, parts)
            .await
        {
            Ok(put) => put,
            Err(err) => {
                let err = storage(format!("cannot complete {shown}"))(err);
                return Err(upload.aborted_after(err).await);
            }
        };
        let meta = store
            .head(&upload.key)
            .await
            .map_err(storage(format!("cannot confirm {shown}")))?;
        if meta.size != bytes {
            return Err(Error::Storage {
                message: format!(
                    "{shown} holds {} bytes after an upload of {bytes}",
                    meta.size
                ),
                source: None,
            });
        }
        Ok(Stored {
            url: shown,
            bytes,
            sha256,
            e_tag: put.e_tag.or(meta.e_tag),
            version: put.version.or(meta.version),
        })
    }
}

impl Upload {
    async fn send_parts<S>(
        &self,
        body: S,
        shown: &str,
    ) -> Result<(Vec<object_store::multipart::PartId>, u64, String), Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Send,
    {
        let store = &self.destination.store;
        let mut body = std::pin::pin!(body);
        let mut hasher = Sha256::new();
        let mut bytes: u64 = 0;
        let mut part = BytesMut::with_capacity(PART_BYTES);
        let mut sending = Sending::default();
        let put_part = |index: usize, data: Bytes| {
            let store = store.clone();
            let key = self.key.clone();
            let id = self.id.clone();
            let what = format!("cannot upload part {} of {shown}", index.saturating_add(1));
            tokio::spawn(async move {
                store
                    .put_part(&key, &id, index, PutPayload::from(data))
                    .await
                    .map_err(storage(what))
            })
        };
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            bytes = bytes.saturating_add(chunk.len() as u64);
            // Each part fills a buffer of its own, allocated once at its final size.
            let mut rest: &[u8] = &chunk;
            while !rest.is_empty() {
                let room = PART_BYTES.saturating_sub(part.len());
                let (now, later) = rest.split_at(room.min(rest.len()));
                part.extend_from_slice(now);
                rest = later;
                if part.len() >= PART_BYTES {
                    let full = std::mem::replace(&mut part, BytesMut::with_capacity(PART_BYTES));
                    let index = sending.sent();
                    sending.push(put_part(index, full.freeze())).await?;
                }
            }
        }
        if !part.is_empty() {
            let index = sending.sent();
            sending.push(put_part(index, part.freeze())).await?;
        }
        let parts = sending.finish().await?;
        Ok((parts, bytes, hex(&hasher.finalize())))
    }
}
