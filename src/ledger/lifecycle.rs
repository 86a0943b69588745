//! A job's lifecycle, defined once, as data: its [`JobState`]s (which step a worker takes in
//! each) and its [`Transition`]s (which states each may come from, which it goes to, what it
//! records). The SQL guards, the claimable, settled and committed sets, the claim order and
//! the table below are all derived from [`STATES`] and [`RULES`]; adding a transition is one
//! entry there and one arm in [`Transition::rule`].
//!
#![doc = include_str!("../../docs/lifecycle.md")]

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::engine::Param;
use crate::{client::Output, Error};

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Recorded; nothing sent yet.
    Queued,
    /// The submit is (or was) being sent: a task may exist.
    Submitting,
    /// The provider answered with a task id.
    Submitted,
    /// The task succeeded; its video is not saved yet.
    Succeeded,
    /// The video is saved and verified.
    Downloaded,
    /// The task (or its submit) failed for good.
    Failed,
    /// The task succeeded but its output URL expired before the video was saved.
    Expired,
    /// A reapi submit whose answer was lost: a task may exist, and resubmitting could pay twice.
    Uncertain,
    /// An uncertain job the user chose not to resubmit.
    Skipped,
}

/// What a worker does with a job in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send (or resend under the same key) its submit.
    Submit,
    /// Ask the provider how its task is doing.
    Poll,
    /// Save its video.
    Save,
}

/// One state's facts.
#[derive(Clone, Copy, Debug)]
pub struct StateFacts {
    /// The state.
    pub state: JobState,
    /// The name stored in the ledger and shown to users.
    pub name: &'static str,
    /// The step a worker takes; `None`: settled, nothing more happens without the user.
    pub step: Option<Step>,
    /// Claimed before jobs in states with a larger number (finish work before starting more).
    pub claim_order: u8,
    /// Counts against the budget: a submit was (or may have been) sent.
    pub committed: bool,
    /// Needs the user's attention.
    pub attention: bool,
    /// What it means.
    pub meaning: &'static str,
}

/// Every state, in lifecycle order, with its facts.
pub const STATES: [StateFacts; 9] = [
    facts(
        JobState::Queued,
        "queued",
        Some(Step::Submit),
        3,
        false,
        false,
        "recorded; nothing sent yet",
    ),
    facts(
        JobState::Submitting,
        "submitting",
        Some(Step::Submit),
        2,
        true,
        false,
        "the submit is (or was) being sent: a task may exist",
    ),
    facts(
        JobState::Submitted,
        "submitted",
        Some(Step::Poll),
        1,
        true,
        false,
        "the provider answered with a task id",
    ),
    facts(
        JobState::Succeeded,
        "succeeded",
        Some(Step::Save),
        0,
        true,
        false,
        "the task succeeded; its video is not saved yet",
    ),
    facts(
        JobState::Downloaded,
        "downloaded",
        None,
        9,
        true,
        false,
        "the video is saved and verified",
    ),
    facts(
        JobState::Failed,
        "failed",
        None,
        9,
        true,
        true,
        "the task (or its submit) failed for good",
    ),
    facts(
        JobState::Expired,
        "expired",
        None,
        9,
        true,
        true,
        "the output URL expired before the video was saved",
    ),
    facts(
        JobState::Uncertain,
        "uncertain",
        None,
        9,
        true,
        true,
        "a submit's answer was lost where no key protects a resubmit",
    ),
    facts(
        JobState::Skipped,
        "skipped",
        None,
        9,
        true,
        false,
        "an uncertain job the user chose not to resubmit",
    ),
];

#[allow(clippy::too_many_arguments)]
const fn facts(
    state: JobState,
    name: &'static str,
    step: Option<Step>,
    claim_order: u8,
    committed: bool,
    attention: bool,
    meaning: &'static str,
) -> StateFacts {
    StateFacts {
        state,
        name,
        step,
        claim_order,
        committed,
        attention,
        meaning,
    }
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 9] = [
        JobState::Queued,
        JobState::Submitting,
        JobState::Submitted,
        JobState::Succeeded,
        JobState::Downloaded,
        JobState::Failed,
        JobState::Expired,
        JobState::Uncertain,
        JobState::Skipped,
    ];

    /// The state's facts.
    pub fn facts(self) -> &'static StateFacts {
        // `STATES` lists every state in the order of `ALL`; the test below holds it to that.
        &STATES[self as usize]
    }

    /// The name stored in the ledger and shown to users.
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// Nothing more happens to the job without the user's say.
    pub fn is_settled(self) -> bool {
        self.facts().step.is_none()
    }

    /// A worker can take the job and move it on.
    pub fn is_claimable(self) -> bool {
        self.facts().step.is_some()
    }

    /// The job counts against the budget: a submit was (or may have been) sent (a skipped
    /// job too: it was uncertain, so a task may exist). The ledger's
    /// [`Summary::committed`](super::Summary::committed) also leaves out failed jobs whose
    /// submit was refused before any task existed ([`Transition::Refused`]), which a state
    /// alone cannot tell.
    pub fn is_committed(self) -> bool {
        self.facts().committed
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        JobState::ALL
            .into_iter()
            .find(|state| state.name() == s)
            .ok_or_else(|| Error::ledger(format!("unknown job state {s:?} in the ledger")))
    }
}

/// `'a', 'b'`: the states matching `keep`, for an SQL `IN (...)` list.
pub(crate) fn sql_states(keep: impl Fn(&StateFacts) -> bool) -> String {
    STATES
        .iter()
        .filter(|facts| keep(facts))
        .map(|facts| format!("'{}'", facts.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The states in which a job's task ended at the provider (well or not), for an SQL `IN`.
pub(crate) fn sql_task_ended() -> String {
    [
        JobState::Succeeded,
        JobState::Downloaded,
        JobState::Failed,
        JobState::Expired,
    ]
    .iter()
    .map(|state| format!("'{state}'"))
    .collect::<Vec<_>>()
    .join(", ")
}

/// The claim order as an SQL expression over `state`.
pub(crate) fn sql_claim_order() -> String {
    let arms: String = STATES
        .iter()
        .filter(|facts| facts.step.is_some())
        .map(|facts| format!(" WHEN '{}' THEN {}", facts.name, facts.claim_order))
        .collect();
    format!("CASE state{arms} ELSE 9 END")
}

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
        /// with [`Error::OverBudget`] when what the ledger holds as committed plus its cost
        /// would pass them, checked in the transaction that records the intent.
        budget: super::Budget,
        /// The most tasks to keep running at the provider (`submitting` or `submitted` jobs,
        /// every worker's): past it the submit is refused with [`Error::InFlightLimit`].
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
pub enum From {
    /// Any state.
    Any,
    /// Only these.
    States(&'static [JobState]),
}

/// One transition's definition.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Its name, as the event history records it.
    pub name: &'static str,
    /// What it is, in a message ("cannot record a task id while ...").
    pub described: &'static str,
    /// The states it may come from.
    pub from: From,
    /// The state it goes to (`None`: the state stays).
    pub to: Option<JobState>,
    /// The columns it records (an SQL `SET` list: `$4` is now, `$5` on its own parameters).
    pub sets: &'static str,
    /// A further condition on the row, if any.
    pub guard: Option<&'static str>,
}

impl Rule {
    /// Whether the job may take this transition from `state`.
    pub fn allows(&self, state: JobState) -> bool {
        match self.from {
            From::Any => true,
            From::States(states) => states.contains(&state),
        }
    }

    /// Whether it ends the job's lease: it goes to a settled state.
    pub fn releases(&self) -> bool {
        self.to.is_some_and(JobState::is_settled)
    }

    /// The fenced statement: `$1` job, `$2` lease owner, `$3` fence, `$4` now, then the
    /// transition's own parameters, then `after`'s (see [`After`](super::After)).
    pub(crate) fn sql(&self, after: &super::After, own: usize) -> String {
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
    pub(crate) fn after_params(after: &super::After) -> Vec<Param> {
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
pub const RULES: [Rule; 13] = [
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
        sets: "file = $5, bytes = $6, sha256 = $7, error = NULL",
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
            budget: super::Budget::default(),
            max_in_flight: None,
        }
    }

    /// Its definition and its own parameters (`$5` on), typed.
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
            } => (
                downloaded,
                vec![
                    Param::text(file.to_string_lossy()),
                    Param::Int(Some(i64::try_from(*bytes).unwrap_or(i64::MAX))),
                    Param::text(sha256),
                ],
            ),
            Transition::Failed { error } => (failed, vec![Param::text(error)]),
            Transition::Refused { error } => (refused, vec![Param::text(error)]),
            Transition::Expired { error } => (expired, vec![Param::text(error)]),
            Transition::Uncertain { error } => (uncertain, vec![Param::text(error)]),
            Transition::Lost { error } => (lost, vec![Param::text(error)]),
            Transition::Requeue { error } => (requeue, vec![Param::text(error)]),
            Transition::Note { error } => (note, vec![Param::text(error)]),
            Transition::Wait => (wait, Vec::new()),
        }
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
pub fn markdown() -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_rules_are_listed_in_order() {
        for (i, state) in JobState::ALL.into_iter().enumerate() {
            assert_eq!(STATES[i].state, state);
            assert_eq!(state.name().parse::<JobState>().ok(), Some(state));
        }
        let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn the_documented_table_is_the_definition() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let table = markdown();
        if std::env::var_os("UPDATE_LIFECYCLE_DOC").is_some() {
            let head = doc.split("| State |").next().unwrap_or_default().to_owned();
            std::fs::write(path, head + &table).expect("writing docs/lifecycle.md");
            return;
        }
        assert!(
            doc.ends_with(&table),
            "docs/lifecycle.md is not the lifecycle's table: run UPDATE_LIFECYCLE_DOC=1 cargo test --lib lifecycle"
        );
    }

    #[test]
    fn settled_transitions_end_the_lease_and_guards_name_their_states() {
        for rule in &RULES {
            let sql = rule.sql(&super::super::After::default(), 0);
            assert_eq!(
                sql.contains("lease_owner = NULL"),
                rule.releases(),
                "{}",
                rule.name
            );
            if let From::States(states) = rule.from {
                for state in states {
                    assert!(sql.contains(&format!("'{state}'")), "{}", rule.name);
                }
            }
        }
        assert_eq!(
            sql_states(|f| f.step.is_some()),
            "'queued', 'submitting', 'submitted', 'succeeded'"
        );
    }
}
