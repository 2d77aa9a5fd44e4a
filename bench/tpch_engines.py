"""The engines ``bench/tpch.py`` runs the 22 TPC-H queries on, one class each, all alike:
``start()`` (views or tables over the same Parquet folders; timed as start-up), ``query(sql,
timeout)`` (rows as Python tuples, the way each engine's Python API hands them to a user),
``close()`` and ``info()`` (versions and settings for the report).

- rayemr: ``rayemr.hive.connect()`` on a local Ray instance; tables from ``CREATE EXTERNAL
  TABLE ... STORED AS PARQUET LOCATION``; rows as the connection's cursor returns them.
- DuckDB: views over ``read_parquet``; ``threads`` = the CPUs given.
- Polars: ``pl.SQLContext`` over ``scan_parquet`` (lazy), ``collect()``.
- PySpark: ``local[N]`` Spark SQL over ``spark.read.parquet`` temp views, ``collect()``.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rayemr.hive.testing import TPCH_TABLES, tpch_ddl


class QueryTimeout(Exception):
    pass


class _Timer:
    """Calls ``on_timeout`` after ``seconds`` unless the block finished first."""

    def __init__(self, seconds: float | None, on_timeout) -> None:
        self.fired = False
        self._timer = None
        if seconds:
            def fire() -> None:
                self.fired = True
                on_timeout()
            self._timer = threading.Timer(seconds, fire)
            self._timer.daemon = True

    def __enter__(self) -> "_Timer":
        if self._timer:
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer:
            self._timer.cancel()


class Rayemr:
    name = "rayemr"

    def __init__(self, data: Path, args: Any) -> None:
        self.data, self.args = data, args
        self.conn = None

    def start(self) -> None:
        import rayemr
        from rayemr.hive import connect

        if self.args.runner == "ray":
            mb = self.args.object_store_mb
            rayemr.init(num_cpus=self.args.cpus,
                        object_store_memory=mb * 2**20 if mb else None)
        tmp = tempfile.mkdtemp(prefix="rayemr-tpch-")
        conf = {"hive.execution.engine": self.args.engine}
        if self.args.yarn != "auto":
            conf["rayemr.hive.yarn"] = self.args.yarn
        for kv in self.args.hiveconf or ():
            k, _, v = kv.partition("=")
            conf[k] = v
        self.conn = connect(metastore_path=f"{tmp}/metastore.db", warehouse=f"{tmp}/warehouse",
                            runner=self.args.runner, configuration=conf)
        for stmt in tpch_ddl(self.data):
            self.conn.execute(stmt)

    def query(self, sql: str, timeout: float | None = None) -> list[tuple]:
        cancel = threading.Event()
        with _Timer(timeout, cancel.set) as timer:
            try:
                # what the connection's cursor does, with a cancel event for the timeout
                result = self.conn.session.execute(sql, cancel=cancel)
            except Exception:
                if timer.fired:
                    raise QueryTimeout(f"cancelled after {timeout:.0f} s") from None
                raise
        return [tuple(r.values()) for r in result.table.to_pylist()]

    def plan(self, sql: str) -> dict[str, Any]:
        """Stages and tasks the query runs as (planned again, outside the timing)."""
        _plan, graph = self.conn.session.plan_query(sql, [])
        return {"stages": len(graph.stages),
                "first_stage": graph.stages[0].description if graph.stages else ""}

    def count_star(self, runs: int = 5) -> dict[str, list[float]]:
        """Warm ``SELECT count(*) FROM nation`` on the small-job path (one task: the default
        for inputs under ``rayemr.hive.smalljob.maxbytes``) and on the queries' staged path."""
        out = {}
        for path, maxbytes in (("small_job", None), ("staged", "0")):
            if maxbytes is not None:
                self.conn.execute(f"SET rayemr.hive.smalljob.maxbytes={maxbytes}")
            times = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                self.conn.execute("SELECT count(*) FROM nation").fetchall()
                times.append(time.perf_counter() - t0)
            out[path] = times[1:]
            if maxbytes is not None:
                self.conn.execute("RESET rayemr.hive.smalljob.maxbytes")
        return out

    def info(self) -> dict[str, Any]:
        import rayemr

        used = self.args.yarn
        if self.args.runner == "ray" and used == "auto":
            from rayemr.engine import yarn_runner

            used = "true" if yarn_runner.enabled() else "false"
        return {"version": getattr(rayemr, "__version__", "?"), "runner": self.args.runner,
                "yarn": used, "hive.execution.engine": self.args.engine,
                "object_store_mb": self.args.object_store_mb,
                "hiveconf": list(self.args.hiveconf or ())}

    def close(self) -> None:
        import rayemr

        if self.conn is not None:
            self.conn.close()
        if self.args.runner == "ray":
            rayemr.shutdown()


class DuckDB:
    name = "duckdb"

    def __init__(self, data: Path, args: Any) -> None:
        self.data, self.args = data, args

    def start(self) -> None:
        import duckdb

        config = {"threads": self.args.cpus}
        self.con = duckdb.connect(config=config)
        for t in TPCH_TABLES:
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM "
                             f"read_parquet('{self.data}/{t}/*.parquet')")

    def query(self, sql: str, timeout: float | None = None) -> list[tuple]:
        with _Timer(timeout, self.con.interrupt) as timer:
            try:
                return self.con.execute(sql).fetchall()
            except Exception:
                if timer.fired:
                    raise QueryTimeout(f"interrupted after {timeout:.0f} s") from None
                raise

    def info(self) -> dict[str, Any]:
        import duckdb

        limit = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        return {"version": duckdb.__version__, "threads": self.args.cpus, "memory_limit": limit}

    def close(self) -> None:
        self.con.close()


class Polars:
    name = "polars"

    def __init__(self, data: Path, args: Any) -> None:
        self.data, self.args = data, args

    def start(self) -> None:
        # Polars sizes its thread pool when first imported
        os.environ.setdefault("POLARS_MAX_THREADS", str(self.args.cpus))
        import polars as pl

        self.ctx = pl.SQLContext()
        for t in TPCH_TABLES:
            self.ctx.register(t, pl.scan_parquet(f"{self.data}/{t}/*.parquet"))

    def query(self, sql: str, timeout: float | None = None) -> list[tuple]:
        engine = self.args.polars_engine
        return self.ctx.execute(sql).collect(engine=engine).rows()

    def info(self) -> dict[str, Any]:
        import polars as pl

        return {"version": pl.__version__, "threads": pl.thread_pool_size(),
                "engine": self.args.polars_engine}

    def close(self) -> None:
        pass


class Spark:
    name = "spark"

    def __init__(self, data: Path, args: Any) -> None:
        self.data, self.args = data, args

    def partitions(self) -> int:
        return self.args.spark_shuffle_partitions or max(4, int(4 * float(self.args.scale)))

    def start(self) -> None:
        from pyspark.sql import SparkSession

        self.spark = (SparkSession.builder.master(f"local[{self.args.cpus}]").appName("tpch")
                      .config("spark.driver.memory", self.args.spark_memory)
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .config("spark.sql.shuffle.partitions", str(self.partitions()))
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        for t in TPCH_TABLES:
            self.spark.read.parquet(f"{self.data}/{t}").createOrReplaceTempView(t)

    def query(self, sql: str, timeout: float | None = None) -> list[tuple]:
        sc = self.spark.sparkContext
        with _Timer(timeout, sc.cancelAllJobs) as timer:
            try:
                return [tuple(r) for r in self.spark.sql(sql).collect()]
            except Exception:
                if timer.fired:
                    raise QueryTimeout(f"cancelled after {timeout:.0f} s") from None
                raise

    def info(self) -> dict[str, Any]:
        import pyspark

        return {"version": pyspark.__version__, "master": f"local[{self.args.cpus}]",
                "driver_memory": self.args.spark_memory,
                "shuffle_partitions": self.partitions(),
                "adaptive": self.spark.conf.get("spark.sql.adaptive.enabled")}

    def close(self) -> None:
        self.spark.stop()


ENGINES = {e.name: e for e in (Rayemr, DuckDB, Polars, Spark)}
LABELS = {"rayemr": "rayemr", "duckdb": "DuckDB", "polars": "Polars", "spark": "PySpark"}
