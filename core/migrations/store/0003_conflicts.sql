-- Hearth store, schema version 3. Never edit this file once shipped: add a new migration instead.

-- Concurrent edits, kept. A set of a field may name the stamp of the value its writer saw (`prev`) and
-- other edits it resolved (`seen`). The heads of a field are the sets that named what they saw and
-- that no other set has named in turn: the field's winner is one of them, and every other head is an
-- edit made without seeing the winner (a conflict), kept here with its value instead of vanishing.
-- Both tables are functions of the set of ops, whatever order they arrive in.
CREATE TABLE heads (
    node  TEXT NOT NULL,
    field TEXT NOT NULL,
    op    TEXT NOT NULL,              -- the set's op id
    value TEXT NOT NULL,              -- JSON
    PRIMARY KEY (node, field, op)
) WITHOUT ROWID;

-- Sets some other set named (as prev or seen): never heads, even when they arrive after the set that
-- named them. `arrived` turns 1 once the named set itself has been applied here.
CREATE TABLE superseded (
    node    TEXT NOT NULL,
    field   TEXT NOT NULL,
    op      TEXT NOT NULL,
    arrived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (node, field, op)
) WITHOUT ROWID;
