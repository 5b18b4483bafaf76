-- Whole-space migrations (epochs). `spaces.migrations` lists, as a JSON array, the migrations a space
-- went through, oldest first; its epoch is one more than their number. `hearth migrate` writes both
-- (and raises `min_schema_version`) in the transaction that writes the new epoch's snapshot.
ALTER TABLE spaces ADD COLUMN migrations text NOT NULL DEFAULT '[]';

-- The log of an epoch that a migration ended, kept: its rows as they were, and the snapshot they
-- continue from (when one had been taken).
CREATE TABLE archived_ops (
    space text COLLATE "C" NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    applied boolean NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (space, epoch, seq)
);
CREATE TABLE archived_snapshots (
    space text COLLATE "C" NOT NULL,
    epoch bigint NOT NULL,
    seq bigint NOT NULL,
    digest text NOT NULL,
    total bigint NOT NULL,
    PRIMARY KEY (space, epoch)
);
CREATE TABLE archived_snapshot_entries (
    space text COLLATE "C" NOT NULL,
    epoch bigint NOT NULL,
    i bigint NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (space, epoch, i)
);
