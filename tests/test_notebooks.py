"""The shipped notebooks run top to bottom on a fresh kernel and show what they promise."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

pytestmark = pytest.mark.slow


def execute(name: str, workdir: Path) -> nbformat.NotebookNode:
    shutil.copy(NOTEBOOKS / name, workdir / name)
    notebook = nbformat.read(workdir / name, as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            texts.append(
                str(data.get("text/html", ""))
                + str(data.get("text/plain", ""))
                + str(out.get("text", ""))
            )
    return texts


def test_quickstart_audits_mitigates_and_reaudits(tmp_path):
    notebook = execute("01_quickstart.ipynb", tmp_path)
    texts = outputs(notebook)
    html = [t for t in texts if "vl-report-table" in t]
    assert len(html) == 2, "two traffic-light tables: before and after the mitigation"
    assert "✖ FAIL" in html[0] and "approvals-by-age" in html[0]
    assert "✖ FAIL" not in html[1]
    assert any("VerifyResult(ok=True, checked=2" in t for t in texts)
    assert len(list((tmp_path / ".venturalitica" / "records").glob("*.json"))) == 2
