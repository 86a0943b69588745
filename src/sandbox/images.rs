//! Input images as a provider treats them: fetched when a task is created, the task failed
//! when one cannot be fetched or breaks the document's limits (`x-image-inputs`); and sample
//! images to give it (`GET /images/{W}x{H}.png`, a real grey PNG of that size).

use axum::{
    extract::Path,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{Failure, State};
use crate::{contract::images::image_inputs_in, media::fetch_head, net, Provider};

/// The route of the sample images.
pub(crate) const IMAGES: &str = "/images/{name}";

/// The largest side of a sample image.
const MAX_SIDE: u32 = 4096;

/// Seconds a fetch of one image may take.
pub(crate) const FETCH_SECONDS: u64 = 10;

/// Redirects a fetch may follow (each to a loopback host).
pub(crate) const MAX_REDIRECTS: usize = 5;

/// `GET /images/{W}x{H}.png`: a grey PNG `W` x `H` pixels (1 to 4096 each).
pub(super) async fn sample(Path(name): Path<String>) -> Response {
    let size = name
        .strip_suffix(".png")
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|(w, h)| (1..=MAX_SIDE).contains(w) && (1..=MAX_SIDE).contains(h));
    match size {
        Some((width, height)) => (
            [(header::CONTENT_TYPE, "image/png")],
            grey_png(width, height),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "sample images are /images/{W}x{H}.png, each side 1 to 4096",
        )
            .into_response(),
    }
}

/// Why the task for `body` fails because of its images, if it does: the first image (in the
/// document's order) that cannot be fetched or breaks a limit the document states. Only
/// loopback URLs are fetched (the sandbox has no other network); an advisory entry fails a
/// task only when an image cannot be fetched.
pub(crate) async fn failure(state: &State, provider: Provider, body: &Value) -> Option<Failure> {
    let inputs = image_inputs_in(state.document(provider)).unwrap_or_default();
    for input in &inputs {
        for (i, url) in input.urls(body).into_iter().enumerate() {
            let loopback = reqwest::Url::parse(url).is_ok_and(|u| net::is_loopback(&u));
            if !loopback {
                continue;
            }
            let which = format!("image {} of {}", i.saturating_add(1), input.pointer);
            let fetched = fetch_head(&state.image_http, url, input.max_bytes, FETCH_SECONDS).await;
            let fetched = match fetched {
                Ok(fetched) => fetched,
                Err(why) => {
                    return Some(Failure {
                        code: "IMAGE_FETCH_FAILED".into(),
                        message: format!("{which} ({}) {why}", net::redacted(url)),
                    })
                }
            };
            if fetched.bytes.is_some_and(|b| b > input.max_bytes) {
                return Some(Failure {
                    code: "IMAGE_FETCH_FAILED".into(),
                    message: format!("{which} {}", input.too_large(fetched.bytes.unwrap_or(0))),
                });
            }
            if input.advisory {
                continue;
            }
            let problems = match &fetched.info {
                Ok(info) => input.problems(fetched.bytes.unwrap_or(0), info),
                Err(why) => vec![input.not_an_image(why)],
            };
            if let Some(problem) = problems.into_iter().next() {
                return Some(Failure {
                    code: "INVALID_IMAGE".into(),
                    message: format!("{which} {problem}"),
                });
            }
        }
    }
    None
}

/// A grey 8-bit greyscale PNG, its pixel data in stored (uncompressed) deflate blocks.
pub(crate) fn grey_png(width: u32, height: u32) -> Vec<u8> {
    let row = usize::try_from(width).unwrap_or(0).saturating_add(1);
    let rows = usize::try_from(height).unwrap_or(0);
    let mut raw = Vec::with_capacity(row.saturating_mul(rows));
    for _ in 0..rows {
        raw.push(0); // filter: none
        raw.resize(raw.len() + row - 1, 0x80);
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(0xFFFF).peekable();
    if blocks.peek().is_none() {
        zlib.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        zlib.push(last);
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    png.extend_from_slice(&len.to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(png.get(start..).unwrap_or_default());
    png.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in bytes {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_images_are_pngs_of_the_size_asked() {
        let png = grey_png(640, 300);
        let info = crate::media::sniff(&png).unwrap();
        assert_eq!((info.width, info.height), (640, 300));
        // The known CRC-32 of "IEND" and the known Adler-32 of "Wikipedia".
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
