//! What opening a ledger does to the files it is given: a new SQLite ledger (and its WAL and
//! shared-memory files) is owner-only; another application's database is refused without a
//! byte changed; a ledger written by an earlier release (schema v2, no application id) is
//! upgraded in place; `happyhorse jobs` reads `HAPPYHORSE_LEDGER`; a PostgreSQL URL with a
//! bracketed IPv6 host connects.
#![cfg(feature = "ledger")]

mod common;

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use happyhorse::ledger::{self, JobState, Ledger, NewJob, SqliteLedger};
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

fn sha256(path: &Path) -> String {
    common::sha256_hex(&fs::read(path).unwrap())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn job(id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        line: None,
        provider: happyhorse::Provider::HiApi,
        body: json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": id}}),
        idempotency_key: Some(format!("hh-{id}")),
        resolution: "720p".into(),
        video_seconds: 5,
        credits: None,
        output_name: format!("{id}.mp4"),
    }
}

/// A database made by something else: rollback journal, its own tables.
async fn foreign(path: &Path, schema: &'static str) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(schema).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_new_ledger_and_its_wal_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("happyhorse.db");
    let ledger = SqliteLedger::open(&path).await.unwrap();
    ledger.enqueue(&[job("a")]).await.unwrap();
    ledger.begin_run("w").await.unwrap();
    for file in ledger.local_files() {
        if file.exists() {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    assert!(dir.path().join("happyhorse.db-wal").exists());
}

#[tokio::test]
async fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("notes.db", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"),
        // A `jobs` table of its own: the migration would have failed after switching to WAL.
        (
            "queue.db",
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY, payload TEXT); INSERT INTO jobs (payload) VALUES ('x');",
        ),
        (
            "app.db",
            "PRAGMA application_id = 1234; CREATE TABLE t (x);",
        ),
    ];
    for (name, schema) in cases {
        let path = dir.path().join(name);
        foreign(&path, schema).await;
        let before = sha256(&path);
        let err = ledger::open(path.to_str().unwrap()).await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("is not a happyhorse ledger"),
            "{name}: {message}"
        );
        assert_eq!(sha256(&path), before, "{name}: a byte changed");
        for suffix in ["-wal", "-shm", ".lock"] {
            let extra = dir.path().join(format!("{name}{suffix}"));
            assert!(!extra.exists(), "{name}: {} was created", extra.display());
        }
    }
    // Not SQLite at all.
    let text = dir.path().join("notes.txt");
    fs::write(&text, "x".repeat(200)).unwrap();
    let err = ledger::open(text.to_str().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
    assert_eq!(fs::read_to_string(&text).unwrap(), "x".repeat(200));
}

/// A ledger as a release with schema version 2 left it: its tables, its migrations table,
/// no application id, WAL mode, a job in it.
async fn earlier_release_ledger(path: &Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE happyhorse_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL);
         {}
         {}
         INSERT INTO happyhorse_migrations VALUES (1, 'jobs', 0), (2, 'callbacks', 0);
         INSERT INTO jobs (id, provider, body, idempotency_key, resolution, video_seconds, output_name, state, created_at, updated_at)
         VALUES ('old', 'hiapi', '{{\"input\":{{\"prompt\":\"old\"}},\"model\":\"happyhorse-1.1/text-to-video\"}}', 'hh-old', '720p', 5, 'old.mp4', 'queued', 0, 0);",
        V1, V2
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

/// Schema version 1 as the release that introduced it wrote it.
const V1: &str = "CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, line INTEGER,
    provider TEXT NOT NULL, body TEXT NOT NULL, idempotency_key TEXT UNIQUE,
    resolution TEXT NOT NULL, video_seconds INTEGER NOT NULL, credits INTEGER,
    output_name TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    task_id TEXT, status TEXT, output_url TEXT, output_expires_at INTEGER,
    output_expired INTEGER NOT NULL DEFAULT 0, file TEXT, bytes INTEGER, sha256 TEXT,
    error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    submitting_at INTEGER, submitted_at INTEGER, finished_at INTEGER, task_seconds REAL,
    lease_owner TEXT, lease_until INTEGER, fence INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX jobs_provider_task ON jobs (provider, task_id) WHERE task_id IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_history ON jobs (provider, resolution, video_seconds, finished_at) WHERE task_seconds IS NOT NULL;";

/// And version 2.
const V2: &str = "ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN heard_at INTEGER;
ALTER TABLE jobs ADD COLUMN progress INTEGER;
ALTER TABLE jobs ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;";

#[tokio::test]
async fn a_ledger_from_an_earlier_release_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("happyhorse.db");
    earlier_release_ledger(&path).await;
    let ledger = SqliteLedger::open(&path)
        .await
        .expect("an earlier ledger opens");
    let jobs = ledger.jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].id.as_str(), jobs[0].state),
        ("old", JobState::Queued)
    );
    ledger.enqueue(&[job("new")]).await.unwrap();
    drop(ledger);
    // Marked as a ledger now: its header says so (read through SQLite: the page may still be
    // in the WAL).
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(id, i64::from(u32::from_be_bytes(*b"HHLG")));
    let again = SqliteLedger::open(&path).await.unwrap();
    assert_eq!(again.summary().await.unwrap().total(), 2);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_url_with_a_bracketed_ipv6_host_connects() {
    let Some(cluster) = common::pg::Cluster::start_on_ipv6_loopback() else {
        return;
    };
    cluster.database("ipv6").await;
    let url = cluster.ipv6_url("ipv6");
    assert!(url.contains("@[::1]:"), "{url}");
    let ledger = ledger::open(&url).await.expect("connects over [::1]");
    ledger.enqueue(&[job("v6")]).await.unwrap();
    assert_eq!(ledger.summary().await.unwrap().total(), 1);
}

#[cfg(feature = "cli")]
#[test]
fn jobs_reads_the_ledger_from_happyhorse_ledger_as_batch_and_serve_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.db");
    common::runtime().block_on(async {
        let ledger = SqliteLedger::open(&path).await.unwrap();
        ledger.enqueue(&[job("a"), job("b")]).await.unwrap();
    });
    let env = [("HAPPYHORSE_LEDGER", path.to_str().unwrap())];
    let exit = common::process::Running::spawn(common::process::command(&["jobs", "--json"], &env))
        .exit(std::time::Duration::from_secs(60));
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    let summary: serde_json::Value = serde_json::from_str(&exit.stdout).unwrap();
    assert_eq!(summary["total"], 2, "{}", exit.stdout);
    // An explicit --out wins over the environment.
    let out = tempfile::tempdir().unwrap();
    let exit = common::process::Running::spawn(common::process::command(
        &["jobs", "--out", out.path().to_str().unwrap()],
        &env,
    ))
    .exit(std::time::Duration::from_secs(60));
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(exit.stderr.contains("no ledger at"), "{}", exit.stderr);
}
