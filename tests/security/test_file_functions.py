"""No query reads a file by itself: DuckDB's file and table functions are not HiveQL."""
from __future__ import annotations

import pytest

from tests.security.conftest import fill_paths

READS = [
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT content FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_csv_auto('{secret}')",
    "SELECT * FROM read_blob('{secret}')",
    "SELECT * FROM read_json('{secret_json}')",
    "SELECT * FROM read_json_auto('{secret_json}')",
    "SELECT * FROM read_ndjson('{secret_json}')",
    "SELECT * FROM read_parquet('{secret_parquet}')",
    "SELECT * FROM parquet_scan('{secret_parquet}')",
    "SELECT * FROM parquet_metadata('{secret_parquet}')",
    "SELECT * FROM sniff_csv('{secret}')",
    "SELECT * FROM glob('{outside}/*')",
    "SELECT * FROM query('SELECT * FROM read_text(''{secret}'')')",
    "SELECT * FROM query_table('t')",
    "SELECT read_csv('{secret}')",
    "SELECT a, (SELECT max(content) FROM read_text('{secret}')) FROM t",
    "SELECT a FROM t WHERE a IN (SELECT content FROM read_text('{secret}'))",
    "WITH s AS (SELECT * FROM read_text('{secret}')) SELECT * FROM s",
    "SELECT * FROM t JOIN read_text('{secret}') r ON true",
    "SELECT * FROM t LATERAL VIEW explode(split((SELECT max(content) FROM "
    "read_text('{secret}')), ',')) x AS y",
    "SELECT * FROM `{secret}`",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM '{secret_parquet}'",
    "SELECT * FROM `{secret_parquet}`",
    "SELECT getenv('AWS_SECRET_ACCESS_KEY')",
    "SELECT current_setting('temp_directory')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM pragma_version()",
    "CREATE TABLE stolen1 AS SELECT * FROM read_text('{secret}')",
    "CREATE TABLE stolen2 AS SELECT * FROM read_csv('{secret}')",
    "CREATE TABLE stolen3 AS SELECT * FROM read_parquet('{secret_parquet}')",
    "INSERT OVERWRITE TABLE t SELECT content FROM read_text('{secret}')",
    "CREATE VIEW v_stolen AS SELECT * FROM read_text('{secret}')",
    "EXPLAIN SELECT * FROM read_text('{secret}')",
]


@pytest.mark.parametrize("sql", READS)
def test_file_and_table_functions_are_refused(target, attempt, canary, sql):
    with target.connect() as conn:
        cur = conn.cursor()
        out = attempt(cur, fill_paths(sql, target.outside))
        assert out.refused, out
        assert canary not in out.text()
        assert "AWS_SECRET_ACCESS_KEY=" not in out.text()
        for name in ("stolen1", "stolen2", "stolen3", "v_stolen"):  # nothing was created
            cur.execute(f"SHOW TABLES LIKE '{name}'")
            assert cur.fetchall() == []
        cur.execute("SELECT * FROM t")
        assert canary not in repr(cur.fetchall())


def test_hive_functions_still_work(target):
    with target.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT upper(a), concat_ws('-', a, a), size(split('a,b', ',')), "
                    "nvl(NULL, 1), cast('3' AS int) + 1 FROM t")
        assert cur.fetchall() == [("X", "x-x", 2, 1, 4)]
