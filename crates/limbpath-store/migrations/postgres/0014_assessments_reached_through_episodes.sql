-- LimbPath record store: assessments are found by patient through episodes (issue 3).
--
-- Kept equal on both engines. `assessments_by_patient (patient_id, assessed_on, id)` served two
-- reads: a patient's whole record, and the latest WIfI stage of the search columns. Both now go
-- through the patient's episodes and `assessments_by_episode (episode_id, assessed_on, id,
-- wifi_stage)` (src/entity.rs `ByPatient::ThroughEpisodes`, src/facets.rs `latest_stage!`); a
-- patient has a handful of episodes. The index was one more B-tree leaf, at a key spread over the
-- whole file, written on every assessment (BENCHMARKS.md, "One index less per assessment").
-- `assessments.patient_id` stays: the owner of an assessment is read from its row.

DROP INDEX assessments_by_patient;
