-- Hearth store, schema version 4. Never edit this file once shipped: add a new migration instead.

-- Comments on nodes (op kind `comment.add`): a grow-only set, one row per comment, keyed by the id of
-- the op that added it (so it carries its time and device). The payload is kept verbatim and the seq
-- once the hub has given one, so that a snapshot carries each comment as its op: every release can
-- store that op, and one that predates comments applies it after its upgrade.
CREATE TABLE comments (
    id      TEXT PRIMARY KEY,         -- op id of the comment.add
    node    TEXT NOT NULL,
    text    TEXT NOT NULL,
    v       INTEGER NOT NULL,
    payload TEXT NOT NULL,            -- JSON object, as received
    seq     INTEGER                   -- the op's seq on the hub; NULL while unconfirmed
) WITHOUT ROWID;
CREATE INDEX comments_node ON comments (node);
