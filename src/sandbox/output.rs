//! The output file every completed task serves: the committed sample MP4, optionally padded to
//! a larger size with a trailing MP4 `free` box (players skip it, so the file still plays), and
//! served in ranges without ever holding the padding in memory.

use std::ops::Range;

use axum::body::{Body, Bytes};
use futures_util::stream;
use tokio_util::sync::CancellationToken;

use super::{SandboxConfig, SAMPLE_MP4};

/// The size of each chunk of a streamed answer.
const CHUNK: u64 = 64 * 1024;
static ZEROS: [u8; CHUNK as usize] = [0; CHUNK as usize];

/// The bytes of the output file, described rather than stored.
#[derive(Clone, Debug)]
pub(crate) struct OutputFile {
    /// The `free` box header that follows the sample (empty when unpadded).
    header: Vec<u8>,
    len: u64,
}

impl OutputFile {
    /// The sample, padded to `pad_to` bytes when that is larger. A `free` box needs at least 8
    /// bytes, so a target less than 8 bytes beyond the sample rounds up to sample + 8. A target
    /// above [`SandboxConfig::MAX_PAD_TO`] counts as that.
    pub fn new(pad_to: Option<u64>) -> Self {
        let sample = SAMPLE_MP4.len() as u64;
        let pad_to = pad_to.map(|target| target.min(SandboxConfig::MAX_PAD_TO));
        let Some(target) = pad_to.filter(|target| *target > sample) else {
            return OutputFile {
                header: Vec::new(),
                len: sample,
            };
        };
        let size = (target - sample).max(8);
        let header = match u32::try_from(size) {
            Ok(size) => [&size.to_be_bytes()[..], b"free"].concat(),
            // Boxes past 4 GiB use size 1 and a 64-bit "largesize" after the type.
            Err(_) => [&1u32.to_be_bytes()[..], b"free", &size.to_be_bytes()].concat(),
        };
        let size = size.max(header.len() as u64);
        OutputFile {
            header,
            len: sample + size,
        }
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The bytes in `range` (which must lie within the file), as one chunk.
    fn chunk(&self, range: Range<u64>) -> Bytes {
        let sample = SAMPLE_MP4.len() as u64;
        let header_end = sample + self.header.len() as u64;
        if range.end <= sample {
            return Bytes::from_static(&SAMPLE_MP4[range.start as usize..range.end as usize]);
        }
        if range.start >= header_end && range.end - range.start <= CHUNK {
            return Bytes::from_static(&ZEROS[..(range.end - range.start) as usize]);
        }
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        for at in range {
            out.push(if at < sample {
                SAMPLE_MP4[at as usize]
            } else if at < header_end {
                self.header[(at - sample) as usize]
            } else {
                0
            });
        }
        Bytes::from(out)
    }

    /// A streamed body of the bytes in `range`; when `truncate` is set it stops, with an
    /// error that drops the connection, after half of them. It also stops, the same way, once
    /// `closing` is cancelled (the sandbox shuts down), so that no download holds it open.
    pub fn body(&self, range: Range<u64>, truncate: bool, closing: CancellationToken) -> Body {
        let cut = if truncate {
            range.start + (range.end - range.start) / 2
        } else {
            range.end
        };
        let file = self.clone();
        let chunks = stream::unfold(Some(range.start), move |at| {
            let file = file.clone();
            let closing = closing.clone();
            async move {
                // `None`: the error that ends the stream was sent.
                let at = at?;
                if closing.is_cancelled() {
                    let error = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the sandbox is shutting down",
                    );
                    return Some((Err(error), None));
                }
                if at >= cut {
                    if cut < range.end {
                        // Let the bytes so far reach the client before the connection drops
                        // (hyper flushes while the body is pending), as a real cut would.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        let error = std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "sandbox fault: truncated download",
                        );
                        return Some((Err(error), None));
                    }
                    return None;
                }
                let end = chunk_end(at, cut);
                Some((Ok::<_, std::io::Error>(file.chunk(at..end)), Some(end)))
            }
        });
        Body::from_stream(chunks)
    }
}

/// Where the chunk that starts at `at` ends: at the next [`CHUNK`] boundary of the file, so that
/// zeros come as whole chunks, or at `cut`, whichever is first. Never past `cut`, never
/// overflowing near `u64::MAX`.
fn chunk_end(at: u64, cut: u64) -> u64 {
    (at / CHUNK)
        .checked_add(1)
        .and_then(|next| next.checked_mul(CHUNK))
        .map_or(cut, |boundary| boundary.min(cut))
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// The whole file (no header, or one the sandbox ignores, as servers may).
    All,
    /// One satisfiable range.
    Part(Range<u64>),
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// Reads a `Range: bytes=…` header. Multi-range requests get the whole file; so does anything
/// that is not one `first-last`, `first-` or `-suffix` of decimal digits (ignored, as servers
/// may). A position too large for `u64` counts as `u64::MAX`: past the end of any file.
pub(crate) fn wanted(header: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::All;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (position(first), position(last)) {
        // `bytes=-N`: the last N bytes.
        (None, Some(0)) if first.is_empty() => return Wanted::Unsatisfiable,
        (None, Some(n)) if first.is_empty() => len.saturating_sub(n)..len,
        // `bytes=N-`: from N to the end.
        (Some(start), None) if last.is_empty() => start..len,
        (Some(start), Some(last)) if last >= start => start..last.saturating_add(1).min(len),
        _ => return Wanted::All,
    };
    if range.start >= len {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// A byte position: one or more ASCII digits (no sign, no spaces inside), saturating at
/// `u64::MAX`.
fn position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_writes_a_free_box_of_the_remaining_size() {
        let sample = SAMPLE_MP4.len() as u64;
        let file = OutputFile::new(Some(sample + 1000));
        assert_eq!(file.len(), sample + 1000);
        let tail = file.chunk(sample..sample + 8);
        assert_eq!(&tail[..], &[0, 0, 0x03, 0xe8, b'f', b'r', b'e', b'e']);
        assert_eq!(OutputFile::new(Some(sample + 3)).len(), sample + 8);
        assert_eq!(OutputFile::new(Some(10)).len(), sample);
        let largest = SandboxConfig::MAX_PAD_TO;
        assert_eq!(OutputFile::new(Some(u64::MAX)).len(), largest);
        assert_eq!(OutputFile::new(Some(largest)).len(), largest);
        let huge = OutputFile::new(Some(5 << 30));
        assert_eq!(huge.len(), 5 << 30);
        let tail = huge.chunk(sample..sample + 16);
        assert_eq!(&tail[..8], &[0, 0, 0, 1, b'f', b'r', b'e', b'e']);
        assert_eq!(&tail[8..], &((5u64 << 30) - sample).to_be_bytes());
    }

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(wanted(None, 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=10-"), 100), Wanted::Part(10..100));
        assert_eq!(wanted(Some("bytes=10-19"), 100), Wanted::Part(10..20));
        assert_eq!(wanted(Some("bytes=90-200"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=5-1"), 100), Wanted::All);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::All);
        // The largest last-byte position a client can send does not overflow.
        let last = format!("bytes=10-{}", u64::MAX);
        assert_eq!(wanted(Some(&last), 100), Wanted::Part(10..100));
    }

    #[test]
    fn chunks_end_on_boundaries_without_overflow() {
        assert_eq!(chunk_end(0, 100), 100);
        assert_eq!(chunk_end(0, 1 << 20), CHUNK);
        assert_eq!(chunk_end(CHUNK - 1, 1 << 20), CHUNK);
        // The last chunk of a file padded to u64::MAX has no boundary after it.
        assert_eq!(chunk_end(u64::MAX - 10, u64::MAX), u64::MAX);
        assert_eq!(chunk_end(u64::MAX - CHUNK, u64::MAX), u64::MAX - CHUNK + 1);
    }

    #[test]
    fn extreme_and_garbage_ranges_are_answered() {
        let max = u64::MAX;
        assert_eq!(
            wanted(Some(&format!("bytes=0-{max}")), 100),
            Wanted::Part(0..100)
        );
        assert_eq!(
            wanted(Some(&format!("bytes={max}-")), 100),
            Wanted::Unsatisfiable
        );
        assert_eq!(
            wanted(Some(&format!("bytes=-{max}")), 100),
            Wanted::Part(0..100)
        );
        assert_eq!(
            wanted(Some(&format!("bytes={max}-{max}")), max),
            Wanted::Unsatisfiable
        );
        assert_eq!(wanted(Some("bytes=-10"), max), Wanted::Part(max - 10..max));
        for garbage in [
            "bytes=",
            "bytes=-",
            "bytes=--1",
            "bytes=1-2-3",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=0-1,5-6",
            "items=0-1",
        ] {
            assert_eq!(wanted(Some(garbage), 100), Wanted::All, "{garbage}");
        }
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        // Positions past u64 are past the end of any file.
        let past = "18446744073709551616";
        assert_eq!(
            wanted(Some(&format!("bytes={past}-")), 100),
            Wanted::Unsatisfiable
        );
        assert_eq!(
            wanted(Some(&format!("bytes=5-{past}")), 100),
            Wanted::Part(5..100)
        );
        assert_eq!(
            wanted(Some(&format!("bytes=-{past}")), 100),
            Wanted::Part(0..100)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_range_header_is_a_range_inside_the_file_or_none(
            header in ".*",
            spec in "bytes=[0-9 ,+-]{0,45}",
            len in proptest::num::u64::ANY,
        ) {
            for header in [&header, &spec] {
                if let Wanted::Part(range) = wanted(Some(header), len) {
                    proptest::prop_assert!(range.start < range.end && range.end <= len);
                    let end = chunk_end(range.start, range.end);
                    proptest::prop_assert!(range.start < end && end <= range.end);
                }
            }
        }
    }
}
