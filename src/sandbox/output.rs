//! The output file every completed task serves: the committed sample MP4, optionally padded to
//! a larger size with a trailing MP4 `free` box (players skip it, so the file still plays), and
//! served in ranges without ever holding the padding in memory.

use std::ops::Range;

use axum::body::{Body, Bytes};
use futures_util::stream;

use super::SAMPLE_MP4;

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
    /// bytes, so a target less than 8 bytes beyond the sample rounds up to sample + 8.
    pub fn new(pad_to: Option<u64>) -> Self {
        let sample = SAMPLE_MP4.len() as u64;
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
    /// error that drops the connection, after half of them.
    pub fn body(&self, range: Range<u64>, truncate: bool) -> Body {
        let cut = if truncate {
            range.start + (range.end - range.start) / 2
        } else {
            range.end
        };
        let file = self.clone();
        let chunks = stream::unfold(range.start, move |at| {
            let file = file.clone();
            async move {
                if at >= cut {
                    if cut < range.end {
                        // Let the bytes so far reach the client before the connection drops
                        // (hyper flushes while the body is pending), as a real cut would.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        // Only reached once: the stream ends after this error.
                        let error = std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "sandbox fault: truncated download",
                        );
                        return Some((Err(error), u64::MAX));
                    }
                    return None;
                }
                // Chunks end on CHUNK boundaries of the file, so zeros come as whole chunks.
                let end = ((at / CHUNK + 1) * CHUNK).min(cut);
                Some((Ok::<_, std::io::Error>(file.chunk(at..end)), end))
            }
        });
        Body::from_stream(chunks)
    }
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

/// Reads a `Range: bytes=…` header. Multi-range requests get the whole file.
pub(crate) fn wanted(header: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::All;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        // `bytes=-N`: the last N bytes.
        match last.parse::<u64>() {
            Ok(0) => return Wanted::Unsatisfiable,
            Ok(n) => len.saturating_sub(n)..len,
            Err(_) => return Wanted::All,
        }
    } else {
        let Ok(start) = first.parse::<u64>() else {
            return Wanted::All;
        };
        let end = match last {
            "" => len,
            last => match last.parse::<u64>() {
                Ok(last) if last >= start => last.saturating_add(1).min(len),
                _ => return Wanted::All,
            },
        };
        start..end
    };
    if range.start >= len {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
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
}
