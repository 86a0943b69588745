//! What every engine's ledger does, written once over [`Engine`](super::engine::Engine):
//! reads, fenced writes, and the event history.

mod events;
pub(crate) mod read;
pub(crate) mod write;
