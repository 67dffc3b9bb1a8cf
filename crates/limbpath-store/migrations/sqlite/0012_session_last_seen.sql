-- LimbPath record store: browser sessions end after a spell of idleness (ASVS 3.3.2, issue 9).
--
-- Kept equal on both engines. `last_seen_at_ms` is when the session last authenticated a
-- request, moved forward at most about once a minute (src/auth.rs `session_user`), so that
-- the idle limit holds across every server process sharing the database. Existing rows start
-- from their creation time: a session already idle longer than the limit ends at its next use.

ALTER TABLE sessions ADD COLUMN last_seen_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at_ms = created_at_ms;
