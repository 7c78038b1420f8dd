"""Every snippet of the README's "Coming from Venturalítica" section runs as written, each in
an empty folder holding the tutorials' risks.oscal.yaml (the shipped loan policy)."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

import vl_jupyter as vl

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Coming from Venturalítica"


def snippets() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    section = text[start:end]
    first_line = text[:start].count("\n") + 1
    found = []
    for match in re.finditer(r"```python\n(.*?)```", section, re.S):
        line = first_line + section[: match.start()].count("\n") + 1
        found.append((line, match.group(1)))
    return found


SNIPPETS = snippets()
SLOW = ("mlflow", "wandb", "RandomForest")


def test_the_section_has_the_seeds():
    assert len(SNIPPETS) == 6
    joined = "\n".join(code for _, code in SNIPPETS)
    verbs = ("quickstart(", "load_sample(", "enforce(data=", "enforce(metrics=", "wrap(")
    verbs += ("monitor(", "scan(project_root", "retain(", "last_audit_results", " + ")
    for verb in verbs:
        assert verb in joined, verb
    assert all(code.startswith("import") for _, code in SNIPPETS)
    assert "import venturalitica" not in joined


def _param(line: int, code: str):
    marks = [pytest.mark.slow] if any(s in code for s in SLOW) else []
    return pytest.param(line, code, id=f"README.md:{line}", marks=marks)


@pytest.mark.parametrize("line, code", [_param(line, code) for line, code in SNIPPETS])
def test_snippet_runs_as_written(line, code, tmp_path, monkeypatch):
    for name in ("VL_EVIDENCE_DIR", "MLFLOW_TRACKING_URI", "WANDB_API_KEY", "WANDB_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    for name, sub in (("WANDB_DIR", ""), ("WANDB_DATA_DIR", "wd"), ("WANDB_CACHE_DIR", "wc")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wcfg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(vl.datasets.policy_path("loan.oscal"), tmp_path / "risks.oscal.yaml")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, f"{README}:{line}", "exec"), namespace)
    finally:
        mlflow = namespace.get("mlflow")
        if mlflow is not None:
            if mlflow.active_run() is not None:
                mlflow.end_run()
            mlflow.set_tracking_uri(None)
    evidence = tmp_path / ".venturalitica"
    records = list(vl.evidence.records(root=evidence))
    assert records, "the snippet left no evidence"
    assert vl.evidence.verify(evidence).ok
    if "monitor(" in code or "quickstart(" in code:
        assert vl.evidence.latest_run(evidence) is not None
