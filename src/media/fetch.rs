//! The start of an image behind a URL, and its size, without downloading the rest: a ranged
//! GET of the first bytes (the whole answer is read only from a server that ignores ranges and
//! sends no length, and then at most to one byte past the largest size allowed).

use reqwest::{
    header::{CONTENT_RANGE, RANGE},
    StatusCode,
};

use super::header::{sniff, ImageInfo, SniffError};

/// The most read from the start of an image to find its header (JPEG headers can follow
/// long EXIF blocks).
pub(crate) const HEAD_BYTES: usize = 1 << 20;

/// What a URL's first bytes and headers say of the image behind it.
#[derive(Clone, Debug)]
pub(crate) struct Fetched {
    /// Its size in bytes, when the server says it (or it was read whole).
    pub bytes: Option<u64>,
    /// What its header says it is.
    pub info: Result<ImageInfo, SniffError>,
}

/// How a fetch of an image failed, in words that never show the URL's query.
fn failed(err: &reqwest::Error, seconds: u64) -> String {
    if err.is_timeout() {
        format!("cannot be fetched: no answer within {seconds} s")
    } else if err.is_redirect() {
        "cannot be fetched: too many redirects, or a redirect to a host not allowed".to_owned()
    } else if err.is_connect() {
        "cannot be fetched: the connection was refused or failed".to_owned()
    } else {
        // Without its URL: a presigned URL's query is a credential.
        let err = crate::client::clean(&err.to_string(), 200);
        format!("cannot be fetched: {err}")
    }
}

/// The total of `Content-Range: bytes A-B/TOTAL`, when given.
fn range_total(response: &reqwest::Response) -> Option<u64> {
    let text = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    text.rsplit_once('/')?.1.trim().parse().ok()
}

/// The first bytes of the image at `url` and its size, reading at most `give_up_past` bytes
/// from a server that sends no size (a larger image is reported as that many and one).
/// `timeout_secs` is only for the wording: the client's time-out applies.
pub(crate) async fn fetch_head(
    http: &reqwest::Client,
    url: &str,
    give_up_past: u64,
    timeout_secs: u64,
) -> Result<Fetched, String> {
    let last = HEAD_BYTES.saturating_sub(1);
    let mut response = http
        .get(url)
        .header(RANGE, format!("bytes=0-{last}"))
        .send()
        .await
        .map_err(|err| failed(&err.without_url(), timeout_secs))?;
    let status = response.status();
    let mut bytes = match status {
        StatusCode::PARTIAL_CONTENT => range_total(&response),
        StatusCode::OK => response.content_length(),
        other => {
            return Err(format!(
                "cannot be fetched: the server answered HTTP {}",
                other.as_u16()
            ))
        }
    };
    let mut head: Vec<u8> = Vec::new();
    let mut read: u64 = 0;
    let mut info = Err(SniffError::NeedMore);
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|err| failed(&err.without_url(), timeout_secs))?;
        let Some(chunk) = chunk else {
            // The end: a whole answer's length is what was read, and so is a range's that
            // ended before the range did.
            if status == StatusCode::OK || read < HEAD_BYTES as u64 {
                bytes = bytes.or(Some(read));
            }
            break;
        };
        read = read.saturating_add(chunk.len() as u64);
        if head.len() < HEAD_BYTES {
            let room = HEAD_BYTES - head.len();
            head.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            info = sniff(&head);
        }
        let header_known = !matches!(info, Err(SniffError::NeedMore)) || head.len() >= HEAD_BYTES;
        if header_known && bytes.is_some() {
            break;
        }
        if bytes.is_none() && read > give_up_past {
            bytes = Some(read);
            break;
        }
    }
    if matches!(info, Err(SniffError::NeedMore)) {
        info = Err(SniffError::NotAnImage);
        if let Some(format) = super::header::ImageFormat::of(&head) {
            info = Err(SniffError::Corrupt(format));
        }
    }
    Ok(Fetched { bytes, info })
}
