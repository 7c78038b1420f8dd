"""docs/compat.md's metric-key table says which SDK keys resolve; it must match the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from vl_jupyter.errors import VLError
from vl_jupyter.metrics import get_spec

DOC = Path(__file__).resolve().parents[1] / "docs" / "compat.md"


def rows() -> list[tuple[list[str], str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Metric keys") :]
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        state = next(
            s for s in ("computed", "error, by design", "not yet") if cells[1].startswith(s)
        )
        out.append((re.findall(r"`([a-z0-9_]+)`", cells[0]), state))
    return out


def state(key: str) -> str:
    try:
        spec = get_spec(key)
    except (VLError, KeyError, ValueError):
        return "not yet"
    return "error, by design" if spec.kind == "unsupported" else "computed"


def test_the_metric_key_table_matches_the_catalogue():
    table = rows()
    keys = [k for names, _ in table for k in names]
    assert len(keys) == len(set(keys)) == 57
    wrong = [
        f"{k}: the table says {said!r}, the catalogue says {state(k)!r}"
        for names, said in table
        for k in names
        if state(k) != said
    ]
    assert not wrong, "update docs/compat.md's metric-key table: " + "; ".join(wrong)
    computed = sum(len(names) for names, said in table if said == "computed")
    by_design = sum(len(names) for names, said in table if said == "error, by design")
    text = DOC.read_text(encoding="utf-8")
    assert f"Today {computed} of the 57 names are computed and {by_design} are errors" in text
