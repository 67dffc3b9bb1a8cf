-- Coordinated care (issue 5): care tasks, follow-up visits, second-opinion
-- referrers and referrals. Kept column-for-column equal to
-- migrations/sqlite/0002_care_pathways.sql.

-- A care task made by a care-plan rule (limbpath-pathway). Its key is
-- (episode, rule, wound): `wound_key` is the wound id, or '' for a rule about
-- the whole episode (NULLs would never collide in a UNIQUE index). The UNIQUE
-- index is what makes re-running the plan idempotent even when two requests
-- run it at once: the loser's INSERT ... ON CONFLICT DO NOTHING inserts nothing.
CREATE TABLE care_tasks (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version         BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL,
    episode_id      TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id      TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    rule_id         TEXT COLLATE "C" NOT NULL,
    wound_key       TEXT COLLATE "C" NOT NULL,
    ruleset_id      TEXT COLLATE "C" NOT NULL,
    ruleset_version TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    discipline      TEXT COLLATE "C" NOT NULL,
    priority        TEXT    NOT NULL CHECK (priority IN ('emergency', 'urgent', 'routine')),
    created_on      TEXT    NOT NULL,
    due_on          TEXT COLLATE "C" NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('open', 'assigned', 'completed', 'cancelled')),
    assignee        TEXT,
    assigned_on     TEXT,
    completed_on    TEXT,
    cancelled_on    TEXT,
    cancel_reason   TEXT,
    -- limbpath_pathway::Rationale as JSON: inputs, the rule in words, settings, source, flags
    rationale       TEXT    NOT NULL
);

CREATE UNIQUE INDEX care_tasks_key ON care_tasks (episode_id, rule_id, wound_key);
CREATE INDEX care_tasks_by_patient ON care_tasks (patient_id);
-- The worklist: open and assigned tasks by due date, optionally by discipline or assignee.
CREATE INDEX care_tasks_worklist ON care_tasks (due_on, id) WHERE state IN ('open', 'assigned');
CREATE INDEX care_tasks_worklist_discipline ON care_tasks (discipline, due_on, id) WHERE state IN ('open', 'assigned');
CREATE INDEX care_tasks_worklist_assignee ON care_tasks (assignee, due_on, id) WHERE state IN ('open', 'assigned');

-- A follow-up visit that took place, recorded against its schedule item. The
-- schedule items themselves are recomputed from the procedures and the
-- templates (limbpath-pathway::schedule), not stored.
CREATE TABLE follow_up_visits (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_at_ms BIGINT  NOT NULL,
    episode_id    TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    procedure_id  TEXT COLLATE "C" NOT NULL REFERENCES procedures (id) ON DELETE RESTRICT,
    template_id   TEXT COLLATE "C" NOT NULL,
    item_id       TEXT COLLATE "C" NOT NULL,
    occurrence    BIGINT  NOT NULL CHECK (occurrence >= 1),
    completed_on  TEXT    NOT NULL,
    recorded_by   TEXT    NOT NULL
);

CREATE INDEX follow_up_visits_by_episode ON follow_up_visits (episode_id);

-- Referring clinicians outside the programme. Only the SHA-256 of their token is kept.
CREATE TABLE referrers (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    name          TEXT    NOT NULL,
    organisation  TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    active        BOOLEAN NOT NULL
);

-- A second-opinion referral: what the referrer submitted (JSON), the triage
-- LimbPath computed at submission, and the review's decision (JSON) once made.
CREATE TABLE referrals (
    id                   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version              BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms        BIGINT  NOT NULL,
    updated_at_ms        BIGINT  NOT NULL,
    referrer_id          TEXT COLLATE "C" NOT NULL REFERENCES referrers (id) ON DELETE RESTRICT,
    submission           TEXT    NOT NULL,
    urgency              TEXT    NOT NULL CHECK (urgency IN ('emergency', 'urgent', 'routine')),
    respond_within_hours BIGINT  NOT NULL,
    respond_by_ms        BIGINT  NOT NULL,
    triage_rationale     TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('awaiting_review', 'decided')),
    decision             TEXT
);

CREATE INDEX referrals_queue ON referrals (status, respond_by_ms, id);
CREATE INDEX referrals_by_referrer ON referrals (referrer_id, created_at_ms, id);
