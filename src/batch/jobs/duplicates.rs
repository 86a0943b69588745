//! [`DuplicateCheck`]: the ids and output files of the jobs accepted so far, so that no two
//! lines share either.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{job::BatchJob, line::LineProblem};
use crate::values::text::quoted;

/// A name's key in [`DuplicateCheck`]: 16 bytes of its SHA-256, whatever its length (two
/// names sharing one by chance is as likely as guessing a 128-bit key).
type NameKey = [u8; 16];

/// The key of `name` as a `kind` (`id` or `output`).
fn name_key(kind: &str, name: &str) -> NameKey {
    let digest = Sha256::digest(format!("{kind}\n{name}").as_bytes());
    digest.first_chunk::<16>().copied().unwrap_or_default()
}

/// The ids and output files of the jobs accepted so far, to refuse a later line that shares
/// either with one of them. It keeps 16 bytes and a line number per id and per file name,
/// whatever their length: about 100 bytes a job, 100 MB for a million.
#[derive(Clone, Debug, Default)]
pub struct DuplicateCheck {
    ids: HashMap<NameKey, u64>,
    outputs: HashMap<NameKey, u64>,
}

impl DuplicateCheck {
    /// A check that has seen no job.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `job`'s id and output file, or says which earlier job has either (and records
    /// nothing). A line without `id` gets one from its content, so two identical lines share
    /// one: the message says to give one an `id` to pay for a second video.
    pub fn check(&mut self, job: &BatchJob) -> Result<(), LineProblem> {
        let id = name_key("id", &job.id);
        let output = name_key("output", &job.output);
        let problem = |message: String| LineProblem {
            line: job.line,
            message,
        };
        if let Some(first) = self.ids.get(&id) {
            return Err(problem(format!(
                "job id \"{}\" is also line {first}'s (identical lines share a derived id); give this line its own `id` to make a second video",
                quoted(&job.id)
            )));
        }
        if let Some(first) = self.outputs.get(&output) {
            return Err(problem(format!(
                "output \"{}\" is also line {first}'s; give each line its own `output`",
                quoted(&job.output)
            )));
        }
        self.ids.insert(id, job.line);
        self.outputs.insert(output, job.line);
        Ok(())
    }

    /// How many jobs it has recorded.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it has recorded no job.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}
