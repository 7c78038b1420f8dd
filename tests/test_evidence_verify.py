"""verify(): every kind of tampering is found, named, and reported without raising."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vl_jupyter.errors import EvidenceError
from vl_jupyter.evidence import EvidenceRecord, EvidenceStore
from vl_jupyter.evidence._jsonable import record_hash


@pytest.fixture
def store(evidence_dir: Path) -> EvidenceStore:
    store = EvidenceStore(evidence_dir)
    for i in range(5):
        store.append("enforce", {"i": i, "value": i / 7}, summary={"i": i})
    return store


def recs(store: EvidenceStore) -> list[EvidenceRecord]:
    """Records oldest first (index 0 is seq 1)."""
    return sorted(store.records(), key=lambda r: r.seq)


def codes(result) -> list[str]:
    return sorted({p.code for p in result.problems})


def rewrite(path: Path, doc: dict) -> None:
    os.chmod(path, 0o644)
    path.write_text(json.dumps(doc), "utf-8")


def only(result, code: str):
    found = [p for p in result.problems if p.code == code]
    assert found, f"no {code!r} problem in:\n{result}"
    return found[0]


def test_clean_store_verifies(store: EvidenceStore) -> None:
    result = store.verify()
    assert result.ok and bool(result) and result.checked == 5
    assert result.problems == [] and result.notes == []
    assert result.head == store.head() == (5, recs(store)[-1].hash)
    assert "evidence OK: 5 records checked" in str(result)
    assert EvidenceStore(store.root.parent / "empty").verify().ok


def test_edited_record(store: EvidenceStore) -> None:
    rec = recs(store)[2]
    doc = json.loads(rec.path.read_text())
    doc["data"]["value"] = 0.99
    rewrite(rec.path, doc)
    result = store.verify()
    assert not result.ok and codes(result) == ["edited"]
    problem = only(result, "edited")
    assert (problem.record_id, problem.seq) == (rec.id, 3)
    assert rec.id in problem.message and rec.path.name in problem.message
    assert "does not match its hash" in problem.message
    assert "DAMAGED" in str(result)


def test_edited_record_with_recomputed_hash_breaks_the_next_link(store: EvidenceStore) -> None:
    rec, nxt = recs(store)[1], recs(store)[2]
    doc = json.loads(rec.path.read_text())
    doc["data"]["value"] = 0.5
    doc["hash"] = record_hash(doc)  # a careful forger
    rewrite(rec.path, doc)
    result = store.verify()
    assert codes(result) == ["broken_link", "index_mismatch"]
    link = only(result, "broken_link")
    assert link.record_id == nxt.id and nxt.path.name in link.message
    mismatch = only(result, "index_mismatch")
    assert mismatch.record_id == rec.id and "hash" in mismatch.message


@pytest.mark.parametrize("position", [2, 4], ids=["middle", "last"])
def test_deleted_record(store: EvidenceStore, position: int) -> None:
    rec = recs(store)[position]
    rec.path.unlink()
    result = store.verify()
    assert codes(result) == ["deleted"]
    problem = only(result, "deleted")
    assert (problem.record_id, problem.seq) == (rec.id, position + 1)
    assert rec.id in problem.message and rec.path.name in problem.message
    with pytest.raises(EvidenceError, match="missing"):
        _ = store.get(rec.id).data


def test_deleted_record_and_its_index_line(store: EvidenceStore) -> None:
    rec = recs(store)[1]
    rec.path.unlink()
    lines = store.index_path.read_text().splitlines(keepends=True)
    store.index_path.write_text("".join(line for line in lines if rec.id not in line))
    problem = only(store.verify(), "deleted")
    assert problem.seq == 2 and "seq 2 is missing" in problem.message


def test_reordered_records(store: EvidenceStore) -> None:
    a, b = recs(store)[1], recs(store)[2]  # swap the files of seq 2 and seq 3
    a_new = a.path.with_name(f"00000003_{a.id}.json")
    b_new = b.path.with_name(f"00000002_{b.id}.json")
    a.path.rename(a_new)
    b.path.rename(b_new)
    result = store.verify()
    assert "reordered" in codes(result) and not result.ok
    messages = [p.message for p in result.problems if p.code == "reordered"]
    assert any(a.id in m and a_new.name in m and "seq 2" in m for m in messages)
    assert any(b.id in m and b_new.name in m for m in messages)


def test_renamed_record(store: EvidenceStore) -> None:
    rec = recs(store)[3]
    fake = "20200101T000000000000Z-deadbeef"
    target = rec.path.with_name(f"00000004_{fake}.json")
    rec.path.rename(target)
    result = store.verify()
    problem = only(result, "renamed")
    assert problem.record_id == rec.id and target.name in problem.message
    assert "index_mismatch" in codes(result)


def test_foreign_file_in_records(store: EvidenceStore) -> None:
    (store.records_dir / "notes.json").write_text("{}")
    problem = only(store.verify(), "unexpected_file")
    assert "records/notes.json" in problem.message


@pytest.mark.parametrize("content", [b"", b'{"schema": "vl_jupyter.evidence/1", "seq": 3'])
def test_corrupt_record_file(store: EvidenceStore, content: bytes) -> None:
    rec = recs(store)[2]
    os.chmod(rec.path, 0o644)
    rec.path.write_bytes(content)
    result = store.verify()
    assert codes(result) == ["truncated"]
    problem = only(result, "truncated")
    assert problem.record_id == rec.id and rec.path.name in problem.message
    assert "is not valid JSON" in problem.message


def test_record_without_fields(store: EvidenceStore) -> None:
    rec = recs(store)[0]
    rewrite(rec.path, {"id": rec.id})
    assert only(store.verify(), "malformed").record_id == rec.id


def test_index_line_edited(store: EvidenceStore) -> None:
    rec = recs(store)[1]
    text = store.index_path.read_text()
    store.index_path.write_text(text.replace('"summary":{"i":1}', '"summary":{"i":100}'))
    problem = only(store.verify(), "index_mismatch")
    assert problem.record_id == rec.id and "summary" in problem.message
    assert rec.path.name in problem.message


def test_index_line_removed(store: EvidenceStore) -> None:
    rec = recs(store)[2]
    lines = store.index_path.read_text().splitlines(keepends=True)
    store.index_path.write_text("".join(line for line in lines if rec.id not in line))
    result = store.verify()
    problem = only(result, "missing_index")
    assert problem.record_id == rec.id and rec.path.name in problem.message
    assert [r.seq for r in store.records()] == [5, 4, 2, 1]


def test_index_line_garbled_and_duplicated(store: EvidenceStore) -> None:
    lines = store.index_path.read_text().splitlines(keepends=True)
    lines[1] = "not json\n"
    lines.append(lines[3])
    store.index_path.write_text("".join(lines))
    result = store.verify()
    assert "index.jsonl line 2" in only(result, "index_corrupt").message
    assert "again or out of order" in only(result, "index_mismatch").message
    with pytest.warns(UserWarning, match="skipped 1 unreadable index line"):
        assert len(list(store.records())) == 5  # listing survives (duplicate included)


def test_lost_index_is_rebuilt_by_next_append(store: EvidenceStore) -> None:
    store.index_path.unlink()
    result = store.verify()
    assert [p.code for p in result.problems] == ["missing_index"] * 5 and not result.notes
    assert store.append("enforce", {"i": 5}).seq == 6
    assert store.verify().ok and len(list(store.records())) == 6


def test_writer_refuses_to_continue_after_a_bad_tail(store: EvidenceStore) -> None:
    rec = recs(store)[4]
    lines = store.index_path.read_text().splitlines(keepends=True)
    store.index_path.write_text("".join(lines[:-1]))  # index loses seq 5 ...
    pending = store.records_dir / ".tmp-pending.json"
    doc = json.loads(rec.path.read_text())
    doc["prev_hash"] = "f" * 64  # ... and the pending marker names a forged seq 5
    doc["hash"] = record_hash(doc)
    rewrite(rec.path, doc)
    pending.write_text(json.dumps(doc))
    with pytest.raises(EvidenceError, match="does not continue the chain"):
        store.append("enforce", {"i": 99})
