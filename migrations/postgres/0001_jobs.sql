-- jobs
-- jobs_lease_owner is created here, and by SQLite's 0002: the two engines' first releases differed; both
-- end with the same schema, which tests/ledger_schema.rs checks.
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
