"""The evidence store at scale: newest-first reads from the index's end, and a verify()
that resumes from the checkpoint of the last clean verify and never holds the store."""

from __future__ import annotations

import io
import json
import os
import random
import warnings
from pathlib import Path

import pytest

from vl_jupyter.cli import main
from vl_jupyter.errors import VLWarning
from vl_jupyter.evidence import EvidenceStore, _checkpoint, _files, _verify


@pytest.fixture
def store(evidence_dir: Path) -> EvidenceStore:
    store = EvidenceStore(evidence_dir)
    for i in range(12):
        store.append("enforce" if i % 3 else "telemetry", {"i": i}, summary={"i": i})
    return store


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a checkpoint cover records written a moment ago (the tests edit files with a
    size change, which the stat digest sees whatever the clock's granularity)."""
    monkeypatch.setattr(_checkpoint, "RACY_NS", 0)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seqs of the record files verify() re-hashes, in order."""
    seen: list[int] = []
    real = _verify.file_hash

    def counting(seq, raw, doc):
        seen.append(seq)
        return real(seq, raw, doc)

    monkeypatch.setattr(_verify, "file_hash", counting)
    return seen


@pytest.mark.parametrize("block", [7, 64, 1 << 16])
def test_reverse_read_equals_the_forward_read(store: EvidenceStore, block: int) -> None:
    with store.index_path.open("ab") as fh:
        fh.write(b'{"seq": 13, "id": "partial')  # a writer killed mid-line
    forward = _files.read_index(store.index_path)
    raw = store.index_path.read_bytes()
    ends = [raw.index(b"\n", raw.index(f'"id":"{e["id"]}"'.encode())) + 1 for e in forward]
    assert list(_files.iter_index_reverse(store.index_path, block)) == list(
        zip(ends[::-1], forward[::-1], strict=True)
    )


def test_reverse_read_skips_damaged_lines_and_warns_once(store: EvidenceStore) -> None:
    lines = store.index_path.read_bytes().split(b"\n")
    lines[3], lines[8] = b"not json", b'{"seq": 1}'
    store.index_path.write_bytes(b"\n".join(lines))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [e["seq"] for _, e in _files.iter_index_reverse(store.index_path, 50)]
    assert got == [12, 11, 10, 8, 7, 6, 5, 3, 2, 1]
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        "skipped 2 unreadable index line(s); run verify() for details"
    ]
    assert caught[0].category is VLWarning


def test_reverse_read_fuzz(tmp_path: Path) -> None:
    rng = random.Random(7)
    store = EvidenceStore(tmp_path / "ev")
    for _ in range(40):
        store.append("enforce", {}, summary={"pad": "x" * rng.randint(0, 300)})
    for block in rng.sample(range(1, 3000), 25):
        got = [e["seq"] for _, e in _files.iter_index_reverse(store.index_path, block)]
        assert got == list(range(40, 0, -1)), block


def test_newest_record_reads_only_the_end_of_the_index(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: reads.append(n) or real(fd, n, at))
    newest = next(store.records(kind="enforce"))
    assert newest.seq == 12 and sum(reads) <= 1 << 16
    assert [r.seq for r in store.records(kind="telemetry")] == [10, 7, 4, 1]


def test_second_verify_rehashes_only_new_records(
    store: EvidenceStore, hashed: list[int], no_racy_window: None
) -> None:
    first = store.verify()
    assert first.ok and first.checked == 12 and hashed == list(range(1, 13))
    saved = json.loads((store.root / _checkpoint.NAME).read_bytes())
    assert (saved["seq"], saved["hash"], saved["files"]) == (12, store.head()[1], 12)
    assert saved["index_bytes"] == store.index_path.stat().st_size
    for i in range(3):
        store.append("enforce", {"late": i})
    hashed.clear()
    second = store.verify()
    assert second.ok and second.checked == 15 and second.head == store.head()
    assert hashed == [13, 14, 15]
    hashed.clear()
    assert store.verify().checked == 15 and hashed == []
    full = store.verify(full=True)
    assert full.ok and full.checked == 15 and hashed == list(range(1, 16))


def test_a_record_edited_after_the_checkpoint_is_still_found(
    store: EvidenceStore, hashed: list[int], no_racy_window: None
) -> None:
    assert store.verify().ok
    victim = sorted(store.records(), key=lambda r: r.seq)[4]
    doc = json.loads(victim.path.read_bytes())
    doc["data"]["i"] = 4000  # three bytes longer
    os.chmod(victim.path, 0o644)
    victim.path.write_text(json.dumps(doc))
    hashed.clear()
    result = store.verify()
    assert [p.code for p in result.problems] == ["edited"] and result.problems[0].seq == 5
    assert hashed == list(range(1, 13))  # the stale checkpoint was not trusted


def test_an_index_line_edited_after_the_checkpoint_is_still_found(
    store: EvidenceStore, no_racy_window: None
) -> None:
    assert store.verify().ok
    text = store.index_path.read_text()
    store.index_path.write_text(text.replace('"summary":{"i":2}', '"summary":{"i":9}', 1))
    result = store.verify()
    assert [(p.code, p.seq) for p in result.problems] == [("index_mismatch", 3)]
    assert "disagrees with the file on summary" in result.problems[0].message


@pytest.mark.parametrize(
    "forge",
    [
        lambda d: {**d, "files": d["files"] - 1},  # self hash no longer matches
        lambda d: "garbage",
        lambda d: {**d, "seq": 99},
    ],
)
def test_a_damaged_checkpoint_means_a_full_verify(
    store: EvidenceStore, hashed: list[int], no_racy_window: None, forge
) -> None:
    assert store.verify().ok
    path = store.root / _checkpoint.NAME
    path.write_text(json.dumps(forge(json.loads(path.read_bytes()))))
    hashed.clear()
    assert store.verify().ok and hashed == list(range(1, 13))


def test_records_changed_within_the_racy_window_are_not_covered(
    store: EvidenceStore, hashed: list[int]
) -> None:
    assert store.verify().ok  # every record was written a moment ago
    assert not (store.root / _checkpoint.NAME).exists()
    hashed.clear()
    assert store.verify().ok and hashed == list(range(1, 13))


def test_a_damaged_store_keeps_no_checkpoint(store: EvidenceStore, no_racy_window: None) -> None:
    rec = sorted(store.records(), key=lambda r: r.seq)[0]
    os.chmod(rec.path, 0o644)
    rec.path.write_text("{")
    assert not store.verify().ok
    assert not (store.root / _checkpoint.NAME).exists()


def test_cli_full_ignores_the_checkpoint(
    store: EvidenceStore, hashed: list[int], no_racy_window: None
) -> None:
    out = io.StringIO()
    assert main(["verify", "--evidence-dir", str(store.root)], out=out) == 0
    assert "evidence OK: 12 records checked" in out.getvalue() and len(hashed) == 12
    hashed.clear()
    assert main(["verify", "--evidence-dir", str(store.root)], out=io.StringIO()) == 0
    assert hashed == []
    assert main(["verify", "--full", "--evidence-dir", str(store.root)], out=out) == 0
    assert hashed == list(range(1, 13))
