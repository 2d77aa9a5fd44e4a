"""Session settings over the wire: harmless keys are accepted and kept by default (Hive as
EMR ships it), denied ones refused however they arrive; the strict allowlist on request."""
from __future__ import annotations

import pytest
from pyhive import exc as pyhive_exc


def _shown(cur, key: str) -> list:
    cur.execute(f"SET {key}")
    return cur.fetchall()


def test_open_session_configuration_is_accepted_and_kept(hs2):
    with hs2.connect(configuration={"mapred.job.tracker": "local",
                                    "set:hiveconf:my.team.tag": "etl-7"}) as conn:
        cur = conn.cursor()
        assert _shown(cur, "mapred.job.tracker") == [("mapred.job.tracker=local",)]
        assert _shown(cur, "my.team.tag") == [("my.team.tag=etl-7",)]
        cur.execute("SET mapreduce.map.java.opts=-Xmx2g")
        assert _shown(cur, "mapreduce.map.java.opts") == [("mapreduce.map.java.opts=-Xmx2g",)]
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]


@pytest.mark.parametrize("key", ["hive.metastore.warehouse.dir", "fs.s3a.endpoint",
                                 "hive.exec.pre.hooks", "hive.exec.scratchdir",
                                 "rayemr.hiveserver2.settings.model"])
def test_denied_keys_are_refused_at_open_session_and_in_set(hs2, key):
    with pytest.raises(pyhive_exc.OperationalError, match=f"Cannot modify {key}"):
        hs2.connect(configuration={key: "/tmp/x"})
    with hs2.connect() as conn:
        cur = conn.cursor()
        with pytest.raises(pyhive_exc.OperationalError) as info:
            cur.execute(f"SET {key}=/tmp/x")
        assert info.value.args[0].status.sqlState == "42501"
        assert "/tmp/x" not in repr(_shown(cur, key))


def test_the_allowlist_model_is_an_option(start_hs2):
    strict = start_hs2(settings_model="allowlist")
    with pytest.raises(pyhive_exc.OperationalError, match="Cannot modify mapred.job.tracker"):
        strict.connect(configuration={"mapred.job.tracker": "local"})
    with strict.connect(configuration={"hive.exec.dynamic.partition.mode": "nonstrict"}):
        pass
