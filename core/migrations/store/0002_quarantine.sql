-- Hearth store, schema version 2. Never edit this file once shipped: add a new migration instead.

-- A device's own ops the hub refused and will always refuse as they are (invalid under the hub's rules,
-- or over its size limits), set aside from the outbox so that the rest keeps flowing. Kept with the
-- hub's reason until the person retries (back to the outbox) or discards them. Their effect stays
-- applied on this device.
CREATE TABLE quarantine (
    id      TEXT PRIMARY KEY,     -- the op id
    kind    TEXT NOT NULL,
    v       INTEGER NOT NULL,
    payload TEXT NOT NULL,        -- JSON object
    code    TEXT NOT NULL,        -- the hub's error code, e.g. invalid_op, too_large
    reason  TEXT NOT NULL,        -- the hub's message
    at_ms   INTEGER NOT NULL      -- when it was set aside
) WITHOUT ROWID;
