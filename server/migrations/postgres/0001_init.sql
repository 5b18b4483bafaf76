-- The hub on PostgreSQL: every hub process on one database shares these tables and keeps nothing of
-- its own that another hub needs. Identifiers compare byte for byte (COLLATE "C"), as op ids must.

-- A space: its log's counter row (head, horizon, snapshot, epoch: bumped in the transaction that
-- appends, so seq order is commit order) and who may write to it.
CREATE TABLE spaces (
    name text COLLATE "C" PRIMARY KEY,
    created_ms bigint NOT NULL,
    epoch bigint NOT NULL DEFAULT 1,
    min_schema_version bigint NOT NULL DEFAULT 0,
    head bigint NOT NULL DEFAULT 0,
    horizon bigint NOT NULL DEFAULT 0,
    snapshot bigint NOT NULL DEFAULT 0
);

-- The op log. `body` is the op as a pull serves it ({seq, id, kind, v, payload}); `applied` is false
-- for kinds this hub's build stores without applying (never pruned).
CREATE TABLE ops (
    space text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    applied boolean NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (space, seq),
    UNIQUE (space, id)
);

-- Per device, the greatest op id compaction removed: a retried push at or below it is a duplicate.
CREATE TABLE compacted (
    space text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    max_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (space, device)
);

-- Snapshots (the current one and the one before it) and their entries, in the snapshot's order.
CREATE TABLE snapshots (
    space text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    epoch bigint NOT NULL,
    digest text NOT NULL,
    total bigint NOT NULL,
    PRIMARY KEY (space, seq)
);
CREATE TABLE snapshot_entries (
    space text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    i bigint NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (space, seq, i)
);

-- Paired devices with their versions, acked seq and last seen; tokens and pairing codes as SHA-256.
CREATE TABLE devices (
    space text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    app_version text NOT NULL,
    schema_version bigint NOT NULL,
    acked bigint NOT NULL DEFAULT 0,
    paired_ms bigint NOT NULL,
    last_seen_ms bigint NOT NULL,
    PRIMARY KEY (space, id)
);
CREATE TABLE tokens (
    hash text COLLATE "C" PRIMARY KEY,
    space text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    created_ms bigint NOT NULL
);
CREATE INDEX tokens_by_device ON tokens (space, device);
CREATE TABLE codes (
    hash text COLLATE "C" PRIMARY KEY,
    space text COLLATE "C" NOT NULL,
    expires_ms bigint NOT NULL
);
