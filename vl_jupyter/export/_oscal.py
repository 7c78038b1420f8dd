"""OSCAL 1.1 assessment-results and POA&M for a selection of evidence records.

One ``result`` per ``enforce`` record (its start and end are the call's), one
``observation`` per evaluated control (the measured value, CI and threshold as props,
the record file as relevant evidence), one ``finding`` per control whose target status is
``satisfied`` (pass, warn) or ``not-satisfied`` (fail, error: nothing unmeasured passes).
Each human review is an observation (method EXAMINE) by a party named in the metadata.
Every control that did not pass is a ``risk``, and in the POA&M a ``poam-item``; a review
that accepted the risk sets it to ``deviation-approved``.

Identifiers are uuid5 of record hashes, dates are the records', so the documents are
deterministic. Validated against NIST's model in tests (compliance-trestle).
"""

from __future__ import annotations

import re
from typing import Any

from ._select import Selection, derived_uuid

OSCAL_VERSION = "1.1.2"
NS = "https://github.com/venturalitica/vl_jupyter/ns/oscal"
_STATE = {
    "pass": "satisfied",
    "warn": "satisfied",
    "fail": "not-satisfied",
    "error": "not-satisfied",
}
_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")


def token(text: object) -> str:
    """An OSCAL token (letters, digits, ``_ . -``, not starting with a digit)."""
    out = _TOKEN.sub("-", str(text)) or "control"
    return out if re.match(r"[A-Za-z_]", out) else f"c-{out}"


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": str(value)}


def _fmt(value: Any) -> str:
    return "null" if value is None else repr(value) if isinstance(value, float) else str(value)


def _metadata(sel: Selection, title: str, parties: list[dict[str, Any]]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "title": title,
        "last-modified": sel.stamp,
        "version": sel.records[-1].hash[:12],
        "oscal-version": OSCAL_VERSION,
        "props": [
            _prop("selection", sel.describe()),
            _prop("evidence-head", f"{sel.chain[-1].seq}:{sel.chain[-1].hash}"),
        ],
    }
    if parties:
        meta["parties"] = parties
    return meta


def _reviews_by_control(sel: Selection) -> dict[tuple[Any, Any], list[Any]]:
    """(report id, control id) as the review records name them -> their records."""
    out: dict[tuple[Any, Any], list[Any]] = {}
    for rec in sel.of_kind("review"):
        d = rec.data
        out.setdefault((d.get("report_id"), d.get("control_id")), []).append(rec)
    return out


def _parties(sel: Selection) -> list[dict[str, Any]]:
    names = sorted({str(r.data.get("reviewer")) for r in sel.of_kind("review")})
    return [{"uuid": derived_uuid("party", n), "type": "person", "name": n} for n in names]


def _resource(rec: Any) -> dict[str, Any]:
    return {
        "uuid": derived_uuid("record", rec.hash),
        "title": f"evidence record {rec.id} ({rec.kind})",
        "props": [_prop("seq", rec.seq), _prop("record-hash", rec.hash)],
        "rlinks": [{"href": f"evidence/records/{rec.file}"}],
    }


def _observation(rec: Any, r: dict[str, Any]) -> dict[str, Any]:
    meta = r.get("metadata") or {}
    ci = meta.get("ci") or {}
    props = [
        _prop("metric", r.get("metric_key")),
        _prop("value", _fmt(r.get("actual_value"))),
        _prop("operator", r.get("operator")),
        _prop("threshold", _fmt(r.get("threshold"))),
        _prop("status", r.get("status")),
    ]
    if ci:
        props += [_prop("ci-low", _fmt(ci.get("low"))), _prop("ci-high", _fmt(ci.get("high")))]
        props.append(_prop("ci-level", _fmt(ci.get("level"))))
    if meta.get("n") is not None:
        props.append(_prop("n", meta["n"]))
    text = f"{r.get('metric_key')} = {_fmt(r.get('actual_value'))} ({r.get('status')})"
    if meta.get("reason"):
        text += f": {meta['reason']}"
    return {
        "uuid": derived_uuid("observation", rec.hash, r.get("control_id")),
        "title": f"{r.get('control_id')}: {r.get('metric_key')}",
        "description": text,
        "props": props,
        "methods": ["TEST"],
        "types": ["control-objective"],
        "subjects": [
            {
                "subject-uuid": derived_uuid(
                    "dataset", (rec.data.get("data") or {}).get("content_hash")
                ),
                "type": "resource",
                "title": "audited data set",
            }
        ],
        "relevant-evidence": [
            {"href": f"#{derived_uuid('record', rec.hash)}", "description": f"record {rec.id}"}
        ],
        "collected": rec.data.get("finished") or rec.data.get("started") or _created(rec),
    }


def _created(rec: Any) -> str:
    from ..evidence import format_timestamp

    return format_timestamp(rec.created)


def _review_observation(rev: Any, party_uuid: str) -> dict[str, Any]:
    d = rev.data
    return {
        "uuid": derived_uuid("review", rev.hash),
        "title": f"human review of {d.get('control_id')}: {d.get('decision_label')}",
        "description": f"{d.get('reviewer')} decided '{d.get('decision_label')}'"
        + (f": {d['justification']}" if d.get("justification") else ""),
        "props": [_prop("decision", d.get("decision")), _prop("reviewer", d.get("reviewer"))]
        + ([_prop("signer-keyid", key)] if (key := signer_keyid(rev)) else []),
        "methods": ["EXAMINE"],
        "origins": [{"actors": [{"type": "party", "actor-uuid": party_uuid}]}],
        "relevant-evidence": [
            {"href": f"#{derived_uuid('record', rev.hash)}", "description": f"record {rev.id}"}
        ],
        "collected": _created(rev),
    }


def signer_keyid(rec: Any) -> str | None:
    """The key id that signed ``rec``, if it was signed."""
    import json

    doc = json.loads(rec.path.read_bytes())
    return (doc.get("signer") or {}).get("keyid")


def _risk(rec: Any, r: dict[str, Any], reviews: list[Any]) -> dict[str, Any]:
    accepted = [v for v in reviews if v.data.get("decision") == "accept_risk"]
    status = "deviation-approved" if accepted else "open"
    what = f"control {r.get('control_id')} ({r.get('metric_key')}) is {r.get('status')}"
    reason = (r.get("metadata") or {}).get("reason")
    risk: dict[str, Any] = {
        "uuid": derived_uuid("risk", rec.hash, r.get("control_id")),
        "title": f"{r.get('control_id')} {r.get('status')}",
        "description": what + (f": {reason}" if reason else ""),
        "statement": f"{r.get('description') or what}. Severity {r.get('severity')}.",
        "status": status,
        "related-observations": [
            {"observation-uuid": derived_uuid("observation", rec.hash, r.get("control_id"))}
        ]
        + [{"observation-uuid": derived_uuid("review", v.hash)} for v in reviews],
    }
    if reviews:  # each human decision is a dated entry of the risk's log, by its party
        risk["risk-log"] = {
            "entries": [
                {
                    "uuid": derived_uuid("risk-log", v.hash),
                    "title": f"{v.data.get('decision_label')} by {v.data.get('reviewer')}",
                    "description": v.data.get("justification") or "no justification given",
                    "start": _created(v),
                    "logged-by": [{"party-uuid": derived_uuid("party", v.data.get("reviewer"))}],
                    **(
                        {"status-change": "deviation-approved"}
                        if v.data.get("decision") == "accept_risk"
                        else {}
                    ),
                }
                for v in reviews
            ]
        }
    return risk


def policy_label(policy: dict[str, Any]) -> str:
    """``title vVERSION``, with only the parts the record has."""
    title = str(policy.get("title") or "policy")
    return f"{title} v{policy['version']}" if policy.get("version") else title


def _evaluated(rec: Any) -> list[dict[str, Any]]:
    return [r for r in rec.data.get("results") or [] if r.get("status") in _STATE]


def assessment_results(sel: Selection) -> dict[str, Any]:
    """The ``assessment-results`` document for ``sel`` (a dict ready for ``json.dumps``)."""
    reviews = _reviews_by_control(sel)
    parties = _parties(sel)
    party_of = {p["name"]: p["uuid"] for p in parties}
    results = []
    for rec in sel.of_kind("enforce"):
        d = rec.data
        rows = _evaluated(rec)
        policy = d.get("policy") or {}
        observations = [_observation(rec, r) for r in rows]
        findings, risks = [], []
        for r in rows:
            cid = r.get("control_id")
            revs = reviews.get((rec.id, cid), [])
            observations += [
                _review_observation(v, party_of[str(v.data.get("reviewer"))]) for v in revs
            ]
            finding = {
                "uuid": derived_uuid("finding", rec.hash, cid),
                "title": f"{cid}: {r.get('status')}",
                "description": r.get("description") or str(cid),
                "target": {
                    "type": "objective-id",
                    "target-id": token(cid),
                    "status": {"state": _STATE[r["status"]], "reason": r["status"]},
                },
                "related-observations": [
                    {"observation-uuid": derived_uuid("observation", rec.hash, cid)}
                ]
                + [{"observation-uuid": derived_uuid("review", v.hash)} for v in revs],
            }
            if _STATE[r["status"]] == "not-satisfied":
                risks.append(_risk(rec, r, revs))
                finding["related-risks"] = [{"risk-uuid": risks[-1]["uuid"]}]
            findings.append(finding)
        result: dict[str, Any] = {
            "uuid": derived_uuid("result", rec.hash),
            "title": policy_label(policy) + (f": {d['status']}" if d.get("status") else ""),
            "description": f"enforce record {rec.id}: {d.get('counts')}",
            "start": d.get("started") or _created(rec),
            "end": d.get("finished") or _created(rec),
            "props": [
                _prop("policy-sha256", policy.get("sha256")),
                _prop("data-fingerprint", (d.get("data") or {}).get("content_hash")),
                _prop("record-id", rec.id),
            ],
            "reviewed-controls": {
                "control-selections": [
                    {"include-controls": [{"control-id": token(r.get("control_id"))} for r in rows]}
                    if rows
                    else {"include-all": {}}
                ]
            },
        }
        if observations:
            result["observations"] = observations
        if risks:
            result["risks"] = risks
        if findings:
            result["findings"] = findings
        results.append(result)
    if not results:  # OSCAL needs one result: say plainly that nothing was assessed
        results.append(
            {
                "uuid": derived_uuid("result", sel.key),
                "title": "no policy was enforced in this selection",
                "description": f"{len(sel.records)} records, none of kind enforce",
                "start": sel.first,
                "end": sel.stamp,
                "reviewed-controls": {"control-selections": [{"include-all": {}}]},
            }
        )
    return {
        "assessment-results": {
            "uuid": derived_uuid("assessment-results", sel.key),
            "metadata": _metadata(sel, "vl_jupyter assessment results", parties),
            "import-ap": {
                "href": "#" + derived_uuid("plan", sel.key),
                "remarks": "the assessment plan is the policy snapshot in each enforce record",
            },
            "results": results,
            "back-matter": {
                "resources": [
                    {
                        "uuid": derived_uuid("plan", sel.key),
                        "title": "policies applied (snapshots inside the enforce records)",
                    },
                    *[_resource(r) for r in sel.records],
                ]
            },
        }
    }


def failed(sel: Selection) -> bool:
    """Whether any selected enforce record has a control that did not pass."""
    return any(
        _STATE[r["status"]] == "not-satisfied"
        for rec in sel.of_kind("enforce")
        for r in _evaluated(rec)
    )


def poam(sel: Selection) -> dict[str, Any]:
    """The ``plan-of-action-and-milestones`` for every control that did not pass."""
    ar = assessment_results(sel)["assessment-results"]
    observations: list[dict[str, Any]] = []
    risks: list[dict[str, Any]] = []
    for result in ar["results"]:
        observations += result.get("observations", [])
        risks += result.get("risks", [])
    items = []
    for risk in risks:
        items.append(
            {
                "uuid": derived_uuid("poam-item", risk["uuid"]),
                "title": f"remediate {risk['title']}",
                "description": risk["description"],
                "related-observations": risk["related-observations"],
                "related-risks": [{"risk-uuid": risk["uuid"]}],
            }
        )
    kept = {o["observation-uuid"] for r in risks for o in r["related-observations"]}
    doc: dict[str, Any] = {
        "uuid": derived_uuid("poam", sel.key),
        "metadata": _metadata(
            sel, "vl_jupyter plan of action and milestones", ar["metadata"].get("parties", [])
        ),
        "system-id": {"identifier-type": NS, "id": sel.store.root.name or "evidence"},
    }
    obs = [o for o in observations if o["uuid"] in kept]
    if obs:
        doc["observations"] = obs
    if risks:
        doc["risks"] = risks
    doc["poam-items"] = items or [
        {
            "uuid": derived_uuid("poam-item", sel.key),
            "title": "nothing to remediate",
            "description": "every evaluated control in the selection passed",
        }
    ]
    doc["back-matter"] = ar["back-matter"]
    return {"plan-of-action-and-milestones": doc}
