"""docs/compat.md's metric-key table says which SDK keys resolve; it must match the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from vl_jupyter.errors import VLError
from vl_jupyter.metrics import get_spec

DOC = Path(__file__).resolve().parents[1] / "docs" / "compat.md"


def rows() -> list[tuple[list[str], bool]]:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Metric keys") :]
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        out.append((re.findall(r"`([a-z0-9_]+)`", cells[0]), cells[1].startswith("yes")))
    return out


def resolves(key: str) -> bool:
    try:
        get_spec(key)
    except (VLError, KeyError, ValueError):
        return False
    return True


def test_the_metric_key_table_matches_the_catalogue():
    table = rows()
    keys = [k for names, _ in table for k in names]
    assert len(keys) == len(set(keys)) == 57
    wrong = [
        f"{k}: the table says {'yes' if said else 'not yet'}, the catalogue says "
        f"{'yes' if resolves(k) else 'no'}"
        for names, said in table
        for k in names
        if resolves(k) != said
    ]
    assert not wrong, "update docs/compat.md's metric-key table: " + "; ".join(wrong)
    yes = sum(len(names) for names, said in table if said)
    assert f"Today {yes} of the 57 names resolve" in DOC.read_text(encoding="utf-8")
