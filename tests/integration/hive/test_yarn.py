"""Hive queries run as YARN applications by default (one application per query, its
stages the DAG's vertices, as Hive on Tez), in the session's queue."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayemr.core.errors import RayEmrError
from rayemr.hive.session import HiveSession


@pytest.fixture
def yarn_hive(ray_local, tmp_path):
    from rayemr import yarn

    yarn.start({"yarn.resourcemanager.webapp.address": "127.0.0.1:0"})
    (tmp_path / "t").mkdir()
    for i in range(2):
        pq.write_table(pa.table({"k": [f"k{j % 3}" for j in range(20)],
                                 "v": list(range(i * 20, i * 20 + 20))}),
                       tmp_path / "t" / f"part-{i}.parquet")
    s = HiveSession(metastore_path=str(tmp_path / "ms.db"), warehouse=str(tmp_path / "wh"),
                    runner="ray", hiveconf={"rayemr.hive.smalljob.maxbytes": "0"})
    s.execute(f"CREATE EXTERNAL TABLE t (k string, v int) STORED AS PARQUET "
              f"LOCATION '{tmp_path}/t'")
    yield s, yarn.YarnClient()
    s.close()


def _apps_named(client, name):
    return [a for a in client.list() if a.name == name]


def test_query_is_one_yarn_application_in_the_session_queue(yarn_hive):
    s, client = yarn_hive
    sql = "SELECT k, count(*), sum(v) FROM t GROUP BY k ORDER BY k"
    r = s.execute(sql)
    data = [(f"k{j % 3}", i * 20 + j) for i in range(2) for j in range(20)]
    want = [(k, sum(1 for kk, _ in data if kk == k), sum(v for kk, v in data if kk == k))
            for k in ("k0", "k1", "k2")]
    assert [(k, n, int(total)) for k, n, total in
            (tuple(x.values()) for x in r.table.to_pylist())] == want
    apps = _apps_named(client, sql)
    assert len(apps) == 1 and apps[0].queue.split(".")[-1] == "default"
    assert str(getattr(apps[0].final_status, "value", apps[0].final_status)).endswith(
        "SUCCEEDED")
    # several stages (scan + partial aggregate, merge, result), one application
    assert s.last_counters["Job Counters"]["Launched map tasks"] == 2


@pytest.mark.parametrize("key", ["mapreduce.job.queuename", "tez.queue.name"])
def test_queue_settings_reach_the_application(yarn_hive, key):
    s, _ = yarn_hive
    s.execute(f"SET {key}=no_such_queue")
    with pytest.raises(RayEmrError, match="no_such_queue"):
        s.execute("SELECT count(*) FROM t")


def test_tez_queue_name_wins_over_mapreduce_queue(yarn_hive):
    s, client = yarn_hive
    s.execute("SET mapreduce.job.queuename=no_such_queue")
    s.execute("SET tez.queue.name=default")
    sql = "SELECT max(v) FROM t"
    assert [tuple(x.values()) for x in s.execute(sql).table.to_pylist()] == [(39,)]
    assert [a.queue.split(".")[-1] for a in _apps_named(client, sql)][-1:] == ["default"]


def test_insert_writes_from_containers(yarn_hive, tmp_path):
    s, _ = yarn_hive
    s.execute("CREATE TABLE out (k string, v int) STORED AS PARQUET")
    r = s.execute("INSERT OVERWRITE TABLE out SELECT k, v * 2 FROM t WHERE v % 2 = 0")
    assert r.rows_affected == 20
    assert [tuple(x.values()) for x in s.execute(
        "SELECT count(*), sum(v) FROM out").table.to_pylist()] == [(20, 2 * sum(range(0, 40, 2)))]
