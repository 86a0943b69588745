-- jobs
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
