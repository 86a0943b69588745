-- how many times a worker asked the provider about the job's current task (each status
-- request, answered or not), counted in the same statement that records what the poll saw:
-- the console's polls per job, without a row per poll.
ALTER TABLE jobs ADD COLUMN polls INTEGER NOT NULL DEFAULT 0;
