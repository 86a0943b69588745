//! A durable record of batch jobs: which request each job is, which provider task it became,
//! where it stands, and where its video was saved.
//!
//! [`Ledger`] is a sealed trait with two implementations, [`SqliteLedger`] (one file, WAL,
//! embedded; one batch process at a time) and `PgLedger` (feature `postgres`: many workers on
//! many machines, claims with `FOR UPDATE SKIP LOCKED`), and every method written once, over
//! the few primitives each engine gives (statements with typed parameters, rows as plain
//! values, write transactions). Their schemas are the migration files in `migrations/`, one
//! directory per engine, applied in order by one migrator; a ledger of an earlier release is
//! upgraded in place.
//!
//! A job moves through [`JobState`]s by the [`Transition`]s of its lifecycle (the table below,
//! defined once, as data, from which the statements' guards are derived). A worker claims a
//! due job (a lease with an owner, an expiry and a fencing number that grows with every claim),
//! takes one step, records it with [`Ledger::step`] naming that lease (so a worker that lost its
//! lease cannot overwrite what a newer one recorded), and lets the job go until it is due
//! again ([`After`]). Each change is one transaction that checks the lease and the lifecycle on
//! the row, records the change and appends it to the job's history ([`Ledger::events`]). A
//! webhook receiver records what callbacks say with [`Ledger::record`], whoever holds the job.
//!
//! The order of writes is what makes a batch crash-safe: the intent
//! ([`Transition::Submitting`]) is committed before the submit is sent, and the provider's answer
//! ([`Transition::Submitted`]) before anything else happens. A process killed between the two
//! leaves a job in `submitting`: on HiAPI and Apiframe the rerun sends the same
//! `Idempotency-Key` and gets the same task back; on reapi (no idempotency) the job becomes
//! [`JobState::Uncertain`] and is reported, never silently resubmitted.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::ledger::{Ledger, SqliteLedger};
//!
//! # let dir = tempfile::tempdir()?;
//! let ledger = SqliteLedger::open(dir.path().join("happyhorse.db")).await?;
//! let summary = ledger.summary().await?;
//! assert_eq!(summary.total(), 0);
//! # Ok(())
//! # }
//! ```

#![doc = include_str!("../../docs/lifecycle.md")]

mod budget;
mod engine;
mod lifecycle;
mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
mod protocol;
mod records;
mod rows;
mod sqlite;
mod store;

use std::{future::Future, pin::Pin, time::Duration};

use chrono::{DateTime, Utc};

pub use budget::Budget;
pub use lifecycle::{JobState, Transition};
#[cfg(feature = "postgres")]
pub use postgres::PgLedger;
pub use protocol::Ledger;
pub use records::{
    After, Again, Attention, CallbackUrl, Callbacks, Committed, CommittedRow, Enqueued, Event,
    Heard, HeardEvent, Job, Lease, NewJob, Outlook, Recorded, Retry, Summary, TaskTime,
};
pub use sqlite::SqliteLedger;
pub use store::browse::{ErrorGroup, JobFilter, JobPage, ProgressPoint};

use crate::Error;

/// The future a [`Ledger`] method returns (boxed, so the trait can be used as `dyn Ledger`).
pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Opens the ledger at `location`: a file path (SQLite; created if missing), or a
/// `postgres://` URL (feature `postgres`).
pub async fn open(location: &str) -> Result<Box<dyn Ledger>, Error> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PgLedger::connect(location).await?));
        // A configuration this build cannot serve: nothing was opened.
        #[cfg(not(feature = "postgres"))]
        return Err(Error::Config {
            message: "this build has no PostgreSQL ledger (the `postgres` cargo feature is off); use a build with it, or a file path (SQLite)"
                .into(),
        });
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(SqliteLedger::open(path).await?))
}

/// Opens the ledger at `location` to read only, for a reader that stays open while workers
/// write (the console): see [`SqliteLedger::open_watching`]; PostgreSQL as
/// [`open_read_only`]. The ledger must exist.
pub async fn open_watching(location: &str) -> Result<Box<dyn Ledger>, Error> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return open_read_only(location).await;
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(SqliteLedger::open_watching(path).await?))
}

/// Opens the ledger at `location` to read only, creating, upgrading and writing nothing: see
/// [`SqliteLedger::open_read_only`] and (feature `postgres`) `PgLedger::connect_read_only`. A
/// ledger that does not exist yet reads as an empty one. Writes to it fail.
pub async fn open_read_only(location: &str) -> Result<Box<dyn Ledger>, Error> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(match PgLedger::connect_read_only(location).await? {
            Some(ledger) => Box::new(ledger),
            None => Box::new(SqliteLedger::open_read_only("").await?),
        });
        #[cfg(not(feature = "postgres"))]
        return open(location).await;
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(SqliteLedger::open_read_only(path).await?))
}

/// A ledger's location as messages and logs may show it: a URL without its password (and
/// query); a path as it is.
pub fn shown(location: &str) -> String {
    if !location.contains("://") {
        return location.to_owned();
    }
    crate::net::redacted(&redact_password(location))
}

/// `url` with its password (if any) replaced.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The due time of a job a worker left for a later run (the last millisecond of 9999): never
/// due, and not waited for, until a run puts it back ([`Ledger::resume_deferred`]).
pub(crate) const DEFERRED_MS: i64 = 253_402_300_799_999;

/// Milliseconds since the Unix epoch, never panicking (a clock before 1970 reads 0).
pub(crate) fn now_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A timestamp from milliseconds; out of range reads as the epoch.
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// A build without PostgreSQL refuses a `postgres://` ledger as a configuration it
    /// cannot serve (the CLI's exit status 2), opening nothing. Runs under plain `cargo test`.
    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_build_without_postgres_refuses_its_urls_as_configuration() {
        let err = super::open("postgres://hh@localhost/jobs")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, crate::Error::Config { message } if message.contains("no PostgreSQL ledger")),
            "{err}"
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact_password("postgres://hh:s3cret@db.example:5432/jobs?sslmode=require"),
            "postgres://hh:***@db.example:5432/jobs?sslmode=require"
        );
        assert_eq!(
            super::redact_password("postgres:///jobs"),
            "postgres:///jobs"
        );
        let shown = super::shown("postgres://hh:s3cret@db.example/jobs?password=s3cret");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(super::shown("out/happyhorse.db"), "out/happyhorse.db");
    }
}
