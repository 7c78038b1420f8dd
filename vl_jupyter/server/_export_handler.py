"""``POST /vl-jupyter/api/export``: the sidebar's "Export for audit" button.

Body (JSON object, every key optional)::

    {"store": "notebooks/.venturalitica",   # as the listing names it; default: the only store
     "format": "bundle",                    # annex-iv | oscal | model-card | bundle
     "session": "...", "since": "2026-11-01", "policy": "german_credit_data",
     "out": "notebooks/audit-export"}       # a folder under the server root (default:
                                            # <the store's notebook folder>/audit-export)

Answers 200 ``{"format", "out", "files", "records", "selection"}`` with every path relative
to the server root. Same rules as the other handlers: authenticated, ``authorized``, POST
only (so a cookie-authenticated request needs the XSRF token), errors as JSON. It writes
only under the server's root directory: an ``out`` that is absolute, climbs out with
``..`` or leads out through a symlink is refused (400 ``BAD_OUT``). The export itself is
:func:`vl_jupyter.export.export`, run off the event loop.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..errors import VLError
from ._handlers import _Handler
from ._stores import ApiError

DEFAULT_OUT = "audit-export"


def _out_folder(root: Path, notebook: str, out: Any) -> Path:
    """The output folder for ``out`` (relative to ``root``), checked to stay inside it."""
    if out is None:
        rel = PurePosixPath(notebook) / DEFAULT_OUT
    else:
        if not isinstance(out, str) or not out.strip():
            raise ApiError(400, "BAD_OUT", "out must be a folder path relative to the root")
        rel = PurePosixPath(out.strip())
        if rel.is_absolute() or ".." in rel.parts or "\\" in out:
            raise ApiError(
                400, "BAD_OUT", f"out {out!r} must be relative and stay under the server root"
            )
    target = root.joinpath(*rel.parts)
    real_root = os.path.realpath(root)
    # the nearest existing ancestor decides where a symlink would lead the write
    probe = target
    while not probe.exists() and probe != root:
        probe = probe.parent
    real = os.path.realpath(probe)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise ApiError(400, "BAD_OUT", f"out {out!r} leads outside the server root")
    return target


class ExportHandler(_Handler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            body = self.json_object()
            for key in ("store", "format", "session", "since", "out"):
                if body.get(key) is not None and not isinstance(body[key], str):
                    raise ApiError(400, "BAD_REQUEST", f"{key} must be a string")
            policy = body.get("policy")
            if policy is not None and not (
                isinstance(policy, str)
                or (isinstance(policy, list) and all(isinstance(p, str) for p in policy))
            ):
                raise ApiError(400, "BAD_REQUEST", "policy must be a string or a list of strings")
            store = self._pick_store(body.get("store"))
            root = self.catalogue.root
            out = _out_folder(root, store.notebook, body.get("out"))
            from ..export import export

            result = await self.off_loop(
                lambda: export(
                    body.get("format") or "bundle",
                    out,
                    evidence_dir=store.path,
                    session=body.get("session"),
                    since=body.get("since"),
                    policy=policy,
                )
            )
        except (ApiError, VLError) as err:
            return self._execute_error(err)
        self.finish(
            json.dumps(
                {
                    "format": result.format,
                    "out": result.out.relative_to(root).as_posix(),
                    "files": [p.relative_to(root).as_posix() for p in result.files],
                    "records": result.records,
                    "selection": result.selection,
                }
            )
        )

    def _pick_store(self, rel: str | None) -> Any:
        if rel is not None:
            return self.catalogue.store(rel)
        stores = self.catalogue.stores()
        if len(stores) == 1:
            return stores[0]
        raise ApiError(
            400 if stores else 404,
            "STORE_REQUIRED" if stores else "STORE_NOT_FOUND",
            f"{len(stores)} evidence stores under the server root: say which one to export"
            if stores
            else "no evidence store under the server root",
            ", ".join(s.rel for s in stores) or None,
        )


def routes(base: str, kwargs: dict[str, Any]) -> list[tuple[str, type, dict[str, Any]]]:
    return [(url_path_join(base, "export"), ExportHandler, kwargs)]
