"""Control ids as tracker keys: injective, reversible, valid for MLflow and W&B, with the
mapping uploaded -- ``../x`` no longer makes MLflow refuse a record forever, and ``a!b``
and ``a?b`` stay two metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl_jupyter import evidence
from vl_jupyter.trackers._bundle import CONTROL_KEYS_FILE, MAX_KEY, control_id_of, control_key

mlflow = pytest.importorskip("mlflow")
from mlflow.utils.validation import _validate_metric_name, _validate_tag_name  # noqa: E402

WINDOWS_SAFE = re.compile(r"^[/\w.\- ]*$", re.ASCII)  # MLflow's rule on Windows (no ':')
ids = st.text(min_size=0, max_size=60) | st.from_regex(r"[a-z0-9_.\-/!?]{1,30}", fullmatch=True)


def _valid(key: str) -> None:
    for name in (f"vl.{key}.value", f"assurance.{key}.score", f"vl.{key}.passed"):
        _validate_metric_name(name)
        assert WINDOWS_SAFE.match(name) and len(name) <= 250, name
    _validate_tag_name(f"vl.{key}.status")


@given(ids)
@settings(max_examples=400)
def test_round_trip_and_valid_everywhere(control_id):
    key = control_key(control_id)
    back = control_id_of(key)
    if back != control_id:  # only a shortened key: it gives a prefix, control_keys.json the id
        from vl_jupyter.trackers._bundle import MAX_KEY

        assert len(key) > MAX_KEY - 20 and back.endswith("…"), (control_id, key, back)
        assert control_id.startswith(back[:-1])
    _valid(key)


@given(ids, ids)
@settings(max_examples=400)
def test_injective(a, b):
    if a != b:
        assert control_key(a) != control_key(b)


def test_the_reported_collisions_and_rejections():
    assert control_key("a!b") != control_key("a?b")
    assert (control_key("a!b"), control_key("a?b")) == ("a.21b", "a.3fb")
    assert control_key("a_b") != control_key("a-b") != control_key("a.b")
    for bad in ("../x", "/etc", ".", "..", "a/../b", "x:y"):
        _valid(control_key(bad))
    # ids of the shipped policies keep their names
    assert control_key("approvals-by-age") == "approvals-by-age"
    assert control_key("f1_good_risk") == "f1_good_risk"


def test_a_very_long_id_is_shortened_with_a_hash_and_stays_distinct():
    a, b = "x" * 300 + "a", "x" * 300 + "b"
    ka, kb = control_key(a), control_key(b)
    assert ka != kb and len(ka) <= MAX_KEY and ".X" in ka
    assert control_id_of(ka) == "x" * (MAX_KEY - 16) + "…"
    _valid(ka)
    with pytest.raises(ValueError, match="not a control key"):
        control_id_of("a.zz")


@pytest.mark.slow
def test_hostile_control_ids_sync_to_mlflow_as_distinct_metrics(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from vl_jupyter.trackers import sync

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = tmp_path / ".venturalitica"
    cids = ["../x", "a!b", "a?b", "ok-id"]
    base = {"status": "pass", "passed": True, "metric_key": "m", "operator": ">", "threshold": 0}
    results = [{**base, "control_id": c, "actual_value": i / 10} for i, c in enumerate(cids)]
    evidence.append("enforce", {"results": results, "score": 1.0}, root=root, session="s1")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    result = sync("mlflow", evidence_dir=root, settings={"mlflow_tracking_uri": uri})
    (run_info,) = result.runs
    client = MlflowClient(uri)
    metrics = client.get_run(run_info["run_id"]).data.metrics
    values = {control_id_of(k[3:-6]): v for k, v in metrics.items() if k.startswith("vl.") and
              k.endswith(".value")}  # fmt: skip
    assert values == {c: pytest.approx(i / 10) for i, c in enumerate(cids)}
    local = client.download_artifacts(run_info["run_id"], CONTROL_KEYS_FILE, str(tmp_path))
    mapping = json.loads(Path(local).read_text())["keys"]
    assert mapping == {control_key(c): c for c in cids}


def test_a_shortened_key_never_cuts_a_character_in_half():
    """Found by hypothesis: a long id of multibyte characters was cut inside one character,
    so the key's prefix did not decode (UnicodeDecodeError)."""
    from vl_jupyter.trackers._bundle import MAX_KEY, control_id_of, control_key

    for control_id in ("é" * 200, "a" + "€" * 100, "𝔘" * 90 + "x"):
        key = control_key(control_id)
        assert len(key) <= MAX_KEY
        prefix = control_id_of(key)
        assert prefix.endswith("…") and control_id.startswith(prefix[:-1])
