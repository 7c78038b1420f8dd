"""What the sidebar needs to know about the registered trackers, and nothing more.

``GET /vl-jupyter/api/trackers`` lists every tracker of the registry
(:func:`vl_jupyter.trackers.register_tracker`) in registration order, so the sidebar
builds its sync buttons, commands and settings from the server instead of naming MLflow
and W&B itself: a tracker registered in the server process (by a package it imports, or
a server extension of its own) gets a button with no TypeScript change.

The answer holds names, labels, whether the server's environment, ``.env`` or
``vl_jupyter.yaml`` configures the tracker, and the setting *keys* a browser may send
(the registry's ``request_settings``). Never a value: no URI, project or credential
leaves the server here. Reading it connects nowhere, so it is a GET (contrast
``POST /targets``, which probes).
"""

from __future__ import annotations

from typing import Any

#: Words a setting key's title writes in capitals (``mlflow_tracking_uri`` -> "tracking URI").
_ACRONYMS = {"uri": "URI", "url": "URL", "id": "ID", "api": "API"}


def setting_title(tracker: str, key: str) -> str:
    """``tracking URI`` for ``mlflow_tracking_uri``: the key without its tracker prefix.

    >>> setting_title("toy", "toy_folder_url")
    'folder URL'
    """
    words = key.removeprefix(tracker + "_").split("_")
    return " ".join(_ACRONYMS.get(w, w) for w in words if w) or key


def tracker_list(project_dir: Any = None) -> dict[str, list[dict[str, Any]]]:
    """``{"trackers": [{name, label, configured, settings: [{key, title}]}]}``; ApiError
    503 when the sync engine cannot be imported (as ``POST /targets`` answers)."""
    try:
        from ..trackers import configured_trackers, tracker_names, tracker_spec
    except ImportError as err:
        from ._stores import ApiError

        raise ApiError(
            503, "SYNC_UNAVAILABLE", f"the sync engine could not be loaded: {err}"
        ) from None

    configured = set(configured_trackers(project_dir))
    out = []
    for name in tracker_names():
        spec = tracker_spec(name)
        out.append(
            {
                "name": spec.name,
                "label": spec.label,
                "configured": spec.name in configured,
                "settings": [
                    {"key": key, "title": setting_title(spec.name, key)}
                    for key in spec.request_settings
                ],
            }
        )
    return {"trackers": out}
