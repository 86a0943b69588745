//! The shared ledger: PostgreSQL, for many workers on many machines.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED` under a lease (renewed by each worker's
//! heartbeat); a worker that dies loses its jobs when its leases expire, and the fencing number
//! bumped by every claim refuses the writes of a worker that comes back late. Schema migrations
//! run under a transaction-scoped advisory lock, so workers starting together apply them once.

use std::{str::FromStr, time::Duration};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{
    from_millis, migrations, millis, now_millis,
    rows::{
        db_error, get, heard_sql, job_from_row, signed, transition_name, transition_sql, unsigned,
        DUPLICATE_SQL,
    },
    Attention, Callbacks, Committed, CommittedRow, Enqueued, Heard, HeardEvent, HeldElsewhere, Job,
    JobState, Lease, Ledger, LedgerFuture, NewJob, Recorded, Summary, TaskTime, Transition,
};
use crate::{Error, Provider};

/// A ledger in a PostgreSQL database. See the [module docs](self).
#[derive(Debug)]
pub struct PgLedger {
    pool: PgPool,
    /// The URL without its password, for messages.
    shown: String,
}

impl PgLedger {
    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db`) and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> Result<PgLedger, Error> {
        let shown = super::shown(url);
        let options = connect_options(url)
            .map_err(|err| db_error(&format!("cannot read the URL {shown}"), err))?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|err| db_error(&format!("cannot connect to {shown}"), err))?;
        let ledger = PgLedger { pool, shown };
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// Connects to read only: no schema is created or upgraded (what `batch --dry-run` plans
    /// against). A database with no ledger yet reads as an empty one (`None`); one whose
    /// schema this build would upgrade is refused.
    pub async fn connect_read_only(url: &str) -> Result<Option<PgLedger>, Error> {
        let shown = super::shown(url);
        // Every transaction of these connections is read-only: PostgreSQL refuses a write.
        let options = connect_options(url)
            .map_err(|err| db_error(&format!("cannot read the URL {shown}"), err))?
            .options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|err| db_error(&format!("cannot connect to {shown}"), err))?;
        let exists: bool =
            sqlx::query_scalar("SELECT to_regclass('happyhorse_migrations') IS NOT NULL")
                .fetch_one(&pool)
                .await
                .map_err(|err| db_error(&format!("reading {shown}"), err))?;
        if !exists {
            pool.close().await;
            return Ok(None);
        }
        let ledger = PgLedger { pool, shown };
        ledger.check_schema(migrations::POSTGRES).await?;
        Ok(Some(ledger))
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn name(&self) -> String {
        self.shown.clone()
    }

    ledger_inherent_methods!(
        migrations::POSTGRES,
        // Workers starting together on many machines: one migrates, the others wait.
        Some("SELECT pg_advisory_xact_lock(7242001)")
    );
}

/// The connection options of `url`, with a bracketed IPv6 host (`postgres://u@[::1]:5432/db`)
/// given as the address itself: sqlx keeps the brackets, which no resolver takes.
fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let ipv6 = reqwest::Url::parse(url).ok().and_then(|parsed| {
        parsed
            .host_str()
            .and_then(|host| host.strip_prefix('[')?.strip_suffix(']').map(str::to_owned))
    });
    Ok(match ipv6 {
        Some(address) => options.host(&address),
        None => options,
    })
}

impl Ledger for PgLedger {
    // Workers on many machines skip each other's rows instead of waiting for them.
    ledger_shared_methods!("FOR UPDATE SKIP LOCKED");

    fn begin_run<'a>(&'a self, _owner: &'a str) -> LedgerFuture<'a, ()> {
        // Many workers share this ledger: nothing to take; a dead worker's jobs come back when
        // its leases expire.
        Box::pin(async move { Ok(()) })
    }
}
