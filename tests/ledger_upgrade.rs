//! Ledgers written by earlier releases (tests/fixtures/ledgers: real SQLite files and
//! PostgreSQL dumps made by the binaries of schema versions 1 and 2) upgrade in place, keep
//! every job, and a batch carries on from them; and the two engines' migrations end with the
//! same schema, whether a ledger is new or upgraded.
#![cfg(all(feature = "sandbox", feature = "ledger"))]

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use common::sandbox_client;
use happyhorse::{
    batch::{Batch, BatchOptions},
    ledger::{JobState, Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use sqlx::Row;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ledgers")
        .join(name)
}

/// The six jobs every fixture holds, as the earlier release left them.
fn expected_states() -> BTreeMap<String, JobState> {
    [
        ("beach", JobState::Downloaded),
        ("street", JobState::Downloaded),
        ("harbor", JobState::Downloaded),
        ("meadow", JobState::Failed),
        ("canyon", JobState::Submitted),
        ("forest", JobState::Queued),
    ]
    .into_iter()
    .map(|(id, state)| (id.to_owned(), state))
    .collect()
}

async fn states(ledger: &dyn Ledger) -> BTreeMap<String, JobState> {
    ledger
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|job| (job.id, job.state))
        .collect()
}

/// The upgraded ledger holds what it held, and a batch over it finishes the two jobs left
/// (the submitted one's task went with its emulator: submitted again; the queued one sent).
async fn carries_on(ledger: std::sync::Arc<dyn Ledger>, name: &str) {
    assert_eq!(states(ledger.as_ref()).await, expected_states(), "{name}");
    // Migration 9 filled the prompts in from the bodies, HiAPI's nested one included.
    for (word, id) in [
        ("retriever", "beach"),
        ("RAIN", "street"),
        ("harbor", "harbor"),
    ] {
        let mut filter = happyhorse::ledger::JobFilter::default();
        filter.search = Some(word.into());
        let page = ledger.page(&filter, None, 10).await.unwrap();
        let ids: Vec<&str> = page.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, vec![id], "{name}: {word}");
    }
    let sandbox = Sandbox::start(SandboxConfig::default().with_time_scale(100.0))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut batch =
        Batch::with_shared_ledger(ledger.clone(), out.path()).with_options(BatchOptions {
            time_scale: 100.0,
            emulated: true,
            ..BatchOptions::default()
        });
    for provider in Provider::ALL {
        batch = batch.with_client(sandbox_client(&sandbox, provider));
    }
    let report = batch.run().await.unwrap();
    let after = states(ledger.as_ref()).await;
    assert_eq!(after["canyon"], JobState::Downloaded, "{name}: {report:#?}");
    assert_eq!(after["forest"], JobState::Downloaded, "{name}: {report:#?}");
    assert_eq!(after["meadow"], JobState::Failed, "{name}");
    assert_eq!(sandbox.stats().tasks_created.total(), 2, "{name}");
    // The history of the upgraded ledger starts with this run.
    let events = ledger.events("forest").await.unwrap();
    assert_eq!(
        events.first().map(|e| e.event.as_str()),
        Some("submitting"),
        "{name}"
    );
    assert_eq!(
        events.last().map(|e| e.to),
        Some(JobState::Downloaded),
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledgers_of_earlier_releases_upgrade_in_place() {
    for version in ["v1", "v2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("happyhorse.db");
        std::fs::copy(fixture(&format!("sqlite-{version}.db")), &path).unwrap();
        let ledger = SqliteLedger::open(&path).await.unwrap();
        carries_on(std::sync::Arc::new(ledger), version).await;
        assert_eq!(
            sqlite_versions(&path).await,
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9],
            "{version}"
        );
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledgers_of_earlier_releases_upgrade_in_place() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    for version in ["v1", "v2"] {
        let db = format!("upgrade_{version}");
        let url = cluster.database(&db).await;
        cluster.load(&db, &fixture(&format!("postgres-{version}.sql")));
        let ledger = happyhorse::ledger::PgLedger::connect(&url).await.unwrap();
        carries_on(std::sync::Arc::new(ledger), version).await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM happyhorse_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8, 9], "{version}");
    }
}

async fn sqlite_versions(path: &Path) -> Vec<i64> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query_scalar("SELECT version FROM happyhorse_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap()
}

/// A table's columns as `name type not-null default`, in one vocabulary for both engines
/// (integers and booleans are `int`, a boolean default `false` is `0`).
type Columns = BTreeMap<String, String>;

fn normal_type(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "boolean" | "int" => "int",
        "real" | "double precision" => "real",
        _ => "text",
    }
}

fn normal_default(d: Option<String>) -> String {
    match d.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => "-".into(),
        Some("false") | Some("0") => "0".into(),
        Some(d) if d.starts_with("nextval(") => "-".into(),
        Some(d) => d.trim_matches('\'').to_owned(),
    }
}

/// An index as `[unique] table (columns) where ...`, spaces, case and parentheses around
/// the condition folded.
fn normal_index(def: &str) -> String {
    let def = def
        .to_ascii_lowercase()
        .replace(" using btree", "")
        .replace("public.", "");
    let unique = if def.starts_with("create unique") {
        "unique "
    } else {
        ""
    };
    let on = def.split(" on ").nth(1).unwrap_or_default();
    let mut on = on
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")");
    if let Some((head, cond)) = on.clone().split_once(" where ") {
        let cond = cond
            .strip_prefix('(')
            .and_then(|c| c.strip_suffix(')'))
            .unwrap_or(cond);
        // PostgreSQL keeps `x IN ('a', 'b')` as `x = ANY (ARRAY['a'::text, 'b'::text])`.
        let cond = match cond.split_once(" = any (array[") {
            Some((column, list)) => {
                let list = list.trim_end_matches("])").replace("::text", "");
                format!("{column} in ({list})")
            }
            None => cond.to_owned(),
        };
        on = format!("{head} where {cond}");
    }
    format!("{unique}{on}")
}

async fn sqlite_schema(path: &Path) -> (BTreeMap<String, Columns>, BTreeMap<String, String>) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut tables = BTreeMap::new();
    for table in ["jobs", "job_events", "happyhorse_migrations"] {
        let mut columns = Columns::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            let name: String = row.get("name");
            let pk: i64 = row.get("pk");
            let notnull: i64 = row.get("notnull");
            let ty: String = row.get("type");
            columns.insert(
                name,
                format!(
                    "{} {} {}",
                    normal_type(&ty),
                    notnull != 0 || pk != 0,
                    normal_default(row.get("dflt_value"))
                ),
            );
        }
        tables.insert(table.to_owned(), columns);
    }
    let mut indexes = BTreeMap::new();
    for row in
        sqlx::query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap()
    {
        let sql: String = row.get("sql");
        indexes.insert(row.get::<String, _>("name"), normal_index(&sql));
    }
    (tables, indexes)
}

#[cfg(feature = "postgres")]
async fn postgres_schema(url: &str) -> (BTreeMap<String, Columns>, BTreeMap<String, String>) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut tables = BTreeMap::new();
    for table in ["jobs", "job_events", "happyhorse_migrations"] {
        let mut columns = Columns::new();
        for row in sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS ty, is_nullable::text AS nullable,
                column_default::text AS dflt
             FROM information_schema.columns WHERE table_name = $1",
        )
        .bind(table)
        .fetch_all(&pool)
        .await
        .unwrap()
        {
            let nullable: String = row.get("nullable");
            let ty: String = row.get("ty");
            columns.insert(
                row.get("name"),
                format!("{} {} {}", normal_type(&ty), nullable == "NO", normal_default(row.get("dflt"))),
            );
        }
        tables.insert(table.to_owned(), columns);
    }
    let mut indexes = BTreeMap::new();
    for row in sqlx::query(
        "SELECT indexname::text AS name, indexdef AS def FROM pg_indexes
         WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let def: String = row.get("def");
        indexes.insert(row.get::<String, _>("name"), normal_index(&def));
    }
    (tables, indexes)
}

/// A new SQLite ledger and one upgraded from each earlier release have one schema.
#[tokio::test]
async fn an_upgraded_sqlite_ledger_has_the_schema_of_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.db");
    drop(SqliteLedger::open(&new).await.unwrap());
    let fresh = sqlite_schema(&new).await;
    assert!(fresh.0["jobs"].contains_key("next_at"), "{fresh:#?}");
    for version in ["v1", "v2"] {
        let old = dir.path().join(format!("{version}.db"));
        std::fs::copy(fixture(&format!("sqlite-{version}.db")), &old).unwrap();
        drop(SqliteLedger::open(&old).await.unwrap());
        assert_eq!(sqlite_schema(&old).await, fresh, "{version}");
    }
}

/// SQLite's and PostgreSQL's migrations end with the same tables, columns and indexes, new
/// or upgraded from an earlier release.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn both_engines_end_with_one_schema() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    drop(SqliteLedger::open(&path).await.unwrap());
    let sqlite = sqlite_schema(&path).await;
    let url = cluster.database("schema_new").await;
    drop(happyhorse::ledger::PgLedger::connect(&url).await.unwrap());
    let postgres = postgres_schema(&url).await;
    assert_eq!(sqlite.0, postgres.0, "columns");
    assert_eq!(sqlite.1, postgres.1, "indexes");
    for version in ["v1", "v2"] {
        let db = format!("schema_{version}");
        let url = cluster.database(&db).await;
        cluster.load(&db, &fixture(&format!("postgres-{version}.sql")));
        drop(happyhorse::ledger::PgLedger::connect(&url).await.unwrap());
        assert_eq!(postgres_schema(&url).await, postgres, "{version}");
    }
}
