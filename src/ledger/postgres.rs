//! The shared ledger: PostgreSQL, for many workers on many machines.
//!
//! Jobs are claimed with `FOR UPDATE SKIP LOCKED` under a lease (renewed by each worker's
//! heartbeat); a worker that dies loses its jobs when its leases expire, and the fencing number
//! bumped by every claim refuses the writes of a worker that comes back late. Schema migrations
//! run under a transaction-scoped advisory lock, so workers starting together apply them once.

use std::{str::FromStr, sync::Arc, time::Duration};

use tokio::sync::Notify;

use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow},
    AssertSqlSafe, Postgres, Row as _, TypeInfo as _, ValueRef as _,
};

use super::{
    engine::{self, Dialect, Engine, EngineFuture, Param, Rows, Tx, Value},
    migrate,
    protocol::sealed::Sealed,
    rows::db_error,
    Ledger, LedgerFuture,
};
use crate::Error;

/// A ledger in a PostgreSQL database, for many workers on many machines: claims with `FOR
/// UPDATE SKIP LOCKED` under leases each worker's heartbeat renews, writes fenced by the claim's
/// number, migrations applied once under an advisory lock. See the [ledger docs](super).
#[derive(Debug)]
pub struct PgLedger {
    pool: PgPool,
    /// The URL without its password, for messages.
    shown: String,
    /// Woken by `NOTIFY happyhorse_due` (a receiver recorded a callback), once listened to.
    due: tokio::sync::OnceCell<(Arc<Notify>, tokio::task::AbortHandle)>,
}

impl Drop for PgLedger {
    fn drop(&mut self) {
        if let Some((_, listening)) = self.due.get() {
            listening.abort();
        }
    }
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
        let ledger = PgLedger {
            pool,
            shown,
            due: tokio::sync::OnceCell::new(),
        };
        migrate::migrate(&ledger).await?;
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
        let ledger = PgLedger {
            pool,
            shown,
            due: tokio::sync::OnceCell::new(),
        };
        migrate::check(&ledger).await?;
        Ok(Some(ledger))
    }
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

impl Sealed for PgLedger {}

impl Ledger for PgLedger {
    fn engine(&self) -> &dyn Engine {
        self
    }

    fn begin_run<'a>(&'a self, _owner: &'a str) -> LedgerFuture<'a, ()> {
        // Many workers share this ledger: nothing to take; a dead worker's jobs come back when
        // its leases expire.
        Box::pin(async move { Ok(()) })
    }
}

impl Engine for PgLedger {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn name(&self) -> String {
        self.shown.clone()
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows> {
        Box::pin(async move { decode(engine::bind(sql, params).fetch_all(&self.pool).await?) })
    }

    fn due_signal<'a>(&'a self) -> EngineFuture<'a, Option<Arc<Notify>>> {
        Box::pin(async move {
            let (notify, _) = self
                .due
                .get_or_try_init(|| async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
                    listener.listen("happyhorse_due").await?;
                    let notify = Arc::new(Notify::new());
                    let wake = notify.clone();
                    let task = tokio::spawn(async move {
                        loop {
                            match listener.recv().await {
                                Ok(_) => wake.notify_one(),
                                // The listener reconnects by itself; workers also look on
                                // their own meanwhile.
                                Err(err) => {
                                    tracing::debug!(error = %err, "listening for due jobs");
                                    tokio::time::sleep(Duration::from_secs(1)).await;
                                }
                            }
                        }
                    });
                    Ok::<_, sqlx::Error>((notify, task.abort_handle()))
                })
                .await?;
            Ok(Some(notify.clone()))
        })
    }

    fn begin<'a>(&'a self) -> EngineFuture<'a, Box<dyn Tx + 'a>> {
        Box::pin(async move {
            let tx = self.pool.begin().await?;
            Ok(Box::new(PgTx(tx)) as Box<dyn Tx + 'a>)
        })
    }
}

struct PgTx(sqlx::Transaction<'static, Postgres>);

impl Tx for PgTx {
    fn query<'a>(&'a mut self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows> {
        Box::pin(async move { decode(engine::bind(sql, params).fetch_all(&mut *self.0).await?) })
    }

    fn script<'a>(&'a mut self, sql: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(async move {
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut *self.0)
                .await?;
            Ok(())
        })
    }

    fn commit(self: Box<Self>) -> EngineFuture<'static, ()> {
        Box::pin(self.0.commit())
    }
}

/// Rows as plain values, typed by their columns' types.
fn decode(rows: Vec<PgRow>) -> Result<Rows, sqlx::Error> {
    super::engine::decode(rows, |row, i| {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        Ok(match raw.type_info().name() {
            // `SELECT pg_advisory_xact_lock(..)` answers a void.
            "VOID" => Value::Null,
            "INT8" => Value::Int(row.try_get(i)?),
            "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i)?)),
            "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i)?)),
            "BOOL" => Value::Bool(row.try_get(i)?),
            "FLOAT8" => Value::Real(row.try_get(i)?),
            "FLOAT4" => Value::Real(f64::from(row.try_get::<f32, _>(i)?)),
            _ => Value::Text(row.try_get(i)?),
        })
    })
}
