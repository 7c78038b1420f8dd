"""The sidebar's over-time API through a real jupyter_server: a record's controls across
runs (sparklines) and a record compared with a baseline of its store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import vl_jupyter as vl
from vl_jupyter.server import _stores

pytest_plugins = ["pytest_jupyter.jupyter_server"]
API = ("vl-jupyter", "api")
POLICY = vl.datasets.policy_path("german_credit_data")
BIND = {"target": "class", "gender": "gender", "age": "age"}


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.fixture(autouse=True)
def _fresh_walks(monkeypatch):
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)


@pytest.fixture
def runs(jp_root_dir: Path, german) -> list[vl.Report]:
    root = jp_root_dir / "audit" / ".venturalitica"
    reports = [
        vl.enforce(german.iloc[: 500 + 250 * i], POLICY, evidence_dir=root, **BIND)
        for i in range(3)
    ]
    vl.evidence.tag(reports[0].evidence_id, "production", root=root)
    return reports


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch(*API, *parts, params=params or None)
    return json.loads(response.body)


async def test_history_gives_each_control_its_runs(jp_fetch, runs):
    body = await get_json(jp_fetch, "evidence", runs[-1].evidence_id, "history")
    assert body["store"] == "audit/.venturalitica"
    series = body["controls"]["approvals-by-age"]
    assert [p["record_id"] for p in series] == [r.evidence_id for r in runs]
    assert [p["value"] for p in series] == pytest.approx(
        [r["approvals-by-age"].actual_value for r in runs]
    )
    assert series[0]["ci_low"] == pytest.approx(runs[0]["approvals-by-age"].ci[0])
    assert set(body["controls"]) == {r.control_id for r in runs[0]}


async def test_compare_with_a_tag_previous_or_id(jp_fetch, runs):
    latest = runs[-1].evidence_id
    body = await get_json(jp_fetch, "evidence", latest, "compare", baseline="production")
    assert body["baseline"]["id"] == runs[0].evidence_id and body["baseline"]["how"] == "tag"
    assert body["policy_changed"] is False
    assert {c["control_id"] for c in body["changes"]} == {r.control_id for r in runs[0]}
    previous = await get_json(jp_fetch, "evidence", latest, "compare", baseline="previous")
    assert previous["baseline"]["id"] == runs[1].evidence_id
    by_id = await get_json(jp_fetch, "evidence", latest, "compare", baseline=runs[1].evidence_id)
    assert by_id["changes"] == previous["changes"]


@pytest.mark.parametrize(
    "baseline, status, code",
    [
        ("mlflow:0123abcd", 400, "BASELINE_NOT_LOCAL"),
        ("prodution", 404, "BASELINE_NOT_FOUND"),
        (None, 400, "NO_BASELINE"),
    ],
)
async def test_compare_refuses_what_it_cannot_answer_locally(
    jp_fetch, runs, baseline, status, code
):
    params = {"baseline": baseline} if baseline else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, "evidence", runs[-1].evidence_id, "compare", params=params)
    assert info.value.code == status
    body = json.loads(info.value.response.body)
    assert body["code"] == code
    if baseline == "prodution":
        assert body["message"].startswith("no baseline 'prodution'")
        assert body["hint"] == "did you mean production?"
