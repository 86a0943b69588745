//! A local image, read once and checked against the limits of the field it goes in, before
//! it is staged for a provider to fetch; and the stand-in URL a jobs file's local path takes
//! in a job's body until it is staged ([`local_placeholder`]).

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
};

use sha2::{Digest, Sha256};

use super::header::{sniff, ImageInfo, SniffError};
use crate::contract::images::ImageInput;

/// A local image read whole and checked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LocalImage {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// What its header says it is.
    pub info: ImageInfo,
    /// What breaks limits the provider does not document (an advisory entry).
    pub warnings: Vec<String>,
}

/// Reads `path` and checks it against `input`'s limits: `Err` holds every problem (a file
/// larger than the limit is not read).
pub fn read_local(path: &Path, input: &ImageInput) -> Result<LocalImage, Vec<String>> {
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|err| vec![format!("cannot read {shown}: {err}")])?;
    let size = file
        .metadata()
        .map_err(|err| vec![format!("cannot read {shown}: {err}")])?
        .len();
    if size > input.max_bytes && !input.advisory {
        return Err(vec![format!("{shown} {}", input.too_large(size))]);
    }
    let mut bytes = Vec::new();
    file.take(input.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| vec![format!("cannot read {shown}: {err}")])?;
    let info =
        sniff(&bytes).map_err(|why| vec![format!("{shown} {}", input.not_an_image(&why))])?;
    let problems: Vec<String> = input
        .problems(size, &info)
        .into_iter()
        .map(|p| format!("{shown} {p}"))
        .collect();
    if input.advisory {
        return Ok(LocalImage {
            bytes,
            info,
            warnings: problems,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(LocalImage {
        bytes,
        info,
        warnings: Vec::new(),
    })
}

/// A local file read once, whole, for every job that names it: its size, SHA-256 and what
/// its header says, checked against each job's limits with [`LocalFile::problems`]. Its bytes
/// are shared between clones.
#[derive(Clone)]
#[non_exhaustive]
pub struct LocalFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Arc<Vec<u8>>,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// What its header says it is, or why it is no image.
    pub info: Result<ImageInfo, SniffError>,
}

impl std::fmt::Debug for LocalFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFile")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("info", &self.info)
            .finish()
    }
}

impl LocalFile {
    /// Reads `path` whole, when it is at most `max_bytes` long (a larger file is not read:
    /// `Err` says how large it is); `Err` also when it cannot be read.
    pub fn read(path: &Path, max_bytes: u64) -> Result<LocalFile, String> {
        let shown = path.display();
        let file =
            std::fs::File::open(path).map_err(|err| format!("cannot read {shown}: {err}"))?;
        let size = file
            .metadata()
            .map_err(|err| format!("cannot read {shown}: {err}"))?
            .len();
        if size > max_bytes {
            return Err(format!(
                "{shown} is {size} bytes; the most any provider takes is {max_bytes}"
            ));
        }
        let mut bytes = Vec::new();
        // It may have grown since: never more than the limit.
        file.take(max_bytes)
            .read_to_end(&mut bytes)
            .map_err(|err| format!("cannot read {shown}: {err}"))?;
        let sha256 = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LocalFile {
            path: path.to_path_buf(),
            info: sniff(&bytes),
            sha256,
            bytes: Arc::new(bytes),
        })
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        u64::try_from(self.bytes.len()).unwrap_or(u64::MAX)
    }

    /// What is wrong with it by `input`'s limits, each message naming the file: the refusals,
    /// and the warnings (limits an advisory entry states but the provider does not document).
    pub fn problems(&self, input: &ImageInput) -> (Vec<String>, Vec<String>) {
        let shown = self.path.display();
        let found: Vec<String> = match &self.info {
            Err(why) => vec![format!("{shown} {}", input.not_an_image(why))],
            Ok(info) => input
                .problems(self.size(), info)
                .into_iter()
                .map(|p| format!("{shown} {p}"))
                .collect(),
        };
        if input.advisory {
            (Vec::new(), found)
        } else {
            (found, Vec::new())
        }
    }
}

/// Whether `text`, an image given by a user, names a local file (a path, or a `file://`
/// URL) rather than a URL.
pub fn is_local(text: &str) -> bool {
    !text.is_empty() && (text.starts_with("file://") || !text.contains("://"))
}

/// The host of [`local_placeholder`] URLs (`.invalid` never resolves: RFC 2606).
const PLACEHOLDER: &str = "https://local-image.invalid/";

/// The stand-in URL a local image's path takes in a job's body until the image is staged
/// and its presigned URL put in its place: `https://local-image.invalid/` and the path in
/// hexadecimal (no URL normalisation can change it). Never sent: a body that still holds one
/// is refused before any submit.
pub fn local_placeholder(path: &str) -> String {
    let hex: String = path.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{PLACEHOLDER}{hex}")
}

/// The path a [`local_placeholder`] URL stands for; `None` for any other URL.
pub fn placeholder_path(url: &str) -> Option<PathBuf> {
    let hex = url.strip_prefix(PLACEHOLDER)?.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = hex
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_gives_back_its_path() {
        for path in ["./a b/ü.png", "/abs/../x.jpg", "%2e%2e/c.webp"] {
            let url = local_placeholder(path);
            assert!(crate::values::HttpUrl::new(url.as_str()).is_ok(), "{url}");
            assert_eq!(placeholder_path(&url), Some(PathBuf::from(path)));
        }
        assert_eq!(placeholder_path("https://example.com/a.png"), None);
        assert_eq!(placeholder_path("https://local-image.invalid/6"), None);
    }
}
