"""get(id) bisects the index by the time in the id: exact on hits, exact on misses where
the index is in time order, and the old full search wherever it is not."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path

import pytest

from vl_jupyter.errors import RecordNotFoundError
from vl_jupyter.evidence import EvidenceStore, _files, _seek

START = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)


def line(seq: int, when: dt.datetime, tag: int, summary: dict | None = None) -> dict:
    rid = when.strftime("%Y%m%dT%H%M%S%fZ") + f"-{tag:08x}"
    return {"seq": seq, "id": rid, "kind": "enforce", "created": "2026-11-22T09:00:00.000000Z",
            "session": "s", "hash": "a" * 64, "prev_hash": "b" * 64,
            "summary": summary or {"pad": "x" * (seq % 50)}, "file": f"{seq:08d}_{rid}.json"}  # fmt: skip


def write(path: Path, entries: list[dict], mode: str = "w") -> None:
    with path.open(mode, encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e, separators=(",", ":")) + "\n")


def ordered(n: int, step_us: int = 1000, at: int = 0) -> list[dict]:
    return [
        line(at + i + 1, START + dt.timedelta(microseconds=step_us * (at + i)), at + i)
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def _fresh_cache():
    _seek._ORDERED.clear()
    yield
    _seek._ORDERED.clear()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes of each pread the code under test makes."""
    seen: list[int] = []
    real = os.pread
    monkeypatch.setattr(
        os, "pread", lambda fd, n, at: seen.append(len(real(fd, n, at))) or real(fd, n, at)
    )
    return seen


def test_every_record_is_found_by_a_few_small_reads(tmp_path: Path, reads: list[int]) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(5000)
    write(index, entries)
    assert index.stat().st_size > 1_500_000
    for e in [*random.Random(3).sample(entries, 200), entries[0], entries[-1]]:
        reads.clear()
        assert _seek.find_entry(index, e["id"]) == e
        assert sum(reads) < 200_000, (e["seq"], len(reads), sum(reads))


def test_a_miss_is_exact_after_one_order_check_that_then_only_extends(
    tmp_path: Path, reads: list[int]
) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(3000)
    write(index, entries)
    size = index.stat().st_size
    unknown = entries[1500]["id"][:-8] + "ffffffff"
    assert _seek.find_entry(index, unknown) is None  # checks the order once ...
    assert sum(reads) >= size
    reads.clear()
    assert _seek.find_entry(index, unknown) is None  # ... then a miss is a bisect
    assert sum(reads) < 200_000
    write(index, ordered(10, at=3000), "a")
    reads.clear()
    assert _seek.find_entry(index, unknown) is None
    assert sum(reads) < 200_000  # only the appended lines were checked
    assert _seek.find_entry(index, entries[2999]["id"]) == entries[2999]


def test_a_clock_that_stepped_back_falls_back_to_the_full_search(tmp_path: Path) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(2000)
    back = START - dt.timedelta(hours=1)  # records 1001-1200 written after an NTP step back
    for i in range(1000, 1200):
        entries[i] = line(i + 1, back + dt.timedelta(microseconds=i), i)
    write(index, entries)
    for e in entries[::41] + entries[995:1005] + entries[1195:1205]:
        assert _seek.find_entry(index, e["id"]) == e
    assert _seek.find_entry(index, entries[500]["id"][:-8] + "ffffffff") is None


def test_records_sharing_a_timestamp_are_all_found(tmp_path: Path) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(4000, step_us=0)  # a clock that did not move (coarse resolution)
    entries += ordered(200, at=4000)
    write(index, entries)
    for e in entries[::97] + entries[-3:]:
        assert _seek.find_entry(index, e["id"]) == e


def test_hand_written_or_damaged_lines_fall_back_to_the_full_search(tmp_path: Path) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(3000)
    write(index, entries)
    lines = index.read_bytes().split(b"\n")
    lines[1499] = json.dumps(entries[1499], indent=None).encode()  # spaces after colons
    lines[1700] = b"not json"
    index.write_bytes(b"\n".join(lines))
    for e in entries[1400:1900:37] + entries[1497:1502] + entries[1698:1703]:
        assert _seek.find_entry(index, e["id"]) == _files.find_entry(index, e["id"])
    assert _seek.find_entry(index, entries[1800]["id"]) == entries[1800]
    assert _seek.find_entry(index, entries[1700]["id"]) is None  # its line is gone


def test_an_index_rewritten_in_place_is_checked_again(tmp_path: Path) -> None:
    index = tmp_path / "index.jsonl"
    entries = ordered(1000)
    write(index, entries)
    assert _seek.find_entry(index, entries[10]["id"][:-8] + "ffffffff") is None
    shuffled = entries[:]
    shuffled[100], shuffled[900] = shuffled[900], shuffled[100]
    with index.open("r+", encoding="utf-8") as fh:  # same inode, same size, new order
        fh.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in shuffled))
    assert _seek.find_entry(index, entries[900]["id"]) == entries[900]
    assert _seek.find_entry(index, entries[100]["id"]) == entries[100]


def test_store_get_uses_it_and_names_an_unknown_id(evidence_dir: Path) -> None:
    store = EvidenceStore(evidence_dir)
    recs = [store.append("enforce", {"i": i}, summary={"i": i}) for i in range(30)]
    for rec in recs:
        assert store.get(rec.id).data == {"i": rec.seq - 1}
    unknown = recs[5].id[:-8] + "ffffffff"
    with pytest.raises(RecordNotFoundError, match=f"no evidence record with id {unknown}"):
        store.get(unknown)
    assert _files.find_entry(store.index_path, recs[7].id) == _seek.find_entry(
        store.index_path, recs[7].id
    )
