"""The run-close context carries the index offset where the run began, so the audit run
writer reads the run's own records instead of scanning the whole store every cell."""

from __future__ import annotations

import json
import sys

import vl_jupyter as vl
from vl_jupyter import evidence
from vl_jupyter.evidence import EvidenceStore

export_room = sys.modules["vl_jupyter.export"]  # the package, not vl.export the function


def test_the_run_writer_reads_only_what_the_run_appended(evidence_dir, monkeypatch):
    store = EvidenceStore(evidence_dir)
    for i in range(30):  # other work in the same store, before the run
        store.append("enforce", {"i": i}, session=f"other-{i}")
    seen = {}
    real = export_room.write_run_files

    def spy(run_id, **kwargs):
        seen.update(kwargs, run_id=run_id)
        return real(run_id, **kwargs)

    def full_scan(self, kind=None, session=None):
        raise AssertionError("the whole index was scanned")

    monkeypatch.setattr(export_room, "write_run_files", spy)
    monkeypatch.setattr(EvidenceStore, "records", full_scan)
    size = store.index_path.stat().st_size
    with vl.monitor("run", sample=False, evidence_dir=evidence_dir) as m:
        store.append("enforce", {"inside": True})
    assert seen["run_id"] == m.result.session and seen["since"] == size
    bom = json.loads((evidence_dir / "runs" / m.result.session / "bom.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    monkeypatch.undo()
    # the same run read the slow way gives the same records
    tail, _ = store.records_after(size)
    assert sorted(r.id for r in tail) == sorted(
        r.id for r in store.records(session=m.result.session)
    )


def test_a_rebuilt_index_falls_back_to_the_full_read(evidence_dir):
    store = EvidenceStore(evidence_dir)
    with evidence.session("solo"):
        store.append("enforce", {"x": 1})
    # an offset that is not a line boundary (the index was rebuilt or trimmed since)
    paths = export_room.write_run_files("solo", evidence_dir=evidence_dir, since=7)
    assert [p.name for p in paths] == ["bom.json", "assessment-results.oscal.json"]


def test_the_bom_sees_a_module_imported_after_the_last_run(monkeypatch):
    """The imported distributions are cached by the size of sys.modules: a new import
    changes it, and the next BOM lists the new distribution (and drops it once gone)."""
    import types

    from vl_jupyter.export import _cyclonedx

    mapping = _cyclonedx._packages_distributions()
    before = _cyclonedx.distributions_of()
    top = next(
        t
        for t in sorted(mapping)
        if t.isidentifier() and t not in sys.modules and mapping[t][0] not in before
    )
    dist = mapping[top][0]
    assert before == _cyclonedx.distributions_of()  # nothing imported: the same answer
    monkeypatch.setitem(sys.modules, top, types.ModuleType(top))
    assert dist in _cyclonedx.distributions_of()
    monkeypatch.delitem(sys.modules, top)
    assert _cyclonedx.distributions_of() == before


def test_the_run_bom_is_compact_json_that_loads(evidence_dir):
    with vl.monitor("bom", evidence_dir=evidence_dir, quiet=True) as m:
        pass
    raw = (evidence_dir / "runs" / m.result.session / "bom.json").read_bytes()
    assert b"\n" not in raw and json.loads(raw)["bomFormat"] == "CycloneDX"
