"""IPython integration: ``%load_ext vl_jupyter`` registers the vl_jupyter magics.

Each concern keeps its magics in its own module; ``_MAGICS`` lists them. This package
imports IPython; the ``vl_jupyter`` facade only imports it when the extension is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.magic import Magics

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

#: (module, class) of every Magics class that ``%load_ext vl_jupyter`` registers.
_MAGICS = (
    ("._monitor_magic", "MonitorMagics"),  # %%vl_monitor, %vl_monitor_config
    ("._enforce_magic", "EnforceMagics"),  # %vl_enforce, %%vl_enforce, %vl_policy, %vl_evidence
    ("._sync_magic", "SyncMagics"),  # %vl_sync
)


def _classes() -> list[type[Magics]]:
    return [getattr(importlib.import_module(m, __name__), c) for m, c in _MAGICS]


def load_ipython_extension(ipython: Any) -> None:
    """Register the vl_jupyter magics on ``ipython`` (called by ``%load_ext``)."""
    for cls in _classes():
        ipython.register_magics(cls)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the vl_jupyter magics (called by ``%unload_ext``)."""
    from ._monitor_magic import remove_hooks

    remove_hooks(ipython)
    registered = ipython.magics_manager.magics
    for cls in _classes():
        for kind, names in cls.magics.items():
            for name in names:
                registered[kind].pop(name, None)
