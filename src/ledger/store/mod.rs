//! What every engine's ledger does, written once over [`Engine`](super::engine::Engine):
//! reads, fenced writes, and the event history.

pub(crate) mod browse;
pub(crate) mod bulk;
pub(crate) mod callbacks;
mod events;
pub(crate) mod read;
pub(crate) mod write;
