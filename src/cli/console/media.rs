//! `/media/{id}`: a downloaded job's video, from the batch's output directory or its object
//! store, with byte ranges (what `<video>` asks for to start, seek and buffer). Only a file or
//! object the ledger recorded for that job is served.

use std::{path::PathBuf, sync::Arc};

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::StreamExt;
use happyhorse::{ledger::JobState, store::Destination};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::Console;

/// The part of a `total`-byte file a `Range` header asks for: `Ok(None)` for the whole,
/// `Err(())` when it asks for none of it (416).
pub(crate) fn wanted(range: Option<&str>, total: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    // One range only; a list is served whole (allowed: a server may ignore Range).
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let last = total.checked_sub(1).ok_or(())?;
    let (first, last) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (total.saturating_sub(n), last)
        }
        (start, "") => (start.parse().map_err(|_| ())?, last),
        (start, end) => {
            let first: u64 = start.parse().map_err(|_| ())?;
            let end: u64 = end.parse().map_err(|_| ())?;
            (first, end.min(last))
        }
    };
    if first > last {
        return Err(());
    }
    Ok(Some((first, last)))
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what}\n")).into_response()
}

/// The answer for `range` of a `total`-byte video whose bytes `body` gives.
fn answer(total: u64, range: Option<(u64, u64)>, body: Body) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "video/mp4"
            .parse()
            .unwrap_or_else(|_| header::HeaderValue::from_static("video/mp4")),
    );
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, max-age=3600"),
    );
    let (status, length) = match range {
        Some((first, last)) => {
            if let Ok(value) = format!("bytes {first}-{last}/{total}").parse() {
                headers.insert(header::CONTENT_RANGE, value);
            }
            (StatusCode::PARTIAL_CONTENT, last - first + 1)
        }
        None => (StatusCode::OK, total),
    };
    if let Ok(value) = length.to_string().parse() {
        headers.insert(header::CONTENT_LENGTH, value);
    }
    (status, headers, body).into_response()
}

fn unsatisfiable(total: u64) -> Response {
    let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
    if let Ok(value) = format!("bytes */{total}").parse() {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

pub(crate) async fn video(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    console.read(1);
    let job = match console.ledger.job(&id).await {
        Ok(Some(job)) => job,
        Ok(None) => return not_found("no such job"),
        Err(err) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{err}\n")).into_response(),
    };
    let Some(file) = job
        .file
        .clone()
        .filter(|_| job.state == JobState::Downloaded)
    else {
        return not_found("this job has no video (yet)");
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let text = file.to_string_lossy().into_owned();
    if text.contains("://") {
        return object(&text, range).await;
    }
    // A relative path is the batch's (its working directory): the output directory's file
    // of that name first, then the path as the console's working directory reads it.
    let in_out_dir = console.out_dir.join(&job.output_name);
    let path = if file.is_absolute() || !in_out_dir.exists() {
        file
    } else {
        in_out_dir
    };
    local(path, range).await
}

async fn local(path: PathBuf, range: Option<&str>) -> Response {
    let Ok(mut handle) = tokio::fs::File::open(&path).await else {
        return not_found("the video is not in the output directory (moved? pass --out)");
    };
    let total = match handle.metadata().await {
        Ok(meta) => meta.len(),
        Err(_) => return not_found("the video cannot be read"),
    };
    let wanted = match wanted(range, total) {
        Ok(wanted) => wanted,
        Err(()) => return unsatisfiable(total),
    };
    let (first, last) = wanted.unwrap_or((0, total.saturating_sub(1)));
    if handle.seek(std::io::SeekFrom::Start(first)).await.is_err() {
        return not_found("the video cannot be read");
    }
    let left = if total == 0 { 0 } else { last - first + 1 };
    let chunks = futures_util::stream::unfold((handle, left), |(mut handle, left)| async move {
        if left == 0 {
            return None;
        }
        let size = usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024);
        let mut buffer = vec![0u8; size];
        match handle.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buffer)),
                    (handle, left.saturating_sub(n as u64)),
                ))
            }
            Err(err) => Some((Err(err), (handle, 0))),
        }
    });
    answer(total, wanted, Body::from_stream(chunks))
}

async fn object(url: &str, range: Option<&str>) -> Response {
    let Some((prefix, name)) = url.rsplit_once('/') else {
        return not_found("the recorded object has no name");
    };
    let destination = match Destination::from_url(prefix) {
        Ok(destination) => destination,
        Err(err) => return (StatusCode::BAD_GATEWAY, format!("{err}\n")).into_response(),
    };
    let total = match destination.stat(name).await {
        Ok(Some(info)) => info.bytes,
        Ok(None) => return not_found("the object is no longer in the store"),
        Err(err) => return (StatusCode::BAD_GATEWAY, format!("{err}\n")).into_response(),
    };
    let wanted = match wanted(range, total) {
        Ok(wanted) => wanted,
        Err(()) => return unsatisfiable(total),
    };
    if total == 0 {
        return answer(0, None, Body::empty());
    }
    let (first, last) = wanted.unwrap_or((0, total.saturating_sub(1)));
    match destination
        .read_range(name, first..last.saturating_add(1))
        .await
    {
        Ok(stream) => answer(
            total,
            wanted,
            Body::from_stream(
                stream.map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string()))),
            ),
        ),
        Err(err) => (StatusCode::BAD_GATEWAY, format!("{err}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn ranges_are_read_as_browsers_send_them() {
        assert_eq!(wanted(None, 100), Ok(None));
        assert_eq!(wanted(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(wanted(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(wanted(Some("bytes=90-200"), 100), Ok(Some((90, 99))));
        assert_eq!(wanted(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(wanted(Some("bytes=100-"), 100), Err(()));
        assert_eq!(wanted(Some("bytes=x-"), 100), Err(()));
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(wanted(Some("bytes=0-"), 0), Err(()));
    }
}
