-- marked as a happyhorse ledger; refused submits
-- SQLite's application id, in the file's header: what `SqliteLedger::open` reads to tell its own ledgers from other applications' databases before writing anything. 0x48484C47 is "HHLG".
PRAGMA application_id = 1212697671;
ALTER TABLE jobs ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
