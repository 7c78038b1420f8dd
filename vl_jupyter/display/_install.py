"""Give the model its looks: the display room's renderers, registered where they are asked.

Two places ask for a ``Report``'s (or ``Comparison``'s) HTML:

- an IPython kernel, which is what JupyterLab, Notebook 7, nbclient and ``nbconvert
  --execute``, VS Code and Colab all run: its display formatter looks the object's type
  up first (``formatters["text/html"].for_type``) and calls ``_repr_html_`` only when
  no printer is registered. :func:`install` registers one for each, so a user can
  replace or remove it the IPython way;
- front ends without a kernel that call ``_repr_html_`` themselves (sphinx-gallery's
  ``capture_repr``, marimo): the model's ``_repr_html_`` asks the view registry of the
  enforcement room, which :func:`install` fills.

Both go to the same functions (``report_html``, ``comparison_html``). The enforcement
room never imports this one; the package root calls :func:`install` on import.
"""

from __future__ import annotations

import sys
from typing import Any


def install(shell: Any = None) -> bool:
    """Register the views with the model and, inside IPython, with ``shell``'s display
    formatter (default: the running shell, if IPython is loaded and one runs). Returns
    whether an IPython formatter was registered. Safe to call again (it replaces)."""
    from ..enforcement import Comparison, Report, register_view
    from ._report import report_html
    from ._trend import Trend, comparison_html

    register_view("report_html", report_html)
    register_view("comparison_html", comparison_html)
    register_view("trend", Trend)
    if shell is None:
        shell = _running_shell()
    formatter = getattr(getattr(shell, "display_formatter", None), "formatters", {})
    html = formatter.get("text/html") if isinstance(formatter, dict) else None
    if html is None:
        return False
    html.for_type(Report, report_html)
    html.for_type(Comparison, comparison_html)
    return True


def _running_shell() -> Any:
    """The running IPython shell, without importing IPython when nothing loaded it (a
    plain script pays nothing)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
