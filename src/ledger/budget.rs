//! The caps on what a batch may commit, checked the same way when a batch is planned and,
//! inside the transaction that records each first submit's intent, against what the ledger
//! holds as committed (so every worker sharing a ledger keeps to one budget).

use super::Committed;
use crate::Error;

/// Caps on what a batch may commit (counting what the ledger already committed: a job counts
/// from its first submit, whatever became of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Credits, where the provider documents a price (Apiframe). A batch with jobs on a
    /// provider that documents none is refused under this cap: its cost cannot be counted.
    pub max_credits: Option<u64>,
    /// Seconds of video, all providers.
    pub max_video_seconds: Option<u64>,
}

impl Budget {
    /// Whether any cap is set.
    pub fn is_capped(&self) -> bool {
        self.max_credits.is_some() || self.max_video_seconds.is_some()
    }

    /// Refuses when `committed` plus `to_go` goes past a cap.
    pub fn check(&self, committed: &Committed, to_go: &Committed) -> Result<(), Error> {
        if let Some(cap) = self.max_video_seconds {
            let (done, more) = (committed.video_seconds(), to_go.video_seconds());
            if done.saturating_add(more) > cap {
                return Err(Error::OverBudget {
                    message: format!(
                        "the batch needs {more} s of video and {done} s are committed already, past the cap of {cap} s"
                    ),
                });
            }
        }
        if let Some(cap) = self.max_credits {
            let unpriced: Vec<String> = to_go
                .rows
                .iter()
                .filter(|row| row.credits.is_none())
                .map(|row| row.provider.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !unpriced.is_empty() {
                return Err(Error::OverBudget {
                    message: format!(
                        "a cap on credits cannot be enforced on {}: no documented price; cap the seconds of video instead",
                        unpriced.join(", ")
                    ),
                });
            }
            let (done, more) = (committed.credits(), to_go.credits());
            if done.saturating_add(more) > cap {
                return Err(Error::OverBudget {
                    message: format!(
                        "the batch needs {more} credits and {done} are committed already, past the cap of {cap} credits"
                    ),
                });
            }
        }
        Ok(())
    }
}
