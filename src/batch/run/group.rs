//! Group commit: the changes the steps record, written together. Every poll that finds a task
//! still running ends in a write (its next due time, its poll plan); one transaction each
//! makes the ledger's commits, not the provider, the limit on how many jobs a worker keeps
//! polling. Changes that arrive while a group is being written wait and go together in the
//! next one (no added delay when the ledger is idle), each caller told its own result only
//! after the group's commit.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::{
    ledger::{After, Job, Lease, Ledger, Transition},
    Error,
};

/// The most changes written in one transaction.
const MOST: usize = 256;

/// A change waiting for its group.
struct Pending {
    change: (Lease, Transition, After),
    reply: oneshot::Sender<Result<Job, Error>>,
}

/// The writer of a run's grouped changes (a task of its own, so a step cancelled while its
/// group is being written never cuts the group short).
pub(super) struct Group {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Group {
    /// Starts the writer; it ends when the group is dropped and the last change is written.
    pub(super) fn start(ledger: Arc<dyn Ledger>) -> Group {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(write(ledger, waiting));
        Group { queue }
    }

    /// Whether `change` can go in a group: not a submit's (those take a lock, or set a
    /// unique column, and are recorded on their own).
    pub(super) fn takes(change: &Transition) -> bool {
        !matches!(
            change,
            Transition::Submitting { .. } | Transition::Submitted { .. }
        )
    }

    /// Records `change` in the next group, as [`Ledger::step`] would; returns once that
    /// group is committed (or failed).
    pub(super) async fn step(
        &self,
        lease: &Lease,
        change: Transition,
        after: After,
    ) -> Result<Job, Error> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            change: (lease.clone(), change, after),
            reply,
        };
        let stopped = || Error::Worker {
            message: "the ledger's group writer stopped".into(),
        };
        self.queue.send(pending).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write(ledger: Arc<dyn Ledger>, mut waiting: mpsc::UnboundedReceiver<Pending>) {
    let mut group = Vec::with_capacity(MOST);
    while waiting.recv_many(&mut group, MOST).await > 0 {
        let (changes, replies): (Vec<_>, Vec<_>) =
            group.drain(..).map(|p| (p.change, p.reply)).unzip();
        match ledger.steps(&changes).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                // Nothing of the group was recorded: every caller is told, in the same words.
                let message = err.to_string();
                let mut first = Some(err);
                for reply in replies {
                    let err = first
                        .take()
                        .unwrap_or_else(|| Error::ledger(message.clone()));
                    let _ = reply.send(Err(err));
                }
            }
        }
    }
}
