//! `--image`/`--ref` as URLs or local files: a local file is read, checked against the
//! provider's limits for its mode, and staged into `--stage` (an object store) as a presigned
//! URL the provider fetches.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use futures_util::StreamExt;
use happyhorse::{
    batch::BatchJob,
    contract::images::image_input,
    ledger::{JobState, Ledger},
    media::{is_local, placeholder_path, read_local, LocalFile, Preflight},
    store::{staged_name, Destination},
    values::HttpUrl,
    Error, Provider,
};
use serde_json::Value;

use super::{
    preflight::AT_ONCE,
    session::{FAILED, UNUSABLE},
};

/// Where and for how long local images are staged.
pub(crate) struct Stage<'a> {
    /// The `--stage` URL, if given.
    pub url: Option<&'a str>,
    /// How long the presigned URLs last.
    pub ttl: Duration,
    /// A dry run: checked, not uploaded (the URL shown is a stand-in).
    pub dry_run: bool,
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

// ---- batch: every local image of a jobs file checked, then each distinct file staged once.

/// Files read at once, and images staged at once, in a batch.
const FILES_AT_ONCE: usize = 8;

/// The most bytes of checked files a batch keeps in memory until they are staged; past it, a
/// file is read again to be staged (and refused if it changed since it was checked).
const KEEP_BYTES: usize = 256 * 1024 * 1024;

/// How long a presigned URL recorded for a queued job must still last when a rerun is about
/// to submit it: the provider fetches the image when it creates the task.
const MIN_LEFT: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// One use of a local file by a job still to be recorded: where, and with which limits.
struct Use {
    line: u64,
    field: String,
    input: &'static happyhorse::contract::images::ImageInput,
}

/// What the images of a jobs file found before anything is staged or sent.
#[derive(Default)]
pub(crate) struct Checked {
    /// The refusals, each `FILE:line N: error: ...`, with its line number to sort by.
    pub errors: Vec<(u64, String)>,
    /// Whether a refusal is a local file given without `--stage`.
    pub needs_stage: bool,
    /// The distinct local files of the jobs to record, checked and fine: to stage.
    files: Vec<Read>,
    /// Remote URLs fetched by the preflight (each once).
    pub urls_fetched: usize,
    /// Distinct local files read (each once).
    pub files_read: usize,
    /// The jobs with local images already recorded.
    recorded: Recorded,
}

/// A distinct local file, read and checked: its bytes kept while [`KEEP_BYTES`] allows.
struct Read {
    /// The paths the lines name it by (`a.png`, `./a.png`, `file:///dir/a.png`).
    paths: Vec<PathBuf>,
    /// The path it was read from.
    path: PathBuf,
    sha256: String,
    extension: &'static str,
    bytes: Option<std::sync::Arc<Vec<u8>>>,
}

/// The jobs with local images the ledger already holds: their recorded body is what is
/// enqueued again (the body under a job's idempotency key never changes), not a new signing.
#[derive(Default)]
struct Recorded {
    bodies: HashMap<String, Value>,
    /// Held with another request: left with its stand-ins for the plan to refuse as changed.
    changed: HashSet<String>,
}

/// What each job's local images are sent as, for [`Staging::apply`].
#[derive(Default)]
pub(crate) struct Staging {
    urls: HashMap<PathBuf, String>,
    recorded: Recorded,
}

impl Staging {
    /// `job` as it is recorded and sent: the body the ledger holds for it, when it holds it;
    /// else its local images replaced by their staged URLs.
    pub(crate) fn apply(&self, job: BatchJob) -> Result<BatchJob, Error> {
        if let Some(body) = self.recorded.bodies.get(&job.id) {
            return Ok(BatchJob {
                body: body.clone(),
                ..job
            });
        }
        if self.recorded.changed.contains(&job.id) {
            return Ok(job);
        }
        let line = job.line;
        job.with_images(|path| self.urls.get(path).cloned())
            .map_err(|path| Error::Config {
                message: format!(
                    "line {line}: {} was not checked and staged before the plan (the jobs file changed meanwhile?); nothing was submitted: run the command again",
                    path.display()
                ),
            })
    }
}

/// Whether `ours` (with local images' stand-ins) is `held` but for the URLs in their places;
/// those URLs are collected in `staged`.
fn same_but_images<'a>(ours: &Value, held: &'a Value, staged: &mut Vec<&'a str>) -> bool {
    match (ours, held) {
        (Value::String(a), Value::String(b)) if placeholder_path(a).is_some() => {
            staged.push(b);
            true
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_but_images(x, y, staged))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| same_but_images(x, y, staged)))
        }
        (a, b) => a == b,
    }
}

/// When a presigned URL stops working, from its query: S3's and Google's (`X-Amz-Date` or
/// `X-Goog-Date` and `-Expires`), Azure's (`se`); `None` when it says nothing we read.
fn expires_at(url: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let query = url.split_once('?')?.1;
    let mut date = None;
    let mut seconds = None;
    for pair in query.split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        match key {
            "X-Amz-Date" | "X-Goog-Date" => date = Some(value),
            "X-Amz-Expires" | "X-Goog-Expires" => seconds = value.parse::<i64>().ok(),
            "se" => {
                let text = value.replace("%3A", ":").replace("%3a", ":");
                return chrono::DateTime::parse_from_rfc3339(&text)
                    .ok()
                    .map(|at| at.to_utc());
            }
            _ => {}
        }
    }
    let signed = chrono::NaiveDateTime::parse_from_str(date?, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    signed.checked_add_signed(chrono::TimeDelta::try_seconds(seconds?)?)
}

/// `url` as shown: the object, without the query (a credential).
fn shown_url(url: &str) -> &str {
    url.split_once('?').map_or(url, |(head, _)| head)
}

/// Every image of the jobs still to be submitted, checked before anything is staged or sent:
/// remote URLs by `preflight` (once per URL), local files read once each and checked
/// against the limits of every line that uses them. Jobs the ledger holds past `queued` are
/// not looked at (their images may be gone, and were checked before they were sent); jobs it
/// holds as `queued` are checked as recorded (their staged images' URLs fetched, and refused
/// when about to expire). Without `stage_url`, every local image of a job still to be
/// recorded is refused, naming `--stage`.
pub(crate) async fn check_batch(
    preflight: &Preflight,
    jobs: impl Iterator<Item = Result<BatchJob, Error>>,
    ledger: &Arc<dyn Ledger>,
    file: &Path,
    stage_url: Option<&str>,
) -> Result<Checked, Error> {
    let shown = file.display().to_string();
    let checks = futures_util::stream::iter(jobs)
        .map(|job| async move {
            let job = job?;
            let locals = job.local_images();
            if locals.is_empty() && !preflight.names_images(job.provider, &job.body) {
                return Ok::<_, Error>(None);
            }
            let held = ledger.job(&job.id).await?;
            let mut found = JobCheck {
                line: job.line,
                ..JobCheck::default()
            };
            let body = match &held {
                Some(held) if !locals.is_empty() => {
                    let mut staged = Vec::new();
                    if held.provider != job.provider
                        || !same_but_images(&job.body, &held.body, &mut staged)
                    {
                        found.changed = Some(job.id.clone());
                        return Ok(Some(found));
                    }
                    found.body = Some((job.id.clone(), held.body.clone()));
                    let now = chrono::Utc::now();
                    if matches!(held.state, JobState::Failed | JobState::Expired) {
                        // --retry-failed sends the recorded body again.
                        for url in &staged {
                            if let Some(at) = expires_at(url).filter(|at| *at <= now) {
                                found.warnings.push(format!(
                                    "job {} is {}; its image staged as {} has a presigned URL that expired at {at}: a retry sends the body it was recorded with, and its task would fail (give the line a new \"id\" to stage it again)",
                                    job.id,
                                    held.state,
                                    shown_url(url),
                                ));
                            }
                        }
                    }
                    if held.state != JobState::Queued {
                        return Ok(Some(found));
                    }
                    for url in staged {
                        if let Some(at) = expires_at(url).filter(|at| *at - now < MIN_LEFT) {
                            found.errors.push(format!(
                                "job {} was recorded (not yet submitted) with its image staged as {}, whose presigned URL expire{} at {at}; the ledger keeps the body a job was first recorded with (a resubmit sends the same body under the same key), so it is not signed again: give the line a new \"id\" (a new job), or run with a new ledger",
                                job.id,
                                shown_url(url),
                                if at <= now { "d" } else { "s" },
                            ));
                        }
                    }
                    &held.body
                }
                Some(held) if held.state != JobState::Queued => return Ok(None),
                _ => {
                    found.uses = locals;
                    &job.body
                }
            };
            for problem in preflight.check(job.provider, body).await {
                let text = problem.to_string();
                if problem.advisory {
                    found.warnings.push(text);
                } else {
                    found.errors.push(text);
                }
            }
            Ok(Some(found))
        })
        .buffered(AT_ONCE);
    futures_util::pin_mut!(checks);
    let mut checked = Checked::default();
    let mut uses: BTreeMap<PathBuf, Vec<Use>> = BTreeMap::new();
    while let Some(found) = checks.next().await {
        let Some(found) = found? else { continue };
        let line = found.line;
        for warning in found.warnings {
            eprintln!("{shown}:line {line}: warning: {warning}");
        }
        for error in found.errors {
            checked
                .errors
                .push((line, format!("{shown}:line {line}: error: {error}")));
        }
        if let Some((id, body)) = found.body {
            checked.recorded.bodies.insert(id, body);
        }
        if let Some(id) = found.changed {
            checked.recorded.changed.insert(id);
        }
        for image in found.uses {
            if stage_url.is_none() {
                checked.needs_stage = true;
                checked.errors.push((
                    line,
                    format!(
                        "{shown}:line {line}: error: {}: {} is a local file; the providers fetch images themselves, from a public http(s) URL: pass --stage s3://BUCKET/PREFIX (or set HAPPYHORSE_STAGE) to stage it",
                        image.field,
                        image.path.display()
                    ),
                ));
            }
            uses.entry(image.path).or_default().push(Use {
                line,
                field: image.field,
                input: image.input,
            });
        }
    }
    checked.urls_fetched = preflight.urls_fetched();
    read_files(uses, &shown, &mut checked).await;
    checked.errors.sort_by_key(|(line, _)| *line);
    Ok(checked)
}

/// What one job's images found.
#[derive(Default)]
struct JobCheck {
    line: u64,
    errors: Vec<String>,
    warnings: Vec<String>,
    /// Its local images, when it is still to be recorded.
    uses: Vec<happyhorse::batch::LocalImageRef>,
    /// Its id and recorded body, when the ledger holds it with the same request.
    body: Option<(String, Value)>,
    /// Its id, when the ledger holds it with another request.
    changed: Option<String>,
}

/// The largest image any provider's document takes: a file past it is not read.
fn largest_image() -> u64 {
    Provider::ALL
        .into_iter()
        .flat_map(happyhorse::contract::images::image_inputs)
        .map(|input| input.max_bytes)
        .max()
        .unwrap_or(0)
}

/// Reads each distinct file of `uses` once (a few at a time, off the async threads), checks
/// it against every use's limits, and notes the problems and the files to stage in `checked`.
async fn read_files(uses: BTreeMap<PathBuf, Vec<Use>>, shown: &str, checked: &mut Checked) {
    let max_bytes = largest_image();
    // One read per file, however the lines write its path.
    let mut files: BTreeMap<PathBuf, (Vec<PathBuf>, Vec<Use>)> = BTreeMap::new();
    for (path, uses) in uses {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let entry = files.entry(key).or_default();
        entry.0.push(path);
        entry.1.extend(uses);
    }
    checked.files_read = files.len();
    let reads = futures_util::stream::iter(files.into_values())
        .map(|(mut paths, uses)| async move {
            let path = paths.swap_remove(0);
            paths.push(path.clone());
            let read_path = path.clone();
            let read = tokio::task::spawn_blocking(move || LocalFile::read(&read_path, max_bytes))
                .await
                .unwrap_or_else(|err| Err(format!("cannot read {}: {err}", path.display())));
            (read, paths, uses)
        })
        .buffered(FILES_AT_ONCE);
    futures_util::pin_mut!(reads);
    let mut kept = 0usize;
    while let Some((read, paths, uses)) = reads.next().await {
        let file = match read {
            Ok(file) => file,
            Err(problem) => {
                for a_use in uses {
                    let line = a_use.line;
                    checked.errors.push((
                        line,
                        format!("{shown}:line {line}: error: {}: {problem}", a_use.field),
                    ));
                }
                continue;
            }
        };
        let mut fine = true;
        for a_use in &uses {
            let line = a_use.line;
            let (errors, warnings) = file.problems(a_use.input);
            for warning in warnings {
                eprintln!(
                    "{shown}:line {line}: warning: {}: {warning} (a limit the provider does not document; sent anyway)",
                    a_use.field
                );
            }
            for error in errors {
                fine = false;
                checked.errors.push((
                    line,
                    format!("{shown}:line {line}: error: {}: {error}", a_use.field),
                ));
            }
        }
        let Ok(info) = &file.info else { continue };
        if !fine {
            continue;
        }
        let keep = kept.saturating_add(file.bytes.len()) <= KEEP_BYTES;
        if keep {
            kept = kept.saturating_add(file.bytes.len());
        }
        checked.files.push(Read {
            extension: info.format.name(),
            sha256: file.sha256.clone(),
            bytes: keep.then(|| file.bytes.clone()),
            path: file.path,
            paths,
        });
    }
}

/// Stages each distinct checked file of `checked` once into `stage_url` (a few at once), and
/// returns what each job's images are sent as. A dry run stages nothing: its URLs are
/// stand-ins naming the objects.
pub(crate) async fn stage_batch(
    checked: Checked,
    stage_url: Option<&str>,
    ttl: Duration,
    dry_run: bool,
) -> Result<Staging, ExitCode> {
    let mut staging = Staging {
        urls: HashMap::new(),
        recorded: checked.recorded,
    };
    if checked.files.is_empty() {
        return Ok(staging);
    }
    let Some(stage_url) = stage_url else {
        // check_batch refused every local file without --stage.
        eprintln!("error: local images need --stage; nothing was staged or submitted");
        return Err(ExitCode::from(UNUSABLE));
    };
    // Copies of one image under other names are one object, staged once.
    let mut distinct: BTreeMap<(String, &'static str), Read> = BTreeMap::new();
    for read in checked.files {
        match distinct.entry((read.sha256.clone(), read.extension)) {
            std::collections::btree_map::Entry::Occupied(mut same) => {
                same.get_mut().paths.extend(read.paths);
            }
            std::collections::btree_map::Entry::Vacant(new) => {
                new.insert(read);
            }
        }
    }
    if dry_run {
        for read in distinct.values() {
            let name = staged_name(&read.sha256, read.extension);
            for path in &read.paths {
                staging
                    .urls
                    .insert(path.clone(), format!("https://staged.invalid/{name}"));
            }
        }
        eprintln!(
            "dry run: {} local image{} would be staged in {stage_url} (each under its SHA-256, once)",
            distinct.len(),
            if distinct.len() == 1 { "" } else { "s" }
        );
        return Ok(staging);
    }
    let destination = Destination::from_url(stage_url).map_err(|err| {
        eprintln!("error: --stage: {err}");
        ExitCode::from(UNUSABLE)
    })?;
    let started = std::time::Instant::now();
    let count = distinct.len();
    let staged = futures_util::stream::iter(distinct.into_values())
        .map(|read| {
            let destination = &destination;
            async move { stage_one(destination, read, ttl).await }
        })
        .buffer_unordered(FILES_AT_ONCE);
    futures_util::pin_mut!(staged);
    let mut uploaded = 0usize;
    while let Some(result) = staged.next().await {
        let (paths, url, was_uploaded) = result?;
        uploaded = uploaded.saturating_add(usize::from(was_uploaded));
        for path in paths {
            staging.urls.insert(path, url.clone());
        }
    }
    eprintln!(
        "staged {count} local image{} in {stage_url}: {uploaded} uploaded, {} already there (presigned URLs for {} s) in {} ms",
        if count == 1 { "" } else { "s" },
        count.saturating_sub(uploaded),
        ttl.as_secs(),
        started.elapsed().as_millis()
    );
    Ok(staging)
}

/// Stages one checked file: the paths it goes by, the URL to send, and whether it was uploaded now.
async fn stage_one(
    destination: &Destination,
    read: Read,
    ttl: Duration,
) -> Result<(Vec<PathBuf>, String, bool), ExitCode> {
    let shown = read.path.display().to_string();
    let bytes = match read.bytes {
        Some(bytes) => std::sync::Arc::unwrap_or_clone(bytes),
        None => {
            let path = read.path.clone();
            let again =
                tokio::task::spawn_blocking(move || LocalFile::read(&path, largest_image()))
                    .await
                    .unwrap_or_else(|err| Err(format!("cannot read {shown}: {err}")));
            match again {
                Ok(file) if file.sha256 == read.sha256 => {
                    std::sync::Arc::unwrap_or_clone(file.bytes)
                }
                Ok(_) => {
                    eprintln!("error: {shown} changed since it was checked; nothing was submitted");
                    eprintln!("  next: run the command again once the file stays as it is");
                    return Err(ExitCode::from(FAILED));
                }
                Err(problem) => {
                    eprintln!("error: {problem}; nothing was submitted");
                    eprintln!("  next: run the command again once the file can be read");
                    return Err(ExitCode::from(FAILED));
                }
            }
        }
    };
    let staged = destination
        .stage(bytes.into(), read.extension, ttl)
        .await
        .map_err(|err| {
            eprintln!("error: staging {shown}: {err}");
            eprintln!("  next: check the --stage URL and the store's credentials (AWS_*, GOOGLE_*, AZURE_* in the environment); nothing was submitted");
            ExitCode::from(FAILED)
        })?;
    // Its query is a credential: not shown, whatever is wrong with it.
    if HttpUrl::new(staged.url.as_str()).is_err() {
        eprintln!(
            "error: the presigned URL of {} is not an http(s) URL the providers take; nothing was submitted",
            staged.object
        );
        return Err(ExitCode::from(FAILED));
    }
    Ok((read.paths, staged.url, staged.uploaded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presigned_url_says_when_it_expires() {
        let s3 = "http://127.0.0.1:9000/b/k.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=20261203T120000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        assert_eq!(
            expires_at(s3).map(|at| at.to_rfc3339()),
            Some("2026-12-04T12:00:00+00:00".to_owned())
        );
        let azure = "https://a.blob.core.windows.net/c/k.png?sv=2021-08-06&se=2026-12-04T12%3A00%3A00Z&sig=x";
        assert_eq!(
            expires_at(azure).map(|at| at.to_rfc3339()),
            Some("2026-12-04T12:00:00+00:00".to_owned())
        );
        assert_eq!(expires_at("https://cdn.example.com/a.png"), None);
        assert_eq!(shown_url(s3), "http://127.0.0.1:9000/b/k.png");
    }

    #[test]
    fn a_recorded_body_matches_but_for_the_staged_urls() {
        let stand_in = happyhorse::media::local_placeholder("/jobs/a.png");
        let ours = serde_json::json!({"input": {"prompt": "p", "reference_image": [stand_in, "https://x/b.png"]}});
        let held = serde_json::json!({"input": {"prompt": "p", "reference_image": ["https://s3/a.png?sig", "https://x/b.png"]}});
        let mut staged = Vec::new();
        assert!(same_but_images(&ours, &held, &mut staged));
        assert_eq!(staged, ["https://s3/a.png?sig"]);
        let changed = serde_json::json!({"input": {"prompt": "q", "reference_image": ["https://s3/a.png?sig", "https://x/b.png"]}});
        assert!(!same_but_images(&ours, &changed, &mut Vec::new()));
    }
}
