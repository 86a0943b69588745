//! The transitions: which states each may come from, which it goes to, what it records.

use super::JobState;
#[cfg(test)]
use super::STATES;
use crate::{client::Output, ledger::engine::Param};

/// A change to a claimed job.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Transition {
    /// About to send the submit (written, and committed, before it is sent), with the
    /// callback URL the body will carry (kept from the first submit when one was recorded).
    Submitting {
        /// Where the provider should call back, if anywhere.
        callback_url: Option<String>,
        /// Caps on what the ledger commits: a job's first submit (from `queued`) is refused
        /// with [`Error::OverBudget`](crate::Error::OverBudget) when what the ledger holds as committed plus its cost
        /// would pass them, checked in the transaction that records the intent.
        budget: crate::ledger::Budget,
        /// The most tasks to keep running at the provider (`submitting` or `submitted` jobs,
        /// every worker's): past it the submit is refused with [`Error::InFlightLimit`](crate::Error::InFlightLimit).
        max_in_flight: Option<u32>,
    },
    /// The provider's answer: the task id.
    Submitted {
        /// The task id.
        task_id: String,
        /// The status in the answer.
        status: String,
    },
    /// A status seen while waiting (recorded when it changes).
    Status {
        /// The provider's status name.
        status: String,
    },
    /// The task succeeded.
    Succeeded {
        /// Its output.
        output: Output,
        /// How long it took, on the batch's clock.
        task_seconds: f64,
    },
    /// The video is saved and verified.
    Downloaded {
        /// Where.
        file: std::path::PathBuf,
        /// Its size.
        bytes: u64,
        /// Its SHA-256, lower-case hex.
        sha256: String,
        /// The ETag an object store gave it (`None`: a local file).
        e_tag: Option<String>,
        /// The version an object store gave it, where the bucket keeps versions.
        version: Option<String>,
    },
    /// Failed for good.
    Failed {
        /// Why.
        error: String,
    },
    /// The submit was refused before any task existed (the provider's 400/413/422, or a body
    /// that could not be sent): failed, and not committed, since nothing was billed.
    Refused {
        /// Why.
        error: String,
    },
    /// The output URL expired before the video was saved.
    Expired {
        /// What happened.
        error: String,
    },
    /// A submit's answer was lost where no `Idempotency-Key` protects a resubmit.
    Uncertain {
        /// What happened.
        error: String,
    },
    /// The task is gone with the emulator that held it (an in-process sandbox whose process
    /// ended): back to the queue with no task, to be submitted again. Nothing was paid.
    Lost {
        /// What happened.
        error: String,
    },
    /// No task was created (rate limit, outage before any task): back to the queue.
    Requeue {
        /// Why.
        error: String,
    },
    /// Something went wrong that a later attempt may get past; the state stays.
    Note {
        /// What.
        error: String,
    },
    /// Nothing new about the task: it is let go until it is due again (a poll put off, a
    /// poll that failed and will be made again). Only while `submitted`.
    Wait,
}

/// The states a transition may come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum From {
    /// Any state.
    Any,
    /// Only these.
    States(&'static [JobState]),
}

/// One transition's definition.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rule {
    /// Its name, as the event history records it.
    pub(crate) name: &'static str,
    /// What it is, in a message ("cannot record a task id while ...").
    pub(crate) described: &'static str,
    /// The states it may come from.
    pub(crate) from: From,
    /// The state it goes to (`None`: the state stays).
    pub(crate) to: Option<JobState>,
    /// The columns it records (an SQL `SET` list: `$4` is now, `$5` on its own parameters).
    pub(crate) sets: &'static str,
    /// A further condition on the row, if any.
    pub(crate) guard: Option<&'static str>,
}

impl Rule {
    /// Whether the job may take this transition from `state`.
    pub(crate) fn allows(&self, state: JobState) -> bool {
        match self.from {
            From::Any => true,
            From::States(states) => states.contains(&state),
        }
    }

    /// Whether it ends the job's lease: it goes to a settled state.
    pub(crate) fn releases(&self) -> bool {
        self.to.is_some_and(JobState::is_settled)
    }

    /// The fenced statement: `$1` job, `$2` lease owner, `$3` fence, `$4` now, then the
    /// transition's own parameters, then `after`'s (see [`After`](crate::ledger::After)).
    pub(crate) fn sql(&self, after: &crate::ledger::After, own: usize) -> String {
        let mut sets = Vec::with_capacity(6);
        let mut next = 5 + own;
        if after.due.is_some() {
            sets.push(format!("next_at = ${next}"));
            next += 1;
            if !self.releases() {
                sets.push("lease_owner = NULL, lease_until = NULL".to_owned());
            }
        }
        if after.step_state.is_some() {
            sets.push(format!("step_state = ${next}"));
        }
        if after.polled {
            sets.push("polls = polls + 1".to_owned());
        }
        if let Some(to) = self.to {
            sets.push(format!("state = '{}'", to.name()));
        }
        if !self.sets.is_empty() {
            sets.push(self.sets.to_owned());
        }
        sets.push("updated_at = $4".to_owned());
        if self.releases() {
            sets.push("lease_owner = NULL, lease_until = NULL".to_owned());
        }
        let mut guards = vec!["id = $1 AND lease_owner = $2 AND fence = $3".to_owned()];
        if let From::States(states) = self.from {
            let names: Vec<String> = states.iter().map(|s| format!("'{}'", s.name())).collect();
            guards.push(format!("state IN ({})", names.join(", ")));
        }
        if let Some(guard) = self.guard {
            guards.push(guard.to_owned());
        }
        format!(
            "UPDATE jobs SET {} WHERE {} RETURNING *",
            sets.join(", "),
            guards.join(" AND ")
        )
    }

    /// `after`'s parameters, in the order [`Rule::sql`] numbers them.
    pub(crate) fn after_params(after: &crate::ledger::After) -> Vec<Param> {
        let mut params = Vec::new();
        if let Some(due) = after.due {
            params.push(Param::int(due.timestamp_millis()));
        }
        if let Some(state) = &after.step_state {
            params.push(Param::text(state));
        }
        params
    }
}

use JobState::{Queued, Submitted, Submitting, Succeeded};

const RESTART: &[JobState] = &[Queued, Submitting];
const AT_PROVIDER: &[JobState] = &[Submitted, Succeeded];

/// Every transition, in the order of [`Transition`]'s variants.
pub(crate) const RULES: [Rule; 13] = [
    Rule {
        name: "submitting",
        described: "a submit",
        from: From::States(RESTART),
        to: Some(Submitting),
        sets: "attempts = attempts + 1, submitting_at = $4, error = NULL, callback_url = COALESCE(callback_url, $5)",
        guard: None,
    },
    Rule {
        name: "submitted",
        described: "a task id",
        from: From::States(&[Submitting]),
        to: Some(Submitted),
        sets: "task_id = $5, status = $6, submitted_at = $4, error = NULL",
        guard: None,
    },
    // Only while submitted: a callback may have settled the job meanwhile, and the worker is
    // told so ([`Error::NotAllowed`]).
    Rule {
        name: "status",
        described: "a status",
        from: From::States(&[Submitted]),
        to: None,
        sets: "status = $5",
        guard: None,
    },
    Rule {
        name: "succeeded",
        described: "a success",
        from: From::States(AT_PROVIDER),
        to: Some(Succeeded),
        sets: "output_url = $5, output_expires_at = $6, output_expired = $7, task_seconds = $8, finished_at = $4, error = NULL",
        guard: None,
    },
    Rule {
        name: "downloaded",
        described: "a download",
        from: From::States(&[Succeeded]),
        to: Some(JobState::Downloaded),
        sets: "file = $5, bytes = $6, sha256 = $7, e_tag = $8, object_version = $9, error = NULL",
        guard: None,
    },
    Rule {
        name: "failed",
        described: "a failure",
        from: From::Any,
        to: Some(JobState::Failed),
        sets: "error = $5, finished_at = $4",
        guard: None,
    },
    // Only from `submitting` with no task: nothing was (or will be) billed.
    Rule {
        name: "refused",
        described: "a refused submit",
        from: From::States(&[Submitting]),
        to: Some(JobState::Failed),
        sets: "refused = TRUE, error = $5, finished_at = $4",
        guard: Some("task_id IS NULL"),
    },
    Rule {
        name: "expired",
        described: "an expiry",
        from: From::States(AT_PROVIDER),
        to: Some(JobState::Expired),
        sets: "error = $5",
        guard: None,
    },
    Rule {
        name: "uncertain",
        described: "an uncertain submit",
        from: From::States(&[Submitting]),
        to: Some(JobState::Uncertain),
        sets: "error = $5",
        guard: None,
    },
    Rule {
        name: "lost",
        described: "a lost task",
        from: From::States(AT_PROVIDER),
        to: Some(Queued),
        sets: "task_id = NULL, status = NULL, output_url = NULL, output_expires_at = NULL, output_expired = FALSE, submitted_at = NULL, error = $5",
        guard: None,
    },
    Rule {
        name: "requeue",
        described: "a requeue",
        from: From::States(RESTART),
        to: Some(Queued),
        sets: "error = $5",
        guard: None,
    },
    Rule {
        name: "note",
        described: "a note",
        from: From::Any,
        to: None,
        sets: "error = $5",
        guard: None,
    },
    Rule {
        name: "wait",
        described: "a wait",
        from: From::States(&[Submitted]),
        to: None,
        sets: "",
        guard: None,
    },
];

impl Transition {
    /// [`Transition::Submitting`] with no budget and no limit on tasks in flight.
    pub fn submitting(callback_url: Option<String>) -> Transition {
        Transition::Submitting {
            callback_url,
            budget: crate::ledger::Budget::default(),
            max_in_flight: None,
        }
    }

    /// Its definition and its own parameters (`$5` on), typed. An error is stored with the
    /// queries of the URLs in it cut off (a provider may quote a presigned URL).
    pub(crate) fn rule(&self) -> (&'static Rule, Vec<Param>) {
        let [submitting, submitted, status, succeeded, downloaded, failed, refused, expired, uncertain, lost, requeue, note, wait] =
            &RULES;
        match self {
            Transition::Submitting { callback_url, .. } => {
                (submitting, vec![Param::opt_text(callback_url.clone())])
            }
            Transition::Submitted { task_id, status } => {
                (submitted, vec![Param::text(task_id), Param::text(status)])
            }
            Transition::Status { status: seen } => (status, vec![Param::text(seen)]),
            Transition::Succeeded {
                output,
                task_seconds,
            } => (
                succeeded,
                vec![
                    Param::text(&output.url),
                    Param::Int(output.expires_at.map(|t| t.timestamp_millis())),
                    Param::Bool(output.expired),
                    Param::Real(task_seconds.is_finite().then_some(*task_seconds)),
                ],
            ),
            Transition::Downloaded {
                file,
                bytes,
                sha256,
                e_tag,
                version,
            } => (
                downloaded,
                vec![
                    Param::text(file.to_string_lossy()),
                    Param::Int(Some(i64::try_from(*bytes).unwrap_or(i64::MAX))),
                    Param::text(sha256),
                    Param::Text(e_tag.clone()),
                    Param::Text(version.clone()),
                ],
            ),
            Transition::Failed { error } => (failed, vec![shown_error(error)]),
            Transition::Refused { error } => (refused, vec![shown_error(error)]),
            Transition::Expired { error } => (expired, vec![shown_error(error)]),
            Transition::Uncertain { error } => (uncertain, vec![shown_error(error)]),
            Transition::Lost { error } => (lost, vec![shown_error(error)]),
            Transition::Requeue { error } => (requeue, vec![shown_error(error)]),
            Transition::Note { error } => (note, vec![shown_error(error)]),
            Transition::Wait => (wait, Vec::new()),
        }
    }

    /// Whether it ends the job's lease (it goes to a settled state).
    pub(crate) fn releases(&self) -> bool {
        self.rule().0.releases()
    }

    /// The error it records, if any.
    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            Transition::Failed { error }
            | Transition::Refused { error }
            | Transition::Expired { error }
            | Transition::Uncertain { error }
            | Transition::Lost { error }
            | Transition::Requeue { error }
            | Transition::Note { error } => Some(error),
            _ => None,
        }
    }
}

/// The lifecycle as a Markdown table: what `docs/lifecycle.md` holds (a test keeps it so).
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out =
        String::from("| State | A worker's step | Committed | Meaning |\n|---|---|---|---|\n");
    for facts in &STATES {
        let step = facts.step.map_or("none: settled".to_owned(), |s| {
            format!("{s:?}").to_lowercase()
        });
        out.push_str(&format!(
            "| `{}` | {step} | {} | {} |\n",
            facts.name,
            if facts.committed { "yes" } else { "no" },
            facts.meaning
        ));
    }
    out.push_str("\n| Transition | From | To | Records |\n|---|---|---|---|\n");
    for rule in &RULES {
        let from = match rule.from {
            From::Any => "any".to_owned(),
            From::States(states) => states
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let to = rule.to.map_or("(stays)".to_owned(), |s| format!("`{s}`"));
        let mut records = rule.sets.replace('|', "\\|");
        if let Some(guard) = rule.guard {
            records.push_str(&format!("; only where {guard}"));
        }
        if rule.releases() {
            records.push_str("; ends the lease");
        }
        out.push_str(&format!(
            "| `{}` | {from} | {to} | `{records}` |\n",
            rule.name
        ));
    }
    out
}

/// An error as the ledger stores it: URLs without their queries.
fn shown_error(error: &str) -> Param {
    Param::text(crate::net::redacted_text(error))
}
