"""Helpers shared by Hive tests and benchmarks: TPC-H table definitions, data generation,
and result comparison with the tolerance the TPC-H README asks for (cents, 4 decimals)."""
from __future__ import annotations

import datetime
import decimal
import shutil
import subprocess
import sys
from pathlib import Path

TPCH_TABLES = {
    "nation": "n_nationkey bigint, n_name string, n_regionkey bigint, n_comment string",
    "region": "r_regionkey bigint, r_name string, r_comment string",
    "part": "p_partkey bigint, p_name string, p_mfgr string, p_brand string, p_type string, "
            "p_size int, p_container string, p_retailprice decimal(15,2), p_comment string",
    "supplier": "s_suppkey bigint, s_name string, s_address string, s_nationkey bigint, "
                "s_phone string, s_acctbal decimal(15,2), s_comment string",
    "partsupp": "ps_partkey bigint, ps_suppkey bigint, ps_availqty int, "
                "ps_supplycost decimal(15,2), ps_comment string",
    "customer": "c_custkey bigint, c_name string, c_address string, c_nationkey bigint, "
                "c_phone string, c_acctbal decimal(15,2), c_mktsegment string, c_comment string",
    "orders": "o_orderkey bigint, o_custkey bigint, o_orderstatus string, "
              "o_totalprice decimal(15,2), o_orderdate date, o_orderpriority string, "
              "o_clerk string, o_shippriority int, o_comment string",
    "lineitem": "l_orderkey bigint, l_partkey bigint, l_suppkey bigint, l_linenumber int, "
                "l_quantity decimal(15,2), l_extendedprice decimal(15,2), "
                "l_discount decimal(15,2), l_tax decimal(15,2), l_returnflag string, "
                "l_linestatus string, l_shipdate date, l_commitdate date, l_receiptdate date, "
                "l_shipinstruct string, l_shipmode string, l_comment string",
}


def tpch_query_dir() -> Path:
    """The repository's ``bench/tpch`` folder (the queries ship with the source, not the wheel)."""
    d = Path(__file__).resolve().parents[2] / "bench" / "tpch"
    if not (d / "q01.sql").is_file():
        raise FileNotFoundError(
            f"TPC-H queries not found in {d}: they ship with rayemr's source repository "
            "(bench/tpch/q01.sql ... q22.sql); run the tests and benchmarks from a clone")
    return d


def tpch_queries() -> dict[int, str]:
    d = tpch_query_dir()
    return {int(p.stem[1:]): p.read_text() for p in sorted(d.glob("q*.sql"))}


def tpchgen(out: Path | str, scale: str = "0.01", parts: int = 2) -> Path:
    """Generate TPC-H Parquet data with ``tpchgen-cli``: one folder per table."""
    out = Path(out)
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    subprocess.run([exe, "parquet", "-s", str(scale), "--parts", str(parts), "--output-dir",
                    str(out)], check=True, capture_output=True)
    return out


def tpch_ddl(data: Path | str) -> list[str]:
    return [f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} ({cols}) STORED AS PARQUET "
            f"LOCATION '{data}/{name}'" for name, cols in TPCH_TABLES.items()]


def normalize(v, digits: int = 2):
    if isinstance(v, (decimal.Decimal, float)):
        return round(float(v), digits)
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    return v


def rows_equal(got: list[tuple], want: list[tuple], ordered: bool = True) -> bool:
    g = [tuple(normalize(x) for x in r) for r in got]
    w = [tuple(normalize(x) for x in r) for r in want]
    if not ordered:
        g, w = sorted(g, key=repr), sorted(w, key=repr)
    if len(g) != len(w):
        return False
    for a, b in zip(g, w):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > max(0.011, 1e-9 * abs(y)):
                    return False
            elif x != y:
                return False
    return True
