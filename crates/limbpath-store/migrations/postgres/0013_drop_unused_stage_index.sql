-- LimbPath record store: drop an index no query uses (issue 3).
--
-- Kept equal on both engines. `assessments_by_wifi_stage` was created with the schema for searching by
-- WIfI stage, but that search reads each patient's latest stage from `patients.latest_wifi_stage`
-- (the search rows, src/facets.rs), and the analysis cohort reads stages through
-- `assessments_by_episode` (migration 0010). The index was written on every assessment and read by
-- nothing: one B-tree insert and its WAL pages per assessment (BENCHMARKS.md, "WAL checkpoints
-- beside the writer").

DROP INDEX assessments_by_wifi_stage;
