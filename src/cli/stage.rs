//! `--image`/`--ref` as URLs or local files: a local file is read, checked against the
//! provider's limits for its mode, and staged into `--stage` (an object store) as a presigned
//! URL the provider fetches.

use std::{path::Path, process::ExitCode, time::Duration};

use happyhorse::{
    contract::images::image_input,
    media::read_local,
    store::{staged_name, Destination},
    values::HttpUrl,
    Provider,
};

use super::session::{FAILED, UNUSABLE};

/// Where and for how long local images are staged.
pub(crate) struct Stage<'a> {
    /// The `--stage` URL, if given.
    pub url: Option<&'a str>,
    /// How long the presigned URLs last.
    pub ttl: Duration,
    /// A dry run: checked, not uploaded (the URL shown is a stand-in).
    pub dry_run: bool,
}

/// Whether `text` names a local file (a path, or a `file://` URL) rather than a URL.
fn is_local(text: &str) -> bool {
    text.starts_with("file://") || !text.contains("://")
}

/// The URLs to send for `texts`, the `flag`'s values in `mode` on `provider`: URLs as they are,
/// local files checked and staged.
pub(crate) async fn urls(
    provider: Provider,
    flag: &str,
    mode: &str,
    texts: &[String],
    stage: &Stage<'_>,
) -> Result<Vec<HttpUrl>, ExitCode> {
    let mut urls = Vec::with_capacity(texts.len());
    let mut destination = None;
    for text in texts {
        if !is_local(text) {
            let url = HttpUrl::new(text.as_str()).map_err(|err| {
                eprintln!("error: {flag}: {}", err.rule);
                ExitCode::from(UNUSABLE)
            })?;
            urls.push(url);
            continue;
        }
        let path = Path::new(text.strip_prefix("file://").unwrap_or(text));
        let Some(stage_url) = stage.url else {
            eprintln!("error: {flag} {text} is a local file; the providers fetch images themselves, from a public http(s) URL");
            eprintln!("  next: pass --stage s3://BUCKET/PREFIX (or gs://, az://; or set HAPPYHORSE_STAGE) to upload it there and send a presigned URL, or upload it yourself and pass its URL");
            return Err(ExitCode::from(UNUSABLE));
        };
        let Some(input) = image_input(provider, mode, texts.len()) else {
            eprintln!("error: {provider} takes no {mode} images");
            return Err(ExitCode::from(UNUSABLE));
        };
        let image = match read_local(path, input) {
            Ok(image) => image,
            Err(problems) => {
                for problem in problems {
                    eprintln!("error: {flag}: {problem}");
                }
                eprintln!("error: nothing was staged or submitted");
                return Err(ExitCode::from(UNUSABLE));
            }
        };
        for warning in &image.warnings {
            eprintln!(
                "warning: {flag}: {warning} (a limit {provider} does not document; sent anyway)"
            );
        }
        let extension = image.info.format.name();
        if stage.dry_run {
            let name = staged_name(&sha256_hex(&image.bytes), extension);
            eprintln!("dry run: {text} would be staged in {stage_url} as {name}");
            let stand_in =
                HttpUrl::new(format!("https://staged.invalid/{name}")).map_err(|err| {
                    eprintln!("error: {}", err.rule);
                    ExitCode::from(FAILED)
                })?;
            urls.push(stand_in);
            continue;
        }
        if destination.is_none() {
            destination = Some(Destination::from_url(stage_url).map_err(|err| {
                eprintln!("error: --stage: {err}");
                ExitCode::from(UNUSABLE)
            })?);
        }
        let Some(destination) = destination.as_ref() else {
            continue;
        };
        let staged = destination
            .stage(image.bytes.into(), extension, stage.ttl)
            .await
            .map_err(|err| {
                eprintln!("error: staging {text}: {err}");
                eprintln!("  next: check the --stage URL and the store's credentials (AWS_*, GOOGLE_*, AZURE_* in the environment); nothing was submitted");
                ExitCode::from(FAILED)
            })?;
        eprintln!(
            "staged {text} as {} ({}, a presigned URL for {} s)",
            staged.object,
            if staged.uploaded {
                "uploaded"
            } else {
                "already there"
            },
            stage.ttl.as_secs()
        );
        // Its query is a credential: not shown, whatever is wrong with it.
        let url = HttpUrl::new(staged.url.as_str()).map_err(|_| {
            eprintln!(
                "error: the presigned URL of {} is not an http(s) URL the providers take",
                staged.object
            );
            ExitCode::from(FAILED)
        })?;
        urls.push(url);
    }
    Ok(urls)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
