"""What one tracker run receives for a group of evidence records: metrics, params, tags,
a controls table and the files of the compliance bundle.

Tracker-neutral: ``_mlflow`` and ``_wandb`` only translate a :class:`Bundle` into their
client's calls. Every text that leaves the machine passes :meth:`Bundle.scrub`, which
replaces the value of any credential-like environment variable.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from ..errors import EvidenceError
from ..evidence import EvidenceRecord, EvidenceStore, format_timestamp, policy_text

_KEY_RE = re.compile(r"[^A-Za-z0-9_\-. /]+")
REDACTED = "[redacted]"


def metric_key(text: str) -> str:
    """``text`` with characters trackers refuse in keys replaced by ``_`` (lossy: only for
    names we choose, such as record kinds; control ids go through :func:`control_key`)."""
    return _KEY_RE.sub("_", str(text)).strip() or "_"


#: Characters of a control id that stand for themselves in a tracker key.
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = frozenset("0123456789abcdef")
#: Longest encoded id kept whole (MLflow keys are <= 250 characters with the prefix).
MAX_KEY = 200
CONTROL_KEYS_FILE = "vl_evidence/control_keys.json"


def control_key(control_id: str) -> str:
    """The tracker-key form of ``control_id``: injective, reversible, valid everywhere.

    Letters, digits, ``_`` and ``-`` stand for themselves; ``.`` becomes ``..``; every
    other character becomes ``.hh`` per UTF-8 byte (lowercase hex). The result only uses
    characters MLflow accepts on every OS and W&B accepts, never makes a path segment of
    ``..`` (MLflow refuses ``../x`` forever), and two ids never share a key (``a!b`` is
    ``a.21b``, ``a?b`` is ``a.3fb``). An id whose key would exceed :data:`MAX_KEY` keeps a
    prefix and ends with ``.X`` and a hash (no plain key contains the token ``.X``); the
    mapping the bundle uploads (``vl_evidence/control_keys.json``) gives it back.

    >>> control_key("approvals-by-age"), control_key("../x"), control_id_of("a.21b")
    ('approvals-by-age', '.....2fx', 'a!b')
    """
    text = str(control_id)
    if not text:
        return ".E"
    out: list[str] = []
    for ch in text:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == ".":
            out.append("..")
        else:
            # one token per character, so a shortened key never cuts a character in half
            out.append("".join(f".{b:02x}" for b in ch.encode("utf-8", "surrogatepass")))
    if sum(map(len, out)) <= MAX_KEY:
        return "".join(out)
    import hashlib

    head, size = [], 0
    for token in out:  # cut at a token boundary, so the prefix still decodes
        if size + len(token) > MAX_KEY - 16:
            break
        head.append(token)
        size += len(token)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:14]
    return "".join(head) + ".X" + digest


def control_id_of(key: str) -> str:
    """Inverse of :func:`control_key` (a shortened key gives its prefix and ``…``);
    ValueError for a string that no control id maps to."""
    if key == ".E":
        return ""
    raw, i = bytearray(), 0
    while i < len(key):
        ch = key[i]
        if ch in _PLAIN:
            raw += ch.encode()
            i += 1
        elif key.startswith("..", i):
            raw += b"."
            i += 2
        elif key.startswith(".X", i):
            return raw.decode("utf-8", "surrogatepass") + "…"
        elif ch == "." and len(key) >= i + 3 and set(key[i + 1 : i + 3]) <= _HEX:
            raw.append(int(key[i + 1 : i + 3], 16))
            i += 3
        else:
            raise ValueError(f"{key!r} is not a control key (at {i})")
    return raw.decode("utf-8", "surrogatepass")


def _ms(created: datetime) -> int:
    return int(created.timestamp() * 1000)


@dataclass
class Metric:
    key: str
    value: float
    step: int
    timestamp_ms: int


@dataclass
class Bundle:
    """Everything logged for one run; ``files`` maps a relative path to its bytes."""

    records: list[EvidenceRecord]
    anchor: tuple[int, str] | None
    secrets: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    redacted: int = 0
    #: the ledger intent this bundle fulfils (the run is tagged with it once logged)
    intent: str | None = None
    #: tracker key -> control id, for every control id turned into a key (uploaded)
    control_keys: dict[str, str] = field(default_factory=dict)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                self.redacted += text.count(secret)
                text = text.replace(secret, REDACTED)
        return text

    def latest(self) -> dict[str, float]:
        """The last value of every metric (the W&B summary, the MLflow latest value)."""
        out: dict[str, float] = {}
        for m in sorted(self.metrics, key=lambda m: m.step):
            out[m.key] = m.value
        return out

    def write(self, folder: Path) -> Path:
        """Write the files under ``folder`` (created) and return it.

        Every name is checked to stay under ``folder`` (relative, no ``..``, no link out):
        the names come from evidence that may have been cloned from anyone, and a name
        that escaped would let a crafted store overwrite files on this machine.
        """
        real = os.path.realpath(folder)
        for rel, payload in self.files.items():
            parts = rel.split("/")
            if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
                raise EvidenceError(f"bundle file name {rel!r} would leave the sync folder")
            path = folder.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not os.path.realpath(path).startswith(real + os.sep):
                raise EvidenceError(f"bundle file name {rel!r} would leave the sync folder")
            path.write_bytes(payload)
        return folder


def build(
    store: EvidenceStore,
    records: list[EvidenceRecord],
    *,
    anchor: tuple[int, str] | None,
    secrets: list[str],
    report_records: list[EvidenceRecord] | None = None,
) -> Bundle:
    """The bundle for ``records`` (oldest first). ``report_records`` (default ``records``)
    are the records the HTML report covers: a run synced in several goes shows them all."""
    bundle = Bundle(records=records, anchor=anchor, secrets=secrets)
    results: list[dict[str, Any]] = []
    for rec in records:
        step, ts = rec.seq, _ms(rec.created)
        data = rec.data
        raw = rec.path.read_bytes()
        bundle.files[f"vl_evidence/records/{rec.file}"] = bundle.scrub(raw.decode()).encode()
        if rec.kind == "enforce":
            results.extend(_enforce(bundle, rec, data, step, ts, store))
        elif rec.kind == "telemetry":
            _telemetry(bundle, store, rec, data, step, ts)
        else:  # review and kinds added later: the record itself is the artifact
            bundle.tags[f"vl.{metric_key(rec.kind)}.last"] = rec.id
    if results:
        bundle.files["vl_evidence/results.json"] = _json(bundle, results)
    if bundle.control_keys:  # how to read vl.<key>.value back as a control id
        doc = {"scheme": "vl_jupyter.control_key/1", "keys": bundle.control_keys}
        bundle.files[CONTROL_KEYS_FILE] = _json(bundle, doc)
    ids = [r.id for r in records]
    sessions = sorted({r.session for r in records})
    bundle.tags.update(
        {
            "vl.source": "vl_jupyter",
            "vl.evidence.store": str(store.root),
            "vl.evidence.session": sessions[0] if len(sessions) == 1 else ",".join(sessions),
            "vl.evidence.records": ",".join(ids)[:4900],
        }
    )
    if anchor is not None:
        bundle.tags["vl.evidence.head_seq"] = str(anchor[0])
        bundle.tags["vl.evidence.head_hash"] = anchor[1]
    html = report_html(report_records or records, anchor)
    bundle.files["vl_evidence/report.html"] = bundle.scrub(html).encode()
    bundle.tags = {k: bundle.scrub(str(v)) for k, v in bundle.tags.items()}
    bundle.params = {k: bundle.scrub(str(v))[:6000] for k, v in bundle.params.items()}
    return bundle


def _json(bundle: Bundle, obj: Any) -> bytes:
    return bundle.scrub(json.dumps(obj, indent=2, ensure_ascii=False, default=str)).encode()


def _enforce(
    bundle: Bundle,
    rec: EvidenceRecord,
    data: dict[str, Any],
    step: int,
    ts: int,
    store: EvidenceStore | None = None,
) -> list[dict[str, Any]]:
    from ..enforcement import ControlResult, Status, sdk_record

    add = bundle.metrics.append
    sdk: list[dict[str, Any]] = []
    for raw in data.get("results") or []:
        result = _control(raw)
        cid = control_key(result.control_id)
        bundle.control_keys[cid] = str(result.control_id)
        if result.actual_value is not None:
            add(Metric(f"vl.{cid}.value", float(result.actual_value), step, ts))
        if result.status != Status.SKIPPED:
            # the SDK's pass flag: 1.0 for pass and warn (passed), 0.0 for fail and error;
            # the status tag tells warn from pass
            add(Metric(f"assurance.{cid}.score", 1.0 if result.passed else 0.0, step, ts))
        bundle.tags[f"vl.{cid}.status"] = str(result.status)  # plain text for the tracker
        bundle.rows.append(
            {
                "record_id": rec.id,
                "control_id": result.control_id,
                "metric_key": result.metric_key,
                "actual_value": result.actual_value,
                "operator": result.operator,
                "threshold": result.threshold,
                "status": str(result.status),
                "passed": result.passed,
                "severity": result.severity,
            }
        )
        sdk.append(sdk_record(result) if isinstance(result, ControlResult) else raw)
    for raw in data.get("skipped") or []:  # out of the results, still visible in the run
        bundle.tags[f"vl.{control_key(str(raw.get('control_id')))}.status"] = str(Status.SKIPPED)
    if data.get("score") is not None:
        add(Metric("compliance_score", float(data["score"]), step, ts))
    bundle.tags["vl.status"] = str(data.get("status"))
    bundle.tags["vl.passed"] = str(bool(data.get("passed"))).lower()
    policy = data.get("policy") or {}
    for key in ("title", "version", "sha256"):
        if policy.get(key) is not None:
            bundle.params[f"vl.policy.{'hash' if key == 'sha256' else key}"] = str(policy[key])
    # inline in records written before blobs, else the store's policies/<sha256> blob
    text = policy_text(policy, store.root if store is not None else rec.path.parent.parent)
    if text:
        name = metric_key(Path(str(policy.get("source") or "policy.yaml")).name).strip(". ")
        name = name.replace("/", "_") or "policy.yaml"
        if "." not in name:
            name += ".yaml"
        bundle.files[f"policy_snapshot/{name}"] = bundle.scrub(text).encode()
        if policy.get("text_file"):  # the blob beside the record that names it
            bundle.files[f"vl_evidence/{policy['text_file']}"] = bundle.scrub(text).encode()
    return sdk


def _control(raw: dict[str, Any]) -> Any:
    from ..enforcement import ControlResult

    try:
        return ControlResult.from_dict(raw)  # keys it does not know are left out
    except TypeError:  # a field is missing (a foreign writer): keep what we understand
        names = ControlResult.__dataclass_fields__
        values: dict[str, Any] = {k: raw.get(k) for k in names if k != "metadata"}
        return ControlResult(**values)


def _telemetry(
    bundle: Bundle,
    store: EvidenceStore,
    rec: EvidenceRecord,
    data: dict[str, Any],
    step: int,
    ts: int,
) -> None:
    from ..telemetry import safe_name, trace_document

    add = bundle.metrics.append
    figures = {
        "vl.wall_s": data.get("wall_s"),
        "vl.energy_kwh": data.get("energy_kwh"),
        "vl.co2e_g": data.get("co2e_g"),
        "vl.peak_rss_mb": (data["peak_rss_bytes"] / 2**20)
        if data.get("peak_rss_bytes") is not None
        else None,
        "vl.cpu_utilisation": data.get("cpu_utilisation"),
    }
    for gpu in data.get("gpus") or []:
        i = gpu.get("index")
        figures[f"vl.gpu.{i}.energy_kwh"] = gpu.get("energy_kwh")
        figures[f"vl.gpu.{i}.utilisation_mean_pct"] = gpu.get("utilisation_mean_pct")
        peak = gpu.get("memory_peak_bytes")
        figures[f"vl.gpu.{i}.memory_peak_mb"] = peak / 2**20 if peak is not None else None
        figures[f"vl.gpu.{i}.power_mean_w"] = gpu.get("power_mean_w")
    for key, value in figures.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            add(Metric(key, float(value), step, ts))
    name = safe_name(str(data.get("name") or "block"))
    try:
        trace = store.read_json(f"runs/{rec.session}/trace_{name}.json", default=None)
    except Exception:
        trace = None
    if not trace or trace.get("evidence_id") != rec.id:
        try:
            trace = trace_document(data, rec.id, rec.session, None)
        except (KeyError, TypeError, AttributeError):  # a partial record: the record is enough
            trace = None
    if trace:
        bundle.files[f"vl_evidence/trace_{name}.json"] = _json(bundle, trace)
    bundle.tags["vl.telemetry.success"] = str(bool(data.get("success"))).lower()


_CSS = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#1f2328}"
    "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;"
    "text-align:left;vertical-align:top}code{font-size:90%}"
)


def report_html(records: list[EvidenceRecord], anchor: tuple[int, str] | None) -> str:
    """A standalone HTML page (no JavaScript) of the records: one table per enforce
    record, one line per telemetry record, and the evidence anchor."""
    from ..display import report_html as table
    from ..enforcement import Report

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><style>{_CSS}</style>"]
    parts.append("<title>vl_jupyter compliance report</title></head><body>")
    parts.append("<h1>Compliance evidence</h1>")
    if anchor is not None:
        parts.append(
            f"<p>Evidence head at sync: seq {anchor[0]}, sha256 <code>{anchor[1]}</code></p>"
        )
    for rec in records:
        data = rec.data
        head = (
            f"<h2>{escape(rec.kind)} <code>{escape(rec.id)}</code></h2>"
            f"<p>created {escape(format_timestamp(rec.created))}, session <code>{escape(rec.session)}</code></p>"
        )
        parts.append(head)
        if rec.kind == "enforce":
            report = Report(
                [_control(r) for r in data.get("results") or []],
                policy=data.get("policy") or {},
                data=data.get("data") or {},
                bindings=data.get("bindings") or {},
                name=data.get("name"),
            )
            report.evidence_id = rec.id
            parts.append(table(report))
        elif rec.kind == "telemetry":
            keys: tuple[str, ...] = (
                "name",
                "success",
                "wall_s",
                "cpu_utilisation",
                "peak_rss_bytes",
            )
            keys += ("energy_kwh", "co2e_g", "carbon_intensity_source")
            cells = "".join(
                f"<tr><th>{k}</th><td>{escape(str(data.get(k)))}</td></tr>" for k in keys
            )
            parts.append(f"<table>{cells}</table>")
        else:
            text = json.dumps(rec.summary or {}, ensure_ascii=False, default=str)
            parts.append(f"<pre>{escape(text)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)
