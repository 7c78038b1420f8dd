"""notebooks/03_trackers.ipynb runs top to bottom on a fresh kernel in a temporary folder."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("mlflow")
pytest.importorskip("wandb")
from nbclient import NotebookClient  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_trackers.ipynb"

pytestmark = pytest.mark.slow


def test_trackers_notebook_syncs_to_mlflow_and_wandb_offline(tmp_path, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "WANDB_API_KEY", "WANDB_MODE", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    notebook = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    started = time.monotonic()
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert time.monotonic() - started < 60
    texts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            texts.append(
                str(data.get("text/html", ""))
                + str(data.get("text/plain", ""))
                + str(out.get("text", ""))
            )
    joined = "\n".join(texts)
    assert "vl-report-table" in joined
    assert f"sqlite:///{tmp_path}/mlflow.db/#/experiments/" in joined
    assert "synced 0 record(s) to 0 run(s), 2 already synced" in joined
    assert "wandb sync " in joined and "offline-run-" in joined
    assert "VerifyResult(ok=True" in joined
    assert (tmp_path / "mlflow.db").is_file() and list((tmp_path / "wandb").glob("offline-run-*"))
