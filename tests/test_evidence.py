"""Evidence store: round trip, listing, sessions, JSON conversion, side files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vl_jupyter import evidence
from vl_jupyter.errors import EvidenceError
from vl_jupyter.evidence import EvidenceStore, current_session, session, to_jsonable

FLOATS = [0.1 + 0.2, 1 / 3, math.pi, 5e-324, 1.7976931348623157e308, -0.0, 2.0**-1074 * 3]


@pytest.fixture
def store(evidence_dir: Path) -> EvidenceStore:
    return EvidenceStore(evidence_dir)


def test_round_trip_keeps_every_float_bit(store: EvidenceStore) -> None:
    data = {"values": FLOATS, "big": 2**53 + 1, "text": "Venturalítica ✓", "nested": {"a": [1]}}
    rec = store.append("enforce", data, summary={"passed": 3})
    fresh = EvidenceStore(store.root).get(rec.id)  # new object: data read from disk
    assert fresh.data == data
    assert [repr(v) for v in fresh.data["values"]] == [repr(v) for v in FLOATS]
    assert fresh.data["big"] == 2**53 + 1
    assert (fresh.id, fresh.seq, fresh.hash, fresh.summary) == (rec.id, 1, rec.hash, {"passed": 3})
    assert fresh.created == rec.created and fresh.created.tzinfo is not None
    assert fresh.created.utcoffset() == dt.timedelta(0)
    assert fresh.prev_hash == "0" * 64
    assert fresh.path.name == f"00000001_{rec.id}.json"
    assert fresh.path.stat().st_mode & 0o777 == 0o444
    doc = json.loads(fresh.path.read_text("utf-8"))
    assert list(doc) == [  # /2: canonical (sorted) order, the hash last
        "created", "data", "id", "kind", "prev_hash", "schema", "seq", "session", "summary", "hash",
    ]  # fmt: skip
    assert doc["schema"] == "vl_jupyter.evidence/2"
    assert doc["created"].endswith("Z")


def test_ids_are_url_safe_sortable_and_unique(store: EvidenceStore) -> None:
    ids = [store.append("enforce", {"i": i}).id for i in range(20)]
    assert len(set(ids)) == 20 and ids == sorted(ids)
    assert all(evidence._session.ID_RE.match(i) for i in ids)


def test_records_newest_first_with_filters(store: EvidenceStore) -> None:
    assert list(store.records()) == [] and store.head() is None
    store.append("enforce", {"i": 0}, session="cell-1")
    store.append("telemetry", {"i": 1}, session="cell-1")
    store.append("enforce", {"i": 2}, session="cell-2")
    store.append("review", {"i": 3})
    assert [r.data["i"] for r in store.records()] == [3, 2, 1, 0]
    assert [r.seq for r in store.records(kind="enforce")] == [3, 1]
    assert [r.seq for r in store.records(session="cell-1")] == [2, 1]
    assert [r.seq for r in store.records(kind="enforce", session="cell-1")] == [1]
    newest = next(store.records())
    assert store.head() == (4, newest.hash)
    assert newest.to_dict()["created"].endswith("Z") and "data" not in newest.to_dict()
    assert newest.to_dict(with_data=True)["data"] == {"i": 3}


def test_module_functions_use_root_and_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp_path / "env-store"))
    assert evidence.default_root() == tmp_path / "env-store"
    rec = evidence.append("sync", {"ok": True})
    assert (tmp_path / "env-store" / "records" / rec.path.name).exists()
    assert evidence.get(rec.id).data == {"ok": True}
    assert [r.id for r in evidence.records(kind="sync")] == [rec.id]
    assert evidence.verify().ok
    other = tmp_path / "other"
    evidence.append("review", {"x": 1}, root=other)
    assert len(list(evidence.records(root=other))) == 1
    monkeypatch.delenv("VL_EVIDENCE_DIR")
    monkeypatch.chdir(tmp_path)
    assert evidence.default_root() == tmp_path / ".venturalitica"


def test_store_is_created_lazily(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "lazy")
    assert list(store.records()) == [] and store.verify().ok
    assert not (tmp_path / "lazy").exists()


def test_sessions_group_records() -> None:
    assert current_session() is None
    with session() as outer:
        assert current_session() == outer
        with session("ignored-inner-name") as inner:
            assert inner == outer
        assert current_session() == outer
    assert current_session() is None
    with session("training-run.1") as named:
        assert named == "training-run.1"
    with pytest.raises(EvidenceError, match="cannot be used as a session id"), session("../x"):
        pass


def test_append_session_rules(store: EvidenceStore) -> None:
    a = store.append("enforce", {})
    b = store.append("enforce", {})
    assert a.session != b.session  # outside a session: one fresh id per record
    with session() as sid:
        c = store.append("telemetry", {})
        d = store.append("enforce", {})
        e = store.append("review", {}, session="explicit")
    assert c.session == d.session == sid and e.session == "explicit"


@pytest.mark.parametrize(
    ("kind", "message"),
    [("Enforce", "is not a short identifier"), ("1x", "is not a short identifier"), ("", "''")],
)
def test_bad_kind_is_rejected(store: EvidenceStore, kind: str, message: str) -> None:
    with pytest.raises(EvidenceError, match=message):
        store.append(kind, {})


def test_get_rejects_malformed_and_unknown_ids(store: EvidenceStore) -> None:
    rec = store.append("enforce", {"i": 1}, summary={"ref": "20261122T093000123456Z-1a2b3c4d"})
    for bad in ("../../etc/passwd", "", "20261122T093000123456Z-1A2B3C4D", rec.id + "/x"):
        with pytest.raises(EvidenceError, match="is not an evidence record id"):
            store.get(bad)
    with pytest.raises(EvidenceError, match="no evidence record with id 20261122T093000123456Z"):
        store.get("20261122T093000123456Z-1a2b3c4d")  # appears only inside a summary
    assert store.get(rec.id).seq == 1


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: float
    label: str


def test_to_jsonable_conversions() -> None:
    aware = dt.datetime(2026, 1, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    obj = {
        "np": [np.float64(0.1), np.int64(7), np.bool_(True), np.float32(0.5)],
        "arr": np.array([[1.5, np.nan], [np.inf, -np.inf]]),
        "ts": pd.Timestamp("2026-01-02T03:04:05.123456789Z"),
        "nat": pd.NaT,
        "aware": aware,
        "naive": dt.datetime(2026, 1, 2, 3, 4),
        "day": dt.date(2026, 1, 2),
        "delta": dt.timedelta(seconds=1.5),
        "path": Path("/data/x.csv"),
        "set": {3, 1, 2},
        "tuple": (1, "a"),
        "point": Point(1.25, "p"),
        "enum": Colour.RED,
        "nan": float("nan"),
        "inf": math.inf,
        3: "int key",
    }
    out = to_jsonable(obj)
    assert out["np"] == [0.1, 7, True, 0.5] and type(out["np"][1]) is int
    assert out["arr"] == [[1.5, None], [None, None]]
    assert out["ts"] == "2026-01-02T03:04:05.123456789Z" and out["nat"] is None
    assert out["aware"] == "2026-01-02T08:00:00Z" and out["naive"] == "2026-01-02T03:04:00"
    assert (out["day"], out["delta"], out["path"]) == ("2026-01-02", 1.5, "/data/x.csv")
    assert out["set"] == [1, 2, 3] and out["tuple"] == [1, "a"]
    assert out["point"] == {"x": 1.25, "label": "p"} and out["enum"] == "red"
    assert out["nan"] is None and out["inf"] is None and out["3"] == "int key"
    json.dumps(out, allow_nan=False)  # strictly valid JSON


def test_to_jsonable_names_unknown_type_and_path(store: EvidenceStore) -> None:
    with pytest.raises(TypeError, match=r"type builtins\.complex at data\['m'\]\[1\]\['z'\]"):
        to_jsonable({"m": [1, {"z": 1j}]})
    with pytest.raises(TypeError, match=r"mapping key of type builtins\.tuple .* in data\['m'\]"):
        to_jsonable({"m": {(1, 2): 3}})
    with pytest.raises(TypeError, match=r"DataFrame at data\['df'\]"):
        store.append("enforce", {"df": pd.DataFrame({"a": [1]})})
    assert not store.root.exists()  # nothing written for a refused record


def test_nan_is_stored_as_null(store: EvidenceStore) -> None:
    rec = store.append("enforce", {"value": float("nan"), "ok": np.float64(0.25)})
    assert EvidenceStore(store.root).get(rec.id).data == {"value": None, "ok": 0.25}


def test_write_json_is_atomic_and_confined(store: EvidenceStore) -> None:
    path = store.write_json("results.json", [{"actual_value": 1 / 3}])
    assert path == store.root / "results.json"
    store.write_json("results.json", [{"actual_value": 0.5}])  # overwrite by replace
    assert store.read_json("results.json") == [{"actual_value": 0.5}]
    store.write_json("runs/run-1/results.json", {"n": 1})
    store.write_json("trace_train.json", {"name": "train", "duration_seconds": 1.5})
    assert store.read_json("runs/run-1/results.json") == {"n": 1}
    assert not [p for p in store.root.rglob(".tmp-*")]
    assert store.read_json("runs/none.json", default=None) is None
    with pytest.raises(EvidenceError, match=r"no side file runs/none\.json"):
        store.read_json("runs/none.json")
    cases = {
        "../x.json": "may not contain '..'",
        "runs/../../x.json": "may not contain '..'",
        "/etc/passwd": "is absolute",
        "records/00000001_x.json": "reserved for the record chain",
        "index.jsonl": "reserved for the record chain",
        ".lock": "hidden parts",
        "a\\b.json": "is not a relative path",
        "": "is not a relative path",
    }
    for relpath, message in cases.items():
        with pytest.raises(EvidenceError, match=message):
            store.write_json(relpath, {})
    with pytest.raises(EvidenceError, match="is absolute"):
        store.read_json("/etc/passwd")
    (store.root / "escape").symlink_to(store.root.parent)
    with pytest.raises(EvidenceError, match="leaves the store"):
        store.write_json("escape/x.json", {})


def test_lock_is_reentrant_and_serialises_threads(store: EvidenceStore) -> None:
    with store.lock():  # a read-modify-write caller may append inside the lock
        runs = store.read_json("runs/s/results.json", default=[])
        store.write_json("runs/s/results.json", [*runs, 1])
        store.append("enforce", {"inside": True})
        assert store.verify().ok  # verify inside the lock does not deadlock

    def worker(n: int) -> None:
        for i in range(15):
            store.append("telemetry", {"thread": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.seq for r in store.records()) == list(range(1, 62))
    assert store.verify().ok


def test_reader_ignores_partial_index_line_and_writer_trims_it(store: EvidenceStore) -> None:
    for i in range(3):
        store.append("enforce", {"i": i})
    with open(store.index_path, "ab") as fh:
        fh.write(b'{"seq":4,"id":"2026')  # a writer killed mid-append
    assert [r.seq for r in store.records()] == [3, 2, 1]
    result = store.verify()
    assert result.ok and [n.code for n in result.notes] == ["partial_index_line"]
    assert store.append("enforce", {"i": 3}).seq == 4
    assert store.verify().ok and not store.verify().notes
    assert store.index_path.read_bytes().count(b"\n") == 4


def test_lazy_data_detects_edit_and_missing_file(store: EvidenceStore) -> None:
    rec = store.append("enforce", {"v": 1})
    os.chmod(rec.path, 0o644)
    rec.path.write_text(rec.path.read_text().replace('"v":1', '"v":2'))
    with pytest.raises(EvidenceError, match=f"record {rec.id} was modified"):
        _ = store.get(rec.id).data
    assert rec.data == {"v": 1}  # the object returned by append() keeps what was written
    rec.path.unlink()
    with pytest.raises(EvidenceError, match="record file is missing"):
        _ = store.get(rec.id).data


def test_hash_chain_is_the_documented_one(store: EvidenceStore) -> None:
    import hashlib

    first = store.append("enforce", {"a": 1.5, "é": "ü"})
    second = store.append("review", {"b": None})
    for rec in (first, second):
        doc = json.loads(rec.path.read_text("utf-8"))
        body = {k: v for k, v in doc.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == doc["hash"] == rec.hash
    assert first.prev_hash == "0" * 64 and second.prev_hash == first.hash
    line = json.loads(store.index_path.read_text().splitlines()[1])
    assert list(line) == [
        "seq", "id", "kind", "created", "session", "hash", "prev_hash", "summary", "file",
    ]  # fmt: skip
    assert line["file"] == second.file == second.path.name


def test_records_after_reads_only_what_was_appended(evidence_dir):
    store = EvidenceStore(evidence_dir)
    first = [store.append("enforce", {"n": i}) for i in range(3)]
    fresh, offset = store.records_after(0)
    assert [r.id for r in fresh] == [r.id for r in reversed(first)]
    assert offset == store.index_path.stat().st_size == store.index_offset(first[-1].id)
    assert store.records_after(offset) == ([], offset)
    latest = store.append("telemetry", {"n": 3})
    fresh, end = store.records_after(offset)
    assert [r.id for r in fresh] == [latest.id] and fresh[0].kind == "telemetry"
    assert end == store.index_offset(latest.id)
    assert store.records_after(offset - 5) is None  # not a line boundary: read in full
    assert store.index_offset("20991231T000000000000Z-00000000") is None
