//! What a database engine gives the ledger: statements run with typed parameters, rows read
//! back as plain values, and write transactions. Everything else (the lifecycle, claims,
//! callbacks, the budget, the event history) is written once, over [`Engine`], in
//! [`super::store`]; each backend implements these few primitives with its own sqlx types.
//!
//! The statements use `$N` parameters and `CAST`, which PostgreSQL and (through sqlx) SQLite
//! both read the same way.

use std::{future::Future, pin::Pin, sync::Arc};

/// A boxed future, as the engine's object-safe methods return.
pub type EngineFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

/// A statement parameter, typed even when null (PostgreSQL types every parameter).
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(bool),
}

impl Param {
    pub fn int(value: impl Into<i64>) -> Param {
        Param::Int(Some(value.into()))
    }

    pub fn text(value: impl Into<String>) -> Param {
        Param::Text(Some(value.into()))
    }

    pub fn opt_text(value: Option<impl Into<String>>) -> Param {
        Param::Text(value.map(Into::into))
    }
}

/// A value read from a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

/// The rows of one statement's answer, with their column names (shared).
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub names: Arc<[String]>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    /// Each row, with the names to read its columns by.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            names: &self.names,
            values,
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

/// One row of [`Rows`].
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    names: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    /// The value of `column` (`None`: no such column in the answer).
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        let at = self.names.iter().position(|name| name == column)?;
        self.values.get(at)
    }
}

/// Which engine: the few places where their SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// What ends a claim's row selection: PostgreSQL workers skip each other's rows instead
    /// of waiting for them; SQLite has one writer, so nothing to skip.
    pub fn row_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// What follows `FROM jobs` in a look for due jobs: SQLite is told to use the due index
    /// (without statistics its planner picks the state index and reads every claimable
    /// row, not only the due ones); PostgreSQL's planner has statistics.
    pub fn due_index(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INDEXED BY jobs_due",
            Dialect::Postgres => "",
        }
    }

    /// What ends a `SELECT` of a row about to be changed in the same transaction: PostgreSQL
    /// locks it (a concurrent change waits); SQLite's write transaction holds the file.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE",
        }
    }

    /// The statement that wakes workers waiting for due jobs, sent in the transaction that
    /// made one due (PostgreSQL's `NOTIFY`, delivered on commit); SQLite wakes its own
    /// process in [`Engine::woke`].
    pub fn notify_due(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_notify('happyhorse_due', '')"),
        }
    }

    /// Run first in a transaction that must not interleave with another of its kind across
    /// processes (schema migrations, budget checks): PostgreSQL takes a transaction-scoped
    /// advisory lock; SQLite's write transactions already exclude each other.
    pub fn exclusive(self, key: i64) -> Option<String> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(format!("SELECT pg_advisory_xact_lock({key})")),
        }
    }
}

/// A database the ledger runs on. Every statement runs to its end (so a failed commit, such
/// as a full disk, reaches the caller).
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// Which engine.
    #[doc(hidden)]
    fn dialect(&self) -> Dialect;

    /// The ledger as messages show it (a path, or a URL without its password).
    #[doc(hidden)]
    fn name(&self) -> String;

    /// Runs one statement on its own (committed when it ends).
    #[doc(hidden)]
    fn query<'a>(&'a self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows>;

    /// Runs one statement that only reads (on a connection of its own where the engine has
    /// one for reads).
    #[doc(hidden)]
    fn read<'a>(&'a self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows> {
        self.query(sql, params)
    }

    /// Called after a commit that made a job due (a callback recorded), to wake this
    /// process's workers.
    #[doc(hidden)]
    fn woke(&self) {}

    /// A signal that a job may have become due (another worker's or a receiver's change),
    /// where the engine can give one; workers also look on their own now and then.
    #[doc(hidden)]
    fn due_signal<'a>(&'a self) -> EngineFuture<'a, Option<std::sync::Arc<tokio::sync::Notify>>> {
        Box::pin(async { Ok(None) })
    }

    /// Begins a write transaction (SQLite: taking the write lock at once, so it never fails
    /// to upgrade later).
    #[doc(hidden)]
    fn begin<'a>(&'a self) -> EngineFuture<'a, Box<dyn Tx + 'a>>;
}

/// A write transaction: committed by [`Tx::commit`], rolled back when dropped.
pub trait Tx: Send {
    /// Runs one statement in the transaction.
    #[doc(hidden)]
    fn query<'a>(&'a mut self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows>;

    /// Runs statements with no parameters, separated by `;` (a migration's file).
    #[doc(hidden)]
    fn script<'a>(&'a mut self, sql: &'a str) -> EngineFuture<'a, ()>;

    /// Commits.
    #[doc(hidden)]
    fn commit(self: Box<Self>) -> EngineFuture<'static, ()>;
}

/// `sql` with `params` bound, for any engine whose types take them. Every statement is built
/// from this crate's constants and generated `$N` placeholders; values are always bound.
pub(crate) fn bind<'a, DB>(
    sql: &'a str,
    params: &'a [Param],
) -> sqlx::query::Query<'a, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<f64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> bool: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(*v),
            Param::Real(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.clone()),
            Param::Bool(v) => query.bind(*v),
        };
    }
    query
}

/// Rows as plain values: `value` reads column `i` of a row as its engine stored it.
pub(crate) fn decode<R: sqlx::Row>(
    rows: Vec<R>,
    value: impl Fn(&R, usize) -> Result<Value, sqlx::Error>,
) -> Result<Rows, sqlx::Error> {
    use sqlx::Column as _;
    let names: Arc<[String]> = rows
        .first()
        .map(|row| row.columns().iter().map(|c| c.name().to_owned()).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let values = (0..names.len())
            .map(|i| value(row, i))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(values);
    }
    Ok(Rows { names, rows: out })
}
