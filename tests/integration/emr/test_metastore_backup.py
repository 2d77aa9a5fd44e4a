"""The master's metastore snapshot on S3 (what cluster.yaml runs around `ray down`)."""
from __future__ import annotations

import sqlite3

from rayemr.cli import main
from rayemr.emr import backup


def test_backup_restore_round_trip_through_s3(s3_bucket, tmp_path, capsys):
    from rayemr.hive.metastore import Database, open_metastore

    live = tmp_path / "master" / "metastore.db"
    store = open_metastore(str(live), str(tmp_path / "wh"))
    store.create_database(Database("sales", str(tmp_path / "wh" / "sales.db")))
    url = f"s3://{s3_bucket}/rayemr/metastore.db"
    assert main(["emr", "metastore-backup", "--to", url, "--metastore", str(live)]) == 0
    assert f"backed up to {url}" in capsys.readouterr().err

    fresh = tmp_path / "new-master" / "metastore.db"  # a new head after `ray down` / `ray up`
    assert main(["emr", "metastore-restore", "--from", url, "--metastore", str(fresh)]) == 0
    assert "restored" in capsys.readouterr().err
    assert "sales" in open_metastore(str(fresh), str(tmp_path / "wh")).list_databases()

    # an existing metastore is left alone unless --force; a missing snapshot changes nothing
    assert backup.restore(url, str(fresh)) is False
    assert backup.restore(f"s3://{s3_bucket}/nothing/here.db", str(tmp_path / "x.db")) is False
    assert not (tmp_path / "x.db").exists()


def test_backup_every_keeps_going_after_a_failed_round(s3_bucket, tmp_path):
    live = tmp_path / "metastore.db"
    sqlite3.connect(live).execute("CREATE TABLE t (x)").connection.commit()
    rounds = []
    backup.backup_every(f"s3://{s3_bucket}-missing/m.db", 5, str(live),
                        stop=lambda: len(rounds) >= 2, sleep=rounds.append)
    assert rounds == [5, 5]  # failures were logged, the loop went on
    backup.backup_every(f"s3://{s3_bucket}/m.db", 5, str(live), stop=lambda: True)
    restored = tmp_path / "restored.db"
    assert backup.restore(f"s3://{s3_bucket}/m.db", str(restored))
    assert sqlite3.connect(restored).execute("SELECT count(*) FROM t").fetchone() == (0,)
