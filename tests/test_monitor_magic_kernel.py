"""%%vl_monitor through a real kernel (nbclient): display, tracebacks, Run-All, accuracy."""

from __future__ import annotations

import nbformat
import pytest
from _notebooks import NotebookRunner
from nbclient.exceptions import CellExecutionError

import vl_jupyter
from vl_jupyter import evidence

pytestmark = pytest.mark.slow
EXT = "vl_jupyter" if hasattr(vl_jupyter, "load_ipython_extension") else "vl_jupyter.notebook"


def _notebook(*sources: str, raises: tuple[int, ...] = ()) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(f"%load_ext {EXT}")]
    for i, src in enumerate(sources, start=1):
        cell = nbformat.v4.new_code_cell(src)
        if i in raises:
            cell.metadata["tags"] = ["raises-exception"]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def _run(nb, tmp_path, monkeypatch):
    monkeypatch.setenv("VL_EVIDENCE_DIR", str(tmp_path / "ev"))
    monkeypatch.delenv("VL_COUNTRY", raising=False)
    client = NotebookRunner(
        nb,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
        coalesce_streams=True,  # one printed line may arrive in two messages
    )
    return client, tmp_path / "ev"


def _telemetry(root):
    return {r.data["name"]: r.data for r in evidence.records("telemetry", root=root)}


def test_cells_behave_as_without_the_magic_and_figures_are_exact(tmp_path, monkeypatch):
    nb = _notebook(
        "%%vl_monitor first --country DEU\nimport numpy as np\nblock = np.ones(50_000_000)\n21 * 2",
        "%%vl_monitor second\nother = np.ones(12_500_000)",
        "%%vl_monitor busy -q\nimport time\nend = time.process_time() + 1.0\n"
        "while time.process_time() < end:\n    pass",
        "%%time\n%%vl_monitor around -q\nx = 5\nx",
        "%%vl_monitor inside -q\n%%time\ny = 6\ny",
        "%%vl_monitor hidden -q\n7;",
        "%%vl_monitor --country DEX\n1",
        raises=(7,),
    )
    client, root = _run(nb, tmp_path, monkeypatch)
    client.execute()
    first, _second, _busy, around, inside, hidden, bad = nb.cells[1:]
    assert [o.output_type for o in first.outputs] == ["display_data", "execute_result"]
    assert first.outputs[1].data["text/plain"] == "42"
    html = first.outputs[0].data["text/html"]
    assert html.startswith('<div class="vl-monitor"') and "DEU" in html and "<script" not in html
    assert around.outputs[-1].data["text/plain"] == "5" and "Wall time" in around.outputs[0].text
    assert inside.outputs[-1].data["text/plain"] == "6" and "Wall time" in inside.outputs[0].text
    assert hidden.outputs == []
    (usage,) = bad.outputs  # IPython prints a UsageError as one line, no traceback
    assert usage.text.startswith("UsageError: unknown country code 'DEX'")
    assert "DEU (Germany)" in usage.text and usage.text.count("\n") == 1

    data = _telemetry(root)
    assert abs(data["first"]["peak_delta_bytes"] - 400e6) < 0.05 * 400e6
    assert abs(data["second"]["peak_delta_bytes"] - 100e6) < 0.05 * 100e6
    cpu = data["busy"]["cpu_user_s"] + data["busy"]["cpu_system_s"]
    assert 0.9 <= cpu <= 1.1
    assert data["first"]["code"]["execution_count"] == first.execution_count
    assert {"around", "inside", "hidden"} <= set(data)


def test_failing_cell_shows_one_traceback_stops_run_all_and_is_recorded(tmp_path, monkeypatch):
    nb = _notebook(
        "%%vl_monitor failing\ndef f():\n    raise ValueError('bad input')\nf()",
        "print('after')",
    )
    client, root = _run(nb, tmp_path, monkeypatch)
    with pytest.raises(CellExecutionError, match="bad input"):
        client.execute()
    failing, after = nb.cells[1:]
    errors = [o for o in failing.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError"
    streams = "".join(o.get("text", "") for o in failing.outputs if o.output_type == "stream")
    assert "Traceback" not in streams
    assert "FAILED (ValueError)" in failing.outputs[0].data["text/html"]
    assert after.execution_count is None and after.outputs == []
    rec = _telemetry(root)["failing"]
    assert rec["success"] is False and rec["error"] == "ValueError"
