"""Exports for auditors: Annex IV, OSCAL, CycloneDX ML-BOM / model card, the signed bundle.

One core, :func:`export`, serves ``vl.export(...)``, ``vl-jupyter export`` and the
sidebar's "Export for audit" (the server's ``POST /vl-jupyter/api/export``)::

    vl.export("bundle", out="audit/", session="...")     # or since="2026-11-01", policy="..."

Formats register in :data:`FORMATS` (name -> writer of ``{file name: bytes}``). Every
export is deterministic: dates and identifiers come from the selected records, so the
same evidence gives byte-identical files. Heavy libraries (cyclonedx, weasyprint) are
imported by the writer that needs them. See docs/audit.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ._select import Selection, derived_uuid, normalise, select

__all__ = [
    "FORMATS",
    "ExportResult",
    "Selection",
    "add_cli",
    "derived_uuid",
    "export",
    "register_format",
    "select",
    "write_run_files",
]

Writer = Callable[[Selection, "str | None"], dict[str, bytes]]


def _json(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _write_annex(sel: Selection, model: str | None) -> dict[str, bytes]:
    from ._annex import build_html, build_pdf

    text = build_html(sel)
    return {"annex-iv.html": text.encode("utf-8"), "annex-iv.pdf": build_pdf(text, sel)}


def _write_oscal(sel: Selection, model: str | None) -> dict[str, bytes]:
    from ._oscal import assessment_results, poam

    return {
        "assessment-results.oscal.json": _json(assessment_results(sel)),
        "poam.oscal.json": _json(poam(sel)),
    }


def _write_model_card(sel: Selection, model: str | None) -> dict[str, bytes]:
    from ._cyclonedx import dumps, model_card_bom
    from ._hf import readme

    return {"bom.cdx.json": dumps(model_card_bom(sel, model)), "README.md": readme(sel, model)}


def _write_bundle(sel: Selection, model: str | None) -> dict[str, bytes]:
    from ._bundle import build_zip

    documents: dict[str, bytes] = {}
    for folder, writer in (
        ("annex-iv", _write_annex),
        ("oscal", _write_oscal),
        ("model-card", _write_model_card),
    ):
        documents.update({f"{folder}/{n}": b for n, b in writer(sel, model).items()})
    name = "audit-bundle.zip"
    return {name: build_zip(sel, documents, name)}


#: format name -> writer; ``register_format`` adds one
FORMATS: dict[str, Writer] = {
    "annex-iv": _write_annex,
    "oscal": _write_oscal,
    "model-card": _write_model_card,
    "bundle": _write_bundle,
}


def register_format(name: str, writer: Writer) -> None:
    """Add an export format: ``writer(selection, model)`` returns ``{file name: bytes}``."""
    FORMATS[name] = writer


@dataclass
class ExportResult:
    """What one export wrote: the files, the selection they cover."""

    format: str
    out: Path
    files: list[Path] = field(default_factory=list)
    records: int = 0
    selection: str = ""

    def __str__(self) -> str:
        lines = [
            f"exported {self.format} of {self.records} records ({self.selection}) to {self.out}"
        ]
        lines += [f"  {p}" for p in self.files]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "out": str(self.out),
            "files": [str(p) for p in self.files],
            "records": self.records,
            "selection": self.selection,
        }


def export(
    format: str = "bundle",
    out: str | Path = "audit",
    *,
    evidence_dir: str | Path | None = None,
    session: str | None = None,
    since: str | dt.date | None = None,
    policy: str | list[str] | None = None,
    model: str | None = None,
) -> ExportResult:
    """Export the selected evidence as ``format`` (annex-iv, oscal, model-card, bundle)
    into the folder ``out`` (created). ``session``, ``since`` (a date or ISO date-time) and
    ``policy`` (title, file name or sha256 prefix) narrow the selection; ``model`` names the
    model in the model card (default: the estimator ``wrap()`` recorded).

    ExportError for an unknown format, damaged or empty evidence, or a selection that
    matches nothing; files are written only once every document was built.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}: choose {', '.join(FORMATS)}")
    folder = Path(out).absolute()
    sel = select(evidence_dir, session=session, since=since, policy=policy)
    store_root = Path(os.path.realpath(sel.store.root))
    real = Path(os.path.realpath(folder))
    if real == store_root or store_root in real.parents:
        raise ExportError(
            f"refusing to write the export into the evidence folder {sel.store.root}: "
            "files there would read as tampering (records/) or mix with the store",
            hint="choose an --out folder outside .venturalitica/",
        )
    files = FORMATS[format](sel, model)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, payload in sorted(files.items()):
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(payload)
            written.append(target)
    except OSError as exc:
        raise ExportError(f"cannot write the export to {folder}: {exc}") from None
    return ExportResult(format, folder, written, len(sel.records), sel.describe())


def write_run_files(
    run_id: str,
    *,
    evidence_dir: str | Path | None = None,
    modules: list[str] | None = None,
    model_class: str | None = None,
    since: int | None = None,
) -> list[Path]:
    """Write ``runs/<run_id>/bom.json`` (CycloneDX 1.6), ``assessment-results.oscal.json``
    and, when a control did not pass, ``poam.oscal.json`` for one evidence session (a
    monitored run). Called when a run closes; returns the paths written. ``since``: an
    index offset before the run's first record (the run-close context's
    ``index_offset``), so only what was appended since is read, not the whole store."""
    from ..evidence import EvidenceStore
    from ._cyclonedx import run_bom
    from ._oscal import assessment_results, failed, poam

    store = EvidenceStore(evidence_dir)
    tail = store.records_after(since) if since is not None else None
    found = [r for r in tail[0] if r.session == run_id] if tail is not None else None
    if found is None:  # no offset, or the index was rebuilt since: read it all
        found = list(store.records(session=run_id))
    records = sorted(found, key=lambda r: r.seq)
    if not records:
        raise ExportError(f"no evidence record in run {run_id!r}")
    records = [dataclasses.replace(r, _data=normalise(r.kind, r.data)) for r in records]
    # the run's own records: listing the whole chain would cost O(store) per monitored cell
    sel = Selection(store, records, records, {"session": run_id})
    if model_class is None:
        from ._cyclonedx import wrapped_class

        model_class = wrapped_class(sel)
    # all three compact: read by tools, not people (`python -m json.tool` indents them),
    # and rewritten at every run close (a monitored cell), where json's pure-Python
    # indenting encoder was the slowest part: indented, a 20-call run's results were 1 MB
    bom = run_bom(
        run_id, records[-1].created, modules=modules, model_class=model_class, check=False
    )
    paths = [store.write_json(f"runs/{run_id}/bom.json", bom, compact=True)]
    paths.append(
        store.write_json(
            f"runs/{run_id}/assessment-results.oscal.json", assessment_results(sel), compact=True
        )
    )
    if failed(sel):
        paths.append(store.write_json(f"runs/{run_id}/poam.oscal.json", poam(sel), compact=True))
    return paths


def _run_writer(folder: Path, context: dict[str, Any]) -> None:
    """The run-close hook (evidence.register_run_writer): the run's BOM and OSCAL files."""
    write_run_files(
        context["run_id"], evidence_dir=context["store"], since=context.get("index_offset")
    )


def _register_run_writer() -> None:
    from .. import evidence

    evidence.register_run_writer("audit-files", _run_writer)


_register_run_writer()


def add_cli(commands: Any) -> None:
    """The ``vl-jupyter export`` subcommand's arguments (run by ``export.cli.run``)."""
    cmd = commands.add_parser("export", help="export evidence for an auditor")
    cmd.add_argument("--format", required=True, choices=sorted(FORMATS))
    cmd.add_argument("--out", required=True, help="folder to write into (created)")
    cmd.add_argument("--session", help="only this evidence session")
    cmd.add_argument("--since", help="only records from this date (YYYY-MM-DD or ISO) on")
    cmd.add_argument("--policy", action="append", help="only this policy (title, file, sha256)")
    cmd.add_argument("--model", help="the model's name in the model card")
    cmd.add_argument("--evidence-dir", help="evidence folder (default ./.venturalitica)")
    cmd.add_argument("--json", action="store_true", help="print the result as JSON")
