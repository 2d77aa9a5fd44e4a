-- The quick start's Hive step (docs/emr.md): lines and words of a folder of text files.
--   rayemr hive -f rayemr/emr/examples/report.q -d TEXT=$PWD/rayemr/data/mapreduce/text -d DAY=2024-01-01
CREATE EXTERNAL TABLE IF NOT EXISTS quickstart_text (line STRING) LOCATION '${TEXT}';
SELECT '${DAY}' AS day, count(*) AS lines, sum(size(split(trim(line), ' +'))) AS words
FROM quickstart_text WHERE trim(line) <> '';
