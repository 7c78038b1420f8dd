"""What a signature says: an in-toto Statement v1 about one record file, in a DSSE envelope.

The subject is the record file (``records/<seq>_<id>.json``) and its sha256; the predicate
is in-toto's ``test-result`` v0.1, whose ``result`` (PASSED, WARNED, FAILED) and
``passedTests`` / ``warnedTests`` / ``failedTests`` map our statuses directly. One mapping
function per record kind, registered in :data:`PREDICATES`, says how.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from ._standalone import PAYLOAD_TYPE, STATEMENT_TYPE, TEST_RESULT, pae

_RESULT = {"pass": "PASSED", "warn": "WARNED", "fail": "FAILED", "error": "FAILED"}


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else {} (records written by other tools vary in shape)."""
    return value if isinstance(value, dict) else {}


def _descriptor(name: str, sha256: Any = None, path: Any = None) -> list[dict[str, Any]]:
    """An in-toto ResourceDescriptor, or none: the spec wants a ``digest`` or a ``uri``
    (or ``content``), so without a recorded hash or path there is nothing to name."""
    out: dict[str, Any] = {"name": name}
    if sha256:
        out["digest"] = {"sha256": str(sha256)}
    if isinstance(path, str) and path.startswith("/"):
        from pathlib import PurePosixPath

        out["uri"] = PurePosixPath(path).as_uri()
    return [out] if len(out) > 1 else []


def _config(policy: Any) -> list[dict[str, Any]]:
    """The policy: its title (or file name), sha256 and file, as far as recorded."""
    p = _dict(policy)
    name = p.get("title") or (policy if isinstance(policy, str) else None) or "policy"
    return _descriptor(str(name), p.get("sha256"), p.get("source"))


def _enforce(data: dict[str, Any]) -> dict[str, Any]:
    """A report: PASSED only if it passed with no warning; errors count as failures
    (nothing that was not measured passes)."""
    lists: dict[str, list[str]] = {"PASSED": [], "WARNED": [], "FAILED": []}
    for r in data.get("results") or []:
        r = _dict(r)
        if r.get("status") in _RESULT:
            lists[_RESULT[r["status"]]].append(str(r.get("control_id", "?")))
    if lists["FAILED"] or not (lists["PASSED"] or lists["WARNED"]):
        result = "FAILED"
    else:
        result = "WARNED" if lists["WARNED"] else "PASSED"
    return {
        "result": result,
        "configuration": _config(data.get("policy")),
        "passedTests": lists["PASSED"],
        "warnedTests": lists["WARNED"],
        "failedTests": lists["FAILED"],
    }


def _telemetry(data: dict[str, Any]) -> dict[str, Any]:
    """A monitored block: PASSED if it ran to the end, FAILED if it raised."""
    name = str(data.get("name") or "block")
    ok = bool(data.get("success"))
    code = _dict(data.get("code"))
    return {
        "result": "PASSED" if ok else "FAILED",
        "configuration": _descriptor(name, code.get("source_sha256"), code.get("file")),
        "passedTests": [name] if ok else [],
        "warnedTests": [],
        "failedTests": [] if ok else [name],
    }


def _review(data: dict[str, Any]) -> dict[str, Any]:
    """A human decision on one control: accepting the risk is WARNED (it stays a known
    risk), rejecting or asking for more work is FAILED."""
    control = str(data.get("control_id") or "?")
    result = "WARNED" if data.get("decision") == "accept_risk" else "FAILED"
    return {
        "result": result,
        "configuration": _config(data.get("policy")),
        "passedTests": [],
        "warnedTests": [control] if result == "WARNED" else [],
        "failedTests": [control] if result == "FAILED" else [],
    }


#: record kind -> its test-result predicate; kinds not listed are never signed.
PREDICATES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "enforce": _enforce,
    "telemetry": _telemetry,
    "review": _review,
}


def statement(doc: dict[str, Any], file_name: str, file_bytes: bytes) -> dict[str, Any]:
    """The in-toto Statement v1 for one record file."""
    import hashlib

    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": f"records/{file_name}",
                "digest": {"sha256": hashlib.sha256(file_bytes).hexdigest()},
            }
        ],
        "predicateType": TEST_RESULT,
        "predicate": PREDICATES[doc["kind"]](_dict(doc.get("data"))),
    }


def envelope(payload: bytes, keyid: str, sign: Callable[[bytes], bytes]) -> dict[str, Any]:
    """A DSSE envelope over ``payload`` (an in-toto Statement, JSON) signed by ``sign``."""
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": keyid, "sig": base64.b64encode(sign(pae(PAYLOAD_TYPE, payload))).decode()}
        ],
    }


def encode(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
