-- short steps and an event history
-- next_at: when a worker should next look at the job (milliseconds since the epoch; 0: now).
-- step_state: what the job's current step keeps between looks (its poll plan), as JSON.
-- job_events: an append-only record of every transition, pruned by age (the retention setting).
ALTER TABLE jobs ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN step_state TEXT;
CREATE INDEX jobs_due ON jobs (next_at, seq);
CREATE TABLE job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    worker TEXT,
    attempt INTEGER NOT NULL,
    status TEXT,
    http_status INTEGER,
    error TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_events_job ON job_events (job_id, seq);
CREATE INDEX job_events_at ON job_events (at);
CREATE INDEX job_events_kind ON job_events (event, seq);
