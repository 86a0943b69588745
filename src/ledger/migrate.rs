//! The ledger's schema: numbered migration files per engine (`migrations/sqlite/`,
//! `migrations/postgres/`), applied in order by one migrator and recorded in
//! `happyhorse_migrations`. A ledger written by a newer version (a migration this build does
//! not know) is refused rather than misread.
//!
//! The files are the history: a ledger of any earlier release upgrades by running the files
//! it lacks, so a file once released is never edited. (The migrator is ours rather than
//! `sqlx::migrate!`: ledgers of schema 1 to 4 already record their versions in
//! `happyhorse_migrations`, which sqlx's checksummed table does not read.)

use super::{
    engine::{Dialect, Engine, Param},
    now_millis,
    rows::{db_error, Columns},
};
use crate::Error;

/// One schema change: a file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// Applied in increasing order; recorded once applied.
    pub version: i64,
    /// Its file name, for messages and tests.
    pub file: &'static str,
    /// The statements (run as one script, inside the migration's transaction); the first
    /// line is a `-- description` comment.
    pub sql: &'static str,
}

impl Migration {
    /// The first line's comment.
    pub fn description(&self) -> &'static str {
        self.sql
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("-- "))
            .unwrap_or(self.file)
    }
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $file:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            file: $file,
            sql: include_str!(concat!("../../migrations/", $dir, "/", $file)),
        }),*]
    };
}

/// SQLite's migrations.
pub(crate) const SQLITE: &[Migration] = migrations!("sqlite":
    1 "0001_jobs.sql",
    2 "0002_callbacks.sql",
    3 "0003_marked_and_refused.sql",
    4 "0004_earlier_tasks.sql",
    5 "0005_steps_and_events.sql",
    6 "0006_due_index.sql",
    7 "0007_stored_objects.sql",
    8 "0008_polls.sql",
    9 "0009_prompt.sql",
);

/// PostgreSQL's migrations: the same schema in its types.
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres":
    1 "0001_jobs.sql",
    2 "0002_callbacks.sql",
    3 "0003_marked_and_refused.sql",
    4 "0004_earlier_tasks.sql",
    5 "0005_steps_and_events.sql",
    6 "0006_due_index.sql",
    7 "0007_stored_objects.sql",
    8 "0008_polls.sql",
    9 "0009_prompt.sql",
);

/// The application id a SQLite ledger's header carries (migration 3): "HHLG".
pub(crate) const SQLITE_APPLICATION_ID: u32 = 0x4848_4C47;

/// The advisory lock PostgreSQL workers starting together take to migrate one at a time.
const SCHEMA_LOCK: i64 = 7_242_001;

/// The engine's migrations.
pub(crate) fn of(dialect: Dialect) -> &'static [Migration] {
    match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS happyhorse_migrations (
    version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";
const APPLIED: &str =
    "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM happyhorse_migrations";

/// Brings the ledger's schema up to date, in one transaction.
pub(crate) async fn migrate(engine: &dyn Engine) -> Result<(), Error> {
    let context = format!("migrating {}", engine.name());
    let err = |e| db_error(&context, e);
    let migrations = of(engine.dialect());
    let mut tx = engine.begin().await.map_err(err)?;
    if let Some(lock) = engine.dialect().exclusive(SCHEMA_LOCK) {
        tx.query(&lock, &[]).await.map_err(err)?;
    }
    tx.query(CREATE_TABLE, &[]).await.map_err(err)?;
    let applied = applied_version(&tx.query(APPLIED, &[]).await.map_err(err)?)?;
    let known = migrations.last().map_or(0, |m| m.version);
    if applied > known {
        return Err(Error::ledger(format!(
            "{} has schema version {applied}, newer than this build knows ({known}); use a newer happyhorse",
            engine.name()
        )));
    }
    for migration in migrations.iter().filter(|m| m.version > applied) {
        tx.script(migration.sql).await.map_err(err)?;
        tx.query(
            "INSERT INTO happyhorse_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
            &[
                Param::int(migration.version),
                Param::text(migration.description()),
                Param::int(now_millis()),
            ],
        )
        .await
        .map_err(err)?;
        tracing::info!(
            version = migration.version,
            file = migration.file,
            "ledger migrated"
        );
    }
    tx.commit().await.map_err(err)
}

/// Refuses a ledger whose schema is not this build's, without changing it.
pub(crate) async fn check(engine: &dyn Engine) -> Result<(), Error> {
    let context = format!("reading {}", engine.name());
    let rows = engine
        .query(APPLIED, &[])
        .await
        .map_err(|e| db_error(&context, e))?;
    let applied = applied_version(&rows)?;
    let known = of(engine.dialect()).last().map_or(0, |m| m.version);
    if applied != known {
        return Err(Error::ledger(format!(
            "{} has schema version {applied} and this build reads {known}; opened to read only, it is neither {}",
            engine.name(),
            if applied > known {
                "read by an older build nor changed"
            } else {
                "misread nor upgraded (opening it to write upgrades it)"
            }
        )));
    }
    Ok(())
}

fn applied_version(rows: &super::engine::Rows) -> Result<i64, Error> {
    match rows.first() {
        Some(row) => Ok(row.opt_int("v")?.unwrap_or(0)),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `migrations/<engine>/` is listed, in order, numbered as its name says.
    #[test]
    fn every_file_is_listed_in_order() {
        assert_eq!(u32::from_be_bytes(*b"HHLG"), SQLITE_APPLICATION_ID);
        for (dir, list) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .expect("the migrations directory")
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<&str> = list.iter().map(|m| m.file).collect();
            assert_eq!(files, listed, "{dir}");
            for (i, migration) in list.iter().enumerate() {
                assert_eq!(migration.version, i as i64 + 1, "{}", migration.file);
                assert!(
                    migration
                        .file
                        .starts_with(&format!("{:04}_", migration.version)),
                    "{}",
                    migration.file
                );
                assert!(migration.sql.starts_with("-- "), "{}", migration.file);
            }
        }
        assert_eq!(SQLITE.len(), POSTGRES.len());
    }
}
