"""Names of the tracker runs we create: after the notebook (or script) and the policy.

A run list full of ``vl-20261201T092505727130Z-d804f20f`` says nothing; the SDK's users
see their notebook and policy. The name is ``<notebook or script> · <policy title>``
(``credit_audit · German credit data audit``), from the records themselves where they
say it (a telemetry record's notebook, an enforce record's policy), else from this
process (the notebook the kernel runs, the script in ``sys.argv[0]``). The session id
stays in the ``vl.evidence.session`` tag, so nothing is lost by the friendlier name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_MAX = 250  # MLflow's run names are limited to 250 characters


def _origin(records: list[Any]) -> str | None:
    for rec in records:
        try:
            data = rec.data
        except Exception:  # an unreadable record names nothing
            continue
        code = data.get("code") if isinstance(data, dict) else None
        notebook = (code or {}).get("notebook") or (data.get("context") or {}).get("notebook")
        if notebook:
            return Path(str(notebook)).stem
    from ..telemetry import notebook_path

    notebook = notebook_path()
    if notebook:
        return Path(notebook).stem
    script = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    if script and Path(script).suffix == ".py" and Path(script).stem != "__main__":
        return Path(script).stem
    return None


def _policies(records: list[Any]) -> list[str]:
    titles: list[str] = []
    for rec in records:
        if getattr(rec, "kind", None) != "enforce":
            continue
        try:
            policy = rec.data.get("policy") or {}
        except Exception:
            continue
        title = policy.get("title") or (Path(str(policy.get("source") or "")).stem or None)
        if title and title not in titles:
            titles.append(str(title))
    return titles


def run_name(records: list[Any], fallback: str | None = None) -> str | None:
    """``<notebook or script> · <policy title(s)>``, or ``fallback`` when neither is known."""
    parts = [p for p in (_origin(records), " + ".join(_policies(records)) or None) if p]
    if not parts:
        return fallback
    return " · ".join(parts)[:_MAX]
