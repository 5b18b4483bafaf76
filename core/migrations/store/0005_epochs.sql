-- Hearth store, schema version 5. Never edit this file once shipped: add a new migration instead.

-- Ops set aside because a whole-space migration cannot translate them (the space moved to a new epoch
-- while they were unsent) keep the epoch they were written in, so that a retry after a fixed lens
-- passes them through the lenses from there. NULL: an op of the store's current epoch.
ALTER TABLE quarantine ADD COLUMN epoch INTEGER;
