//! A valid line as a job: [`BatchJob`], the request for its provider with its id and file
//! name, and what it bills and the key it submits with.

use std::{path::PathBuf, str::FromStr};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::fields::check_id;
use crate::{
    contract::images::{image_inputs, ImageInput},
    ledger::NewJob,
    media::placeholder_path,
    values::Resolution,
    Provider, VideoRequest,
};

/// One valid line: the request, for its provider, with its id and file name. `Debug` shows
/// the body's URLs without their queries (a presigned image URL).
#[derive(Clone)]
pub struct BatchJob {
    /// 1-based line number (0 for jobs built in code).
    pub line: u64,
    /// The stable job id: the line's `id`, or derived from its content.
    pub id: String,
    /// The provider.
    pub provider: Provider,
    /// The request.
    pub request: VideoRequest,
    /// The file name in the output directory.
    pub output: String,
    /// The wire body it submits.
    pub body: Value,
    /// The resolution billed (the request's, or the provider's default).
    pub resolution: Resolution,
    /// Seconds of video billed: the request's, or the provider's documented default (a job
    /// for a provider that documents none, Apiframe, must say).
    pub video_seconds: u32,
}

impl std::fmt::Debug for BatchJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchJob")
            .field("line", &self.line)
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("request", &self.request)
            .field("output", &self.output)
            .field("body", &crate::net::RedactedJson(&self.body))
            .field("resolution", &self.resolution)
            .field("video_seconds", &self.video_seconds)
            .finish()
    }
}

impl BatchJob {
    /// A job for `request` on `provider`, with this id (file-name safe, at most
    /// [`MAX_ID_LEN`](super::MAX_ID_LEN) characters) saved as `<id>.mp4`; checked as a line
    /// would be.
    pub fn new(
        id: impl Into<String>,
        provider: Provider,
        request: VideoRequest,
    ) -> Result<BatchJob, String> {
        let id = id.into();
        check_id(&id)?;
        let output = format!("{id}.mp4");
        build(0, id, provider, request, output).map_err(|problems| problems.join("; "))
    }

    /// Credits billed, where the provider documents a price and the length is known.
    pub fn credits(&self) -> Option<u64> {
        let rate = self.resolution.credits_per_second(self.provider)?;
        Some(rate.saturating_mul(u64::from(self.video_seconds)))
    }

    /// The `Idempotency-Key` every submit of this job carries (HiAPI, Apiframe): derived from
    /// the provider and the job id, so a rerun after a crash gets the same task back.
    pub fn idempotency_key(&self) -> Option<String> {
        self.provider.facts().idempotency.then(|| {
            let digest = Sha256::digest(format!("happyhorse-job\n{}\n{}", self.provider, self.id));
            format!("hh-job-{}", hex(&digest[..16]))
        })
    }

    /// The local images its body names (read with
    /// [`JobsReader::with_local_images`](super::JobsReader::with_local_images)), in the order
    /// of the body's fields and images, each with the limits of the field it goes in. Until
    /// [`BatchJob::with_images`] puts their URLs in, the body holds stand-ins and must not
    /// be sent.
    pub fn local_images(&self) -> Vec<LocalImageRef> {
        let mut found = Vec::new();
        for input in image_inputs(self.provider) {
            for (i, url) in input.urls(&self.body).into_iter().enumerate() {
                if let Some(path) = placeholder_path(url) {
                    let field = if input.mode == "image-to-video" {
                        "image".to_owned()
                    } else {
                        format!("references[{i}]")
                    };
                    found.push(LocalImageRef { field, path, input });
                }
            }
        }
        found
    }

    /// The job with each local image's stand-in replaced by the URL `url_of` gives for its
    /// path; `Err` names the first path it has no URL for. The id stays: it never depends on
    /// the URL. (`request` keeps the stand-ins; `body` is what is recorded and sent.)
    pub fn with_images(
        mut self,
        url_of: impl Fn(&std::path::Path) -> Option<String>,
    ) -> Result<BatchJob, PathBuf> {
        for input in image_inputs(self.provider) {
            let Some(items) = self
                .body
                .pointer_mut(&input.pointer)
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for item in items.iter_mut() {
                let Some(path) = item.as_str().and_then(placeholder_path) else {
                    continue;
                };
                let url = url_of(&path).ok_or_else(|| path.clone())?;
                *item = Value::String(url);
            }
        }
        Ok(self)
    }

    /// The ledger record.
    pub fn to_new_job(&self) -> NewJob {
        NewJob {
            id: self.id.clone(),
            line: (self.line > 0).then_some(self.line),
            provider: self.provider,
            body: self.body.clone(),
            idempotency_key: self.idempotency_key(),
            resolution: self.resolution.as_str().to_owned(),
            video_seconds: self.video_seconds,
            credits: self.credits(),
            output_name: self.output.clone(),
        }
    }
}

/// A local image a job's line names ([`BatchJob::local_images`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LocalImageRef {
    /// The line's field: `image` or `references[i]`.
    pub field: String,
    /// The file (relative paths joined to the jobs file's directory).
    pub path: PathBuf,
    /// The limits of the body's field it goes in.
    pub input: &'static ImageInput,
}

/// `bytes` in lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id a line without one gets: a hash of its content as written (key order and spacing
/// do not matter; `output` does not count, so renaming the file keeps the job). A rerun with
/// another default provider keeps the id, and the ledger then refuses the changed request
/// instead of paying for it twice.
pub(super) fn derived_id(mut object: Map<String, Value>) -> String {
    object.remove("output");
    let text = crate::client::canonical_json(&Value::Object(object));
    format!("job-{}", hex(&Sha256::digest(text.as_bytes())[..8]))
}

/// The job of `request` on `provider`, with its line number, id and file name: its wire body,
/// and the resolution and length it bills; or every problem with it at once (what the provider
/// cannot serve, a length the provider leaves unset).
pub(super) fn build(
    line: u64,
    id: String,
    provider: Provider,
    request: VideoRequest,
    output: String,
) -> Result<BatchJob, Vec<String>> {
    // Every problem of the line at once: what the provider cannot serve, and the length.
    let wire = request
        .to_wire(provider)
        .map_err(|refusal| refusal.to_string());
    let facts = provider.facts();
    let resolution = match request.resolution {
        Some(resolution) => Ok(resolution),
        None => Resolution::from_str(facts.default_resolution).map_err(|e| e.to_string()),
    };
    let video_seconds = request
        .duration
        .map(|d| u32::from(d.seconds()))
        .or(facts.default_duration.map(u32::from))
        .ok_or_else(|| {
            format!(
                "duration: {provider} documents no default length, and a batch counts what it will cost before it submits anything; set one (3 to 15)"
            )
        });
    let (wire, resolution, video_seconds) = match (wire, resolution, video_seconds) {
        (Ok(wire), Ok(resolution), Ok(seconds)) => (wire, resolution, seconds),
        (wire, resolution, seconds) => {
            return Err([wire.err(), resolution.err(), seconds.err()]
                .into_iter()
                .flatten()
                .collect())
        }
    };
    Ok(BatchJob {
        line,
        id,
        provider,
        body: wire.body.to_json(),
        request,
        output,
        resolution,
        video_seconds,
    })
}
