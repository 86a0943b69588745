-- marked as a happyhorse ledger; refused submits
COMMENT ON TABLE jobs IS 'happyhorse job ledger';
ALTER TABLE jobs ADD COLUMN refused BOOLEAN NOT NULL DEFAULT FALSE;
