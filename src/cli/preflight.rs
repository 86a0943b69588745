//! The images of what is about to be submitted, checked first (`generate`, `batch`), and the
//! `--no-preflight` way around it.

use std::process::ExitCode;

use happyhorse::{
    media::{ImageProblem, Preflight, PreflightOptions},
    Error,
};
use serde_json::{json, Value};

use super::session::UNUSABLE;

/// Jobs whose images are checked at once in a batch.
pub(crate) const AT_ONCE: usize = 16;

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
