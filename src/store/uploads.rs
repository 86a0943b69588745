//! S3's ListMultipartUploads, which `object_store` does not offer: the uploads a store holds
//! open under one key, so that a run can abort those a crashed run began before it could
//! record their ids (the moment between S3 naming an upload and the ledger holding its id).
//!
//! The request is signed with `object_store`'s own SigV4 signer ([`AwsAuthorizer`]) and the
//! credentials the store itself uses; the bucket's URL is the one the store signs objects
//! under, so path-style endpoints (MinIO, R2, ...) and AWS's virtual hosts both work.

use std::{sync::Arc, time::Duration};

use object_store::{
    aws::{AmazonS3, AwsAuthorizer},
    client::{HttpRequest, HttpRequestBody},
    path::Path,
    signer::{Method, Signer},
};
use serde::Deserialize;

use crate::Error;

/// Lists an S3 bucket's open multipart uploads.
#[derive(Debug)]
pub(crate) struct Lister {
    s3: Arc<AmazonS3>,
    region: String,
    http: reqwest::Client,
}

/// What a ListMultipartUploads answer holds (the fields used here).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listing {
    upload: Vec<Open>,
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Open {
    key: String,
    upload_id: String,
}

/// Pages asked for at most (1,000 uploads each): more open uploads under one key than this
/// is not a crash's leftover.
const MAX_PAGES: usize = 100;

impl Lister {
    pub(crate) fn new(s3: Arc<AmazonS3>, region: Option<String>, http: reqwest::Client) -> Self {
        Lister {
            s3,
            region: region.unwrap_or_else(|| "us-east-1".to_owned()),
            http,
        }
    }

    /// The ids of the uploads open under exactly `key`; `None` when the store does not list
    /// uploads (it answers 501 Not Implemented, as some S3-compatible servers do).
    pub(crate) async fn open(&self, key: &Path, shown: &str) -> Result<Option<Vec<String>>, Error> {
        let failed = |message: String| Error::Storage {
            message: format!("cannot list the uploads open for {shown}: {message}"),
            source: None,
        };
        let mut base = self
            .s3
            .signed_url(Method::GET, key, Duration::from_secs(60))
            .await
            .map_err(|err| failed(err.to_string()))?;
        // The object's URL less its key and query: the bucket's.
        base.set_query(None);
        {
            let mut segments = base
                .path_segments_mut()
                .map_err(|()| failed("the store's URL has no path".to_owned()))?;
            for _ in key.parts() {
                segments.pop();
            }
        }
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|err| failed(err.to_string()))?;
        let mut ids = Vec::new();
        let mut markers: Option<(String, String)> = None;
        for _ in 0..MAX_PAGES {
            let mut url = base.clone();
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("uploads", "");
                query.append_pair("prefix", key.as_ref());
                if let Some((key_marker, id_marker)) = &markers {
                    query.append_pair("key-marker", key_marker);
                    query.append_pair("upload-id-marker", id_marker);
                }
            }
            let mut request: HttpRequest = http::Request::builder()
                .method(http::Method::GET)
                .uri(url.as_str())
                .body(HttpRequestBody::empty())
                .map_err(|err| failed(err.to_string()))?;
            AwsAuthorizer::new(&credential, "s3", &self.region)
                .try_authorize(&mut request, None)
                .map_err(|err| failed(err.to_string()))?;
            let (parts, _) = request.into_parts();
            let mut outgoing = reqwest::Request::new(reqwest::Method::GET, url);
            *outgoing.headers_mut() = parts.headers;
            let response = self
                .http
                .execute(outgoing)
                .await
                .map_err(|err| failed(err.without_url().to_string()))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_IMPLEMENTED {
                return Ok(None);
            }
            let body = response
                .text()
                .await
                .map_err(|err| failed(err.without_url().to_string()))?;
            if !status.is_success() {
                let code = body
                    .split_once("<Code>")
                    .and_then(|(_, rest)| rest.split_once("</Code>"))
                    .map(|(code, _)| format!(" ({code})"))
                    .unwrap_or_default();
                return Err(failed(format!("the store answered {status}{code}")));
            }
            let listing: Listing = quick_xml::de::from_str(&body)
                .map_err(|err| failed(format!("its answer is not a listing: {err}")))?;
            ids.extend(
                listing
                    .upload
                    .into_iter()
                    .filter(|open| open.key == key.as_ref())
                    .map(|open| open.upload_id),
            );
            match (
                listing.is_truncated,
                listing.next_key_marker,
                listing.next_upload_id_marker,
            ) {
                (true, Some(key_marker), Some(id_marker)) => {
                    markers = Some((key_marker, id_marker));
                }
                _ => return Ok(Some(ids)),
            }
        }
        Ok(Some(ids))
    }
}
