"""An enforce record says which engine computed it and what kind of source it read, in
the summary the listing carries (the sidebar tags the row with it, issue 12); a pandas
frame (the numpy path) adds neither."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import vl_jupyter as vl

pl = pytest.importorskip("polars")
pytest.importorskip("duckdb")

POLICY = """
apiVersion: v1
kind: Policy
metadata: {name: engines}
controls:
  - id: completeness
    metric: completeness
    threshold: 0.9
    operator: ">="
"""


def test_the_listing_summary_names_the_engine_and_the_source_kind(tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 4.0]})
    parquet = tmp_path / "x.parquet"
    frame.to_parquet(parquet)
    store = tmp_path / ".venturalitica"
    for data in (frame, pl.from_pandas(frame), str(parquet), f"SELECT * FROM '{parquet}'"):
        vl.enforce(data, policy, evidence_dir=store)
    summaries = [r.summary for r in vl.evidence.records(root=store)][::-1]  # oldest first
    assert [(s.get("engine"), s.get("source_kind")) for s in summaries] == [
        (None, None),
        ("polars", "frame"),
        ("duckdb", "parquet"),
        ("duckdb", "sql"),
    ]
    assert "engine" not in summaries[0] and "source_kind" not in summaries[0]
    full = next(iter(vl.evidence.records(root=store)))
    assert full.data["data"]["source"]["engine"] == "duckdb"  # the detail view's fields
    assert full.data["data"]["fingerprint_of"].startswith("source and count tables")
