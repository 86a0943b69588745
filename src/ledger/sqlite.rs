//! The embedded ledger: one SQLite file in WAL mode, written with `synchronous = FULL` so that a
//! committed intent survives a power cut as well as a killed process.
//!
//! One connection serves the process (SQLite has one writer; a single connection never waits on
//! its own busy lock), and a run takes an advisory lock on `<file>.lock` so that two processes
//! never work one SQLite ledger at once. Readers (`happyhorse jobs`) need no lock: WAL lets them
//! read while a run writes.

use std::{
    fs::File,
    path::{Path, PathBuf},
    str::FromStr,
    sync::Mutex,
    time::Duration,
};

use sqlx::{
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
    AssertSqlSafe, Row as _, Sqlite, TypeInfo as _, ValueRef as _,
};

use super::{
    engine::{self, Dialect, Engine, EngineFuture, Param, Rows, Tx, Value},
    migrate,
    protocol::sealed::Sealed,
    rows::db_error,
    Ledger, LedgerFuture,
};
use crate::Error;

/// A ledger in one SQLite file. See the [module docs](super).
#[derive(Debug)]
pub struct SqliteLedger {
    pool: SqlitePool,
    /// A second connection, read-only, for the reads that need no write lock (a worker's look
    /// ahead between claims, the summary): in WAL mode they go on beside the writer instead
    /// of queueing behind its transactions.
    reader: Option<SqlitePool>,
    path: PathBuf,
    /// The run lock, once [`Ledger::begin_run`] took it.
    run_lock: Mutex<Option<File>>,
    /// Woken when a callback recorded through this ledger made a job due.
    due: std::sync::Arc<tokio::sync::Notify>,
}

impl SqliteLedger {
    /// Opens (creating if missing) the ledger file at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteLedger, Error> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| Error::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        prepare_file(&path).await?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = single_connection(options)
            .await
            .map_err(|err| db_error(&format!("cannot open {}", path.display()), err))?;
        let mut ledger = SqliteLedger {
            pool,
            path,
            reader: None,
            run_lock: Mutex::new(None),
            due: std::sync::Arc::default(),
        };
        migrate::migrate(&ledger).await?;
        let reader = SqliteConnectOptions::new()
            .filename(&ledger.path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(30));
        ledger.reader = Some(
            single_connection(reader)
                .await
                .map_err(|err| db_error(&format!("cannot read {}", ledger.path.display()), err))?,
        );
        Ok(ledger)
    }

    /// Opens the ledger at `path` to read, writing nothing anywhere: no file or directory is
    /// created and no schema upgraded (what `batch --dry-run` plans against). A missing or
    /// empty file reads as an empty ledger, held in memory; a file that is not a ledger is
    /// refused as [`open`](Self::open) refuses it, and so is a ledger whose schema this build
    /// would upgrade (a real run does that first).
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<SqliteLedger, Error> {
        Self::reader(path.as_ref(), false).await
    }

    /// [`open_read_only`](Self::open_read_only) for a reader that stays open while workers
    /// write (the console): it reads through the WAL even when there was none at the start
    /// (it may then create the shared-memory file beside the ledger, as SQLite does for a
    /// reader of a WAL database). A missing file is refused: there is nothing to watch yet.
    pub async fn open_watching(path: impl AsRef<Path>) -> Result<SqliteLedger, Error> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no ledger here yet (a batch creates it)",
                ),
            });
        }
        Self::reader(path, true).await
    }

    async fn reader(path: &Path, watching: bool) -> Result<SqliteLedger, Error> {
        let path = path.to_path_buf();
        let len = match std::fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => return Err(Error::Io { path, source }),
        };
        if len == 0 {
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|err| db_error("opening an empty ledger in memory", err))?;
            let ledger = SqliteLedger {
                pool: single_connection(options)
                    .await
                    .map_err(|err| db_error("opening an empty ledger in memory", err))?,
                path,
                reader: None,
                run_lock: Mutex::new(None),
                due: std::sync::Arc::default(),
            };
            migrate::migrate(&ledger).await?;
            return Ok(ledger);
        }
        check_file(&path).await?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        // With no WAL file, everything committed is in the database file: read it as
        // immutable, which creates no shared-memory file beside it. With one (a run is going,
        // or stopped without closing), read through it.
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .immutable(!watching && !Path::new(&wal).exists())
            .busy_timeout(Duration::from_secs(30));
        let pool = single_connection(options)
            .await
            .map_err(|err| db_error(&format!("cannot read {}", path.display()), err))?;
        let ledger = SqliteLedger {
            pool,
            path,
            reader: None,
            run_lock: Mutex::new(None),
            due: std::sync::Arc::default(),
        };
        migrate::check(&ledger).await?;
        Ok(ledger)
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn take_run_lock(&self) -> Result<(), Error> {
        let mut held = self.run_lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            return Ok(());
        }
        let path = self.lock_path();
        let file = owner_only(
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true),
        )
        .open(&path)
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => {
                *held = Some(file);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::LedgerBusy {
                ledger: self.path.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Io { path, source }),
        }
    }
}

/// A pool of one connection, kept open for the ledger's life (an in-memory database lives as
/// long as its connection).
async fn single_connection(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
}

/// New files readable and writable by their owner only: a ledger holds signed output URLs
/// (SQLite gives its WAL and shared-memory files the database file's permissions).
fn owner_only(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes `path` ready to open as a ledger without changing a byte of anything that is not one:
/// a missing (or empty) file is created owner-only; an existing one must be a happyhorse
/// ledger (its header's application id, or, for ledgers of schema versions 1 and 2, a
/// `happyhorse_migrations` table read through a read-only connection) or a database with no
/// tables yet, else it is refused untouched.
async fn prepare_file(path: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
        Err(err) => return Err(io(err)),
    };
    if len == 0 {
        owner_only(std::fs::OpenOptions::new().create(true).append(true))
            .open(path)
            .map_err(io)?;
        return Ok(());
    }
    check_file(path).await
}

/// Refuses, untouched, a non-empty file at `path` that is not a happyhorse ledger (see
/// [`prepare_file`]).
async fn check_file(path: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |why: String| {
        Error::ledger(format!(
            "{} is not a happyhorse ledger ({why}); it was left as it is",
            path.display()
        ))
    };
    let mut header = [0u8; 100];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(io)?;
        file.read_exact(&mut header)
            .map_err(|_| refuse("shorter than a SQLite header".into()))?;
    }
    if !header.starts_with(b"SQLite format 3\0") {
        return Err(refuse("not a SQLite database".into()));
    }
    let id = header
        .get(68..72)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes);
    if id == migrate::SQLITE_APPLICATION_ID {
        return Ok(());
    }
    if id != 0 {
        return Err(refuse(format!(
            "another application's database: application id {id:#010x}"
        )));
    }
    // No id: a ledger of schema version 1 or 2 (or one whose header is still in its WAL), an
    // empty database, or another application's. Read, never write, to tell.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .foreign_keys(false);
    let mut conn = sqlx::ConnectOptions::connect(&options)
        .await
        .map_err(|err| {
            db_error(
                &format!("cannot read {} to check it is a ledger", path.display()),
                err,
            )
        })?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .map_err(|err| db_error(&format!("cannot read {}", path.display()), err))?;
    let _ = sqlx::Connection::close(conn).await;
    if tables.is_empty() || tables.iter().any(|t| t == "happyhorse_migrations") {
        return Ok(());
    }
    let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    Err(refuse(format!(
        "a database with other tables: {}{}",
        shown.join(", "),
        if tables.len() > shown.len() {
            ", ..."
        } else {
            ""
        }
    )))
}

impl Sealed for SqliteLedger {}

impl Ledger for SqliteLedger {
    fn engine(&self) -> &dyn Engine {
        self
    }

    fn local_files(&self) -> Vec<PathBuf> {
        if self.path.as_os_str().is_empty() {
            return Vec::new();
        }
        ["", "-wal", "-shm", "-journal", ".lock"]
            .into_iter()
            .map(|suffix| {
                let mut name = self.path.as_os_str().to_owned();
                name.push(suffix);
                PathBuf::from(name)
            })
            .collect()
    }

    fn begin_run<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            self.take_run_lock()?;
            // This process holds the ledger: every other lease belongs to a run that died.
            let freed = self
                .query(
                    "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, next_at = 0
                     WHERE lease_owner IS NOT NULL AND lease_owner <> $1 RETURNING id",
                    &[Param::text(owner)],
                )
                .await
                .map_err(|e| db_error("freeing the leases of an earlier run", e))?
                .len();
            if freed > 0 {
                tracing::info!(freed, "took over the jobs of an earlier run that stopped");
            }
            Ok(())
        })
    }
}

impl Engine for SqliteLedger {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows> {
        Box::pin(async move { decode(engine::bind(sql, params).fetch_all(&self.pool).await?) })
    }

    fn read<'a>(&'a self, sql: &'a str, params: &'a [Param]) -> EngineFuture<'a, Rows> {
        let pool = self.reader.as_ref().unwrap_or(&self.pool);
        Box::pin(async move { decode(engine::bind(sql, params).fetch_all(pool).await?) })
    }

    fn woke(&self) {
        self.due.notify_one();
    }

    fn due_signal<'a>(&'a self) -> EngineFuture<'a, Option<std::sync::Arc<tokio::sync::Notify>>> {
        Box::pin(async move { Ok(Some(self.due.clone())) })
    }

    fn begin<'a>(&'a self) -> EngineFuture<'a, Box<dyn Tx + 'a>> {
        Box::pin(async move {
            // Takes SQLite's write lock at once, so the transaction never fails to upgrade.
            let tx = match self.pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => tx,
                // A commit that failed (a full disk) can leave the connection's transaction
                // ended by SQLite but open in sqlx's books, so it refuses to begin another:
                // close that connection; the pool opens a fresh one.
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    tracing::debug!("reopening the ledger's connection after a failed commit");
                    self.pool.acquire().await?.close().await?;
                    self.pool.begin_with("BEGIN IMMEDIATE").await?
                }
                Err(err) => return Err(err),
            };
            Ok(Box::new(SqliteTx(tx)) as Box<dyn Tx + 'a>)
        })
    }
}

struct SqliteTx(sqlx::Transaction<'static, Sqlite>);

impl Tx for SqliteTx {
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

/// Rows as plain values, typed by what SQLite stored in each.
fn decode(rows: Vec<SqliteRow>) -> Result<Rows, sqlx::Error> {
    super::engine::decode(rows, |row, i| {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        Ok(match raw.type_info().name() {
            "INTEGER" | "BOOLEAN" | "INT" | "BIGINT" => Value::Int(row.try_get(i)?),
            "REAL" | "NUMERIC" => Value::Real(row.try_get(i)?),
            "BLOB" => {
                Value::Text(String::from_utf8_lossy(row.try_get::<&[u8], _>(i)?).into_owned())
            }
            _ => Value::Text(row.try_get(i)?),
        })
    })
}
