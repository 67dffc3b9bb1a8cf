-- LimbPath record store, PostgreSQL: programme-edited follow-up schedule templates (issue 5 item 4).
--
-- Kept column-for-column equal to migrations/sqlite/0009_follow_up_templates.sql.
-- One row per shipped template the programme has ever edited. `template` is the
-- programme's version (JSON, validated by limbpath-pathway before it is written,
-- changed items' sources replaced by "Edited by the programme"); NULL after a
-- reset to the shipped template. `version` only grows (optimistic concurrency),
-- so an edit made against a version from before a reset is refused.

CREATE TABLE follow_up_templates (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL,
    template      TEXT,
    edited_by     TEXT    NOT NULL,
    edited_at_ms  BIGINT  NOT NULL,
    reason        TEXT    NOT NULL
);
