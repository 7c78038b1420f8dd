"""IPython integration: ``%load_ext vl_jupyter`` registers the vl_jupyter magics.

Magics: ``%%vl_monitor`` (measure a cell, see docs/telemetry.md) and
``%vl_monitor_config`` (session defaults for it). This package imports IPython; the
``vl_jupyter`` facade only imports it when the extension is loaded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the vl_jupyter magics on ``ipython`` (called by ``%load_ext``)."""
    from ._monitor_magic import MonitorMagics

    ipython.register_magics(MonitorMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the vl_jupyter magics (called by ``%unload_ext``)."""
    magics = ipython.magics_manager.magics
    for kind, names in (("cell", ("vl_monitor",)), ("line", ("vl_monitor_config",))):
        for name in names:
            magics[kind].pop(name, None)
