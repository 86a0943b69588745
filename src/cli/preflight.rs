//! The images of what is about to be submitted, checked first (`generate`, `batch`), and the
//! `--no-preflight` way around it.

use std::{path::Path, process::ExitCode, sync::Arc};

use futures_util::StreamExt;
use happyhorse::{
    batch::BatchJob,
    ledger::{JobState, Ledger},
    media::{ImageProblem, Preflight, PreflightOptions},
    Error,
};
use serde_json::{json, Value};

use super::session::UNUSABLE;

/// Images checked at once in a batch.
const AT_ONCE: usize = 16;

/// What to run next after a refusal.
pub(crate) const NEXT: &str = "next: replace or fix the image (JPEG, PNG or WEBP, within the limits named), or pass --no-preflight to send it unchecked (a task that fails on it may still be billed)";

/// The preflight `--no-preflight` asks for: the network part off.
pub(crate) fn preflight(no_preflight: bool) -> Result<Preflight, Error> {
    Preflight::new(PreflightOptions::default().with_network(!no_preflight))
}

/// Prints the warnings among `problems`; the refusals, when there are any, and how to go on,
/// and returns the exit code to stop with.
pub(crate) fn report(problems: &[ImageProblem], json: bool, prefix: &str) -> Result<(), ExitCode> {
    for problem in problems.iter().filter(|p| p.advisory) {
        eprintln!("warning: {prefix}{problem}");
    }
    let refused: Vec<&ImageProblem> = problems.iter().filter(|p| !p.advisory).collect();
    if refused.is_empty() {
        return Ok(());
    }
    for problem in &refused {
        eprintln!("error: {prefix}{problem}");
    }
    eprintln!(
        "error: {} image problem{}; nothing was submitted",
        refused.len(),
        if refused.len() == 1 { "" } else { "s" }
    );
    eprintln!("  {NEXT}");
    if json {
        let list: Vec<Value> = refused
            .iter()
            .map(|p| json!({"field": p.field, "position": p.position, "image": p.image, "message": p.message}))
            .collect();
        println!("{}", json!({"ok": false, "image_problems": list}));
    }
    Err(ExitCode::from(UNUSABLE))
}

/// Every image problem of the jobs still to be submitted (those the ledger holds as queued
/// or does not hold yet), each line's with its number; a job already submitted is not looked
/// at again (its images may be gone, and were checked before it was sent).
pub(crate) async fn check_jobs(
    preflight: &Preflight,
    jobs: impl Iterator<Item = Result<BatchJob, Error>>,
    ledger: &Arc<dyn Ledger>,
    file: &Path,
) -> Result<Vec<String>, Error> {
    let checks = futures_util::stream::iter(jobs)
        .map(|job| async move {
            let job = job?;
            if !preflight.names_images(job.provider, &job.body) {
                return Ok(Vec::new());
            }
            let held = ledger.job(&job.id).await?;
            if held.is_some_and(|held| held.state != JobState::Queued) {
                return Ok(Vec::new());
            }
            let problems = preflight.check(job.provider, &job.body).await;
            Ok::<_, Error>(
                problems
                    .into_iter()
                    .map(|p| (job.line, p))
                    .collect::<Vec<_>>(),
            )
        })
        .buffered(AT_ONCE);
    futures_util::pin_mut!(checks);
    let mut lines = Vec::new();
    while let Some(found) = checks.next().await {
        for (line, problem) in found? {
            let level = if problem.advisory { "warning" } else { "error" };
            lines.push((
                problem.advisory,
                format!("{}:line {line}: {level}: {problem}", file.display()),
            ));
        }
    }
    let (warnings, errors): (Vec<_>, Vec<_>) =
        lines.into_iter().partition(|(advisory, _)| *advisory);
    for (_, warning) in warnings {
        eprintln!("{warning}");
    }
    Ok(errors.into_iter().map(|(_, e)| e).collect())
}
