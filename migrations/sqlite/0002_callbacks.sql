-- callbacks
ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN heard_at INTEGER;
ALTER TABLE jobs ADD COLUMN progress INTEGER;
ALTER TABLE jobs ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
