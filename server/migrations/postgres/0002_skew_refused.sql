-- Op ids a push was refused for clock skew by (the named op and the later ops of that push from its
-- device): the device re-stamps them, so the ids stay refused, also once the hub's clock has caught
-- up, and a late copy of the refused push never lands beside the new ids. Written in the append's
-- transaction before the refusal is answered; compaction drops a device's rows at or below its
-- `compacted` watermark.
CREATE TABLE skew_refused (
    space text COLLATE "C" NOT NULL,
    device text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    PRIMARY KEY (space, id)
);
