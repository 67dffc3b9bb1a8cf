-- LimbPath record store, SQLite schema (version 1).
--
-- Kept column-for-column equal to migrations/postgres/0001_schema.sql: the
-- store's SQL text is shared by both engines, only the DDL differs.
-- Conventions: ids TEXT (UUID, hyphenated lower case), versions and instants
-- INTEGER (ms since the Unix epoch, UTC), clinical dates TEXT 'YYYY-MM-DD',
-- measurements REAL, booleans INTEGER 0/1, JSON documents TEXT.
-- STRICT tables: SQLite rejects a value of the wrong type instead of storing it.
-- Nothing is ever deleted through the store: foreign keys are ON DELETE RESTRICT.

CREATE TABLE patients (
    id                TEXT    NOT NULL PRIMARY KEY,
    version           INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    mrn               TEXT    NOT NULL,
    site              TEXT    NOT NULL,
    family_name       TEXT    NOT NULL,
    given_name        TEXT    NOT NULL,
    -- Search keys: trimmed, lower-cased names, compared byte-wise (BINARY here,
    -- COLLATE "C" on PostgreSQL) so both engines order patients identically.
    family_key        TEXT    NOT NULL,
    given_key         TEXT    NOT NULL,
    birth_date        TEXT    NOT NULL,
    sex               TEXT    NOT NULL,
    diabetes          TEXT    NOT NULL,
    hba1c_percent     REAL,
    ckd_stage         INTEGER,
    dialysis          INTEGER NOT NULL CHECK (dialysis IN (0, 1)),
    smoking           TEXT    NOT NULL,
    bmi               REAL,
    ambulatory_status TEXT    NOT NULL,
    -- Denormalised from the patient's episodes and assessments, recomputed in
    -- the transaction of every episode and assessment write (crate docs).
    latest_wifi_stage INTEGER,
    status_referred   INTEGER NOT NULL DEFAULT 0 CHECK (status_referred IN (0, 1)),
    status_evaluation INTEGER NOT NULL DEFAULT 0 CHECK (status_evaluation IN (0, 1)),
    status_treatment  INTEGER NOT NULL DEFAULT 0 CHECK (status_treatment IN (0, 1)),
    status_follow_up  INTEGER NOT NULL DEFAULT 0 CHECK (status_follow_up IN (0, 1)),
    status_closed     INTEGER NOT NULL DEFAULT 0 CHECK (status_closed IN (0, 1)),
    -- What the patient's rows in patient_search were built from; they are
    -- rebuilt when it changes.
    search_key        TEXT,
    UNIQUE (site, mrn)
) STRICT;

CREATE INDEX patients_by_name ON patients (family_key, given_key, id);
CREATE INDEX patients_by_mrn ON patients (mrn);

-- The search index: one row per combination of the patient's search facets
-- (site, each episode status, latest WIfI stage; an empty component means
-- "any"), e.g. 'North\x1ftreatment\x1f' for site North and status treatment.
-- Every combination of filters is then one range scan of the primary key, in
-- page order: (facet = ?, optional name range, keyset) ORDER BY name, id.
-- No index on patient_id: a patient's rows are found from patients.search_key,
-- which holds what they were built from, by primary key.
CREATE TABLE patient_search (
    facet      TEXT    NOT NULL,
    family_key TEXT    NOT NULL,
    given_key  TEXT    NOT NULL,
    patient_id TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    PRIMARY KEY (facet, family_key, given_key, patient_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE limbs (
    id               TEXT    NOT NULL PRIMARY KEY,
    version          INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    patient_id       TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    side             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT
) STRICT;

CREATE INDEX limbs_by_patient ON limbs (patient_id, id);

CREATE TABLE episodes (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    limb_id       TEXT    NOT NULL REFERENCES limbs (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    aetiology     TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    opened_on     TEXT    NOT NULL,
    closed_on     TEXT,
    summary       TEXT    NOT NULL
) STRICT;

CREATE INDEX episodes_by_limb ON episodes (limb_id, opened_on, id);
CREATE INDEX episodes_by_patient_status ON episodes (patient_id, status);

CREATE TABLE assessments (
    id             TEXT    NOT NULL PRIMARY KEY,
    version        INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    episode_id     TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id     TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    assessed_on    TEXT    NOT NULL,
    findings       TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    result         TEXT    NOT NULL,
    wifi_stage     INTEGER
) STRICT;

CREATE INDEX assessments_by_episode ON assessments (episode_id, assessed_on, id);
CREATE INDEX assessments_by_patient ON assessments (patient_id, assessed_on, id);
CREATE INDEX assessments_by_wifi_stage ON assessments (wifi_stage);

CREATE TABLE wounds (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    episode_id    TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    location      TEXT    NOT NULL,
    noted_on      TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    healed_on     TEXT
) STRICT;

CREATE INDEX wounds_by_episode ON wounds (episode_id, noted_on, id);
CREATE INDEX wounds_by_patient ON wounds (patient_id);

CREATE TABLE wound_measurements (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    wound_id      TEXT    NOT NULL REFERENCES wounds (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    measured_on   TEXT    NOT NULL,
    length_cm     REAL    NOT NULL,
    width_cm      REAL    NOT NULL,
    depth_cm      REAL,
    area_cm2      REAL
) STRICT;

CREATE INDEX wound_measurements_by_wound ON wound_measurements (wound_id, measured_on, id);
CREATE INDEX wound_measurements_by_patient ON wound_measurements (patient_id);

CREATE TABLE vascular_studies (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    episode_id    TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on  TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    pressures     TEXT,
    tcpo2_mmhg    REAL,
    findings      TEXT    NOT NULL
) STRICT;

CREATE INDEX vascular_studies_by_episode ON vascular_studies (episode_id, performed_on, id);
CREATE INDEX vascular_studies_by_patient ON vascular_studies (patient_id);

CREATE TABLE imaging_studies (
    id                TEXT    NOT NULL PRIMARY KEY,
    version           INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    episode_id        TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id        TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on      TEXT    NOT NULL,
    modality          TEXT    NOT NULL,
    findings          TEXT    NOT NULL,
    arterial_segments TEXT,
    dexa_t_score      REAL
) STRICT;

CREATE INDEX imaging_studies_by_episode ON imaging_studies (episode_id, performed_on, id);
CREATE INDEX imaging_studies_by_patient ON imaging_studies (patient_id);

CREATE TABLE procedures (
    id               TEXT    NOT NULL PRIMARY KEY,
    version          INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    episode_id       TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id       TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on     TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT,
    target_arteries  TEXT    NOT NULL,
    angiosome_route  TEXT,
    complications    TEXT    NOT NULL,
    notes            TEXT    NOT NULL
) STRICT;

CREATE INDEX procedures_by_episode ON procedures (episode_id, performed_on, id);
CREATE INDEX procedures_by_patient ON procedures (patient_id);

CREATE TABLE outcome_events (
    id               TEXT    NOT NULL PRIMARY KEY,
    version          INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms    INTEGER NOT NULL,
    updated_at_ms    INTEGER NOT NULL,
    episode_id       TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id       TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    occurred_on      TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT,
    notes            TEXT    NOT NULL
) STRICT;

CREATE INDEX outcome_events_by_episode ON outcome_events (episode_id, occurred_on, id);
CREATE INDEX outcome_events_by_patient ON outcome_events (patient_id);

CREATE TABLE consents (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    episode_id    TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    consented_to  TEXT    NOT NULL,
    consented_on  TEXT    NOT NULL,
    given_to      TEXT    NOT NULL,
    withdrawn_on  TEXT
) STRICT;

CREATE INDEX consents_by_episode ON consents (episode_id, consented_on, id);
CREATE INDEX consents_by_patient ON consents (patient_id);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    username      TEXT    NOT NULL,
    -- lower-cased username: logins are case-insensitive and unique as such
    username_key  TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    patient_id    TEXT    REFERENCES patients (id) ON DELETE RESTRICT,
    -- Argon2id PHC string; the password itself is never stored
    password_hash TEXT    NOT NULL
) STRICT;

CREATE INDEX users_by_patient ON users (patient_id);

CREATE TABLE care_team_members (
    id            TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    episode_id    TEXT    NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT    NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    user_id       TEXT    REFERENCES users (id) ON DELETE RESTRICT,
    name          TEXT    NOT NULL,
    discipline    TEXT    NOT NULL,
    lead          INTEGER NOT NULL CHECK (lead IN (0, 1))
) STRICT;

CREATE INDEX care_team_members_by_episode ON care_team_members (episode_id, id);
CREATE INDEX care_team_members_by_patient ON care_team_members (patient_id);
CREATE INDEX care_team_members_by_user ON care_team_members (user_id);

-- Failed logins, for the lockout (5 failures within 15 minutes lock the
-- username for 15 minutes). Kept in the database so that every server process
-- sees the same count.
CREATE TABLE login_failures (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    username_key TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL,
    remote_addr  TEXT
) STRICT;

CREATE INDEX login_failures_by_username ON login_failures (username_key, at_ms);

-- Cookie sessions and API (bearer) tokens. Only the SHA-256 of a token is stored.
CREATE TABLE sessions (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    kind          TEXT    NOT NULL CHECK (kind IN ('session', 'api_token')),
    name          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- The audit trail: append-only. No foreign keys, so that denied attempts on
-- records that do not exist are recorded too.
CREATE TABLE audit (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at_ms       INTEGER NOT NULL,
    user_id     TEXT,
    username    TEXT,
    role        TEXT,
    action      TEXT    NOT NULL,
    entity      TEXT,
    entity_id   TEXT,
    patient_id  TEXT,
    remote_addr TEXT,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_by_patient ON audit (patient_id, at_ms, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE is not allowed');
END;
