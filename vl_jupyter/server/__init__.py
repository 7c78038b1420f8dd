"""The Jupyter server extension: a read-mostly REST API over the evidence stores.

Routes (all under the server's base URL, all behind the server's authentication; POST
also needs the XSRF token, and everything that connects or writes is a POST)::

    GET  /vl-jupyter/api/evidence            paged listing, filters kind/status/notebook/sync
    GET  /vl-jupyter/api/evidence/<id>       one record with its data
    GET  /vl-jupyter/api/evidence/<id>/history   its controls across runs (sparklines)
    GET  /vl-jupyter/api/evidence/<id>/compare?baseline=<id|tag|previous>   side by side
    GET  /vl-jupyter/api/trackers            the registered trackers: labels, setting keys
    POST /vl-jupyter/api/targets             sync targets and whether each is reachable
    POST /vl-jupyter/api/sync                start a sync job (runs off the event loop)
    GET  /vl-jupyter/api/sync/<job>          that job's progress and result
    GET  /vl-jupyter/api/verify              verify every store
    POST /vl-jupyter/api/export              export a store for an auditor (docs/audit.md)

Evidence is read from every ``.venturalitica/`` directory under the server's root
directory (the working directory of each notebook). The logic lives in
:mod:`vl_jupyter.evidence` and :mod:`vl_jupyter.trackers`; the handlers parse, call and
present. See docs/sidebar.md.

Importing this package is cheap: tornado and jupyter_server are imported only when the
server loads the extension.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "vl_jupyter.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the handlers on a running ``jupyter_server.serverapp.ServerApp``."""
    from ._handlers import setup_handlers

    setup_handlers(server_app.web_app, server_app.root_dir)
    server_app.log.info(
        "vl_jupyter: evidence API at /vl-jupyter/api (root %s)", server_app.root_dir
    )
