//! The ledger's schema, as numbered migrations applied in order and recorded in
//! `happyhorse_migrations`. A ledger written by a newer version (a migration this build does
//! not know) is refused rather than misread.

/// One schema change.
pub(crate) struct Migration {
    /// Applied in increasing order; recorded once applied.
    pub version: i64,
    /// What it does.
    pub description: &'static str,
    /// The statements (run as one script, inside the migration's transaction).
    pub sql: &'static str,
}

/// SQLite's migrations.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "jobs",
        sql: "
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    line INTEGER,
    provider TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    resolution TEXT NOT NULL,
    video_seconds INTEGER NOT NULL,
    credits INTEGER,
    output_name TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    task_id TEXT,
    status TEXT,
    output_url TEXT,
    output_expires_at INTEGER,
    output_expired INTEGER NOT NULL DEFAULT 0,
    file TEXT,
    bytes INTEGER,
    sha256 TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    submitting_at INTEGER,
    submitted_at INTEGER,
    finished_at INTEGER,
    task_seconds REAL,
    lease_owner TEXT,
    lease_until INTEGER,
    fence INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_provider_task ON jobs (provider, task_id) WHERE task_id IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_history ON jobs (provider, resolution, video_seconds, finished_at) WHERE task_seconds IS NOT NULL;
",
    },
    Migration {
        version: 2,
        description: "callbacks",
        sql: "
ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN heard_at INTEGER;
ALTER TABLE jobs ADD COLUMN progress INTEGER;
ALTER TABLE jobs ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
",
    },
    Migration {
        version: 3,
        description: "marked as a happyhorse ledger; refused submits",
        // SQLite's application id, in the file's header: what `SqliteLedger::open` reads to
        // tell its own ledgers from other applications' databases before writing anything.
        // 0x48484C47 is "HHLG".
        sql: "PRAGMA application_id = 1212697671;
ALTER TABLE jobs ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;",
    },
    Migration {
        version: 4,
        description: "retries: the billed tasks of earlier tries",
        sql: "ALTER TABLE jobs ADD COLUMN earlier_tasks INTEGER NOT NULL DEFAULT 0;",
    },
];

/// The application id a SQLite ledger's header carries (migration 3): "HHLG".
pub(crate) const SQLITE_APPLICATION_ID: u32 = 0x4848_4C47;

/// PostgreSQL's migrations: the same schema in its types.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        description: "jobs",
        sql: "
CREATE TABLE jobs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    line BIGINT,
    provider TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    resolution TEXT NOT NULL,
    video_seconds BIGINT NOT NULL,
    credits BIGINT,
    output_name TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    task_id TEXT,
    status TEXT,
    output_url TEXT,
    output_expires_at BIGINT,
    output_expired BOOLEAN NOT NULL DEFAULT FALSE,
    file TEXT,
    bytes BIGINT,
    sha256 TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitting_at BIGINT,
    submitted_at BIGINT,
    finished_at BIGINT,
    task_seconds DOUBLE PRECISION,
    lease_owner TEXT,
    lease_until BIGINT,
    fence BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_provider_task ON jobs (provider, task_id) WHERE task_id IS NOT NULL;
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX jobs_history ON jobs (provider, resolution, video_seconds, finished_at) WHERE task_seconds IS NOT NULL;
",
    },
    Migration {
        version: 2,
        description: "callbacks",
        sql: "
ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN heard_at BIGINT;
ALTER TABLE jobs ADD COLUMN progress BIGINT;
ALTER TABLE jobs ADD COLUMN deliveries BIGINT NOT NULL DEFAULT 0;
",
    },
    Migration {
        version: 3,
        description: "marked as a happyhorse ledger; refused submits",
        sql: "COMMENT ON TABLE jobs IS 'happyhorse job ledger';
ALTER TABLE jobs ADD COLUMN refused BOOLEAN NOT NULL DEFAULT FALSE;",
    },
    Migration {
        version: 4,
        description: "retries: the billed tasks of earlier tries",
        sql: "ALTER TABLE jobs ADD COLUMN earlier_tasks BIGINT NOT NULL DEFAULT 0;",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_from_one() {
        assert_eq!(u32::from_be_bytes(*b"HHLG"), SQLITE_APPLICATION_ID);
        #[cfg(feature = "postgres")]
        let all = [SQLITE, POSTGRES];
        #[cfg(not(feature = "postgres"))]
        let all = [SQLITE];
        for (i, migration) in all.iter().flat_map(|m| m.iter().enumerate()) {
            assert_eq!(migration.version, i as i64 + 1, "{}", migration.description);
            assert!(
                [
                    "CREATE",
                    "ALTER TABLE",
                    "PRAGMA application_id",
                    "COMMENT ON"
                ]
                .iter()
                .any(|statement| migration.sql.contains(statement)),
                "{}",
                migration.description
            );
        }
    }
}
