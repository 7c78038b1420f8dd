"""Done-when of issue 15: notebook 02's evidence, signed, exported as a bundle, verified
offline in a fresh virtual environment that has nothing but the standard library and
``cryptography``; one flipped byte is named; OSCAL and CycloneDX validate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from tests._notebooks import execute
from vl_jupyter import signing
from vl_jupyter.export import export

pytestmark = pytest.mark.slow

# cryptography and what it imports at run time, copied from this environment: the fresh
# venv must not reach a package registry (tests never use the network)
_CRYPTO = ("cryptography", "cffi", "pycparser", "_cffi_backend")


def _fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if entry.name.split(".")[0] in _CRYPTO and not entry.name.endswith(".dist-info"):
            (site / entry.name).symlink_to(entry)
    return python


def test_notebook_02_bundle_verifies_offline_in_a_fresh_venv(tmp_path, monkeypatch):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    monkeypatch.setenv("VL_CONFIG_DIR", str(tmp_path / "config"))
    key = signing.init_key("Notebook Author <author@example.eu>")
    work = tmp_path / "work"
    work.mkdir()
    execute("02_model_audit.ipynb", work)  # the kernel inherits VL_CONFIG_DIR: it signs
    result = export("bundle", tmp_path / "out", evidence_dir=work / ".venturalitica")
    bundle = result.files[0]
    with zipfile.ZipFile(bundle) as zf:
        entries = {i.filename: zf.read(i) for i in zf.infolist()}
    kinds = [json.loads(b)["kind"] for n, b in entries.items() if n.startswith("evidence/records/")]
    assert sorted(kinds) == ["enforce", "review", "telemetry"]

    python = _fresh_venv(tmp_path / "venv")
    probe = subprocess.run(
        [str(python), "-I", "-c", "import vl_jupyter"], capture_output=True, text=True
    )
    assert probe.returncode == 1 and "No module named 'vl_jupyter'" in probe.stderr
    script = tmp_path / "verify_bundle.py"
    script.write_bytes(entries["verify_bundle.py"])
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(key.public_line() + "\n")
    started = time.perf_counter()
    run = subprocess.run(
        [str(python), "-I", str(script), str(bundle), "--trusted-keys", str(trusted)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"OK: 3 records in {bundle}")
    for kind in ("telemetry", "enforce", "review"):
        assert f"signed {kind}" in run.stdout
    assert run.stdout.count("by Notebook Author <author@example.eu>") == 3
    # the same line `vl-jupyter verify --signatures` prints (signing._standalone.signed_line)
    assert run.stdout.count(", trusted as Notebook Author <author@example.eu>): ") == 3
    assert elapsed < 10

    record = next(
        n
        for n in sorted(entries)
        if n.startswith("evidence/records/") and json.loads(entries[n])["kind"] == "enforce"
    )
    flipped = bytearray(entries[record])
    at = flipped.index(b'"rows":') + len(b'"rows":')
    flipped[at] = ord("1") if flipped[at] != ord("1") else ord("2")
    bad = tmp_path / "flipped.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, payload in entries.items():
            zf.writestr(name, bytes(flipped) if name == record else payload)
    run = subprocess.run(
        [str(python), "-I", str(script), str(bad), "--trusted-keys", str(trusted)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert f"problem [edited] {record} (record" in run.stdout
    assert (
        f"problem [bad_signature] {record.replace('records', 'signatures')[:-5]}.dsse.json"
        in run.stdout
    )
    assert f"problem [manifest_mismatch] {record} differs from the manifest" in run.stdout

    AssessmentResults.model_validate(
        json.loads(entries["oscal/assessment-results.oscal.json"])["assessment-results"]
    )
    PlanOfActionAndMilestones.model_validate(
        json.loads(entries["oscal/poam.oscal.json"])["plan-of-action-and-milestones"]
    )
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(entries["model-card/bom.cdx.json"].decode()) is None
    shutil.rmtree(tmp_path / "venv")
