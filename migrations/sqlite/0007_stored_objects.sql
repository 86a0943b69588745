-- a video saved into an object store is recorded with what the store named it: its ETag and,
-- where the bucket keeps versions, its version id (beside file = s3://..., bytes and sha256),
-- so a reader can fetch exactly the object the batch confirmed.
ALTER TABLE jobs ADD COLUMN e_tag TEXT;
ALTER TABLE jobs ADD COLUMN object_version TEXT;
