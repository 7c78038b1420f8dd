"""CycloneDX 1.6: the ML-BOM model card of a selection, and the BOM of one monitored run.

Both are built with ``cyclonedx-python-lib`` (components, hashes, purls, serial number,
serialisation). The library does not model ``modelCard`` yet (its ``Component.model_card``
is a commented-out stub in 11.x), so the model card object is added to the serialised
model component and the whole document is then validated against the library's bundled
CycloneDX 1.6 JSON schema before it is returned: nothing leaves here unvalidated.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from typing import Any
from uuid import UUID

from ..errors import ExportError
from ._select import Selection, derived_uuid

SPEC = "1.6"
_ACTIVITY = (
    (("train", "fit", "tune"), "training"),
    (("predict", "infer", "score"), "inference"),
    (("eval", "valid", "test", "audit"), "validation"),
    (("prep", "clean", "feature", "load"), "data-preparation"),
)


def activity(name: str) -> str:
    """The CycloneDX energy ``activity`` a monitored block's name suggests, else other."""
    low = name.lower()
    for words, act in _ACTIVITY:
        if any(w in low for w in words):
            return act
    return "other"


def _lib():
    try:
        from cyclonedx.model.bom import Bom  # noqa: F401
    except ImportError:
        raise ExportError(
            "CycloneDX export needs cyclonedx-python-lib",
            hint="pip install 'vl-jupyter[audit]'",
        ) from None
    import cyclonedx.model as model
    import cyclonedx.model.bom as bom
    import cyclonedx.model.component as component

    return model, bom, component


def _serialise(bom: Any) -> dict[str, Any]:
    from cyclonedx.output.json import JsonV1Dot6

    return json.loads(JsonV1Dot6(bom).output_as_string())


@functools.lru_cache(maxsize=1)
def _validator():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    return JsonStrictValidator(SchemaVersion.V1_6)  # loads the schema once (~1 s)


def validate(doc: dict[str, Any]) -> None:
    """ExportError naming the first schema violation of a CycloneDX 1.6 document."""
    error = _validator().validate_str(json.dumps(doc))
    if error is not None:
        raise ExportError(f"the CycloneDX document does not match the 1.6 schema: {error}")


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _new_bom(serial: str, when: dt.datetime):
    _model, bom_mod, _component = _lib()
    bom = bom_mod.Bom(serial_number=UUID(serial))
    bom.metadata.timestamp = when
    return bom


def _library_component(name: str, version: str | None):
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    purl = PackageURL(type="pypi", name=name.lower().replace("_", "-"), version=version or None)
    return Component(
        name=name,
        version=version or None,
        type=ComponentType.LIBRARY,
        purl=purl,
        bom_ref=str(purl),
    )


def _data_component(fingerprint: str | None, rows: Any, columns: list[Any]):
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType

    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=fingerprint)] if fingerprint else []
    desc = f"{rows} rows, {len(columns)} columns: " + ", ".join(
        str(c.get("name") if isinstance(c, dict) else c) for c in columns[:40]
    )
    return Component(
        name=f"dataset-{(fingerprint or 'unfingerprinted')[:12]}",
        type=ComponentType.DATA,
        description=desc,
        hashes=hashes,
        bom_ref=f"data:{fingerprint or 'unknown'}",
    )


def _num(value: Any) -> str:
    return (
        ""
        if value is None
        else repr(float(value))
        if isinstance(value, (int, float))
        else str(value)
    )


def performance_metrics(sel: Selection) -> list[dict[str, Any]]:
    """One metric per evaluated control (overall, with its CI) and one per group."""
    out: list[dict[str, Any]] = []
    for rec in sel.of_kind("enforce"):
        for r in rec.data.get("results") or []:
            if r.get("status") not in ("pass", "warn", "fail") or r.get("actual_value") is None:
                continue
            meta = r.get("metadata") or {}
            metric: dict[str, Any] = {
                "type": str(r.get("metric_key")),
                "value": _num(r.get("actual_value")),
                "slice": f"control {r.get('control_id')} ({r.get('status')}, threshold "
                f"{r.get('operator')} {_num(r.get('threshold'))})",
            }
            ci = meta.get("ci") or {}
            if ci.get("low") is not None and ci.get("high") is not None:
                metric["confidenceInterval"] = {
                    "lowerBound": _num(ci["low"]),
                    "upperBound": _num(ci["high"]),
                }
            out.append(metric)
            for group, g in sorted((meta.get("groups") or {}).items()):
                if not isinstance(g, dict) or g.get("value") is None:
                    continue
                out.append(
                    {
                        "type": f"{r.get('metric_key')}.group_value",
                        "value": _num(g.get("value")),
                        "slice": f"control {r.get('control_id')}, group {group} (n={g.get('n')})",
                    }
                )
    return out


def energy_consumptions(sel: Selection) -> list[dict[str, Any]]:
    """One CycloneDX energy consumption per monitored block (telemetry record)."""
    out = []
    for rec in sel.of_kind("telemetry"):
        d = rec.data
        kwh = d.get("energy_kwh")
        if kwh is None:
            continue
        entry: dict[str, Any] = {
            "activity": activity(str(d.get("name") or "")),
            "energyProviders": [
                {
                    "description": f"{d.get('name')}: {(d.get('methods') or {}).get('cpu_energy')} "
                    "CPU estimate; grid mix as configured",
                    "organization": {"name": "not recorded (the local grid)"},
                    "energySource": "unknown",
                    "energyProvided": {"value": float(kwh), "unit": "kWh"},
                }
            ],
            "activityEnergyCost": {"value": float(kwh), "unit": "kWh"},
            "properties": [
                {"name": "vl:record", "value": rec.id},
                {"name": "vl:wall_s", "value": _num(d.get("wall_s"))},
                {
                    "name": "vl:carbon_intensity_source",
                    "value": str(d.get("carbon_intensity_source")),
                },
            ],
        }
        if d.get("co2e_g") is not None:
            entry["co2CostEquivalent"] = {"value": float(d["co2e_g"]) / 1e6, "unit": "tCO2eq"}
        out.append(entry)
    return out


def fairness_assessments(sel: Selection) -> list[dict[str, Any]]:
    out = []
    for rec in sel.of_kind("enforce"):
        for r in rec.data.get("results") or []:
            if r.get("status") not in ("fail", "warn"):
                continue
            groups = (r.get("metadata") or {}).get("groups") or {}
            if not groups:
                continue
            out.append(
                {
                    "groupAtRisk": f"{r.get('control_id')}: groups {', '.join(sorted(groups))}",
                    "harms": (r.get("metadata") or {}).get("reason") or str(r.get("status")),
                }
            )
    return out


def wrapped_class(sel: Selection) -> str | None:
    """The estimator class ``vl.wrap()`` audited: it names its enforce records
    ``<Class>.fit`` and ``<Class>.predict``. None when no record says."""
    for rec in sel.of_kind("enforce"):
        name = str(rec.data.get("name") or "")
        if name.endswith((".fit", ".predict")):
            return name.rsplit(".", 1)[0]
    return None


def model_name(sel: Selection, given: str | None = None) -> str:
    """The model's name: ``given``, else the estimator class ``wrap()`` recorded
    (its enforce records are named ``<Class>.<phase>``), else the first policy title."""
    if given:
        return given
    wrapped = wrapped_class(sel)
    if wrapped:
        return wrapped
    for rec in sel.of_kind("enforce"):
        title = (rec.data.get("policy") or {}).get("title")
        if title:
            return f"model audited by {title}"
    return "model"


def model_card_bom(sel: Selection, model: str | None = None) -> dict[str, Any]:
    """The CycloneDX 1.6 ML-BOM of ``sel``: the model with its ``modelCard``, the data
    sets it was audited on (by fingerprint), the packages recorded with the evidence."""
    from cyclonedx.model.component import Component, ComponentType

    name = model_name(sel, model)
    bom = _new_bom(derived_uuid("model-bom", sel.key), sel.records[-1].created)
    ref = f"model:{derived_uuid('model', name)}"
    bom.metadata.component = Component(
        name=name, type=ComponentType.MACHINE_LEARNING_MODEL, bom_ref=ref
    )
    datasets: dict[str | None, Any] = {}  # by content hash (None: a record without one)
    packages: dict[str, str] = {}
    for rec in sel.of_kind("enforce"):
        d = rec.data.get("data") or {}
        fp = d.get("content_hash")
        if fp not in datasets:
            datasets[fp] = _data_component(fp, d.get("rows"), d.get("columns") or [])
        for pkg, ver in ((rec.data.get("environment") or {}).get("packages") or {}).items():
            packages[pkg] = ver
    for comp in datasets.values():
        bom.components.add(comp)
    for pkg, ver in sorted(packages.items()):
        bom.components.add(_library_component(pkg, ver))
    bom.register_dependency(bom.metadata.component, list(bom.components))
    doc = _serialise(bom)
    card: dict[str, Any] = {
        "bom-ref": f"{ref}:card",
        "modelParameters": {
            "datasets": [{"ref": c.bom_ref.value} for c in datasets.values()],
        },
    }
    metrics = performance_metrics(sel)
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    considerations: dict[str, Any] = {}
    energy = energy_consumptions(sel)
    if energy:
        considerations["environmentalConsiderations"] = {"energyConsumptions": energy}
    fairness = fairness_assessments(sel)
    if fairness:
        considerations["fairnessAssessments"] = fairness
    if considerations:
        card["considerations"] = considerations
    if not card["modelParameters"]["datasets"]:
        del card["modelParameters"]
    doc["metadata"]["component"]["modelCard"] = card
    validate(doc)
    return doc


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    """Import name -> distributions, read once per process (scanning every installed
    distribution's metadata takes ~0.35 s; a pip install later in the session is not seen)."""
    from importlib import metadata

    return dict(metadata.packages_distributions())


_TOP_VERSIONS: dict[str, dict[str, str]] = {}  # import name -> {distribution: version}
#: (len(sys.modules), what distributions_of() found for it): a monitored cell that imported
#: nothing new pays a len() instead of a pass over the thousands of modules in sys.modules.
#: A cell that removed as many modules as it imported keeps the previous answer; the
#: components are the distributions the process had imported, so one it dropped again
#: still belongs there.
_ALL_IMPORTED: tuple[int, dict[str, str]] | None = None


def distributions_of(modules: list[str] | None = None) -> dict[str, str]:
    """Installed distributions that provide the imported top-level ``modules``
    (default: everything in ``sys.modules``), name -> version. Each import name is looked
    up once per process: a monitored cell pays only for what it newly imported."""
    global _ALL_IMPORTED
    if modules is None:
        count = len(sys.modules)
        if _ALL_IMPORTED is not None and _ALL_IMPORTED[0] == count:
            return dict(_ALL_IMPORTED[1])
        found = _distributions_of(list(sys.modules))
        _ALL_IMPORTED = (count, found)
        return dict(found)
    return _distributions_of(modules)


def _distributions_of(modules: list[str]) -> dict[str, str]:
    from importlib import metadata

    mapping = _packages_distributions()
    tops = {m.split(".", 1)[0] for m in modules}
    found: dict[str, str] = {}
    if "vl_jupyter" in tops:  # ourselves, even from a source checkout or editable install
        from .. import __version__

        found["vl-jupyter"] = __version__
    for top in sorted(tops):
        versions = _TOP_VERSIONS.get(top)
        if versions is None:
            versions = {}
            for dist in mapping.get(top, []):
                try:
                    versions[dist] = metadata.version(dist)
                except metadata.PackageNotFoundError:
                    continue
            _TOP_VERSIONS[top] = versions
        found.update(versions)
    return found


_RUN = "vl-run-placeholder"


@functools.lru_cache(maxsize=16)
def _run_bom_text(dists: tuple[tuple[str, str], ...], model_class: str | None, check: bool) -> str:
    """The BOM of a run with these components, for a placeholder run id, serialised by
    the library (and, with ``check``, validated against the 1.6 schema)."""
    from cyclonedx.model.component import Component, ComponentType

    bom = _new_bom(derived_uuid("run-bom", _RUN), dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
    bom.metadata.component = Component(
        name=f"run {_RUN}", type=ComponentType.APPLICATION, bom_ref=f"run:{_RUN}"
    )
    for name, version in dists:
        bom.components.add(_library_component(name, version))
    if model_class:
        bom.components.add(
            Component(
                name=model_class,
                type=ComponentType.MACHINE_LEARNING_MODEL,
                bom_ref=f"model:{model_class}",
            )
        )
    bom.register_dependency(bom.metadata.component, list(bom.components))
    doc = _serialise(bom)
    if check:
        validate(doc)
    return json.dumps(doc)


def run_bom(
    run_id: str,
    when: dt.datetime,
    *,
    modules: list[str] | None = None,
    model_class: str | None = None,
    distributions: dict[str, str] | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """The CycloneDX 1.6 BOM of one monitored run: a component per installed distribution
    the process had imported (the notebook's imports included), plus the model class when
    known (as a machine-learning-model component).

    Built (and with ``check`` schema-validated) once per distinct set of components; each
    run then only gets its own id, serial number and date. The run-close writer passes
    ``check=False``: compiling the schema costs ~3 s, too much for the first monitored
    cell of a session; tests validate what it writes."""
    dists = distributions if distributions is not None else distributions_of(modules)
    key = tuple(sorted(dists.items()))
    doc = json.loads(_run_bom_text(key, model_class, check).replace(_RUN, run_id))
    doc["serialNumber"] = f"urn:uuid:{derived_uuid('run-bom', run_id, key, model_class)}"
    doc["metadata"]["timestamp"] = when.astimezone(dt.timezone.utc).isoformat()
    return doc
