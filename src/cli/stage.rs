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

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use happyhorse::{
    batch::BatchJob,
    contract::images::image_input,
    ledger::{Job, JobState, Ledger},
    media::{is_local, placeholder_path, read_local, LocalFile, Preflight},
    presigned,
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
    /// Queued jobs whose staged images' URLs were signed again.
    pub signed_again: usize,
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

/// `url` as shown: the object, without the query (a credential).
fn shown_url(url: &str) -> &str {
    url.split_once('?').map_or(url, |(head, _)| head)
}

/// Every image of the jobs still to be submitted, checked before anything is staged or sent:
/// remote URLs by `preflight` (once per URL), local files read once each and checked
/// against the limits of every line that uses them. Jobs the ledger holds past `queued` are
/// not looked at (their images may be gone, and were checked before they were sent); jobs it
/// holds as `queued` are checked as recorded (their staged images' URLs fetched). A queued
/// job never sent under its key whose staged URLs expire within half of `stage.ttl` has them
/// signed again (the ledger's body replaced); one that cannot be and whose URL expires
/// within [`presigned::MIN_LEFT`] is refused. Without `stage.url`, every local image of a
/// job still to be recorded is refused, naming `--stage`.
pub(crate) async fn check_batch(
    preflight: &Preflight,
    jobs: impl Iterator<Item = Result<BatchJob, Error>>,
    ledger: &Arc<dyn Ledger>,
    file: &Path,
    stage: &Stage<'_>,
) -> Result<Checked, Error> {
    let shown = file.display().to_string();
    // Built once, for signing recorded images again; a --stage it cannot use is reported
    // when staging.
    let destination = stage.url.and_then(|url| Destination::from_url(url).ok());
    let signer = Signer {
        destination: destination.as_ref(),
        stage,
        ledger,
    };
    let signer = &signer;
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
            let body = match held {
                Some(held) if !locals.is_empty() => {
                    let mut staged = Vec::new();
                    if held.provider != job.provider
                        || !same_but_images(&job.body, &held.body, &mut staged)
                    {
                        found.changed = Some(job.id.clone());
                        return Ok(Some(found));
                    }
                    let staged: Vec<String> = staged.into_iter().map(str::to_owned).collect();
                    let now = chrono::Utc::now();
                    if matches!(held.state, JobState::Failed | JobState::Expired) {
                        // --retry-failed queues it with its recorded body, under a new key.
                        for url in &staged {
                            if let Some(at) = presigned::expires_at(url).filter(|at| *at <= now) {
                                found.warnings.push(format!(
                                    "job {} is {}; its image staged as {} has a presigned URL that expired at {at}: a retry is not sent with it (the run leaves the job for a later run, which signs it again)",
                                    job.id,
                                    held.state,
                                    shown_url(url),
                                ));
                            }
                        }
                    }
                    if held.state != JobState::Queued {
                        found.body = Some((job.id.clone(), held.body.clone()));
                        return Ok(Some(found));
                    }
                    let body = signer.renew(&held, &staged, &mut found).await?;
                    found.body = Some((job.id.clone(), body.clone()));
                    body
                }
                Some(held) if held.state != JobState::Queued => return Ok(None),
                _ => {
                    found.uses = locals;
                    job.body.clone()
                }
            };
            for problem in preflight.check(job.provider, &body).await {
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
        checked.signed_again = checked
            .signed_again
            .saturating_add(usize::from(found.signed_again));
        for image in found.uses {
            if stage.url.is_none() {
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

/// Signs the staged images of queued jobs again before their URLs expire.
struct Signer<'a> {
    destination: Option<&'a Destination>,
    stage: &'a Stage<'a>,
    ledger: &'a Arc<dyn Ledger>,
}

impl Signer<'_> {
    /// The body to check and send for `held`, a queued job whose staged images' URLs are
    /// `staged`: as recorded, or with those expiring within half the TTL signed again (and
    /// recorded, unless a dry run). One that cannot be signed again and expires within
    /// [`presigned::MIN_LEFT`] is refused in `found`.
    async fn renew(
        &self,
        held: &Job,
        staged: &[String],
        found: &mut JobCheck,
    ) -> Result<Value, Error> {
        let now = Utc::now();
        let half = TimeDelta::from_std(self.stage.ttl / 2).unwrap_or(presigned::MIN_LEFT);
        let renew_before = now + half.max(presigned::MIN_LEFT);
        let soon: Vec<(&String, DateTime<Utc>)> = staged
            .iter()
            .filter_map(|url| {
                presigned::expires_at(url)
                    .filter(|at| *at < renew_before)
                    .map(|at| (url, at))
            })
            .collect();
        if soon.is_empty() {
            return Ok(held.body.clone());
        }
        let why_not = match self.signed_again(held, &soon).await? {
            Ok(body) => {
                found.signed_again = true;
                return Ok(body);
            }
            Err(why) => why,
        };
        for (url, at) in soon {
            if at - now < presigned::MIN_LEFT {
                found.errors.push(format!(
                    "job {} was recorded (not yet submitted) with its image staged as {}, whose presigned URL expire{} at {at}, and it cannot be signed again: {why_not}; give the line a new \"id\" (a new job), or run with a new ledger",
                    held.id,
                    shown_url(url),
                    if at <= now { "d" } else { "s" },
                ));
            }
        }
        Ok(held.body.clone())
    }

    /// `held`'s body with the URLs of `soon` signed again (recorded in the ledger unless a
    /// dry run), or why that cannot be.
    async fn signed_again(
        &self,
        held: &Job,
        soon: &[(&String, DateTime<Utc>)],
    ) -> Result<Result<Value, String>, Error> {
        let Some(stage_url) = self.stage.url else {
            return Ok(Err("--stage was not given".into()));
        };
        let Some(destination) = self.destination else {
            return Ok(Err(format!(
                "--stage {stage_url} is not a store it can use"
            )));
        };
        let mut urls = HashMap::new();
        for (url, _) in soon {
            let object = shown_url(url);
            let name = object.rsplit('/').next().unwrap_or_default();
            if !is_staged_name(name) {
                return Ok(Err(format!("{object} is not an image this tool staged")));
            }
            // Staged under its SHA-256: the object of that name in --stage holds the same
            // bytes, wherever the recorded URL pointed.
            match destination.presign(name, self.stage.ttl).await? {
                Some(new) => urls.insert((*url).clone(), new),
                None => return Ok(Err(format!("{name} is no longer in {stage_url}"))),
            };
        }
        let mut body = held.body.clone();
        presigned::replace_urls(&mut body, &urls);
        if self.stage.dry_run {
            return Ok(Ok(body));
        }
        let note = format!(
            "{} staged image URL{} signed again before {} expired (valid {} s)",
            urls.len(),
            if urls.len() == 1 { "" } else { "s" },
            if urls.len() == 1 { "it" } else { "they" },
            self.stage.ttl.as_secs()
        );
        match self
            .ledger
            .replace_unsent_body(&held.id, &held.body, &body, &note)
            .await?
        {
            Some(job) => Ok(Ok(job.body)),
            None => Ok(Err(
                "a submit began under its key meanwhile, or a worker holds it".into(),
            )),
        }
    }
}

/// Whether `name` is one [`staged_name`] gives: 64 lower-case hex digits and an extension.
fn is_staged_name(name: &str) -> bool {
    name.split_once('.').is_some_and(|(hash, extension)| {
        hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && !extension.is_empty()
            && extension.bytes().all(|b| b.is_ascii_lowercase())
    })
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
    /// Its staged images' URLs were signed again (recorded unless a dry run).
    signed_again: bool,
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
