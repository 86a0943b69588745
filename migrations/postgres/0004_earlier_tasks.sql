-- retries: the billed tasks of earlier tries
ALTER TABLE jobs ADD COLUMN earlier_tasks BIGINT NOT NULL DEFAULT 0;
