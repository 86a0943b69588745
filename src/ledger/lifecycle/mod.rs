//! A job's lifecycle, defined once, as data: its [`JobState`]s (which step a worker takes in
//! each) and its [`Transition`]s (which states each may come from, which it goes to, what it
//! records). The SQL guards, the claimable, settled and committed sets, the claim order and
//! the table below are all derived from [`STATES`] and [`RULES`]; adding a transition is one
//! entry there and one arm in [`Transition::rule`].
//! The table is in the [ledger's docs](super) (docs/lifecycle.md, generated from here).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;
mod transitions;

pub(crate) use transitions::Rule;
pub use transitions::Transition;

use crate::Error;

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
pub(crate) enum Step {
    /// Send (or resend under the same key) its submit.
    Submit,
    /// Ask the provider how its task is doing.
    Poll,
    /// Save its video.
    Save,
}

/// One state's facts.
#[derive(Clone, Copy, Debug)]
// `state` and `meaning` are read by the generated table and the tests that hold it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct StateFacts {
    /// The state.
    pub(crate) state: JobState,
    /// The name stored in the ledger and shown to users.
    pub(crate) name: &'static str,
    /// The step a worker takes; `None`: settled, nothing more happens without the user.
    pub(crate) step: Option<Step>,
    /// Claimed before jobs in states with a larger number (finish work before starting more).
    pub(crate) claim_order: u8,
    /// Counts against the budget: a submit was (or may have been) sent.
    pub(crate) committed: bool,
    /// Needs the user's attention.
    pub(crate) attention: bool,
    /// What it means.
    pub(crate) meaning: &'static str,
}

/// Every state, in lifecycle order, with its facts.
pub(crate) const STATES: [StateFacts; 9] = [
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
    pub(crate) fn facts(self) -> &'static StateFacts {
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
