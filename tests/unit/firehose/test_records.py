"""Record-level Firehose core: JQ partitioning, the Lambda contract, JSON -> Parquet/ORC with a
Hive schema, the write-ahead log, and a delivery stream's recovery (local disk only)."""
from __future__ import annotations

import base64
import gzip
import io
import json
import os
import threading

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from rayemr.core.waiting import wait_for
from rayemr.firehose import delivery, publish
from rayemr.firehose.config import Conversion, parse_create
from rayemr.firehose.convert import Converter
from rayemr.firehose.delivery import DeliveryStream
from rayemr.firehose.errors import InvalidArgumentException
from rayemr.firehose.partitioning import KeyFailure, Partitioner
from rayemr.firehose.settings import FirehoseSettings
from rayemr.firehose.transform import transform
from rayemr.firehose.wal import WriteAheadLog, from_ranges, to_ranges

docs = st.fixed_dictionaries({"type": st.sampled_from(["click", "view", "buy"]),
                              "n": st.integers(-10**6, 10**6)},
                             optional={"extra": st.text(max_size=5)})


# -- partitioning ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(docs.map(lambda d: json.dumps(d).encode()),
                          st.sampled_from([b"not json", b"", b"[1]", b'{"n": 1}',
                                           b'{"type": null}', b'{"type":"a"}{"type":"b"}'])),
                min_size=1, max_size=30))
def test_batch_keys_equal_one_by_one_keys(records):
    p = Partitioner("{type: .type}", ["type"])
    batch = p.keys_for(records)
    one = [p.keys_for([r])[0] for r in records]
    assert [type(b) for b in batch] == [type(o) for o in one]
    assert [b for b in batch if isinstance(b, dict)] == [o for o in one if isinstance(o, dict)]
    for r, k in zip(records, batch):
        if isinstance(k, dict):
            assert k == {"type": json.loads(r)["type"]}


def test_bad_jq_is_refused_at_create_time():
    with pytest.raises(InvalidArgumentException, match="not a valid JQ expression"):
        Partitioner("{type: .type", ["type"])
    failures = Partitioner(".a | tonumber | {type: .}", ["type"]).keys_for([b'{"a":"x"}'])
    assert isinstance(failures[0], KeyFailure) and "query failed" in failures[0].message


# -- transformation ---------------------------------------------------------------------------
def _records(n):
    return [(f"id{i}", 1.0, f'{{"i": {i}}}'.encode()) for i in range(n)]


def test_lambda_contract_results():
    def fn(event, context):
        out = []
        for r in event["records"]:
            i = json.loads(base64.b64decode(r["data"]))["i"]
            result = ["Ok", "Dropped", "ProcessingFailed"][i % 3]
            out.append({"recordId": r["recordId"], "result": result,
                        "data": base64.b64encode(f"<{i}>".encode()).decode(),
                        "metadata": {"partitionKeys": {"m": i % 2}}})
        return {"records": out}

    t = transform(fn, _records(6), stream_arn="arn", region="us-east-1")
    assert [(i, d) for i, d, _ in t.ok] == [(0, b"<0>"), (3, b"<3>")]
    assert t.ok[1][2] == {"m": "1"}
    assert t.dropped == [1, 4] and [f[0] for f in t.failed] == [2, 5]
    assert t.attempts == 1


def test_lambda_failures_are_retried_three_times_then_processing_failed():
    calls = []

    def broken(event):
        calls.append(1)
        raise RuntimeError("boom")

    t = transform(broken, _records(3), stream_arn="arn", region="r")
    assert len(calls) == 4 and t.attempts == 4
    assert [(i, c) for i, c, _ in t.failed] == [(0, "Lambda.FunctionError"),
                                               (1, "Lambda.FunctionError"),
                                               (2, "Lambda.FunctionError")]
    assert "boom" in t.failed[0][2]

    flaky = iter([{"records": []}, None])

    def missing_then_ok(event, ctx):
        answer = next(flaky, None)
        if answer is not None:
            return answer  # misses every recordId: a contract break, retried
        return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                            for r in event["records"]]}

    t = transform(missing_then_ok, _records(2), stream_arn="arn", region="r")
    assert len(t.ok) == 2 and t.attempts == 2


# -- conversion ----------------------------------------------------------------------------------
COLUMNS = [("user_id", "int"), ("url", "string"), ("price", "decimal(10,2)"),
           ("ts", "timestamp"), ("ok", "boolean")]


def test_hive_json_serde_rules():
    c = Converter(COLUMNS, Conversion("d", "t", "parquet"))
    out = c.convert([b'{"USER_ID": "7", "Url": 5, "price": "1.5", "ts": "2024-01-02T03:04:05Z",'
                     b' "ok": "TRUE", "other": [1]}',
                     b'{"user_id": 1.5}', b'{"user_id": 99999999999}', b"nope", b"[]"])
    assert out.rows == (0,)
    row = out.table.to_pylist()[0]
    assert row["user_id"] == 7 and row["url"] == "5" and str(row["price"]) == "1.50"
    assert row["ts"].isoformat() == "2024-01-02T03:04:05" and row["ok"] is True
    reasons = {i: (code, msg) for i, code, msg in out.failed}
    assert reasons[1][0] == "DataFormatConversion.SchemaMismatch" and "user_id" in reasons[1][1]
    assert "out of range" in reasons[2][1]
    assert reasons[3][0] == "DataFormatConversion.MalformedData"
    assert "not a JSON object" in reasons[4][1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.fixed_dictionaries({"user_id": st.integers(-2**31, 2**31 - 1),
                                       "url": st.text(max_size=8)},
                                      optional={"ok": st.booleans()}), min_size=1, max_size=20))
def test_fast_path_equals_record_by_record(rows):
    c = Converter([("user_id", "int"), ("url", "string"), ("ok", "boolean")],
                  Conversion("d", "t", "parquet"))
    records = [json.dumps(r).encode() for r in rows]
    fast = c.convert(records)
    slow = [c.row(r) for r in records]
    assert fast.table.to_pylist() == slow and fast.failed == ()


def test_records_that_are_not_objects_fail_in_any_position():
    """null is not a row of NULLs (the batch read once took it for one); first in a batch it
    crashed Arrow."""
    c = Converter([("user_id", "int"), ("url", "string")], Conversion("d", "t", "parquet"))
    for batch, bad in (([b"null", b'{"user_id": 1}'], 0), ([b'{"user_id": 1}', b"null"], 1),
                       ([b'{"user_id": 1}', b"7", b'{"user_id": 2}'], 1)):
        out = c.convert(batch)
        assert [i for i, _, _ in out.failed] == [bad]
        assert "not a JSON object" in out.failed[0][2]
        assert [r["user_id"] for r in out.table.to_pylist()] == [
            1, 2][:len(batch) - 1]


def test_parquet_and_orc_output():
    for output in ("parquet", "orc"):
        c = Converter([("a", "int"), ("b", "string")], Conversion("d", "t", output))
        body = c.write(c.convert([b'{"a": 1, "b": "x"}']).table)
        if output == "parquet":
            assert pq.read_table(io.BytesIO(body)).to_pylist() == [{"a": 1, "b": "x"}]
        else:
            from pyarrow import orc
            assert orc.read_table(io.BytesIO(body)).to_pylist() == [{"a": 1, "b": "x"}]


# -- write-ahead log ------------------------------------------------------------------------------
@settings(deadline=None)
@given(st.sets(st.integers(0, 500)))
def test_seq_ranges_round_trip(seqs):
    assert sorted(from_ranges(to_ranges(seqs))) == sorted(seqs)


def test_torn_tail_is_ignored(tmp_path):
    w = WriteAheadLog(str(tmp_path / "wal"))
    w.append_records(0, 1.0, [b"a", b"b"])
    w.append_records(2, 2.0, [b"c"])
    w.close()
    seg = tmp_path / "wal" / "wal-000000000001.log"
    seg.write_bytes(seg.read_bytes()[:-1])  # a crash in the middle of the last append
    r = WriteAheadLog(str(tmp_path / "wal")).replay()
    assert r.records == {0: (1.0, b"a"), 1: (1.0, b"b")} and r.torn == 1


def test_a_log_grown_in_zeros_replays_to_its_last_frame_after_a_crash(tmp_path):
    """A synced log is grown ahead in zeros: read as a crash leaves it (not closed), replay
    stops at the zeros without calling them torn; a frame cut short before them is torn; a
    closed log has no zeros left."""
    w = WriteAheadLog(str(tmp_path / "wal"))  # sync="fsync": preallocated
    w.durable(w.append_records(0, 1.0, [b"a", b"b"]))
    w.durable(w.append_records(2, 2.0, [b"c" * 5000]))
    seg = tmp_path / "wal" / "wal-000000000001.log"
    crashed = seg.read_bytes()
    logged = w._file.size
    assert len(crashed) > logged and not crashed[logged:].strip(b"\0")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / seg.name).write_bytes(crashed)
    r = WriteAheadLog(str(tmp_path / "copy")).replay()
    assert r.records == {0: (1.0, b"a"), 1: (1.0, b"b"), 2: (2.0, b"c" * 5000)}
    assert r.torn == 0
    cut = crashed[:logged - 10] + bytes(len(crashed) - logged + 10)  # the last frame torn
    (tmp_path / "copy" / seg.name).write_bytes(cut)
    r = WriteAheadLog(str(tmp_path / "copy")).replay()
    assert sorted(r.records) == [0, 1] and r.torn == 1
    w.close()
    assert seg.stat().st_size == logged
    assert WriteAheadLog(str(tmp_path / "wal")).replay().records == {
        0: (1.0, b"a"), 1: (1.0, b"b"), 2: (2.0, b"c" * 5000)}


def test_log_file_grows_ahead_in_steps_and_never_past_the_segment(tmp_path):
    from rayemr.firehose import logfile

    f = logfile.LogFile(str(tmp_path / "seg"))
    f.append((b"x" * 10,), limit=64 << 20)
    assert f.size == 10 and f.allocated == logfile.PREALLOC_MIN
    f.append((b"y" * logfile.PREALLOC_MIN,), limit=64 << 20)  # past the first step
    assert f.size == 10 + logfile.PREALLOC_MIN and f.allocated == 2 * logfile.PREALLOC_MIN
    f.append((b"z", b"zz"), limit=0)  # within the zeros: no growth
    assert f.allocated == 2 * logfile.PREALLOC_MIN
    small = logfile.LogFile(str(tmp_path / "small"))
    small.append((b"q" * 100,), limit=64)
    assert small.allocated == 4096  # no more than the frame, rounded to a page
    small.close()
    f.close()
    assert (tmp_path / "seg").read_bytes() == b"x" * 10 + b"y" * logfile.PREALLOC_MIN + b"zzz"
    assert (tmp_path / "small").stat().st_size == 100


# -- a delivery stream on local disk ------------------------------------------------------------
#: dynamic partitioning's key ``t`` taken from each JSON record by a JQ query
_PARTITION_BY_T = {"Enabled": True, "Processors": [{
    "Type": "MetadataExtraction", "Parameters": [
        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{t: .t}"},
        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}


def _stream(tmp_path, **dest):
    settings = FirehoseSettings(location=str(tmp_path / "fh"), bucket_root=str(tmp_path / "lake"),
                                metastore_path=str(tmp_path / "ms.db"),
                                warehouse=str(tmp_path / "wh"), wal_sync="flush")
    config = parse_create({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": {
        "RoleARN": "r", "BucketARN": "arn:aws:s3:::b", "Prefix": "p/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}, **dest}})
    return settings, config


def _objects(root):
    out = {}
    for folder, _, files in os.walk(root):
        for f in files:
            out[os.path.relpath(os.path.join(folder, f), root)] = open(
                os.path.join(folder, f), "rb").read()
    return out


def test_crash_after_publish_before_done_delivers_once(tmp_path, monkeypatch):
    settings, config = _stream(tmp_path)
    s = DeliveryStream(config, 1, 1000, settings)
    s.put([b"a\n", b"b\n"])

    def crash(*a, **k):
        raise OSError("process died")

    monkeypatch.setattr(s.wal, "append_done", crash)
    with pytest.raises(OSError):
        s.flush_all()  # the object is published, its DONE is not logged
    monkeypatch.undo()
    s.wal.close()
    again = DeliveryStream(config, 1, 1000, settings)
    assert again.recover() == 0  # the visible object finished the intent
    again.flush_all()
    objects = _objects(tmp_path / "lake")
    assert list(objects.values()) == [b"a\nb\n"]


def test_crash_before_publish_redelivers(tmp_path, monkeypatch):
    settings, config = _stream(tmp_path)
    s = DeliveryStream(config, 1, 1000, settings)
    s.put([b"a\n", b"b\n"], token=b"t" * 16)
    monkeypatch.setattr(s.sink, "publish", lambda *a: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(OSError):
        s.flush_all()
    s.wal.close()
    again = DeliveryStream(config, 1, 1000, settings)
    assert again.recover() == 2
    assert again.metrics["RedeliveredRecords"] == 2
    retried = again.put([b"a\n", b"b\n"], token=b"t" * 16)  # the client's retry of that put
    assert again.metrics["RetriedPutRequests"] == 1 and all(retried.record_ids)
    again.flush_all()
    assert list(_objects(tmp_path / "lake").values()) == [b"a\nb\n"]
    assert again.wal._segments and again.wal.truncate(None) >= 0


def test_source_positions_are_logged_with_records_and_survive_truncation(tmp_path):
    settings, _ = _stream(tmp_path)
    config = parse_create({
        "DeliveryStreamName": "k", "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "RoleARN": "r"},
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "r", "BucketARN": "arn:aws:s3:::b", "Prefix": "p/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}}})
    s = DeliveryStream(config, 1, 1000, settings)
    s.wal.segment_bytes = 64  # a segment per append: truncation has old ones to delete
    s.put_source("shardId-000000000000", [b"a\n", b"b\n"], 49_001)
    s.put_source("shardId-000000000001", [b"c\n"], 49_007)
    s.put_source("shardId-000000000000", [b"d\n"], 49_002)
    assert s.metrics["SourceRecordsRead"] == 0 and s.metrics["IncomingRecords"] == 4
    s.flush_all()  # delivered: every segment with records is deleted
    assert not s.owed and len(s.wal._segments) == 1
    s.wal.close()
    again = DeliveryStream(config, 1, 1000, settings)
    assert again.recover() == 0
    assert again.positions == {"shardId-000000000000": 49_002, "shardId-000000000001": 49_007}
    assert list(_objects(tmp_path / "lake").values()) == [b"a\nb\nc\nd\n"]


def test_a_synced_log_prepares_its_segment_when_opened_and_appends_never_grow_it(tmp_path):
    """The segment a synced log appends to is a file of zeros made before the first put
    (its name synced too); frames overwrite the zeros, replay stops at them, close cuts them."""
    w = WriteAheadLog(str(tmp_path / "wal"), segment_bytes=1 << 20)
    w.open()
    seg = tmp_path / "wal" / "wal-000000000001.log"
    assert seg.stat().st_size == 1 << 20 and seg.read_bytes() == bytes(1 << 20)
    assert not list((tmp_path / "wal").glob("*.prep"))  # renamed into place
    w.durable(w.append_records(0, 1.0, [b"a", b"bb"]))
    assert seg.stat().st_size == 1 << 20  # written into the zeros
    assert WriteAheadLog(str(tmp_path / "wal")).replay().records == {0: (1.0, b"a"),
                                                                    1: (1.0, b"bb")}
    w.close()
    assert 0 < seg.stat().st_size < 100
    unsynced = WriteAheadLog(str(tmp_path / "flushed"), sync="flush")
    unsynced.open()
    assert (tmp_path / "flushed" / "wal-000000000001.log").stat().st_size == 0  # no zeros
    unsynced.close()


def test_the_next_segment_is_prepared_ahead_when_idle_and_half_full_or_nearly_full(tmp_path):
    w = WriteAheadLog(str(tmp_path / "wal"), segment_bytes=64 << 10)
    w.open()
    ahead = tmp_path / "wal" / "next-segment.prep"
    assert not w.prepare_ahead() and not ahead.exists()  # empty
    w.append_records(0, 1.0, [b"x" * (36 << 10)])  # over half full
    assert not w.prepare_ahead()  # puts came since the last look: not idle
    assert w.prepare_ahead() and ahead.stat().st_size == 64 << 10  # idle since
    assert not w.prepare_ahead()  # one at a time
    w.append_records(1, 2.0, [b"y" * (40 << 10)])  # past the end (the segment grows)
    w.durable(w.append_records(2, 2.0, [b"y"]))  # so the next frame rolls
    assert not ahead.exists()  # it became segment 2
    assert (tmp_path / "wal" / "wal-000000000002.log").stat().st_size == 64 << 10
    w.append_records(3, 3.0, [b"z" * (60 << 10)])
    assert w.prepare_ahead()  # nine-tenths full: prepared even while busy
    w.close()
    assert not ahead.exists()  # not left behind by a closed log
    assert sorted(WriteAheadLog(str(tmp_path / "wal")).replay().records) == [0, 1, 2, 3]


def test_a_segment_that_cannot_be_prepared_fails_the_put_and_leaves_nothing(tmp_path,
                                                                            monkeypatch):
    from rayemr.firehose import logfile

    w = WriteAheadLog(str(tmp_path / "wal"), segment_bytes=64 << 10)
    w.open()
    w.append_records(0, 1.0, [b"x" * (64 << 10)])  # full: the next frame rolls
    real = logfile.prepare

    def full(path, size):
        with open(path, "wb") as f:
            f.write(bytes(10))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(logfile, "prepare", full)
    assert not w.prepare_ahead()  # logged; tried again when the segment is wanted
    with pytest.raises(Exception, match="No space left"):
        w.append_records(1, 1.0, [b"y" * (10 << 10)])  # must roll: fails, not acknowledged
    assert sorted(p.name for p in (tmp_path / "wal").iterdir()) == ["wal-000000000001.log"]
    monkeypatch.setattr(logfile, "prepare", real)
    w.durable(w.append_records(1, 1.0, [b"y" * (10 << 10)]))  # room again: it goes on
    w.close()
    assert sorted(WriteAheadLog(str(tmp_path / "wal")).replay().records) == [0, 1]
    monkeypatch.setattr(logfile, "prepare", full)
    restarted = WriteAheadLog(str(tmp_path / "wal"), segment_bytes=64 << 10)
    assert sorted(restarted.replay().records) == [0, 1]
    restarted.open()  # logged, not raised: a host still starts and delivers what it holds
    with pytest.raises(Exception, match="No space left"):
        restarted.append_records(2, 1.0, [b"z"])
    monkeypatch.setattr(logfile, "prepare", real)
    restarted.durable(restarted.append_records(2, 1.0, [b"z"]))
    restarted.close()
    assert sorted(WriteAheadLog(str(tmp_path / "wal")).replay().records) == [0, 1, 2]


def test_concurrent_puts_share_an_fsync_and_none_is_answered_before_it(tmp_path, monkeypatch):
    """Group commit: while one fsync runs, puts that arrive append and wait; the next fsync
    covers all of them, and no waiter returns before an fsync covering its frame."""
    from rayemr.firehose import logfile

    w = WriteAheadLog(str(tmp_path / "wal"))  # sync="fsync"
    w.open()  # its segment prepared (and synced) before the puts, as a stream opens it
    gate, fsyncs = threading.Event(), []
    real = logfile.datasync

    def slow_fsync(fd):
        gate.wait(30)
        fsyncs.append(fd)
        real(fd)

    monkeypatch.setattr(logfile, "datasync", slow_fsync)
    answered: list[int] = []

    def put(i):
        ticket = w.append_records(i, 1.0, [b"x"])
        w.durable(ticket)
        answered.append(ticket)

    first = threading.Thread(target=put, args=(0,))
    first.start()
    wait_for(lambda: w._syncing, 30)  # the first put's fsync is under way
    others = [threading.Thread(target=put, args=(i,)) for i in range(1, 6)]
    for t in others:
        t.start()
    wait_for(lambda: w._appended == 6, 30)
    assert answered == []  # nobody is answered before an fsync covers its frame
    gate.set()
    for t in [first, *others]:
        t.join(30)
    assert sorted(answered) == [1, 2, 3, 4, 5, 6]
    assert len(fsyncs) == 2  # the first put's, then one for the five that waited
    w.close()
    replay = WriteAheadLog(str(tmp_path / "wal")).replay()
    assert sorted(replay.records) == list(range(6))


def test_a_flush_that_fails_encoding_keeps_every_buffer(tmp_path, monkeypatch):
    """Buffers are encoded a few at a time; when one fails, none of that batch is published
    and every buffer not yet being published is back for the next flush."""
    settings, config = _stream(tmp_path, Prefix="p/!{partitionKeyFromQuery:t}/",
                               ErrorOutputPrefix="e/", CompressionFormat="GZIP",
                               DynamicPartitioningConfiguration={"Enabled": True},
                               ProcessingConfiguration=_PARTITION_BY_T)
    s = DeliveryStream(config, 1, 1000, settings)
    records = [json.dumps({"t": t, "i": i}).encode() for i in range(20) for t in "abcde"]
    s.put(records)
    s.route_pending()
    calls = []
    real = delivery.compress

    def flaky(body, fmt):
        calls.append(1)
        if len(calls) == 2:  # the second partition of the first batch fails
            raise OSError("disk full")
        return real(body, fmt)

    monkeypatch.setattr(delivery, "compress", flaky)
    monkeypatch.setattr(publish, "BATCH_BUFFERS", 2)  # two buffers encoded, then published
    with pytest.raises(OSError):
        s.flush_all()
    published = _objects(tmp_path / "lake")
    assert not published  # the failure was in the first batch: nothing was published
    assert len(s.data) == 5 and s.data.records == len(records)
    assert s.flush_all() == 5
    got = sorted(line for body in _objects(tmp_path / "lake").values()
                 for line in gzip.decompress(body).split(b"}") if line)
    assert got == sorted(r[:-1] for r in records)
    assert not s.owed


def test_a_round_prepared_before_a_reconfiguration_is_worked_out_again(tmp_path):
    """A round worked out outside the stream's lock is applied with the configuration of the
    moment; records being routed count as buffered (back-pressure)."""
    settings, config = _stream(tmp_path)
    s = DeliveryStream(config, 1, 1000, settings, route_inline=False)
    s.put([b"a\n", b"b\n"])
    assert s.pending and not len(s.data)
    chunk = s.take_pending()
    assert s.buffered_bytes() == 4  # being routed: still counted
    routed = s.prepare(chunk)
    _, other = _stream(tmp_path, Prefix="q/")
    s.flush_all()
    s.configure(other, 2)
    s.apply(routed)
    assert s.flush_all() == 1
    assert list(_objects(tmp_path / "lake")) and all(
        k.startswith("b/q/") for k in _objects(tmp_path / "lake"))
    assert not s.owed


def _parquet_stream(tmp_path, **dest):
    """A stream converting to Parquet with a partitioned Hive table's schema (local lake)."""
    from rayemr.hive.session import HiveSession

    (tmp_path / "lake" / "b").mkdir(parents=True)
    session = HiveSession(metastore_path=str(tmp_path / "ms.db"), warehouse=str(tmp_path / "wh"),
                          runner="inline")
    session.execute(f"CREATE EXTERNAL TABLE ev (i bigint, s string) PARTITIONED BY (t string) "
                    f"STORED AS PARQUET LOCATION '{tmp_path / 'lake' / 'b' / 'ev'}'")
    session.close()
    settings, config = _stream(tmp_path, Prefix="ev/t=!{partitionKeyFromQuery:t}/",
                               ErrorOutputPrefix="e/",
                               DynamicPartitioningConfiguration={"Enabled": True},
                               ProcessingConfiguration=_PARTITION_BY_T,
                               DataFormatConversionConfiguration={
                                   "SchemaConfiguration": {"DatabaseName": "default",
                                                           "TableName": "ev"},
                                   "InputFormatConfiguration": {
                                       "Deserializer": {"OpenXJsonSerDe": {}}},
                                   "OutputFormatConfiguration": {
                                       "Serializer": {"ParquetSerDe": {}}}}, **dest)
    settings = FirehoseSettings(**{**settings.__dict__, "warehouse": str(tmp_path / "wh")})
    return settings, config


def test_parquet_row_groups_written_ahead_make_the_same_rows(tmp_path, monkeypatch):
    """A converted buffer is written a row group at a time while it fills (by the flusher);
    the object holds every record once, in order; a flush that fails after writing ahead
    writes the object whole next time."""
    monkeypatch.setattr(delivery, "ROW_GROUP_ROWS", 30)
    settings, config = _parquet_stream(tmp_path)
    s = DeliveryStream(config, 1, 1000, settings, route_inline=False)
    sent = []
    for k in range(6):  # 6 rounds of 20 records per partition
        batch = [json.dumps({"t": t, "i": k * 100 + i, "s": f"x{i}"}).encode()
                 for i in range(20) for t in "ab"]
        sent += batch
        s.put(batch)
        s.apply(s.prepare(s.take_pending()))
        s.encode_ahead()
    bufs = s.data.open_buffers()
    # 40 rows were pending (>= 30) after every second round: all 6 chunks written ahead
    assert len(bufs) == 2 and all(b.ahead is not None and b.ahead.chunks == 6 for b in bufs)
    from rayemr.firehose import convert

    def broken(self):
        raise OSError("disk full")

    monkeypatch.setattr(convert.RowGroups, "finish", broken)
    with pytest.raises(OSError):
        s.flush_all()  # the objects could not be finished: none published, buffers back
    assert not _objects(tmp_path / "lake")
    assert len(s.data) == 2 and all(b.ahead is None for b in s.data.open_buffers())
    monkeypatch.undo()
    monkeypatch.setattr(delivery, "ROW_GROUP_ROWS", 30)
    for batch in ([json.dumps({"t": t, "i": 700 + i, "s": "z"}).encode()
                   for i in range(20) for t in "ab"],
                  [json.dumps({"t": "a", "i": 999, "s": "y"}).encode()]):
        sent += batch
        s.put(batch)
        s.apply(s.prepare(s.take_pending()))
        s.encode_ahead()  # the first: all 140 rows of each as one row group; the second: none
    assert s.flush_all() == 2
    objects = {k: pq.ParquetFile(io.BytesIO(v)) for k, v in _objects(tmp_path / "lake").items()}
    assert len(objects) == 2
    for key, f in objects.items():
        t = "a" if "/t=a/" in key else "b"
        want = [json.loads(r) for r in sent if json.loads(r)["t"] == t]
        assert f.read().to_pylist() == [{"i": w["i"], "s": w["s"]} for w in want]
        assert f.metadata.num_row_groups == (2 if t == "a" else 1)  # ahead, then the rest
    assert not s.owed


def test_a_batch_of_objects_is_published_once_all_its_intents_are_on_disk(tmp_path,
                                                                         monkeypatch):
    """Buffers flushed together: every intent of the batch is in the log before any object
    is published, the objects land, their new partitions are registered in one metastore
    call, then each object's records are logged done; a failed object of the batch stays
    for recovery while the others are done."""
    settings, config = _parquet_stream(tmp_path)
    s = DeliveryStream(config, 1, 1000, settings)
    s.put([json.dumps({"t": t, "i": i, "s": "x"}).encode() for i in range(5) for t in "abc"])
    s.route_pending()
    intents_seen, registered = [], []
    real_publish, real_add = s.sink.publish, s.sink.metastore.add_partitions

    def publish(url, body):
        intents_seen.append(set(WriteAheadLog(s.wal.url).replay().intents))
        if "/t=c/" in url:
            raise OSError("bucket unavailable")
        return real_publish(url, body)

    def add_partitions(db, table, parts, **kw):
        registered.append(sorted(p.values for p in parts))
        return real_add(db, table, parts, **kw)

    monkeypatch.setattr(s.sink, "publish", publish)
    monkeypatch.setattr(s.sink.metastore, "add_partitions", add_partitions)
    with pytest.raises(OSError, match="bucket unavailable"):
        s.flush_all()
    assert len(intents_seen) == 3 and all(len(seen) == 3 for seen in intents_seen)
    assert registered == [[("a",), ("b",)]]  # one call, for the objects that landed
    assert s.metrics["DeliveredRecords"] == 10 and s.metrics["PartitionsRegistered"] == 2
    replay = WriteAheadLog(s.wal.url).replay()
    assert len(replay.done_urls) == 2 and set(replay.intents) - replay.done_urls
    s.wal.close()
    monkeypatch.undo()
    again = DeliveryStream(config, 1, 1000, settings)
    assert again.recover() == 5  # the object that did not land: its records again
    assert again.flush_all() == 1
    rows = sorted(r["i"] for v in _objects(tmp_path / "lake").values()
                  for r in pq.read_table(io.BytesIO(v)).to_pylist())
    assert rows == sorted(list(range(5)) * 3)


def test_segments_left_without_a_frame_are_deleted_when_the_log_opens_again(tmp_path):
    """A host that died before its first put leaves a prepared segment of zeros; the next
    one deletes it (and keeps every segment that holds a frame, intents and done included)."""
    root = tmp_path / "wal"
    w = WriteAheadLog(str(root), segment_bytes=1 << 20)
    w.open()
    w.durable(w.append_records(0, 1.0, [b"a"]))
    w.append_intent("file:///x", "data", [0])
    w._file = None  # died: nothing closed, the segment keeps its zeros
    for _ in range(3):  # restarted three times, each dying before a put
        again = WriteAheadLog(str(root), segment_bytes=1 << 20)
        assert sorted(again.replay().records) == [0]
        again.open()
        again._file = None
    assert len(list(root.glob("wal-*.log"))) == 2  # the one with frames, the newest
    last = WriteAheadLog(str(root), segment_bytes=1 << 20)
    replay = last.replay()
    assert sorted(replay.records) == [0] and "file:///x" in replay.intents
    last.open()
    last.close()
    assert sorted(p.name for p in root.glob("wal-*.log")) == [
        "wal-000000000001.log", "wal-000000000002.log"]
