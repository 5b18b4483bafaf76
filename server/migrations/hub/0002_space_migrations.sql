-- hub.db, schema version 2. Never edit this file once shipped: add a new migration instead.

-- The whole-space migrations each space went through (`hearth migrate`), oldest first, as a JSON
-- array of names: the hub tells devices, which carry their unsent ops through the lenses they missed.
-- The `epoch` column is kept with it (one more than their number).
ALTER TABLE spaces ADD COLUMN migrations TEXT NOT NULL DEFAULT '[]';
