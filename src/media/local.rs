//! A local image, read once and checked against the limits of the field it goes in, before
//! it is staged for a provider to fetch.

use std::{io::Read, path::Path};

use super::header::{sniff, ImageInfo};
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
