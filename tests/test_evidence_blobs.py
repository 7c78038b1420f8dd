"""Each enforced policy text is stored once (``policies/<sha256>.<ext>``), named by the
records; verify, the offline verifier, export and the tracker bundle read and check it,
and stores written before blobs (text inline in every record) keep reading and verifying."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter import evidence, signing
from vl_jupyter.errors import EvidenceError, VLWarning

POLICY_YAML = """\
vl-policy: 1
title: Blob test
version: "3"
controls:
  - id: di
    metric: disparate_impact
    operator: gt
    threshold: 0.8
    inputs: {dimension: gender}
  - id: balance
    metric: class_imbalance
    operator: gt
    threshold: 0.3
"""
DIGEST = hashlib.sha256(POLICY_YAML.encode()).hexdigest()
BLOB = f"policies/{DIGEST}.yaml"


def _enforce(german: pd.DataFrame, path: Path, root: Path, **kw) -> vl.Report:
    return vl.enforce(german, path, target="class", ci=False, evidence_dir=root, **kw)


@pytest.fixture
def two_calls(german, tmp_path, evidence_dir):
    """Two enforce calls of one policy on different data: two records, one blob."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    first = _enforce(german, path, evidence_dir)
    second = _enforce(german.iloc[:900], path, evidence_dir)
    return evidence_dir, first, second


def test_the_policy_text_is_stored_once_and_named_by_every_record(two_calls):
    root, first, second = two_calls
    assert sorted(os.listdir(root / "policies")) == [f"{DIGEST}.yaml"]
    blob = root / BLOB
    assert blob.read_text(encoding="utf-8") == POLICY_YAML
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444  # written once, read-only
    for report in (first, second):
        rec = evidence.get(report.evidence_id, root=root)
        assert rec.data["policy"]["text_file"] == BLOB
        assert rec.summary["policy_text"] == BLOB  # in the index line too, for verify()
        assert "text" not in rec.data["policy"]
        assert POLICY_YAML.splitlines()[1] not in rec.path.read_text()  # no inline copy
        assert evidence.policy_text(rec.data["policy"], root) == POLICY_YAML
        assert report.policy["text"] == POLICY_YAML  # the Report in memory keeps it
    assert evidence.EvidenceStore(root).read_blob(BLOB) == POLICY_YAML
    result = evidence.verify(root, full=True)
    assert result.ok, result.problems


def test_an_altered_blob_fails_verify_naming_the_file(two_calls):
    root, first, _ = two_calls
    blob = root / BLOB
    blob.chmod(0o644)
    blob.write_text(POLICY_YAML.replace("0.8", "0.1"), encoding="utf-8")
    result = evidence.verify(root, full=True)
    assert not result.ok
    assert [(p.code, p.file) for p in result.problems] == [("blob_edited", BLOB)]
    assert result.problems[0].message == f"{BLOB} was altered: its bytes do not hash to its name"
    rec = evidence.get(first.evidence_id, root=root)
    with pytest.raises(EvidenceError, match=f"{BLOB} was altered") as err:
        evidence.policy_text(rec.data["policy"], root)
    assert err.value.file == str(blob)


def test_a_deleted_blob_fails_a_full_and_an_incremental_verify(two_calls):
    root, first, _ = two_calls
    assert evidence.verify(root).ok  # a clean verify: the checkpoint, and the blobs seen
    (root / BLOB).unlink()
    full = evidence.verify(root, full=True)
    assert [(p.code, p.file) for p in full.problems] == [("blob_missing", BLOB)]
    rec = evidence.get(first.evidence_id, root=root)
    assert full.problems[0].message == (
        f"{BLOB}, the policy text of record {rec.id} (seq 1, records/{rec.file}), is missing"
    )
    assert full.problems[0].record_id == rec.id
    incremental = evidence.verify(root)
    assert [(p.code, p.file) for p in incremental.problems] == [("blob_missing", BLOB)]
    # a verify that resumes from its checkpoint re-reads no old record (no names from the
    # walk), yet knows the blob was there at the last clean verify
    from vl_jupyter.evidence import _blobs

    resumed = _blobs.verify_blobs(root, _blobs.BlobRefs(), save=False)
    assert [(p.code, p.file, p.message) for p in resumed] == [
        ("blob_missing", BLOB, f"{BLOB}, the policy text of records verified earlier, is missing")
    ]
    (root / "policies").rmdir()  # the whole folder, too
    resumed = _blobs.verify_blobs(root, _blobs.BlobRefs(), save=False)
    assert [(p.code, p.file) for p in resumed] == [("blob_missing", BLOB)]
    with pytest.raises(EvidenceError, match="is missing from the store"):
        evidence.policy_text(rec.data["policy"], root)


def test_writing_a_policy_again_restores_an_altered_blob_with_a_warning(
    two_calls, german, tmp_path
):
    root, _, _ = two_calls
    blob = root / BLOB
    blob.chmod(0o644)
    blob.write_text("tampered", encoding="utf-8")
    with pytest.warns(VLWarning, match="did not hash to its name"):
        _enforce(german, tmp_path / "policy.yaml", root)
    assert blob.read_text(encoding="utf-8") == POLICY_YAML
    assert evidence.verify(root, full=True).ok


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "policies/../index.jsonl",
        f"policies/{DIGEST}.py",
        f"policies/{DIGEST[:-1]}.yaml",
        f"records/{DIGEST}.yaml",
        ["policies", DIGEST],
    ],
)
def test_a_crafted_text_file_is_refused_and_reported(evidence_dir, name):
    rec = evidence.append(
        "enforce", {"policy": {"title": "x", "text_file": name}}, root=evidence_dir
    )
    with pytest.raises(EvidenceError, match="is not a policy blob name"):
        evidence.policy_text(rec.data["policy"], evidence_dir)
    result = evidence.verify(evidence_dir, full=True)
    assert [p.code for p in result.problems] == ["blob_missing"]
    assert result.problems[0].file == f"records/{rec.file}"
    assert "is no blob name" in result.problems[0].message


def test_foreign_and_symlinked_files_in_policies_are_problems(two_calls, tmp_path):
    root, _, _ = two_calls
    (root / "policies" / "notes.txt").write_text("hello")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(POLICY_YAML)
    other = hashlib.sha256(b"x").hexdigest()
    os.symlink(outside, root / "policies" / f"{other}.yaml")
    found = {(p.code, p.file) for p in evidence.verify(root, full=True).problems}
    assert found == {
        ("unexpected_file", "policies/notes.txt"),
        ("blob_edited", f"policies/{other}.yaml"),
    }


def test_a_symlinked_policies_folder_is_never_written_nor_read(evidence_dir, german, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    evidence_dir.mkdir(parents=True)
    os.symlink(elsewhere, evidence_dir / "policies")
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    with pytest.raises(EvidenceError, match="outside the store"):
        _enforce(german, path, evidence_dir)
    assert list(elsewhere.iterdir()) == []
    assert not (evidence_dir / "records").exists() or not os.listdir(evidence_dir / "records")
    with pytest.raises(EvidenceError, match="outside the store"):
        evidence.EvidenceStore(evidence_dir).read_blob(BLOB)
    problems = evidence.verify(evidence_dir, full=True).problems
    assert [(p.code, p.file) for p in problems] == [("outside_store", "policies")]


def test_side_files_cannot_be_written_over_the_blobs(evidence_dir):
    store = evidence.EvidenceStore(evidence_dir)
    with pytest.raises(EvidenceError, match="reserved for the record chain"):
        store.write_json(BLOB, {"x": 1})


def _old_store(root: Path) -> evidence.EvidenceRecord:
    """A record as the writer before blobs made it: the policy text inline."""
    policy = {"title": "Blob test", "version": "3", "source": "policy.yaml",
              "sha256": DIGEST, "dialect": "vl-policy", "controls": 2, "warnings": [],
              "text": POLICY_YAML}  # fmt: skip
    data = {"policy": policy, "status": "pass", "passed": True, "score": 1.0,
            "results": [], "skipped": [], "data": {}, "bindings": {}}  # fmt: skip
    return evidence.append("enforce", data, root=root)


def test_an_old_store_with_inline_text_keeps_reading_and_verifying(evidence_dir, german, tmp_path):
    old = _old_store(evidence_dir)
    assert evidence.verify(evidence_dir, full=True).ok
    assert not (evidence_dir / "policies").exists()
    assert evidence.policy_text(old.data["policy"], evidence_dir) == POLICY_YAML
    # new records go on the same chain with the blob; both kinds verify and read
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    new = _enforce(german, path, evidence_dir)
    assert evidence.verify(evidence_dir, full=True).ok
    texts = [
        evidence.policy_text(r.data["policy"], evidence_dir)
        for r in evidence.records(root=evidence_dir)
    ]
    assert texts == [POLICY_YAML, POLICY_YAML]
    assert evidence.get(new.evidence_id, root=evidence_dir).data["policy"]["text_file"] == BLOB


def test_a_record_without_text_has_none(evidence_dir):
    assert evidence.policy_text({"title": "metrics only"}, evidence_dir) is None
    assert evidence.policy_text(None, evidence_dir) is None


def test_the_extension_follows_the_policy_file():
    assert [evidence.blob_extension(s) for s in ("a.yaml", "b.YML", "c.json", "<dict>", None, "d.oscal", "<string>")] == [
        "yaml", "yaml", "json", "json", "json", "txt", "txt"
    ]  # fmt: skip


# -- readers: the tracker bundle, Annex IV, the audit bundle and its offline verifier ----------
def test_the_tracker_bundle_carries_the_blob_and_the_snapshot(two_calls):
    from vl_jupyter.trackers._bundle import build

    root, _, _ = two_calls
    store = evidence.EvidenceStore(root)
    recs = list(reversed(list(store.records())))
    bundle = build(store, recs, anchor=store.head(), secrets=[])
    assert bundle.files["policy_snapshot/policy.yaml"] == POLICY_YAML.encode()
    assert bundle.files[f"vl_evidence/{BLOB}"] == POLICY_YAML.encode()


def test_the_tracker_bundle_of_an_old_record_keeps_its_snapshot(evidence_dir):
    from vl_jupyter.trackers._bundle import build

    old = _old_store(evidence_dir)
    store = evidence.EvidenceStore(evidence_dir)
    bundle = build(store, [old], anchor=store.head(), secrets=[])
    assert bundle.files["policy_snapshot/policy.yaml"] == POLICY_YAML.encode()
    assert not any(name.startswith("vl_evidence/policies/") for name in bundle.files)


def test_annex_iv_diffs_policy_versions_read_from_blobs_and_inline(evidence_dir, german, tmp_path):
    from vl_jupyter.export import select
    from vl_jupyter.export._annex import build_html

    _old_store(evidence_dir)  # version 3, inline
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML.replace('"3"', '"4"').replace("0.8", "0.75"), encoding="utf-8")
    _enforce(german, path, evidence_dir)  # version 4, a blob
    section = build_html(select(evidence_dir)).split("<h2>6. ")[1].split("<h2>7. ")[0]
    diff = section.split("<pre>")[1].split("</pre>")[0]
    assert "--- v3\n+++ v4" in diff
    assert "-    threshold: 0.8\n+    threshold: 0.75" in diff


def _bundle_files(root: Path) -> dict[str, bytes]:
    from vl_jupyter.export import select
    from vl_jupyter.export._bundle import evidence_files

    return evidence_files(select(root))


def test_the_audit_bundle_carries_each_blob_once_and_the_verifier_checks_it(two_calls, tmp_path):
    from vl_jupyter.export._bundle import write_zip

    root, _, _ = two_calls
    files = _bundle_files(root)
    assert [n for n in files if "policies/" in n] == [f"evidence/{BLOB}"]
    assert files[f"evidence/{BLOB}"] == POLICY_YAML.encode()
    whole = {**files, "MANIFEST.sha256": b""}
    whole["MANIFEST.sha256"] = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items())
    ).encode()
    good = tmp_path / "good.zip"
    good.write_bytes(write_zip(whole))
    assert signing.verify_offline(str(good))["ok"]
    # an altered blob, even with a manifest made to match, is named by the verifier
    files[f"evidence/{BLOB}"] = b"tampered"
    whole = {**files}
    whole["MANIFEST.sha256"] = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items())
    ).encode()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(write_zip(whole))
    result = signing.verify_offline(str(bad))
    assert [(p["code"], p["file"]) for p in result["problems"]] == [
        ("blob_edited", f"evidence/{BLOB}")
    ]
    # a missing one too
    del files[f"evidence/{BLOB}"]
    whole = {**files}
    whole["MANIFEST.sha256"] = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items())
    ).encode()
    bad.write_bytes(write_zip(whole))
    result = signing.verify_offline(str(bad))
    assert [(p["code"], p["file"]) for p in result["problems"]] == [
        ("blob_missing", f"evidence/{BLOB}")
    ]


def test_the_offline_verifier_checks_blobs_of_a_folder(two_calls):
    root, _, _ = two_calls
    assert signing.verify_offline(str(root))["ok"]
    (root / BLOB).chmod(0o644)
    (root / BLOB).write_bytes(b"x")
    result = signing.verify_offline(str(root))
    assert [(p["code"], p["file"]) for p in result["problems"]] == [("blob_edited", BLOB)]


def test_an_export_of_a_store_whose_blob_is_gone_is_refused(two_calls):
    from vl_jupyter.errors import ExportError

    root, _, _ = two_calls
    (root / BLOB).unlink()
    with pytest.raises(ExportError):  # select() verifies first: damaged evidence is not exported
        _bundle_files(root)


# -- results.json: one compact entry a line, the same list ------------------------------------
def test_results_files_hold_one_compact_entry_a_line(two_calls):
    root, first, second = two_calls
    text = (root / "results.json").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    entries = [json.loads(line.rstrip(",")) for line in lines[1:-1]]
    assert entries == json.loads(text)
    assert [e["control_id"] for e in entries] == ["di", "balance", "di", "balance"]
    assert [e["evidence_id"] for e in entries] == [first.evidence_id] * 2 + [second.evidence_id] * 2


def test_an_indented_results_file_of_an_older_writer_is_kept_and_extended(
    evidence_dir, german, tmp_path
):
    old = [{"control_id": "legacy", "result_key": "k1", "metadata": {"a": [1, 2]}, "passed": True}]
    evidence_dir.mkdir(parents=True)
    (evidence_dir / "results.json").write_text(json.dumps(old, indent=2), encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    _enforce(german, path, evidence_dir)
    found = json.loads((evidence_dir / "results.json").read_text(encoding="utf-8"))
    assert found[0] == old[0]
    assert [e["control_id"] for e in found] == ["legacy", "di", "balance"]


@pytest.mark.slow
def test_bench_bytes_runs_and_measures_the_cut(capsys):
    """The benchmark of docs/benchmarks.md at its smallest size: it runs, both layouts
    verify and hold the same results.json, and the new layout writes fewer bytes."""
    import sys

    bench_dir = str(Path(__file__).parent.parent / "benchmarks")
    sys.path.insert(0, bench_dir)
    try:
        import bench_bytes
    finally:
        sys.path.remove(bench_dir)
    out = bench_bytes.main(["--calls", "2", "--only", "german"])["german"]
    rows = out["rows"]
    policy = vl.datasets.policy_path("german_credit_data")
    german_blob = f"policies/{hashlib.sha256(policy.read_bytes()).hexdigest()}.yaml"
    assert rows["policies/ (blobs)"]["new_per_call"] * 2 == policy.stat().st_size
    assert rows["policies/ (blobs)"]["old_per_call"] == 0
    assert rows["record"]["old_per_call"] - rows["record"]["new_per_call"] > 1500  # the text
    for name in ("results.json", "runs/<id>/results.json"):
        assert rows[name]["new_per_call"] < 0.75 * rows[name]["old_per_call"]  # no indentation
    # the index line names the blob too (so verify finds it without parsing the record)
    grown = rows["index line"]["new_per_call"] - rows["index line"]["old_per_call"]
    assert grown == len(f',"policy_text":"{german_blob}"') == 95
    assert "german-credit policy" in capsys.readouterr().out


def test_the_cli_verify_names_an_altered_blob(two_calls):
    from vl_jupyter.cli import main

    root, _, _ = two_calls
    (root / BLOB).chmod(0o644)
    (root / BLOB).write_text("altered", encoding="utf-8")
    out = io.StringIO()
    code = main(["verify", "--evidence-dir", str(root), "--json"], out=out)
    assert code == 1
    problems = json.loads(out.getvalue())["problems"]
    assert [(p["code"], p["file"]) for p in problems] == [("blob_edited", BLOB)]


def _writer(root: str, n: int) -> None:
    store = evidence.EvidenceStore(root)
    for _ in range(n):
        with store.lock():
            name = store.put_blob(POLICY_YAML, "yaml")
            store.append("enforce", {"policy": {"title": "Blob test", "text_file": name}})


def test_processes_writing_one_policy_at_once_share_one_blob(evidence_dir):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(evidence_dir), 5)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert os.listdir(evidence_dir / "policies") == [f"{DIGEST}.yaml"]
    result = evidence.verify(evidence_dir, full=True)
    assert result.ok and result.checked == 15, result.problems


@pytest.mark.parametrize("name", [None, 3, {}, [], "policies/x", "policies/" + "A" * 64 + ".yaml"])
def test_the_offline_verifier_reports_any_text_file_value_without_crashing(evidence_dir, name):
    rec = evidence.append("enforce", {"policy": {"text_file": name}}, root=evidence_dir)
    result = signing.verify_offline(str(evidence_dir))
    assert [(p["code"], p["file"]) for p in result["problems"]] == [
        ("blob_missing", f"records/{rec.file}")
    ]
    assert "not a blob name" in result["problems"][0]["message"]


def test_the_audit_bundle_of_an_old_store_has_no_blobs_and_verifies(evidence_dir, tmp_path):
    _old_store(evidence_dir)
    files = _bundle_files(evidence_dir)
    assert not any("policies/" in n for n in files)
    folder = tmp_path / "bundle"
    for name, payload in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(payload)
    assert signing.verify_offline(str(folder / "evidence"))["ok"]


def test_an_index_summary_naming_another_blob_than_the_record_is_found(two_calls):
    root, _, _ = two_calls
    other = f"policies/{hashlib.sha256(b'other').hexdigest()}.yaml"
    rec = evidence.append(
        "enforce", {"policy": {"text_file": BLOB}}, summary={"policy_text": other}, root=root
    )
    result = evidence.verify(root, full=True)
    assert [(p.code, p.file, p.record_id) for p in result.problems] == [
        ("blob_missing", other, rec.id)
    ]


def test_blob_names_are_taken_from_bytes_verify_does_not_parse(evidence_dir):
    """verify() may check a record by its bytes alone: the name then comes from the index
    entry's summary, or, where the summary has none, from the parsed bytes."""
    from vl_jupyter.evidence import _blobs

    ours = {"id": "a", "file": "00000001_a.json", "summary": {"policy_text": BLOB}}
    foreign = {"id": "b", "file": "00000002_b.json", "summary": {}}
    raw = json.dumps({"id": "b", "data": {"policy": {"text_file": BLOB[:-4] + "json"}}})
    refs = _blobs.BlobRefs()
    refs.note_raw(b"never parsed", ours, 1, None)
    refs.note_raw(raw.encode(), foreign, 2, "records/00000002_b.json")
    refs.note_raw(b'{"plain": 1}', {"id": "c", "summary": {}}, 3, None)
    assert refs.first == {
        BLOB: ("a", 1, "records/00000001_a.json"),
        BLOB[:-4] + "json": ("b", 2, "records/00000002_b.json"),
    }
