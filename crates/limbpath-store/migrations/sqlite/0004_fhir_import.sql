-- FHIR import (issue 8), SQLite. Kept column-for-column equal to
-- migrations/postgres/0004_fhir_import.sql.
--
-- Every imported resource is kept by its import key (source system + the
-- sender's id, identifier, fullUrl or content hash): the primary key makes a
-- re-import of the same data a no-op (INSERT … ON CONFLICT DO NOTHING).

-- A patient as another system sent it. `patient_id` is the LimbPath patient it
-- became or matched (same site and MRN), NULL while the sender did not state
-- every fact a LimbPath patient needs (`missing` lists them): nothing is guessed.
CREATE TABLE fhir_patients (
    id             TEXT    NOT NULL PRIMARY KEY,
    import_key     TEXT    NOT NULL UNIQUE,
    source         TEXT    NOT NULL,
    patient_id     TEXT    REFERENCES patients (id) ON DELETE RESTRICT,
    facts          TEXT    NOT NULL,
    missing        TEXT    NOT NULL,
    imported_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX fhir_patients_by_patient ON fhir_patients (patient_id) WHERE patient_id IS NOT NULL;

-- Every imported resource, raw. `kind`: patient | condition | measurement |
-- unmapped | limbpath (rebuilt into the record; JSON not kept twice) | shared
-- (belongs to no patient). `mapped_as`: what LimbPath read it as
-- (diabetes_type_2, hba1c, …). `code`: the first coding, `system|code`.
CREATE TABLE fhir_resources (
    import_key      TEXT    NOT NULL PRIMARY KEY,
    fhir_patient_id TEXT    REFERENCES fhir_patients (id) ON DELETE RESTRICT,
    resource_type   TEXT    NOT NULL,
    resource_id     TEXT,
    kind            TEXT    NOT NULL,
    mapped_as       TEXT,
    code            TEXT,
    effective       TEXT,
    location        TEXT    NOT NULL,
    json            TEXT,
    imported_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX fhir_resources_by_patient ON fhir_resources (fhir_patient_id, resource_type, import_key);
