-- LimbPath record store, SQLite: the patient between visits (issue 6).
--
-- Kept column-for-column equal to migrations/postgres/0003_patient_between_visits.sql.
-- Check-ins keep the answers and the triage decision as JSON with the rule set
-- version that decided; alerts are grouped per (patient, kind) while open;
-- plans keep their input (and the programme settings they were made with) as
-- JSON and are recomputed by limbpath-protocols on read, so a plan shown is
-- always the rule layer's own output.

CREATE TABLE check_ins (
    id               TEXT    NOT NULL PRIMARY KEY,
    patient_id       TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    at_ms            INTEGER NOT NULL,
    submitted_by     TEXT    NOT NULL,
    answers          TEXT    NOT NULL,
    decision         TEXT    NOT NULL,
    level            TEXT    NOT NULL,
    rule_set_version TEXT    NOT NULL
) STRICT;

CREATE INDEX check_ins_by_patient ON check_ins (patient_id, at_ms, id);

-- One open alert per (patient, kind): a repeat joins it (count, last seen).
-- kind_key is the alert kind's canonical JSON ({"kind":"check_in_rule","rule_id":...}).
CREATE TABLE alerts (
    id                   TEXT    NOT NULL PRIMARY KEY,
    patient_id           TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    kind_key             TEXT    NOT NULL,
    level                TEXT    NOT NULL,
    -- 2 contact the team immediately, 1 contact the team today (sort key)
    level_rank           INTEGER NOT NULL CHECK (level_rank IN (1, 2)),
    count                INTEGER NOT NULL CHECK (count >= 1),
    first_seen_ms        INTEGER NOT NULL,
    last_seen_ms         INTEGER NOT NULL,
    latest_summary       TEXT    NOT NULL,
    acknowledged_at_ms   INTEGER,
    acknowledged_by      TEXT,
    repeats_since_ack    INTEGER NOT NULL DEFAULT 0,
    closed_at_ms         INTEGER
) STRICT;

CREATE UNIQUE INDEX alerts_open_by_key ON alerts (patient_id, kind_key) WHERE closed_at_ms IS NULL;
CREATE INDEX alerts_open_worklist ON alerts (level_rank, first_seen_ms, id) WHERE closed_at_ms IS NULL;

-- Programme settings as JSON documents by key (escalation_policy, triage, ...).
CREATE TABLE programme_settings (
    key           TEXT    NOT NULL PRIMARY KEY,
    value         TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    updated_by    TEXT
) STRICT;

-- The programme's written instructions for patients, per protocol.
CREATE TABLE programme_instructions (
    protocol      TEXT    NOT NULL PRIMARY KEY,
    text          TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    updated_by    TEXT
) STRICT;

CREATE TABLE protocol_plans (
    id            TEXT    NOT NULL PRIMARY KEY,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    protocol      TEXT    NOT NULL CHECK (protocol IN ('oi_rehab', 'lengthening')),
    created_at_ms INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    input         TEXT    NOT NULL,
    settings      TEXT    NOT NULL
) STRICT;

CREATE INDEX protocol_plans_by_patient ON protocol_plans (patient_id, protocol, created_at_ms, id);

CREATE TABLE oi_load_log (
    id           TEXT    NOT NULL PRIMARY KEY,
    plan_id      TEXT    NOT NULL REFERENCES protocol_plans (id) ON DELETE RESTRICT,
    patient_id   TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    logged_on    TEXT    NOT NULL,
    load_kg      REAL    NOT NULL,
    pain_nrs     INTEGER,
    logged_at_ms INTEGER NOT NULL,
    logged_by    TEXT    NOT NULL
) STRICT;

CREATE INDEX oi_load_log_by_plan ON oi_load_log (plan_id, logged_on, id);

CREATE TABLE distraction_log (
    id           TEXT    NOT NULL PRIMARY KEY,
    plan_id      TEXT    NOT NULL REFERENCES protocol_plans (id) ON DELETE RESTRICT,
    patient_id   TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    logged_on    TEXT    NOT NULL,
    turns        INTEGER NOT NULL CHECK (turns >= 0),
    logged_at_ms INTEGER NOT NULL,
    logged_by    TEXT    NOT NULL
) STRICT;

CREATE INDEX distraction_log_by_plan ON distraction_log (plan_id, logged_on, id);
