"""notebooks/03_trackers.ipynb runs top to bottom on a fresh kernel in a temporary folder."""

from __future__ import annotations

import pytest
from _notebooks import execute, outputs

pytestmark = pytest.mark.slow


def test_trackers_notebook_syncs_to_mlflow_and_wandb_offline(tmp_path, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "WANDB_API_KEY", "WANDB_MODE", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    notebook = execute("03_trackers.ipynb", tmp_path, timeout=120)
    texts = outputs(notebook)
    joined = "\n".join(texts)
    assert "vl-report-table" in joined
    assert f"sqlite:///{tmp_path}/mlflow.db/#/experiments/" in joined
    assert "synced 0 record(s) to 0 run(s), 2 already synced" in joined
    assert "wandb sync " in joined and "offline-run-" in joined
    assert "VerifyResult(ok=True" in joined
    assert (tmp_path / "mlflow.db").is_file() and list((tmp_path / "wandb").glob("offline-run-*"))
