-- LimbPath record store: the analysis cohort reads assessments from an index alone (issue 7).
--
-- Kept equal on both engines. The cohort read (src/cohort.rs) takes each episode's assessment
-- dates and WIfI stages by episode id range. `wifi_stage` is the table's last column, stored after
-- the engine's full result (several KB of explanations, which overflow onto further pages), so
-- reading it through `assessments_by_episode (episode_id, assessed_on, id)` walked each row's
-- overflow pages. The same index with `wifi_stage` appended keeps the order every other reader
-- uses and answers the cohort read without touching the table.
--
-- On a large programme this rebuilds one index over every assessment (minutes at a million
-- patients; measured in BENCHMARKS.md), once, when the server first starts on this version.

DROP INDEX assessments_by_episode;
CREATE INDEX assessments_by_episode ON assessments (episode_id, assessed_on, id, wifi_stage);
