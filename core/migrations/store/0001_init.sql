-- Hearth store, schema version 1. Never edit this file once shipped: add a new migration instead.

-- Small key-value table: device id, clock, pull cursor, epoch, hub URL, seq head.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The op log. On a device it holds unconfirmed ops (seq NULL) and ops this build cannot apply yet
-- (applied = 0); with full history on, everything. On the hub it holds every op since the last compaction.
CREATE TABLE ops (
    id      TEXT PRIMARY KEY,     -- op id: fixed width, sorts in clock order
    kind    TEXT NOT NULL,
    v       INTEGER NOT NULL,
    payload TEXT NOT NULL,        -- JSON object
    seq     INTEGER UNIQUE,       -- hub-assigned position; NULL while unconfirmed
    applied INTEGER NOT NULL      -- 0: stored but not understood by this build
);
CREATE INDEX ops_pending ON ops (id) WHERE applied = 0;
CREATE INDEX ops_outbox ON ops (id) WHERE seq IS NULL;

-- Materialized nodes: the fields queries need, each with the op id that won it (last-writer-wins).
-- A row exists as soon as any op touches the node; the node is visible once its type (node.create) is in.
CREATE TABLE nodes (
    id          TEXT PRIMARY KEY,
    type        TEXT,
    type_op     TEXT,
    title       TEXT,
    title_op    TEXT,
    status      TEXT,
    status_op   TEXT,
    due         TEXT,
    due_op      TEXT,
    priority    INTEGER,
    priority_op TEXT,
    deleted     INTEGER NOT NULL DEFAULT 0,
    deleted_op  TEXT,
    parent      TEXT,                 -- dst of the live parent link with the greatest tag
    parent_tag  TEXT
) WITHOUT ROWID;
CREATE INDEX nodes_parent ON nodes (parent) WHERE parent IS NOT NULL;
CREATE INDEX nodes_due ON nodes (due) WHERE due IS NOT NULL;

-- Generic LWW registers for every other field: any field works with no migration.
CREATE TABLE fields (
    node  TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,              -- JSON
    op    TEXT NOT NULL,
    PRIMARY KEY (node, field)
) WITHOUT ROWID;

-- Links as an OR-set: one row per add (tag = op id of the link.add), removed when a remove names the tag.
CREATE TABLE links (
    tag     TEXT PRIMARY KEY,
    src     TEXT NOT NULL,
    dst     TEXT NOT NULL,
    type    TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX links_src ON links (src, type);
CREATE INDEX links_dst ON links (dst, type);

-- Removed tags, kept even when the add has not arrived yet (a remove may overtake its add).
-- Keyed by the whole (tag, src, dst, type) so that a remove naming a tag with the wrong triple can never
-- hide a different link, whatever order the ops arrive in.
CREATE TABLE link_removals (
    tag  TEXT NOT NULL,
    src  TEXT NOT NULL,
    dst  TEXT NOT NULL,
    type TEXT NOT NULL,
    op   TEXT NOT NULL,               -- the smallest remove op id that named the tag
    PRIMARY KEY (tag, src, dst, type)
) WITHOUT ROWID;
