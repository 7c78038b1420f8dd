"""``vl.scan(project_root=".")``: the compliance state of a project, from its own files.

The SDK's tutorials call ``audit = vl.scan(project_root=".")`` after training and log
``compliance_score = 1.0 if audit.passed else 0.0``; its README's ``venturalitica scan``
inventories the project. Here a scan reads, and computes nothing new:

- every policy file in the project (``*.oscal.yaml``/``.yml``/``.json``, ``*policy*.yaml``,
  ``risks*.yaml``; virtual environments, ``node_modules``, ``.git`` and hidden folders
  skipped), each loaded and validated (its error, or its warnings, by file);
- the results of the newest run (``runs/latest/results.json``), else of the folder
  (``.venturalitica/results.json``).

``passed`` is True only when there are results, every one of them passed, and every
policy file found loads: a project with no evidence, or with a policy nobody can read,
has not passed anything.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PolicyError
from ..evidence import latest_run

_PATTERNS: tuple[str, ...] = (
    "*.oscal.yaml",
    "*.oscal.yml",
    "*.oscal.json",
    "*policy*.yaml",
    "*policy*.yml",
)
_PATTERNS += ("risks*.yaml", "risks*.yml")
_SKIP = {"node_modules", "venv", "site-packages", "__pycache__", "build", "dist"}
MAX_FILES = 500


@dataclass
class ScanResult:
    """What :func:`scan` found: ``policies`` (one dict per file), ``results`` (the
    results.json entries read) and where they came from."""

    project_root: Path
    policies: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    results_file: Path | None = None
    run_id: str | None = None

    @property
    def policy_errors(self) -> list[dict[str, Any]]:
        return [p for p in self.policies if p["error"]]

    @property
    def passed(self) -> bool:
        return (
            bool(self.results)
            and all(r.get("passed") is True for r in self.results)
            and not self.policy_errors
        )

    @property
    def score(self) -> float:
        """Share of the results that passed (0.0 without results)."""
        if not self.results:
            return 0.0
        return sum(r.get("passed") is True for r in self.results) / len(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_root": str(self.project_root),
            "passed": self.passed,
            "score": self.score,
            "run_id": self.run_id,
            "results_file": str(self.results_file) if self.results_file else None,
            "policies": self.policies,
            "results": self.results,
        }

    def __repr__(self) -> str:
        verdict = "PASSED" if self.passed else "NOT PASSED"
        return (
            f"<ScanResult {self.project_root}: {verdict}, {len(self.policies)} policy file(s) "
            f"({len(self.policy_errors)} unreadable), {len(self.results)} result(s), "
            f"score {self.score:.2f}>"
        )


def _policy_files(root: Path) -> list[Path]:
    found: set[Path] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP)
        here = Path(folder)
        for name in files:
            path = here / name
            if any(path.match(p) for p in _PATTERNS):
                found.add(path)
        if len(found) >= MAX_FILES:
            break
    return sorted(found)[:MAX_FILES]


def _describe(path: Path, root: Path) -> dict[str, Any]:
    from ..policy import load_policy

    entry: dict[str, Any] = {"path": str(path.relative_to(root)), "error": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            entry["error"] = str(exc)
            return entry
    entry.update(
        title=policy.title,
        version=policy.version,
        dialect=policy.dialect,
        controls=len(policy.controls),
        sha256=policy.sha256,
        warnings=list(policy.warnings) or [str(w.message) for w in caught],
    )
    if policy.problems:  # it loads, but a control of it can never pass: not a pass either
        first = policy.problems[0]
        entry["error"] = (
            f"{path}: {len(policy.problems)} control(s) cannot be evaluated; first: "
            f"control '{first.id}': {first.problem}"
        )
    return entry


def scan(project_root: str | Path = ".", *, evidence_dir: str | Path | None = None) -> ScanResult:
    """Read the project's policies and its newest results; see the module docstring."""
    root = Path(project_root).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"scan(project_root=...): {root} is not a folder")
    store = Path(evidence_dir) if evidence_dir else root / ".venturalitica"
    result = ScanResult(root, [_describe(p, root) for p in _policy_files(root)])
    run_id = latest_run(store)
    candidates = [store / "runs" / run_id / "results.json"] if run_id else []
    for path in [*candidates, store / "results.json"]:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(found, dict):  # the SDK's bundle shape
            found = found.get("metrics") or []
        if isinstance(found, list) and found:
            result.results = [r for r in found if isinstance(r, dict)]
            result.results_file = path
            result.run_id = run_id if path.parent.name == run_id else None
            break
    return result
