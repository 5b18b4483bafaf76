-- hub.db: spaces, paired devices and their peer records, token and pairing-code hashes.
CREATE TABLE spaces (
    name               TEXT PRIMARY KEY,
    epoch              INTEGER NOT NULL DEFAULT 1,
    min_schema_version INTEGER NOT NULL DEFAULT 0,
    created_ms         INTEGER NOT NULL
);
CREATE TABLE devices (
    space          TEXT NOT NULL,
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    app_version    TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    paired_ms      INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    acked          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (space, id)
);
-- Only hashes: a leaked hub.db does not leak working tokens or codes.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    space      TEXT NOT NULL,
    device     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE codes (
    hash       TEXT PRIMARY KEY,
    space      TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
