"""``POST /vl-jupyter/api/export`` through a real jupyter_server: auth, XSRF, the output
folder confined to the server root, and the files it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import vl_jupyter as vl
from vl_jupyter.server import _stores

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.slow  # each test starts a jupyter server (~3-5 s here)

API = ("vl-jupyter", "api", "export")
POLICY = vl.datasets.policy_path("german_credit_data")


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.fixture(autouse=True)
def _fresh_walks(monkeypatch):
    monkeypatch.setattr(_stores, "DISCOVERY_TTL_S", 0.0)


@pytest.fixture
def notebook_store(jp_root_dir: Path, german) -> Path:
    root = jp_root_dir / "nb" / ".venturalitica"
    vl.enforce(german, POLICY, target="class", gender="gender", evidence_dir=root, ci=False)
    return root


async def _post(jp_fetch, body, **kw):
    return await jp_fetch(*API, method="POST", body=json.dumps(body), **kw)


async def _error(jp_fetch, body):
    with pytest.raises(HTTPClientError) as info:
        await _post(jp_fetch, body)
    return info.value.code, json.loads(info.value.response.body)


async def test_export_writes_under_the_notebook_folder(jp_fetch, jp_root_dir, notebook_store):
    response = await _post(jp_fetch, {"format": "oscal"})
    body = json.loads(response.body)
    assert body == {
        "format": "oscal",
        "out": "nb/audit-export",
        "files": [
            "nb/audit-export/assessment-results.oscal.json",
            "nb/audit-export/poam.oscal.json",
        ],
        "records": 1,
        "selection": "all evidence records",
    }
    doc = json.loads((jp_root_dir / body["files"][0]).read_text())
    assert doc["assessment-results"]["results"][0]["findings"]


async def test_output_outside_the_root_is_refused(jp_fetch, notebook_store):
    for out in ["/tmp/x", "../outside", "nb/../../x", "a\\b", ""]:
        code, body = await _error(jp_fetch, {"format": "oscal", "out": out})
        assert (code, body["code"]) == (400, "BAD_OUT"), out


async def test_a_symlink_out_of_the_root_is_refused(
    jp_fetch, jp_root_dir, notebook_store, tmp_path_factory
):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (jp_root_dir / "link").symlink_to(elsewhere)
    code, body = await _error(jp_fetch, {"format": "oscal", "out": "link/audit"})
    assert (code, body["code"]) == (400, "BAD_OUT") and "leads outside" in body["message"]
    assert list(elsewhere.iterdir()) == []


async def test_bad_requests_are_json_errors(jp_fetch, notebook_store):
    code, body = await _error(jp_fetch, {"format": "docx"})
    assert (code, body["code"]) == (400, "EXPORT_FAILED") and "unknown export format" in body[
        "message"
    ]
    code, body = await _error(jp_fetch, {"format": 3})
    assert (code, body["code"]) == (400, "BAD_REQUEST")
    code, body = await _error(jp_fetch, {"store": "nowhere"})
    assert (code, body["code"]) == (404, "STORE_NOT_FOUND")


async def test_get_is_not_allowed_and_a_token_is_required(
    jp_fetch, jp_serverapp, jp_http_port, notebook_store
):
    from tornado.httpclient import AsyncHTTPClient

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*API, method="GET")
    assert info.value.code == 405
    url = f"http://127.0.0.1:{jp_http_port}/vl-jupyter/api/export"
    client = AsyncHTTPClient()
    with pytest.raises(HTTPClientError) as info:  # no token
        await client.fetch(url, method="POST", body="{}")
    assert info.value.code == 403
