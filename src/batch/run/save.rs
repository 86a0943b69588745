//! The save step: the video downloaded (resuming a partial file), verified and recorded; a
//! URL that expired first is asked for again once, then reported.

use std::{io::Read, path::Path, sync::atomic::Ordering};

use chrono::Utc;
use sha2::{Digest, Sha256};

#[cfg(feature = "store")]
use super::SentVideo;
use super::{job_retries, Kept, Run};
use crate::{
    client::{Finished, Output, TaskHandle},
    ledger::{After, Job, JobState, Lease, Transition},
    Client, Error,
};

/// Saves `job`'s video.
pub(super) async fn step(run: &Run, client: &Client, lease: &Lease, job: Job) -> Result<(), Error> {
    let Some(job) = lost_with_its_emulator(run, client, lease, job).await? else {
        return Ok(());
    };
    let mut job = heard_end(run, lease, job).await?;
    let target = run.out_dir.join(&job.output_name);
    let mut refreshed = false;
    loop {
        let output = match &job.output {
            Some(output) if !is_expired(output) => output.clone(),
            _ if !refreshed => {
                refreshed = true;
                match fresh_output(client, &job).await {
                    Some(output) => {
                        let change = Transition::Succeeded {
                            output,
                            task_seconds: job.task_seconds.unwrap_or(f64::NAN),
                        };
                        job = run.apply(lease, &job, change).await?;
                        continue;
                    }
                    None => return expire(run, lease, &job, None).await,
                }
            }
            _ => return expire(run, lease, &job, None).await,
        };
        #[cfg(feature = "store")]
        if let Some(destination) = run.store.clone() {
            return match to_store(run, client, lease, &job, &output, &destination).await? {
                Ok(()) => Ok(()),
                Err(Error::OutputExpired { .. }) if !refreshed => {
                    job.output = None;
                    continue;
                }
                Err(err @ Error::OutputExpired { .. }) => {
                    expire(run, lease, &job, Some(err.to_string())).await
                }
                Err(err) => failed(run, lease, &job, err).await,
            };
        }
        let result = client
            .download(&output, &target)
            .overwrite(true)
            .max_attempts(run.options.download_attempts)
            .cancel_on(run.cancel.clone())
            .await;
        let error = match result {
            Ok(saved) => match verified(&saved.path, saved.bytes).await? {
                Ok((bytes, sha256)) => {
                    let change = Transition::Downloaded {
                        file: saved.path,
                        bytes,
                        sha256,
                        e_tag: None,
                        version: None,
                    };
                    run.apply(lease, &job, change).await?;
                    run.saved(&job, bytes);
                    return Ok(());
                }
                Err(why) => why,
            },
            Err(Error::OutputExpired { .. }) if !refreshed => {
                job.output = None;
                continue;
            }
            Err(err @ Error::OutputExpired { .. }) => {
                return expire(run, lease, &job, Some(err.to_string())).await
            }
            Err(err) => return failed(run, lease, &job, err).await,
        };
        return again(run, lease, &job, error).await;
    }
}

/// Streams the video into the object store. Before anything is sent, every upload of the
/// object a crashed try left open is aborted: the one it recorded, and (S3) those the store
/// lists, which covers an upload begun just before a crash and never recorded. An object a
/// crashed try completed is kept when it holds the bytes that try recorded (read back, not
/// sent again). The new upload's id is recorded before its first byte goes, its size and
/// SHA-256 once every part is sent and before it is completed, and the job is `downloaded`
/// only once the store has confirmed the object. `Ok(Err(_))`: the save failed (the upload
/// is aborted), for the caller to judge; `Err(_)`: the ledger failed.
#[cfg(feature = "store")]
async fn to_store(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: &Job,
    output: &Output,
    destination: &crate::store::Destination,
) -> Result<Result<(), Error>, Error> {
    let name = &job.output_name;
    let mut kept = Kept::of(job);
    if let Some(id) = kept.upload.take() {
        if let Err(err) = destination.abort(name, &id).await {
            return Ok(Err(err));
        }
    }
    match destination.abort_open(name).await {
        Ok(Some(aborted)) if aborted > 0 => tracing::info!(
            job = %job.id,
            aborted,
            "aborted uploads of {} an earlier try left open",
            destination.shown(name)
        ),
        Ok(_) => {}
        Err(err) => return Ok(Err(err)),
    }
    if let Some(sent) = kept.sent.take() {
        match already_stored(destination, name, &sent).await {
            Ok(Some(info)) => {
                let bytes = sent.bytes;
                let change = Transition::Downloaded {
                    file: std::path::PathBuf::from(destination.shown(name)),
                    bytes,
                    sha256: sent.sha256,
                    e_tag: info.e_tag,
                    version: info.version,
                };
                run.apply(lease, job, change).await?;
                run.saved(job, bytes);
                return Ok(Ok(()));
            }
            Ok(None) => {}
            Err(err) => return Ok(Err(err)),
        }
    }
    let upload = match destination.begin(name).await {
        Ok(upload) => upload,
        Err(err) => return Ok(Err(err)),
    };
    kept.upload = Some(upload.id().to_owned());
    let note = Transition::Note {
        error: format!("uploading the video to {}", destination.shown(name)),
    };
    let job = run
        .record(lease, job, note, After::hold().with_step_state(kept.json()))
        .await?;
    let body = match client.output_stream(output).await {
        Ok(body) => body,
        Err(err) => {
            // Nothing was sent: the upload goes now (or, failing that, at the next try).
            let _ = destination.abort(name, upload.id()).await;
            return Ok(Err(err));
        }
    };
    let sent = match upload.send(body).await {
        Ok(sent) => sent,
        Err(err) => return Ok(Err(err)),
    };
    kept.sent = Some(SentVideo {
        bytes: sent.bytes(),
        sha256: sent.sha256().to_owned(),
    });
    let note = Transition::Note {
        error: format!("completing the upload of {}", destination.shown(name)),
    };
    let job = run
        .record(
            lease,
            &job,
            note,
            After::hold().with_step_state(kept.json()),
        )
        .await?;
    let stored = match sent.complete().await {
        Ok(stored) => stored,
        Err(err) => return Ok(Err(err)),
    };
    let bytes = stored.bytes;
    let change = Transition::Downloaded {
        file: std::path::PathBuf::from(stored.url),
        bytes,
        sha256: stored.sha256,
        e_tag: stored.e_tag,
        version: stored.version,
    };
    run.apply(lease, &job, change).await?;
    run.saved(&job, bytes);
    Ok(Ok(()))
}

/// What the store holds as `name` when it is the video `sent` describes (same size, and the
/// same SHA-256 once read back); `None` when it holds nothing or something else.
#[cfg(feature = "store")]
async fn already_stored(
    destination: &crate::store::Destination,
    name: &str,
    sent: &SentVideo,
) -> Result<Option<crate::store::ObjectInfo>, Error> {
    let Some(info) = destination.stat(name).await? else {
        return Ok(None);
    };
    if info.bytes != sent.bytes {
        return Ok(None);
    }
    let held = destination.sha256_of(name).await?;
    Ok(held
        .filter(|(bytes, sha256)| *bytes == sent.bytes && *sha256 == sent.sha256)
        .map(|_| info))
}

/// A download that failed for a reason of its own kind.
async fn failed(run: &Run, lease: &Lease, job: &Job, err: Error) -> Result<(), Error> {
    match err {
        Error::DownloadCancelled { .. } => {
            let why = "stopped while downloading (the partial file is kept)".to_owned();
            run.defer(lease, job, why).await
        }
        // The output directory cannot take the video (full, read-only, gone): every other
        // download would fail the same way, so nothing more is submitted (paid for) this run;
        // the job keeps its task and is saved by a rerun once the directory is fixed.
        Error::Io { .. } | Error::UnusableTarget { .. } | Error::Storage { .. } => {
            let why = format!("cannot save videos in {}: {err}", run.destination());
            run.stop_submitting(why.clone());
            run.defer(lease, job, why).await
        }
        Error::NotVideo { .. } => {
            let change = Transition::Failed {
                error: err.to_string(),
            };
            run.apply(lease, job, change).await?;
            Ok(())
        }
        err => again(run, lease, job, err.to_string()).await,
    }
}

/// Notes a failed download and lets the job go until its next try, or leaves it for a later
/// run once its tries ran out (the partial file is kept between them).
async fn again(run: &Run, lease: &Lease, job: &Job, error: String) -> Result<(), Error> {
    let mut kept = Kept::of(job);
    kept.failures = kept.failures.saturating_add(1);
    let policy = job_retries();
    let note = Transition::Note {
        error: error.clone(),
    };
    if kept.failures > policy.max_retries {
        let after = After::hold().with_step_state(Kept::default().json());
        let job = run.record(lease, job, note, after).await?;
        let why = format!("download kept failing ({error}); rerun to resume it");
        return run.defer(lease, &job, why).await;
    }
    run.retried("job_download", "download_failed");
    let delay = policy.delay(kept.failures, None);
    let after = After::until(Run::due_in(delay)).with_step_state(kept.json());
    run.record(lease, job, note, after).await?;
    Ok(())
}

/// A task a receiver ended: reported (once: when its time is not yet recorded), and timed
/// for the history from the submit to the receiver's record (real time, scaled to the
/// batch's clock, which the receiver does not know).
async fn heard_end(run: &Run, lease: &Lease, job: Job) -> Result<Job, Error> {
    let (Some(heard_at), None, Some(submitted_at), Some(output)) = (
        job.heard_at,
        job.task_seconds,
        job.submitted_at,
        job.output.clone(),
    ) else {
        return Ok(job);
    };
    run.tally.heard.fetch_add(1, Ordering::Relaxed);
    run.report(&job, JobState::Submitted);
    let real = heard_at
        .signed_duration_since(submitted_at)
        .to_std()
        .unwrap_or_default();
    let took = real.as_secs_f64() * run.scale();
    run.metrics.task_duration(took);
    run.learn(&job, took).await;
    let change = Transition::Succeeded {
        output,
        task_seconds: took,
    };
    run.ledger.step(lease, change, After::hold()).await
}

/// Against an emulator whose tasks end with its process: a job whose task this emulator does
/// not know (an earlier process's) goes back to the queue, to be submitted again (`None`).
async fn lost_with_its_emulator(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
) -> Result<Option<Job>, Error> {
    let earlier = job.submitted_at.is_some_and(|at| at < run.started);
    let Some(task) = job
        .task_id
        .clone()
        .filter(|_| run.options.emulated && earlier)
    else {
        return Ok(Some(job));
    };
    match client
        .status(TaskHandle::new(job.provider, task.clone()))
        .await
    {
        Err(Error::NotFound { .. }) => {
            run.lost_with_its_emulator(lease, &job).await?;
            Ok(None)
        }
        _ => Ok(Some(job)),
    }
}

fn is_expired(output: &Output) -> bool {
    output.expired || output.expires_at.is_some_and(|at| at <= Utc::now())
}

/// The task's output as the provider gives it now, if it is not expired.
async fn fresh_output(client: &Client, job: &Job) -> Option<Output> {
    let id = job.task_id.clone()?;
    let snapshot = client
        .status(TaskHandle::new(job.provider, id))
        .await
        .ok()?;
    let finished = Finished::try_from(snapshot).ok()?;
    let output = finished.output().clone();
    (!is_expired(&output)).then_some(output)
}

async fn expire(run: &Run, lease: &Lease, job: &Job, detail: Option<String>) -> Result<(), Error> {
    let when = job
        .output
        .as_ref()
        .and_then(|o| o.expires_at)
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let error = format!(
        "the output of {} task {} expired{when} before it was saved{}; the video is gone at the provider: making it again is a new, billed task",
        job.provider,
        job.task_id.as_deref().unwrap_or("?"),
        detail.map(|d| format!(" ({d})")).unwrap_or_default()
    );
    run.apply(lease, job, Transition::Expired { error }).await?;
    Ok(())
}

/// Size and SHA-256 of the saved video (`Err`: why it is not the download it should be).
async fn verified(path: &Path, downloaded: u64) -> Result<Result<(u64, String), String>, Error> {
    let path = path.to_path_buf();
    let verified = tokio::task::spawn_blocking(move || verify(&path))
        .await
        .map_err(|join| Error::Worker {
            message: format!("verifying a download: {join}"),
        })?;
    Ok(match verified {
        Ok((bytes, sha256)) if bytes == downloaded => Ok((bytes, sha256)),
        Ok((bytes, _)) => Err(format!(
            "the saved file holds {bytes} bytes after a download of {downloaded}"
        )),
        Err(why) => Err(why),
    })
}

/// Size and SHA-256 of a saved video, after checking it starts like an MP4 (`ftyp` box).
fn verify(path: &Path) -> Result<(u64, String), String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total: u64 = 0;
    let mut head = Vec::with_capacity(8);
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        let chunk = buffer.get(..n).unwrap_or_default();
        if head.len() < 8 {
            head.extend(chunk.iter().take(8 - head.len()));
        }
        hash.update(chunk);
        total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    if head.get(4..8) != Some(b"ftyp".as_slice()) {
        return Err(format!(
            "{} does not start with an MP4 `ftyp` box",
            path.display()
        ));
    }
    let digest = hash.finalize();
    Ok((total, digest.iter().map(|b| format!("{b:02x}")).collect()))
}
