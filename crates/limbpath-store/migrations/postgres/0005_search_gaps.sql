-- LimbPath record store, PostgreSQL: search gaps of issues 4 to 6.
-- Kept column-for-column equal to migrations/sqlite/0005_search_gaps.sql.

-- Aetiology becomes the fourth dimension of the search index. A facet naming
-- an aetiology is `site SEP status SEP stage SEP aetiology`; the rows written
-- before (three components) are exactly the "any aetiology" rows and stay.
-- Backfill, for every patient whose rows exist, one row per combination of
-- (any or their site) x (any or one of their statuses) x (any or their stage)
-- x one of their episodes' aetiologies; then extend each search key with the
-- aetiologies (comma-separated, in vocabulary order), which is what the store
-- compares to decide whether the rows need rebuilding.
INSERT INTO patient_search (facet, family_key, given_key, patient_id)
SELECT (CASE WHEN si.k = 0 THEN '' ELSE p.site END) || chr(31) || st.code || chr(31)
       || (CASE WHEN sg.k = 0 THEN '' ELSE CAST(p.latest_wifi_stage AS TEXT) END) || chr(31) || a.aetiology,
       p.family_key, p.given_key, p.id
FROM patients p
JOIN (SELECT DISTINCT patient_id, aetiology FROM episodes) a ON a.patient_id = p.id
CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) si
CROSS JOIN (SELECT '' AS code UNION ALL SELECT 'referred' UNION ALL SELECT 'evaluation' UNION ALL SELECT 'treatment' UNION ALL SELECT 'follow_up' UNION ALL SELECT 'closed') st
CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) sg
WHERE p.search_key IS NOT NULL
  AND (st.code = ''
       OR (st.code = 'referred' AND p.status_referred)
       OR (st.code = 'evaluation' AND p.status_evaluation)
       OR (st.code = 'treatment' AND p.status_treatment)
       OR (st.code = 'follow_up' AND p.status_follow_up)
       OR (st.code = 'closed' AND p.status_closed))
  AND (sg.k = 0 OR p.latest_wifi_stage IS NOT NULL);

UPDATE patients SET search_key = search_key || chr(31) || rtrim(
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'clti') THEN 'clti,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'diabetic_foot') THEN 'diabetic_foot,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'venous') THEN 'venous,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'trauma') THEN 'trauma,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'tumour') THEN 'tumour,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'infection') THEN 'infection,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'post_amputation_osseointegration') THEN 'post_amputation_osseointegration,' ELSE '' END ||
    CASE WHEN EXISTS (SELECT 1 FROM episodes e WHERE e.patient_id = patients.id AND e.aetiology = 'limb_length_discrepancy') THEN 'limb_length_discrepancy,' ELSE '' END,
    ',')
WHERE search_key IS NOT NULL;

-- The "overdue tasks" filter of the patient list: the patients with an open or
-- assigned task due before today are one range of this index (covering).
CREATE INDEX care_tasks_overdue ON care_tasks (due_on, patient_id) WHERE state IN ('open', 'assigned');

-- Closing an alert (issue 6): a clinician resolves an acknowledged alert with a
-- note; closed_at_ms (migration 0003) says when.
ALTER TABLE alerts ADD COLUMN closed_by TEXT;
ALTER TABLE alerts ADD COLUMN close_note TEXT;

-- Referrer tokens expire and can be revoked (issue 5). Referrers issued before
-- keep no expiry (NULL) until revoked.
ALTER TABLE referrers ADD COLUMN expires_at_ms BIGINT;
ALTER TABLE referrers ADD COLUMN revoked_at_ms BIGINT;
