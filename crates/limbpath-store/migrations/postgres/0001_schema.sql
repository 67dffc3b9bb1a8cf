-- LimbPath record store, PostgreSQL schema (version 1).
--
-- Kept column-for-column equal to migrations/sqlite/0001_schema.sql: the
-- store's SQL text is shared by both engines, only the DDL differs.
-- Conventions: ids TEXT COLLATE "C" (UUID, hyphenated lower case), versions and
-- instants BIGINT (ms since the Unix epoch, UTC), clinical dates TEXT
-- 'YYYY-MM-DD', measurements DOUBLE PRECISION, BOOLEAN, JSON documents TEXT.
-- Ids and search keys use COLLATE "C" (byte order), which is SQLite's BINARY
-- order: keyset pagination visits rows in the same order on both engines,
-- whatever the database's default collation.
-- Nothing is ever deleted through the store: foreign keys are ON DELETE RESTRICT.

CREATE TABLE patients (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version           BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms     BIGINT  NOT NULL,
    updated_at_ms     BIGINT  NOT NULL,
    mrn               TEXT    NOT NULL,
    site              TEXT    NOT NULL,
    family_name       TEXT    NOT NULL,
    given_name        TEXT    NOT NULL,
    -- Search keys: trimmed, lower-cased names, compared byte-wise (COLLATE "C" here,
    -- BINARY on SQLite) so both engines order patients identically.
    family_key        TEXT COLLATE "C" NOT NULL,
    given_key         TEXT COLLATE "C" NOT NULL,
    birth_date        TEXT    NOT NULL,
    sex               TEXT    NOT NULL,
    diabetes          TEXT    NOT NULL,
    hba1c_percent     DOUBLE PRECISION,
    ckd_stage         BIGINT,
    dialysis          BOOLEAN NOT NULL,
    smoking           TEXT    NOT NULL,
    bmi               DOUBLE PRECISION,
    ambulatory_status TEXT    NOT NULL,
    -- Denormalised from the patient's episodes and assessments, recomputed in
    -- the transaction of every episode and assessment write (crate docs).
    latest_wifi_stage BIGINT,
    status_referred   BOOLEAN NOT NULL DEFAULT FALSE,
    status_evaluation BOOLEAN NOT NULL DEFAULT FALSE,
    status_treatment  BOOLEAN NOT NULL DEFAULT FALSE,
    status_follow_up  BOOLEAN NOT NULL DEFAULT FALSE,
    status_closed     BOOLEAN NOT NULL DEFAULT FALSE,
    -- What the patient's rows in patient_search were built from; they are
    -- rebuilt when it changes.
    search_key        TEXT,
    UNIQUE (site, mrn)
);

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
    facet      TEXT COLLATE "C" NOT NULL,
    family_key TEXT COLLATE "C" NOT NULL,
    given_key  TEXT COLLATE "C" NOT NULL,
    patient_id TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    PRIMARY KEY (facet, family_key, given_key, patient_id)
);

CREATE TABLE limbs (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version          BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms    BIGINT  NOT NULL,
    updated_at_ms    BIGINT  NOT NULL,
    patient_id       TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    side             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT
);

CREATE INDEX limbs_by_patient ON limbs (patient_id, id);

CREATE TABLE episodes (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    limb_id       TEXT COLLATE "C" NOT NULL REFERENCES limbs (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    aetiology     TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    opened_on     TEXT    NOT NULL,
    closed_on     TEXT,
    summary       TEXT    NOT NULL
);

CREATE INDEX episodes_by_limb ON episodes (limb_id, opened_on, id);
CREATE INDEX episodes_by_patient_status ON episodes (patient_id, status);

CREATE TABLE assessments (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version        BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms  BIGINT  NOT NULL,
    updated_at_ms  BIGINT  NOT NULL,
    episode_id     TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id     TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    assessed_on    TEXT    NOT NULL,
    findings       TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    result         TEXT    NOT NULL,
    wifi_stage     BIGINT 
);

CREATE INDEX assessments_by_episode ON assessments (episode_id, assessed_on, id);
CREATE INDEX assessments_by_patient ON assessments (patient_id, assessed_on, id);
CREATE INDEX assessments_by_wifi_stage ON assessments (wifi_stage);

CREATE TABLE wounds (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    episode_id    TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    location      TEXT    NOT NULL,
    noted_on      TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    healed_on     TEXT
);

CREATE INDEX wounds_by_episode ON wounds (episode_id, noted_on, id);
CREATE INDEX wounds_by_patient ON wounds (patient_id);

CREATE TABLE wound_measurements (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    wound_id      TEXT COLLATE "C" NOT NULL REFERENCES wounds (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    measured_on   TEXT    NOT NULL,
    length_cm     DOUBLE PRECISION NOT NULL,
    width_cm      DOUBLE PRECISION NOT NULL,
    depth_cm      DOUBLE PRECISION,
    area_cm2      DOUBLE PRECISION
);

CREATE INDEX wound_measurements_by_wound ON wound_measurements (wound_id, measured_on, id);
CREATE INDEX wound_measurements_by_patient ON wound_measurements (patient_id);

CREATE TABLE vascular_studies (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    episode_id    TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on  TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    pressures     TEXT,
    tcpo2_mmhg    DOUBLE PRECISION,
    findings      TEXT    NOT NULL
);

CREATE INDEX vascular_studies_by_episode ON vascular_studies (episode_id, performed_on, id);
CREATE INDEX vascular_studies_by_patient ON vascular_studies (patient_id);

CREATE TABLE imaging_studies (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version           BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms     BIGINT  NOT NULL,
    updated_at_ms     BIGINT  NOT NULL,
    episode_id        TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id        TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on      TEXT    NOT NULL,
    modality          TEXT    NOT NULL,
    findings          TEXT    NOT NULL,
    arterial_segments TEXT,
    dexa_t_score      DOUBLE PRECISION
);

CREATE INDEX imaging_studies_by_episode ON imaging_studies (episode_id, performed_on, id);
CREATE INDEX imaging_studies_by_patient ON imaging_studies (patient_id);

CREATE TABLE procedures (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version          BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms    BIGINT  NOT NULL,
    updated_at_ms    BIGINT  NOT NULL,
    episode_id       TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id       TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    performed_on     TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT,
    target_arteries  TEXT    NOT NULL,
    angiosome_route  TEXT,
    complications    TEXT    NOT NULL,
    notes            TEXT    NOT NULL
);

CREATE INDEX procedures_by_episode ON procedures (episode_id, performed_on, id);
CREATE INDEX procedures_by_patient ON procedures (patient_id);

CREATE TABLE outcome_events (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version          BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms    BIGINT  NOT NULL,
    updated_at_ms    BIGINT  NOT NULL,
    episode_id       TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id       TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    occurred_on      TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amputation_level TEXT,
    notes            TEXT    NOT NULL
);

CREATE INDEX outcome_events_by_episode ON outcome_events (episode_id, occurred_on, id);
CREATE INDEX outcome_events_by_patient ON outcome_events (patient_id);

CREATE TABLE consents (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    episode_id    TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    consented_to  TEXT    NOT NULL,
    consented_on  TEXT    NOT NULL,
    given_to      TEXT    NOT NULL,
    withdrawn_on  TEXT
);

CREATE INDEX consents_by_episode ON consents (episode_id, consented_on, id);
CREATE INDEX consents_by_patient ON consents (patient_id);

CREATE TABLE users (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    username      TEXT    NOT NULL,
    -- lower-cased username: logins are case-insensitive and unique as such
    username_key  TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    patient_id    TEXT COLLATE "C" REFERENCES patients (id) ON DELETE RESTRICT,
    -- Argon2id PHC string; the password itself is never stored
    password_hash TEXT    NOT NULL
);

CREATE INDEX users_by_patient ON users (patient_id);

CREATE TABLE care_team_members (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_ms BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    episode_id    TEXT COLLATE "C" NOT NULL REFERENCES episodes (id) ON DELETE RESTRICT,
    patient_id    TEXT COLLATE "C" NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    user_id       TEXT COLLATE "C" REFERENCES users (id) ON DELETE RESTRICT,
    name          TEXT    NOT NULL,
    discipline    TEXT    NOT NULL,
    lead          BOOLEAN NOT NULL
);

CREATE INDEX care_team_members_by_episode ON care_team_members (episode_id, id);
CREATE INDEX care_team_members_by_patient ON care_team_members (patient_id);
CREATE INDEX care_team_members_by_user ON care_team_members (user_id);

-- Failed logins, for the lockout (5 failures within 15 minutes lock the
-- username for 15 minutes). Kept in the database so that every server process
-- sees the same count.
CREATE TABLE login_failures (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username_key TEXT COLLATE "C" NOT NULL,
    at_ms        BIGINT  NOT NULL,
    remote_addr  TEXT
);

CREATE INDEX login_failures_by_username ON login_failures (username_key, at_ms);

-- Cookie sessions and API (bearer) tokens. Only the SHA-256 of a token is stored.
CREATE TABLE sessions (
    token_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    kind          TEXT    NOT NULL CHECK (kind IN ('session', 'api_token')),
    name          TEXT    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- The audit trail: append-only. No foreign keys, so that denied attempts on
-- records that do not exist are recorded too.
CREATE TABLE audit (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms       BIGINT  NOT NULL,
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
);

CREATE INDEX audit_by_patient ON audit (patient_id, at_ms, id);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
