"""Hive queries run as YARN applications in the session's queue: one application per stage
by default (``hive.execution.engine=mr``, Hive on MapReduce), or one per query whose stages are
the DAG's vertices (``hive.execution.engine=tez``)."""
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
    # hive.execution.engine=mr (the default): every stage is an application of its own
    stages = [line.split()[1] for line in s.execute(f"EXPLAIN {sql}").table.column(0).to_pylist()
              if line.strip().startswith("Stage: ")]
    assert len(stages) >= 2
    apps = [a for a in client.list() if a.name.startswith(sql + " (Stage-")]
    assert sorted(a.name for a in apps) == sorted(f"{sql} ({st})" for st in stages)
    assert all(a.queue.split(".")[-1] == "default" and a.final_status.value == "SUCCEEDED"
               and a.unmanaged_am for a in apps)
    assert s.last_counters["Job Counters"]["Launched map tasks"] == 2

    # hive.execution.engine=tez: the same stages as vertices of one application
    s.execute("SET hive.execution.engine=tez")
    assert s.execute(sql).table.to_pylist() == r.table.to_pylist()
    apps = _apps_named(client, sql)
    assert len(apps) == 1 and apps[0].queue.split(".")[-1] == "default"
    assert apps[0].final_status.value == "SUCCEEDED" and not apps[0].unmanaged_am
    s.execute("SET hive.execution.engine=spark")
    with pytest.raises(RayEmrError, match="hive.execution.engine='spark' is not supported"):
        s.execute(sql)


@pytest.mark.parametrize("engine,key", [("mr", "mapreduce.job.queuename"),
                                        ("tez", "mapreduce.job.queuename"),
                                        ("tez", "tez.queue.name")])
def test_queue_settings_reach_the_application(yarn_hive, engine, key):
    s, _ = yarn_hive
    s.execute(f"SET hive.execution.engine={engine}")
    s.execute(f"SET {key}=no_such_queue")
    with pytest.raises(RayEmrError, match="no_such_queue"):
        s.execute("SELECT count(*) FROM t")


def test_tez_queue_name_wins_over_mapreduce_queue_on_tez(yarn_hive):
    s, client = yarn_hive
    s.execute("SET hive.execution.engine=tez")
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
