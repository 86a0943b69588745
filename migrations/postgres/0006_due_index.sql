-- the due index covers only the jobs a worker can still move on (the lifecycle's claimable
-- states, as src/ledger/lifecycle derives them; a test keeps the two equal): a ledger of
-- 100,000 finished jobs claims and looks ahead over the few it still works, not over all.
-- A claimed job's next_at is from now on when its lease ends (the claim and each renewal set
-- it): the jobs being worked lie past the due range, not in front of it.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (next_at, seq) WHERE state IN ('queued', 'submitting', 'submitted', 'succeeded');
