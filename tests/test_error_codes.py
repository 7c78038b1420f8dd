"""One error family: every code maps to one HTTP status (errors.HTTP_STATUS), the server
answers with it, and the rooms that raised bare ValueError raise coded VLErrors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from vl_jupyter import errors
from vl_jupyter.errors import (
    EvidenceLockedError,
    RecordNotFoundError,
    ReviewError,
    TelemetryError,
    TrackerSettingsError,
    UnknownTargetError,
    VLError,
    http_status,
)
from vl_jupyter.evidence import EvidenceStore
from vl_jupyter.server import _stores

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SERVER = Path(_stores.__file__).parent


def _families() -> list[type[VLError]]:
    return [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, VLError)]


def test_each_code_has_its_status():
    expected = {
        "VL_ERROR": 400,
        "POLICY_INVALID": 400,
        "BINDING_FAILED": 400,
        "METRIC_UNDEFINED": 400,
        "METRIC_NOT_COMPUTED": 400,
        "DATA_UNREADABLE": 400,
        "EVIDENCE_FAILED": 400,
        "RECORD_NOT_FOUND": 404,
        "EVIDENCE_LOCKED": 409,
        "CONTROL_ERROR": 400,
        "COMPLIANCE_BLOCKED": 409,
        "SYNC_FAILED": 502,
        "UNKNOWN_TARGET": 400,
        "TRACKER_SETTINGS_INVALID": 400,
        "SIGNING_FAILED": 400,
        "EXPORT_FAILED": 400,
        "TELEMETRY_INVALID": 400,
        "REVIEW_INVALID": 400,
    }
    found = {c.code: http_status(c.code) for c in _families() if c is not _stores.ApiError}
    assert found == expected
    assert len({c.code for c in _families()}) == len(_families())  # one code, one class
    assert RecordNotFoundError("x").http_status == 404
    assert http_status("STORE_NOT_FOUND") == 404 and http_status("SYNC_UNAVAILABLE") == 503


def test_every_status_the_server_writes_agrees_with_the_table():
    """An ``ApiError(status, "CODE", ...)`` in the server's source names the status the
    table gives its code: the table is the one place a status is decided."""
    pairs = set()
    for path in SERVER.glob("*.py"):
        text = path.read_text()
        pairs |= set(re.findall(r'ApiError\(\s*(\d{3}),\s*"([A-Z_]+)"', text))
    assert len(pairs) >= 15
    wrong = sorted((code, int(s)) for s, code in pairs if http_status(code) != int(s))
    assert wrong == []


def test_the_family_keeps_the_old_exception_types():
    """Rooms that raised ValueError now raise coded errors that still are ValueErrors."""
    from vl_jupyter.telemetry import monitor
    from vl_jupyter.trackers import resolve_settings, sync

    with pytest.raises(TelemetryError, match=r"PUE must be at least 1\.0") as caught:
        monitor("x", pue=0.5)
    assert caught.value.code == "TELEMETRY_INVALID" and isinstance(caught.value, ValueError)
    with pytest.raises(TrackerSettingsError, match="wandb_mode must be one of online"):
        resolve_settings({"wandb_mode": "sometimes"})
    with pytest.raises(UnknownTargetError):
        sync("neptune")
    assert issubclass(ReviewError, ValueError) and ReviewError.code == "REVIEW_INVALID"
    assert isinstance(_stores.ApiError(404, "JOB_NOT_FOUND", "no job"), VLError)
    assert str(_stores.ApiError(400, "BAD_X", "bad", "hint")) == "bad"


def test_a_missing_record_is_a_coded_not_found(tmp_path):
    store = EvidenceStore(tmp_path / ".venturalitica")
    store.append("note", {"a": 1})
    with pytest.raises(RecordNotFoundError, match="no evidence record with id ") as caught:
        store.get("20261122T093000123456Z-1a2b3c4d")
    assert caught.value.to_dict()["code"] == "RECORD_NOT_FOUND"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"vl_jupyter": True}}}


@pytest.mark.parametrize(
    "error, status",
    [
        (EvidenceLockedError("timed out after 10 s waiting for the evidence lock"), 409),
        (RecordNotFoundError("no evidence record with id abc in /x"), 404),
        (TelemetryError("bad"), 400),
    ],
)
async def test_the_server_answers_a_vlerror_with_its_codes_status(
    jp_fetch, monkeypatch, error, status
):
    def refuse(self, **kwargs):
        raise error

    monkeypatch.setattr(_stores.Catalogue, "page", refuse)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("vl-jupyter", "api", "evidence")
    body = json.loads(info.value.response.body)
    assert info.value.code == status
    assert body["code"] == error.code and body["message"] == str(error)
