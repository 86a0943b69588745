-- retries: the billed tasks of earlier tries
ALTER TABLE jobs ADD COLUMN earlier_tasks INTEGER NOT NULL DEFAULT 0;
