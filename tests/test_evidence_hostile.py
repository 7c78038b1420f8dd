"""A hostile or damaged ``.venturalitica/`` (cloned with a repository, edited by hand):
every path it names stays inside the store, a forked chain is refused, and what cannot be
trusted is reported naming the record instead of read, served or synced."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vl_jupyter.errors import EvidenceError
from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.evidence._files import INDEX_FIELDS, entry_problem


def _store(root: Path, n: int = 2) -> EvidenceStore:
    store = EvidenceStore(root)
    for i in range(n):
        store.append("review", {"i": i}, summary={"decision": "accept_risk"}, session="s1")
    return store


def _lines(store: EvidenceStore) -> list[dict]:
    return [json.loads(x) for x in store.index_path.read_text().splitlines()]


def _write_lines(store: EvidenceStore, lines: list[dict]) -> None:
    store.index_path.chmod(0o644)
    store.index_path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _hostile_line(store: EvidenceStore, **changes) -> dict:
    """A copy of the last line with ``changes`` applied, as a crafted index would hold."""
    return {**_lines(store)[-1], **changes}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("file", "../../../../etc/passwd", "is not records/"),
        ("file", "/etc/passwd", "is not records/"),
        ("file", "00000002_x/../../../../etc/passwd", "is not records/"),
        ("session", "../../runs", "is not a session id"),
        ("id", "../x", "is not a record id"),
        ("created", "yesterday", "created time 'yesterday' is unparsable"),
        ("summary", [1, 2], "its summary is a list, not a mapping"),
        ("seq", "2", "is not a positive integer"),
        ("hash", "abc", "its hash is not a sha256 hex digest"),
    ],
)
def test_an_untrustworthy_index_line_is_named_by_verify_and_skipped_by_listing(
    evidence_dir, field, value, reason
):
    store = _store(evidence_dir)
    good = _lines(store)
    bad = {**good[-1], field: value}
    _write_lines(store, [*good[:-1], bad])
    assert reason in entry_problem(bad)
    result = store.verify()
    assert not result.ok
    (problem,) = [p for p in result.problems if p.code == "index_corrupt"]
    assert reason in problem.message and "index.jsonl line 2" in problem.message
    if field != "id":
        assert problem.record_id == good[-1]["id"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = list(store.records())
    assert [r.id for r in listed] == [good[0]["id"]]
    assert "skipped 1 unreadable index line" in str(caught[0].message)
    records, skipped = store.listing()
    assert [r.id for r in records] == [good[0]["id"]]
    assert (
        len(skipped) == 1 and skipped[0].startswith("index.jsonl line 2: ") and reason in skipped[0]
    )
    with pytest.raises(EvidenceError, match="index line not used"):
        from vl_jupyter.evidence._record import record_from_entry

        record_from_entry(bad, store.records_dir)


def test_a_symlinked_record_file_is_never_followed(evidence_dir, tmp_path):
    store = _store(evidence_dir, 1)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (rec,) = store.records()
    rec.path.unlink()
    os.symlink(secret, rec.path)
    with pytest.raises(EvidenceError, match="the record file is a symlink"):
        _ = store.get(rec.id).data
    result = store.verify()
    (problem,) = result.problems
    assert problem.code == "outside_store" and rec.id in problem.message
    assert "top secret" not in str(result)


def test_a_symlinked_records_folder_is_neither_listed_nor_read(evidence_dir, tmp_path):
    store = _store(evidence_dir, 1)
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    (outside / "00000001_20261122T093000123456Z-1a2b3c4d.json").write_text("{}")
    os.rename(store.records_dir, tmp_path / "moved")
    os.symlink(outside, store.records_dir)
    result = store.verify()
    assert [p.code for p in result.problems if p.code == "outside_store"] == ["outside_store"]
    assert "passwd" not in str(result)  # the folder behind the link is not even listed
    assert store.listing() == ([], [store.listing()[1][0]])
    assert "is a link to" in store.listing()[1][0]
    with pytest.raises(EvidenceError, match="outside the store"):
        store.append("review", {}, session="s1")


def test_a_truncated_index_is_refused_before_it_forks_the_chain(evidence_dir):
    store = _store(evidence_dir, 3)
    lines = _lines(store)
    _write_lines(store, lines[:1])  # two lines lost; their record files remain
    with pytest.raises(EvidenceError) as info:
        store.append("review", {"i": 9}, session="s1")
    text = str(info.value)
    assert (
        f"the evidence index ends at seq 1 but records/ holds {lines[1]['file']} and 1 more" in text
    )
    assert "forked chain" in text and "move index.jsonl aside" in text
    assert sorted(os.listdir(store.records_dir)) == sorted(x["file"] for x in lines)
    # the repair the message names works: the chain is re-indexed from the files
    store.index_path.rename(evidence_dir / "index.jsonl.bak")
    new = store.append("review", {"i": 9}, session="s1")
    assert new.seq == 4 and store.verify().ok


def test_appending_in_a_loop_does_not_list_the_records_folder(evidence_dir, monkeypatch):
    store = _store(evidence_dir, 1)
    calls = []
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda p=".": calls.append(str(p)) or real(p))
    for i in range(5):
        store.append("review", {"i": i}, session="s1")
    assert [c for c in calls if c.endswith("records")] == []


@pytest.mark.slow
def test_a_crafted_file_field_cannot_overwrite_files_through_sync(tmp_path, monkeypatch):
    """The reproduced attack: an index ``file`` of ``../`` steps that lands the sync
    bundle's copy of a record on ``~/.ipython/profile_default/ipython_config.json``."""
    pytest.importorskip("mlflow")
    from vl_jupyter.trackers import sync

    home = tmp_path / "home"
    target = home / ".ipython" / "profile_default" / "ipython_config.json"
    monkeypatch.setenv("HOME", str(home))
    tmpdir = tmp_path / "t"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    repo = tmp_path / "repo" / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h"
    repo.mkdir(parents=True)
    monkeypatch.chdir(repo)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    store = _store(repo / ".venturalitica", 1)
    # the bundle writes <tmpdir>/vl-sync-X/vl_evidence/records/<file>: as many '..' as
    # that has parts climb to '/', then the absolute tail names the victim
    climb = len(Path(tmpdir, "vl-sync-X", "vl_evidence", "records").parts) - 1
    tail = str(target).lstrip("/")
    # ... while the same name read from the store's records/ lands on the payload file
    payload = store.records_dir.joinpath(*[".."] * climb, tail)
    payload.parent.mkdir(parents=True, exist_ok=True)
    good = _lines(store)[-1]
    doc = json.loads((store.records_dir / good["file"]).read_text())
    payload.write_text(json.dumps(doc))  # a valid record, so its hash checks out
    _write_lines(store, [{**good, "file": "../" * climb + tail}])
    assert payload.resolve().is_file() and not target.exists()
    result = sync("mlflow", settings={"mlflow_tracking_uri": f"sqlite:///{tmp_path}/m.db"})
    assert not target.exists()
    assert result.synced == []
    assert any("not synced: index.jsonl line 1" in m and good["id"] in m for m in result.messages)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_paths = st.sampled_from(
    ["../x.json", "/etc/passwd", "..", "a/b", "00000001_x.json", ""]
) | st.text(max_size=30)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(INDEX_FIELDS)), value=_json_values | _paths)
def test_any_hostile_value_in_any_field_is_listed_safely_or_skipped(tmp_path, field, value):
    """Fuzz: whatever one index line holds, listing and verify never raise, and every
    record they hand out names a file inside the store's records/ folder."""
    root = Path(tempfile.mkdtemp(dir=tmp_path)) / ".venturalitica"  # fresh per example
    store = _store(root, 1)
    (line,) = _lines(store)
    _write_lines(store, [{**line, field: value}])
    records, skipped = store.listing()
    for rec in records:
        assert rec.path.parent == store.records_dir and "/" not in rec.file
        assert rec.file == f"{rec.seq:08d}_{rec.id}.json"
    assert len(records) + len(skipped) == 1
    result = store.verify()  # never raises
    if skipped:
        assert not result.ok and any(p.code == "index_corrupt" for p in result.problems)
